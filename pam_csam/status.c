/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcsam result -> PAM return value, in one switch.
 */
#include <security/pam_modules.h>

#include "status.h"

int csam_status_disabled(enum csam_status_stage stage, csam_result res,
                         const struct csam_attempts *att)
{
    return res == CSAM_ERR_LOCKED && stage != CSAM_STATUS_VERIFY
           && att->retry_after <= 0;
}

int csam_status_map(enum csam_status_stage stage, csam_result res,
                    const struct csam_attempts *att, int nullok)
{
    switch (res) {
    case CSAM_OK: return PAM_SUCCESS;
    case CSAM_ERR_USERNAME:
        /* A name that cannot be a CSAM username never gets nullok: with a
         * case-insensitive NSS (LDAP, AD) "Alice" may log in as alice, and
         * must not skip alice's second factor. */
        return PAM_USER_UNKNOWN;
    case CSAM_ERR_NOT_FOUND:
        /* After the prompt the account was there a moment ago: a vanished
         * challenge or account is a failed authentication, not a reason
         * to let nullok wave the user through. */
        if (stage == CSAM_STATUS_VERIFY)
            return PAM_AUTH_ERR;
        return nullok ? PAM_IGNORE : PAM_USER_UNKNOWN;
    case CSAM_ERR_STATE:
        /* A CSAM account whose active keys are all of types this stack
         * cannot use (key=, or SMS without a transport): it has a second
         * factor, so nullok must not skip it, and the user did nothing
         * wrong: the service cannot reach the key (pam(3) has no
         * PAM_USER_UNKNOWN for "known, but not here").  pam_sm_acct_mgmt
         * has no PAM_AUTHINFO_UNAVAIL: it refuses. */
        return stage == CSAM_STATUS_ACCOUNT ? PAM_PERM_DENIED
                                            : PAM_AUTHINFO_UNAVAIL;
    case CSAM_ERR_BAD_CODE: return PAM_AUTH_ERR;
    case CSAM_ERR_EXPIRED:
        return stage == CSAM_STATUS_ACCOUNT ? PAM_ACCT_EXPIRED : PAM_AUTH_ERR;
    case CSAM_ERR_LOCKED:
        if (stage == CSAM_STATUS_ACCOUNT)
            return PAM_PERM_DENIED;
        /* A disabled account has not used up any attempts: PAM_MAXTRIES
         * would tell the application and the administrator so.  The user
         * is simply not authenticated (nor ignored under nullok: it is a
         * CSAM account). */
        if (csam_status_disabled(stage, res, att))
            return PAM_AUTH_ERR;
        return PAM_MAXTRIES;
    case CSAM_ERR_NOMEM: return PAM_BUF_ERR;
    case CSAM_ERR_DB:
    case CSAM_ERR_SCHEMA:
    case CSAM_ERR_MAIL:
    case CSAM_ERR_CONFIG:
    case CSAM_ERR_IO:
    case CSAM_ERR_INSECURE:
    case CSAM_ERR_CRYPTO: return PAM_AUTHINFO_UNAVAIL;
    default: break;
    }
    /* Anything else (a validation result the PAM flow never expects) is a
     * bug or a surprise: refuse, and say the service is at fault. */
    return stage == CSAM_STATUS_ACCOUNT ? PAM_PERM_DENIED
                                        : PAM_AUTHINFO_UNAVAIL;
}
