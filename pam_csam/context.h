/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Everything one PAM call needs from libcsam: csam.conf, the secret, a
 * database connection, the SMTP and SMS senders and an engine over them.  Made
 * at the start of each pam_sm_* call and freed before it returns, so nothing
 * outlives the call: no connection shared across fork(), no state shared
 * between threads, nothing left behind in a long-running host.
 */
#ifndef CSAM_PAM_CONTEXT_H
#define CSAM_PAM_CONTEXT_H

#include <security/pam_modules.h>

#include "engine.h"
#include "options.h"
#include "result.h"

struct csam_context;

/* Read opts->config (it must be owned by root and writable by nobody
 * else), check it, load the secret, take the SMS transport from it (with
 * sms_transport none the engine uses no SMS key, and key=sms is refused),
 * connect to the database and make the engine.  Each failure is logged
 * once through pam_syslog (file and line for a bad csam.conf; never a
 * secret).  The caller owns *out and frees it
 * with csam_context_free().
 * Errors: CSAM_ERR_IO, CSAM_ERR_INSECURE, CSAM_ERR_CONFIG, CSAM_ERR_DB,
 * CSAM_ERR_SCHEMA, CSAM_ERR_CRYPTO, CSAM_ERR_NOMEM. */
csam_result csam_context_open(pam_handle_t *pamh,
                              const struct csam_options *opts,
                              struct csam_context **out);

/* The engine, valid until csam_context_release() or csam_context_free().
 * NULL while released. */
csam_engine *csam_context_engine(struct csam_context *ctx);

/* Close the database connection (and the engine over it) but keep
 * csam.conf and the secret: done while the user types the code, so a
 * prompt left open (sshd allows two minutes) holds no connection, and a
 * host with many pending logins does not exhaust the server's
 * max_connections. */
void csam_context_release(struct csam_context *ctx);

/* Connect again after csam_context_release(); a no-op when connected.
 * Errors: CSAM_ERR_DB, CSAM_ERR_SCHEMA, CSAM_ERR_NOMEM (logged). */
csam_result csam_context_reconnect(struct csam_context *ctx);

/* Close the connection, wipe the secret, free everything; NULL is a
 * no-op. */
void csam_context_free(struct csam_context *ctx);

#endif
