/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam_csam: a CSAM key (a code sent by e-mail or SMS, or the code of the
 * user's authenticator app) as a second factor for Linux-PAM (DESIGN
 * 3.4).  This file holds only the pam_sm_* entry points; options.c parses
 * arguments, call.c checks the user and writes the log, context.c builds
 * libcsam, conv.c talks to the user, status.c maps results.
 *
 * Each call stands alone: no globals, nothing kept between calls, every
 * path through one exit (out:) where the result is mapped once.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "call.h"
#include "context.h"
#include "conv.h"
#include "crypto.h"
#include "engine.h"
#include "keytype.h"
#include "options.h"
#include "status.h"

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
    res = csam_call_start(pamh, argc, argv, &opts, &user);
    if (res != CSAM_OK)
        goto out;
    res = csam_context_open(pamh, &opts, &ctx);
    if (res != CSAM_OK)
        goto out;
    source = csam_call_source(pamh);

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
        csam_conv_info(pamh, flags, csam_call_sent_text(&ch));
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
        csam_call_export(pamh, ch.key_type);
    csam_call_log_auth(pamh, stage, res, user, &ch, &att, opts.nullok);
    return csam_status_map(stage, res, &att, opts.nullok);
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
    res = csam_call_start(pamh, argc, argv, &opts, &user);
    if (res != CSAM_OK)
        goto out;
    res = csam_context_open(pamh, &opts, &ctx);
    if (res != CSAM_OK)
        goto out;
    stage = CSAM_STATUS_ACCOUNT;
    /* An account without a key this call can use is CSAM_ERR_STATE, never
     * "not found": nullok cannot skip the second factor of a user who has
     * one. */
    res = csam_engine_account_check(csam_context_engine(ctx), user, opts.keys,
                                    &att);

out:
    csam_context_free(ctx);
    csam_call_log_account(pamh, stage, res, user, &att, opts.nullok);
    return csam_status_map(stage, res, &att, opts.nullok);
}
