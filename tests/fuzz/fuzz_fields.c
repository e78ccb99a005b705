/* SPDX-License-Identifier: Apache-2.0 */
/* The short fields a form, the API or csam.conf hands the core
 * (common/base): usernames, free text, languages, document types, key
 * type lists, SMS settings, the TOTP issuer and an otpauth URI built
 * from them, passwords (NFKC), TOTP codes as typed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "keytype.h"
#include "password.h"
#include "sms_setting.h"
#include "totp_key.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key[CSAM_TOTP_KEY_LEN] = "12345678901234567890";
    char *in = fuzz_cstring(data, size);
    char *normalized = NULL, *uri = NULL;
    char err[256];
    int64_t step;

    if (in == NULL)
        return 0;
    (void)csam_username_check(in);
    (void)csam_text_check(in, CSAM_NAME_MAX);
    (void)csam_language_check(in);
    (void)csam_document_type_check(in);
    (void)csam_key_type_parse(in);
    (void)csam_key_type_mask(in);
    (void)csam_sms_transport_ok(in);
    (void)csam_sms_url_ok(in);
    (void)csam_sms_body_ok(in);
    (void)csam_sms_content_type_ok(in);
    (void)csam_sms_auth_ok(in);
    (void)csam_sms_settings_check("http", in, in, NULL, NULL, err, sizeof(err));
    (void)csam_sms_settings_check(in, NULL, NULL, in, NULL, err, sizeof(err));
    (void)csam_totp_key_verify(key, 1700000000, -1, in, &step);
    if (csam_totp_key_issuer_ok(in)
        && csam_totp_key_uri(in, "citoyen", key, &uri) == CSAM_OK) {
        if (strncmp(uri, "otpauth://totp/", 15) != 0)
            abort();
        free(uri);
    }
    if (csam_username_check(in) == CSAM_OK
        && csam_totp_key_uri("CSAM", in, key, &uri) == CSAM_OK)
        free(uri);
    if (csam_password_normalize(in, &normalized) == CSAM_OK)
        csam_password_release(normalized);
    free(in);
    return 0;
}
