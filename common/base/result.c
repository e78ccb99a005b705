/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>

#include "result.h"

const char *csam_result_name(csam_result res)
{
    switch (res) {
    case CSAM_OK: return "ok";
    case CSAM_ERR_NOMEM: return "out_of_memory";
    case CSAM_ERR_INVALID: return "invalid_request";
    case CSAM_ERR_NATIONAL_NUMBER: return "invalid_national_number";
    case CSAM_ERR_EMAIL: return "invalid_email";
    case CSAM_ERR_PHONE: return "invalid_phone";
    case CSAM_ERR_USERNAME: return "invalid_username";
    case CSAM_ERR_TERMS: return "terms_not_accepted";
    case CSAM_ERR_PASSWORD_MISMATCH: return "password_mismatch";
    case CSAM_ERR_WEAK_PASSWORD: return "weak_password";
    case CSAM_ERR_BAD_CODE: return "invalid_code";
    case CSAM_ERR_BAD_CREDENTIALS: return "invalid_credentials";
    case CSAM_ERR_STATE: return "forbidden";
    case CSAM_ERR_USERNAME_TAKEN: return "username_taken";
    case CSAM_ERR_EXPIRED: return "expired";
    case CSAM_ERR_LOCKED: return "locked";
    case CSAM_ERR_TOO_SOON: return "too_many_requests";
    case CSAM_ERR_REAUTH: return "reauthentication_required";
    case CSAM_ERR_NOT_FOUND: return "not_found";
    case CSAM_ERR_MAIL: return "mail_unavailable";
    case CSAM_ERR_DB: return "unavailable";
    case CSAM_ERR_SCHEMA: return "schema_outdated";
    case CSAM_ERR_CONFIG: return "bad_configuration";
    case CSAM_ERR_IO: return "io_error";
    case CSAM_ERR_CRYPTO: return "crypto_error";
    case CSAM_ERR_INSECURE: return "insecure_file";
    case CSAM_ERR_BUSY: return "busy";
    case CSAM_ERR_USERNAME_KEPT: return "username_kept";
    }
    return "unknown";
}

void csam_error_set(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
