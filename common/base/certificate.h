/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a client certificate's subject says about its holder: the Belgian
 * eID's authentication certificate carries the national register number
 * in the subject's serialNumber, the given names in GN and the surname in
 * SN (DESIGN 3.3, CSAMIdentitySource ssl-client-cert).  Parsing only:
 * whether the certificate is to be trusted is decided by whoever verified
 * it (mod_ssl), never here.
 */
#ifndef CSAM_COMMON_CERTIFICATE_H
#define CSAM_COMMON_CERTIFICATE_H

#include <stddef.h>

#include "result.h"

/* The longest PEM text read (an eID certificate is under 2 KiB). */
#define CSAM_CERT_PEM_MAX (16 * 1024)
/* The longest value of one subject attribute, in UTF-8 bytes. */
#define CSAM_CERT_FIELD_MAX 255
/* The longest one-line subject (RFC 2253, UTF-8), in bytes. */
#define CSAM_CERT_DN_MAX 1024

struct csam_cert_subject {
    /* Each "" when the subject has no such attribute. */
    char serial_number[CSAM_CERT_FIELD_MAX + 1];
    char given_name[CSAM_CERT_FIELD_MAX + 1];
    char surname[CSAM_CERT_FIELD_MAX + 1];
    /* The whole subject, RFC 2253, for the audit trail. */
    char dn[CSAM_CERT_DN_MAX + 1];
};

/* Read the subject of the first certificate in pem (len bytes, at most
 * CSAM_CERT_PEM_MAX).  Each attribute is converted to UTF-8 and must be
 * text (csam_text_check: no control character) of at most
 * CSAM_CERT_FIELD_MAX bytes; an attribute given twice is ambiguous and
 * refused.  Errors: CSAM_ERR_INVALID (not a PEM certificate, too long, an
 * attribute out of bounds, repeated or not text), CSAM_ERR_NOMEM. */
csam_result csam_certificate_subject(const char *pem, size_t len,
                                     struct csam_cert_subject *out);

#endif
