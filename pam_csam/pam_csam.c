/*
 * pam_csam: a CSAM key (an e-mailed code, or another active key) as a
 * second factor for Linux-PAM (DESIGN 3.4).  This file holds only the
 * pam_sm_* entry points; options.c parses arguments, context.c builds
 * libcsam, conv.c talks to the user, status.c maps results.
 *
 * Each call stands alone: no globals, nothing kept between calls, every
 * path through one exit (out:) where the result is mapped once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "context.h"
#include "conv.h"
#include "crypto.h"
#include "engine.h"
#include "keytype.h"
#include "options.h"
#include "status.h"
#include "validate.h"

/* PAM_RHOST as the engine's source: a host name or an address, or NULL
 * when it is anything stranger (it is logged and stored). */
static const char *csam_pam_source(pam_handle_t *pamh)
{
    const void *item = NULL;
    const char *s;
    size_t i;

    if (pam_get_item(pamh, PAM_RHOST, &item) != PAM_SUCCESS || item == NULL)
        return NULL;
    s = item;
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i >= 255 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == ':' ||
                          c == '-' || c == '_' || c == '%'))
            return NULL;
    }
    return i > 0 ? s : NULL;
}

/* Arguments and user, common to both stacks.  Errors, already logged:
 * CSAM_ERR_CONFIG (bad arguments), CSAM_ERR_USERNAME (no user, or not a
 * CSAM username: checked before anything touches the database).  The
 * user's name is logged only once it is known to be well-formed. */
static csam_result csam_pam_start(pam_handle_t *pamh, int argc,
                                  const char **argv, struct csam_options *opts,
                                  const char **user)
{
    char err[CSAM_OPTIONS_ERRLEN];

    if (csam_options_parse(argc, argv, opts, err, sizeof(err)) != CSAM_OK) {
        pam_syslog(pamh, LOG_ERR, "%s", err);
        return CSAM_ERR_CONFIG;
    }
    *user = NULL;
    if (pam_get_user(pamh, user, NULL) != PAM_SUCCESS || *user == NULL ||
        csam_username_check(*user) != CSAM_OK) {
        pam_syslog(pamh, LOG_NOTICE, "user name refused: not a CSAM username");
        return CSAM_ERR_USERNAME;
    }
    return CSAM_OK;
}

/* Tell the session which key was used, as mod_csam tells a backend
 * (CSAM_KEY, CSAM_AUTH_TIME).  A failure here is logged, not fatal: the
 * code was right. */
static void csam_pam_export(pam_handle_t *pamh, enum csam_key_type key)
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
static const char *csam_pam_sent_text(const struct csam_pam_challenge *ch)
{
    enum csam_conv_text which = CSAM_CONV_SENT_EMAIL;

    if (ch->reused)
        which = CSAM_CONV_REUSED;
    else if (ch->key_type == CSAM_KEY_SMS)
        which = CSAM_CONV_SENT_SMS;
    return csam_conv_text(ch->language, which);
}

/* One line per outcome of pam_sm_authenticate.  The user's name appears
 * only once csam_pam_start() found it well-formed, and never for an
 * account that does not exist. */
