/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One PAM call's edges: arguments and user, PAM_RHOST, the PAM
 * environment handed to the session, the info line and the log lines.
 */
#ifndef CSAM_PAM_CALL_H
#define CSAM_PAM_CALL_H

#include <security/pam_modules.h>

#include "engine.h"
#include "options.h"
#include "result.h"
#include "status.h"

/* Parse the arguments into opts and fetch the user into *user.
 * Errors, already logged: CSAM_ERR_CONFIG (bad arguments),
 * CSAM_ERR_USERNAME (no user, or not a CSAM username: checked before
 * anything touches the database). */
csam_result csam_call_start(pam_handle_t *pamh, int argc, const char **argv,
                            struct csam_options *opts, const char **user);

/* PAM_RHOST when it looks like a host name or an address (it is logged
 * and stored), else NULL.  Points into PAM's item. */
const char *csam_call_source(pam_handle_t *pamh);

/* Set CSAM_KEY and CSAM_AUTH_TIME in the PAM environment after a
 * success; a failure is logged, not fatal. */
void csam_call_export(pam_handle_t *pamh, enum csam_key_type key);

/* The info line before the prompt: where the code went, or that the one
 * sent a moment ago still holds.  Static. */
const char *csam_call_sent_text(const struct csam_pam_challenge *ch);

/* One log line per outcome.  The user's name appears only once it is
 * known to be well-formed, and never for an account that does not
 * exist. */
void csam_call_log_auth(pam_handle_t *pamh, enum csam_status_stage stage,
                        csam_result res, const char *user,
                        const struct csam_pam_challenge *ch,
                        const struct csam_attempts *att, int nullok);
void csam_call_log_account(pam_handle_t *pamh, enum csam_status_stage stage,
                           csam_result res, const char *user,
                           const struct csam_attempts *att, int nullok);

#endif
