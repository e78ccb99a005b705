/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one PAM call needs besides the engine: its arguments and user
 * checked, its source, what it tells the session, and its log lines.
 * Kept out of pam_csam.c, which holds only the pam_sm_* entry points.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>

#include "call.h"
#include "conv.h"
#include "keytype.h"
#include "validate.h"

/* PAM_RHOST as the engine's source: a host name or an address, or NULL
 * when it is anything stranger (it is logged and stored). */
const char *csam_call_source(pam_handle_t *pamh)
{
    const void *item = NULL;
    const char *s;
    size_t i;

    if (pam_get_item(pamh, PAM_RHOST, &item) != PAM_SUCCESS || item == NULL)
        return NULL;
    s = item;
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i >= 255
            || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-'
                 || c == '_' || c == '%'))
            return NULL;
    }
    return i > 0 ? s : NULL;
}

/* Arguments and user, common to both stacks.  Errors, already logged:
 * CSAM_ERR_CONFIG (bad arguments), CSAM_ERR_USERNAME (no user, or not a
 * CSAM username: checked before anything touches the database).  The
 * user's name is logged only once it is known to be well-formed. */
csam_result csam_call_start(pam_handle_t *pamh, int argc, const char **argv,
                            struct csam_options *opts, const char **user)
{
    char err[CSAM_OPTIONS_ERRLEN];

    if (csam_options_parse(argc, argv, opts, err, sizeof(err)) != CSAM_OK) {
        pam_syslog(pamh, LOG_ERR, "%s", err);
        return CSAM_ERR_CONFIG;
    }
    *user = NULL;
    if (pam_get_user(pamh, user, NULL) != PAM_SUCCESS || *user == NULL
        || csam_username_check(*user) != CSAM_OK) {
        pam_syslog(pamh, LOG_NOTICE, "user name refused: not a CSAM username");
        return CSAM_ERR_USERNAME;
    }
    return CSAM_OK;
}

/* Tell the session which key was used, as mod_csam tells a backend
 * (CSAM_KEY, CSAM_AUTH_TIME).  A failure here is logged, not fatal: the
 * code was right. */
void csam_call_export(pam_handle_t *pamh, enum csam_key_type key)
{
    char var[48];
    const char *name = csam_key_type_name(key);

    snprintf(var, sizeof(var), "CSAM_KEY=%s", name != NULL ? name : "");
    if (pam_putenv(pamh, var) != PAM_SUCCESS)
        pam_syslog(pamh, LOG_WARNING, "cannot set CSAM_KEY");
    snprintf(var, sizeof(var), "CSAM_AUTH_TIME=%lld", (long long)time(NULL));
    if (pam_putenv(pamh, var) != PAM_SUCCESS)
        pam_syslog(pamh, LOG_WARNING, "cannot set CSAM_AUTH_TIME");
}

/* What to tell the user before the prompt: where the code went, or that
 * the one sent a moment ago still holds. */
const char *csam_call_sent_text(const struct csam_pam_challenge *ch)
{
    enum csam_conv_text which = CSAM_CONV_SENT_EMAIL;

    if (ch->reused)
        which = CSAM_CONV_REUSED;
    else if (ch->key_type == CSAM_KEY_SMS)
        which = CSAM_CONV_SENT_SMS;
    return csam_conv_text(ch->language, which);
}

/* One line per outcome of pam_sm_authenticate.  The user's name appears
 * only once csam_call_start() found it well-formed, and never for an
 * account that does not exist. */
void csam_call_log_auth(pam_handle_t *pamh, enum csam_status_stage stage,
                        csam_result res, const char *user,
                        const struct csam_pam_challenge *ch,
                        const struct csam_attempts *att, int nullok)
{
    if (res == CSAM_OK)
        pam_syslog(pamh, LOG_INFO, "user %s authenticated with key %s", user,
                   csam_key_type_name(ch->key_type));
    else if (res == CSAM_ERR_BAD_CODE)
        pam_syslog(pamh, LOG_NOTICE,
                   "wrong security code for user %s, %d attempt(s) left", user,
                   att->attempts_left);
    else if (csam_status_disabled(stage, res, att))
        pam_syslog(pamh, LOG_NOTICE, "CSAM account of user %s is disabled",
                   user);
    else if (res == CSAM_ERR_LOCKED && att->retry_after > 0)
        pam_syslog(pamh, LOG_NOTICE, "user %s locked out, retry in %ld s", user,
                   att->retry_after);
    else if (res == CSAM_ERR_LOCKED)
        pam_syslog(pamh, LOG_NOTICE,
                   "attempts exhausted for the code of user %s", user);
    else if (res == CSAM_ERR_NOT_FOUND && stage == CSAM_STATUS_BEGIN)
        pam_syslog(pamh, nullok ? LOG_INFO : LOG_NOTICE,
                   "no CSAM account with an active key for this user%s",
                   nullok ? " (nullok)" : "");
    else if (res == CSAM_ERR_STATE && stage == CSAM_STATUS_BEGIN)
        pam_syslog(pamh, LOG_NOTICE,
                   "user %s has no active key of a type this service "
                   "accepts (key=, or SMS without sms_transport)",
                   user);
    else if (res == CSAM_ERR_MAIL && stage == CSAM_STATUS_BEGIN)
        pam_syslog(pamh, LOG_ERR,
                   "cannot send the security code of user %s: the %s "
                   "failed",
                   user,
                   ch->key_type == CSAM_KEY_SMS ? "SMS gateway" : "mail relay");
    else if (stage != CSAM_STATUS_SETUP)
        pam_syslog(pamh, LOG_NOTICE, "authentication of user %s failed: %s",
                   user, csam_result_name(res));
}

/* One line per outcome of pam_sm_acct_mgmt, with the same rule for the
 * user's name. */
void csam_call_log_account(pam_handle_t *pamh, enum csam_status_stage stage,
                           csam_result res, const char *user,
                           const struct csam_attempts *att, int nullok)
{
    if (csam_status_disabled(stage, res, att))
        pam_syslog(pamh, LOG_NOTICE, "CSAM account of user %s is disabled",
                   user);
    else if (res == CSAM_ERR_LOCKED)
        pam_syslog(pamh, LOG_NOTICE, "account of user %s locked, %ld s left",
                   user, att->retry_after);
    else if (res == CSAM_ERR_NOT_FOUND)
        pam_syslog(pamh, nullok ? LOG_INFO : LOG_NOTICE,
                   "no CSAM account with an active key for this user%s",
                   nullok ? " (nullok)" : "");
    else if (res == CSAM_ERR_STATE)
        pam_syslog(pamh, LOG_NOTICE,
                   "user %s has no active key of a type this service "
                   "accepts",
                   user);
    else if (res != CSAM_OK && stage != CSAM_STATUS_SETUP)
        pam_syslog(pamh, LOG_NOTICE, "account check of user %s failed: %s",
                   user, csam_result_name(res));
}
