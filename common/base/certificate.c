/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A client certificate's subject, read with OpenSSL (certificate.h).
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certificate.h"
#include "validate.h"

/* The UTF-8 text of the one entry nid has in name into out ("" when it
 * has none).  CSAM_ERR_INVALID when it has two, or the value is not text
 * of at most CSAM_CERT_FIELD_MAX bytes. */
static csam_result csam_certificate_field(const X509_NAME *name, int nid,
                                          char out[CSAM_CERT_FIELD_MAX + 1])
{
    const X509_NAME_ENTRY *entry;
    unsigned char *utf8 = NULL;
    int at, len;
    csam_result res = CSAM_ERR_INVALID;

    out[0] = '\0';
    at = X509_NAME_get_index_by_NID(name, nid, -1);
    if (at < 0)
        return CSAM_OK;
    if (X509_NAME_get_index_by_NID(name, nid, at) >= 0)
        return CSAM_ERR_INVALID;
    entry = X509_NAME_get_entry(name, at);
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0)
        return CSAM_ERR_INVALID;
    /* NUL inside the value would cut it short unnoticed. */
    if (len > 0 && len <= CSAM_CERT_FIELD_MAX
        && memchr(utf8, '\0', (size_t)len) == NULL) {
        memcpy(out, utf8, (size_t)len);
        out[len] = '\0';
        if (csam_text_check(out, CSAM_CERT_FIELD_MAX) == CSAM_OK)
            res = CSAM_OK;
        else
            out[0] = '\0';
    }
    OPENSSL_free(utf8);
    return res;
}

/* The subject on one line, RFC 2253 with UTF-8 kept as it is. */
static csam_result csam_certificate_dn(const X509_NAME *name,
                                       char out[CSAM_CERT_DN_MAX + 1])
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;
    csam_result res = CSAM_ERR_INVALID;

    out[0] = '\0';
    if (bio == NULL)
        return CSAM_ERR_NOMEM;
    if (X509_NAME_print_ex(bio, name, 0,
                           XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)
        >= 0) {
        len = BIO_get_mem_data(bio, &data);
        if (len >= 0 && len <= CSAM_CERT_DN_MAX
            && (len == 0 || memchr(data, '\0', (size_t)len) == NULL)) {
            memcpy(out, data, (size_t)len);
            out[len] = '\0';
            res = len == 0 || csam_text_check(out, CSAM_CERT_DN_MAX) == CSAM_OK
                      ? CSAM_OK
                      : CSAM_ERR_INVALID;
            if (res != CSAM_OK)
                out[0] = '\0';
        }
    }
    BIO_free(bio);
    return res;
}

csam_result csam_certificate_subject(const char *pem, size_t len,
                                     struct csam_cert_subject *out)
{
    const X509_NAME *name;
    BIO *bio;
    X509 *cert;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (pem == NULL || len == 0 || len > CSAM_CERT_PEM_MAX)
        return CSAM_ERR_INVALID;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return CSAM_ERR_NOMEM;
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (cert == NULL) {
        /* The host's own TLS code reads this thread's error queue. */
        ERR_clear_error();
        return CSAM_ERR_INVALID;
    }
    name = X509_get_subject_name(cert);
    res = name == NULL ? CSAM_ERR_INVALID : CSAM_OK;
    if (res == CSAM_OK)
        res = csam_certificate_field(name, NID_serialNumber,
                                     out->serial_number);
    if (res == CSAM_OK)
        res = csam_certificate_field(name, NID_givenName, out->given_name);
    if (res == CSAM_OK)
        res = csam_certificate_field(name, NID_surname, out->surname);
    if (res == CSAM_OK)
        res = csam_certificate_dn(name, out->dn);
    X509_free(cert);
    if (res != CSAM_OK)
        memset(out, 0, sizeof(*out));
    return res;
}
