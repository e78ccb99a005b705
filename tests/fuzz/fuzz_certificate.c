/* SPDX-License-Identifier: Apache-2.0 */
/* The subject of a client certificate (common/base/certificate.c): PEM as
 * the TLS layer hands it over.  Every field is text of bounded length. */
#include <stdlib.h>
#include <string.h>

#include "certificate.h"
#include "fuzz.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csam_cert_subject subject;

    if (csam_certificate_subject((const char *)data, size, &subject)
        == CSAM_OK) {
        if (strlen(subject.serial_number) > CSAM_CERT_FIELD_MAX
            || strlen(subject.given_name) > CSAM_CERT_FIELD_MAX
            || strlen(subject.surname) > CSAM_CERT_FIELD_MAX
            || strlen(subject.dn) > CSAM_CERT_DN_MAX)
            abort();
        if ((subject.given_name[0] != '\0'
             && csam_text_check(subject.given_name, CSAM_CERT_FIELD_MAX)
                    != CSAM_OK)
            || (subject.surname[0] != '\0'
                && csam_text_check(subject.surname, CSAM_CERT_FIELD_MAX)
                       != CSAM_OK))
            abort();
    }
    return 0;
}