static void csam_pam_log_auth(pam_handle_t *pamh, enum csam_status_stage stage,
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
    else if (res == CSAM_ERR_LOCKED && att->retry_after > 0)
        pam_syslog(pamh, LOG_NOTICE, "user %s locked out, retry in %ld s", user,
                   att->retry_after);
    else if (res == CSAM_ERR_LOCKED)
        pam_syslog(pamh, LOG_NOTICE,
                   "attempts exhausted for the code of user %s", user);
    else if (res == CSAM_ERR_NOT_FOUND && stage == CSAM_STATUS_BEGIN)
        pam_syslog(pamh, nullok ? LOG_INFO : LOG_NOTICE,
                   "no CSAM account with a usable key for this user%s",
                   nullok ? " (nullok)" : "");
    else if (stage != CSAM_STATUS_SETUP)
        pam_syslog(pamh, LOG_NOTICE, "authentication of user %s failed: %s",
                   user, csam_result_name(res));
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
                                   const char **argv)
{
    struct csam_options opts;
    struct csam_context *ctx = NULL;
    struct csam_pam_challenge ch;
    struct csam_attempts att = {-1, 0};
    enum csam_status_stage stage = CSAM_STATUS_SETUP;
    const char *user = NULL, *source, *prompt;
    char *answer = NULL;
    int conv_status = PAM_SUCCESS;
    csam_result res;

    memset(&ch, 0, sizeof(ch));
    memset(&opts, 0, sizeof(opts));
    res = csam_pam_start(pamh, argc, argv, &opts, &user);
    if (res != CSAM_OK)
        goto out;
    res = csam_context_open(pamh, &opts, &ctx);
    if (res != CSAM_OK)
        goto out;
    source = csam_pam_source(pamh);

    stage = CSAM_STATUS_BEGIN;
    res = csam_engine_pam_begin(csam_context_engine(ctx), user, opts.keys,
                                source, &ch, &att);
    if (res != CSAM_OK)
        goto out;
    if (opts.debug)
        pam_syslog(pamh, LOG_DEBUG, "user %s: key %s, %s, from %s", user,
                   csam_key_type_name(ch.key_type),
                   ch.key_type == CSAM_KEY_TOTP ? "nothing sent"
                   : ch.reused                  ? "pending code reused"
                                                : "code sent",
                   source != NULL ? source : "local");
    if (ch.key_type != CSAM_KEY_TOTP)
        csam_conv_info(pamh, flags, csam_pam_sent_text(&ch));
    prompt = opts.prompt;
    if (prompt == NULL)
        prompt = csam_conv_text(ch.language, ch.key_type == CSAM_KEY_TOTP
                                                 ? CSAM_CONV_PROMPT_TOTP
                                                 : CSAM_CONV_PROMPT_CODE);
    csam_context_release(ctx);
    conv_status = csam_conv_ask(pamh, prompt, &answer);
    if (conv_status != PAM_SUCCESS)
        goto out;

    stage = CSAM_STATUS_VERIFY;
    res = csam_context_reconnect(ctx);
    if (res != CSAM_OK)
        goto out;
    res = csam_engine_pam_verify(csam_context_engine(ctx), user, ch.key_type,
                                 answer, source, &att);

out:
    if (answer != NULL) {
        csam_wipe(answer, strlen(answer));
        free(answer);
    }
    csam_context_free(ctx);
    if (conv_status != PAM_SUCCESS) {
        pam_syslog(pamh, LOG_NOTICE, "no usable code typed for user %s: %s",
                   user, pam_strerror(pamh, conv_status));
        return conv_status;
    }
    if (res == CSAM_OK)
        csam_pam_export(pamh, ch.key_type);
    csam_pam_log_auth(pamh, stage, res, user, &ch, &att, opts.nullok);
    return csam_status_map(stage, res, opts.nullok);
}

/* pam_csam sets no credential; the stack's other modules do.  Returning
 * success unconditionally is what sshd needs: it authenticates in a
 * child process, so nothing authenticate learnt is visible here. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
                              const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
                                const char **argv)
{
    struct csam_options opts;
    struct csam_context *ctx = NULL;
    struct csam_attempts att = {-1, 0};
    enum csam_status_stage stage = CSAM_STATUS_SETUP;
    const char *user = NULL;
    csam_result res;

    (void)flags;
    memset(&opts, 0, sizeof(opts));
    res = csam_pam_start(pamh, argc, argv, &opts, &user);
    if (res != CSAM_OK)
        goto out;
    res = csam_context_open(pamh, &opts, &ctx);
    if (res != CSAM_OK)
        goto out;
    stage = CSAM_STATUS_ACCOUNT;
    res = csam_engine_account_check(csam_context_engine(ctx), user, opts.keys,
                                    &att);

out:
    csam_context_free(ctx);
    if (res == CSAM_ERR_LOCKED)
        pam_syslog(pamh, LOG_NOTICE, "account of user %s locked, %ld s left",
                   user, att.retry_after);
    else if (res == CSAM_ERR_NOT_FOUND)
        pam_syslog(pamh, opts.nullok ? LOG_INFO : LOG_NOTICE,
                   "no CSAM account with a usable key for this user%s",
                   opts.nullok ? " (nullok)" : "");
    else if (res != CSAM_OK && stage != CSAM_STATUS_SETUP)
        pam_syslog(pamh, LOG_NOTICE, "account check of user %s failed: %s",
                   user, csam_result_name(res));
    return csam_status_map(stage, res, opts.nullok);
}
