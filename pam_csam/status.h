/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one place where libcsam results become PAM return values
 * (DESIGN 3.4), and where failing closed is decided: only CSAM_OK gives
 * PAM_SUCCESS, only "no CSAM account" may become PAM_IGNORE (nullok), and
 * everything not named below is a failure.  pam_csam passes CSAM_ERR_STATE
 * for an account that exists but has no active key the stack allows
 * (call.h, csam_call_key_missing).
 */
#ifndef CSAM_PAM_STATUS_H
#define CSAM_PAM_STATUS_H

#include "engine.h"
#include "result.h"

/* Which step produced the result: the same result means different things
 * before the prompt, after it, and in the account stack. */
enum csam_status_stage {
    CSAM_STATUS_SETUP = 0, /* options, csam.conf, secret, database */
    CSAM_STATUS_BEGIN,     /* looking up the account, sending the code */
    CSAM_STATUS_VERIFY,    /* checking the typed code */
    CSAM_STATUS_ACCOUNT    /* pam_sm_acct_mgmt */
};

/* 1 when res at stage says the CSAM account is disabled.  Before the
 * prompt and in the account stack the engine answers CSAM_ERR_LOCKED
 * without a retry time for a disabled account only (engine.h); after the
 * prompt the same answer means the code's attempts are exhausted.  att is
 * what the step said of the attempts (never NULL). */
int csam_status_disabled(enum csam_status_stage stage, csam_result res,
                         const struct csam_attempts *att);

/* The PAM return value for res at stage, att as above.  nullok only
 * changes "no CSAM account" (CSAM_ERR_NOT_FOUND) outside
 * CSAM_STATUS_VERIFY. */
int csam_status_map(enum csam_status_stage stage, csam_result res,
                    const struct csam_attempts *att, int nullok);

#endif
