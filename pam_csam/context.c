/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building and tearing down libcsam for one PAM call.  The order matters:
 * csam.conf first (it names everything else), then the services (the
 * secret first: no point connecting when codes cannot be hashed; then the
 * SMS settings), then the database.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "config.h"
#include "context.h"
#include "crypto.h"
#include "engine.h"
#include "environ.h"
#include "keytype.h"
#include "log.h"

struct csam_context {
    pam_handle_t *pamh; /* for the logger; not ours */
    int debug;
    struct csam_config config;
    int config_ready;        /* config must be freed */
    csam_services *services; /* secret, relay, SMS; points into config */
    csam_store *store;
    long db_wait_left;         /* ms the rest of the call may wait on
                                  statements (-1: not started yet) */
    struct csam_logger logger; /* ctx is this context */
    csam_engine *engine;       /* NULL while released */
};

/* libcsam's messages carry no secret (log.h); debug ones are kept only
 * with the debug argument, like every PAM module's debug output. */
static void csam_context_log(void *arg, enum csam_log_level level,
                             const char *message)
{
    struct csam_context *ctx = arg;

    if (level >= CSAM_LOG_DEBUG && !ctx->debug)
        return;
    pam_syslog(ctx->pamh, (int)level, "%s", message);
}

static csam_result csam_context_load_config(struct csam_context *ctx,
                                            const char *path)
{
    char err[CSAM_CONFIG_ERRLEN];
    csam_result res;

    res = csam_config_init(&ctx->config);
    if (res != CSAM_OK)
        return res;
    ctx->config_ready = 1;
    err[0] = '\0';
    res = csam_config_load(&ctx->config, path, 1, err, sizeof(err));
    if (res == CSAM_OK)
        res = csam_config_check(&ctx->config, err, sizeof(err));
    if (res != CSAM_OK)
        pam_syslog(ctx->pamh, LOG_ERR, "refusing the configuration: %s",
                   err[0] != '\0' ? err : csam_result_name(res));
    return res;
}

/* The secret, the relay and the SMS transport (checked across keys:
 * sms_url for http, sms_command for command).  key=sms with no transport
 * can only ever refuse, so it is a configuration error, said once here
 * rather than as a puzzling "no usable key" for every user.  PAM never
 * sets a password or a username: no word lists. */
static csam_result csam_context_services(struct csam_context *ctx,
                                         const struct csam_options *opts)
{
    struct csam_services_error err;
    csam_result res;

    res = csam_services_open(&ctx->config, 0, &ctx->services, &err);
    if (res != CSAM_OK && err.part == CSAM_SERVICES_SECRET)
        pam_syslog(ctx->pamh, LOG_ERR, "cannot use the secret file %s: %s",
                   ctx->config.secret_file, err.msg);
    else if (res != CSAM_OK && err.part == CSAM_SERVICES_PREVIOUS_SECRET)
        pam_syslog(ctx->pamh, LOG_ERR,
                   "cannot use the previous secret file %s: %s",
                   ctx->config.previous_secret_file, err.msg);
    else if (res != CSAM_OK)
        pam_syslog(ctx->pamh, LOG_ERR, "refusing the SMS settings: %s",
                   err.msg[0] != '\0' ? err.msg : csam_result_name(res));
    if (res != CSAM_OK)
        return res;
    if (opts->keys == CSAM_KEY_SMS
        && (csam_services_offered(ctx->services) & CSAM_KEY_SMS) == 0) {
        pam_syslog(ctx->pamh, LOG_ERR,
                   "key=sms, but the configuration sets no sms_transport");
        return CSAM_ERR_CONFIG;
    }
    return CSAM_OK;
}

/* The connection and the engine over it: made for each step that needs
 * the database, dropped while the user types.  The schema is checked on
 * the first connection of a call only: the verification after the prompt
 * stays one round trip.  The statements of the whole call share one
 * budget (db_statement_timeout, store.h), carried over from the step
 * before the prompt to the one after it: a hung database costs a call at
 * most two connects and that budget (6.5 s with the defaults). */
static csam_result csam_context_connect(struct csam_context *ctx,
                                        int check_schema)
{
    struct csam_engine_host host;
    struct csam_store_bounds bounds;
    csam_result res;

    csam_store_bounds_from_config(&ctx->config, &bounds);
    if (ctx->db_wait_left >= 0) /* 1: none left (0 would mean none set) */
        bounds.budget = ctx->db_wait_left > 0 ? ctx->db_wait_left : 1;
    res = csam_store_open_bounded(ctx->config.database, &bounds, &ctx->logger,
                                  &ctx->store);
    if (res == CSAM_OK && check_schema)
        res = csam_store_check_schema(ctx->store);
    if (res != CSAM_OK) {
        pam_syslog(ctx->pamh, LOG_ERR, "database unavailable: %s",
                   csam_result_name(res));
        return res;
    }
    memset(&host, 0, sizeof(host));
    host.logger = ctx->logger;
    return csam_engine_open(ctx->services, ctx->store, &host, &ctx->engine);
}

csam_result csam_context_open(pam_handle_t *pamh,
                              const struct csam_options *opts,
                              struct csam_context **out)
{
    struct csam_context *ctx;
    csam_result res;

    *out = NULL;
    ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return CSAM_ERR_NOMEM;
    ctx->pamh = pamh;
    ctx->debug = opts->debug;
    ctx->db_wait_left = -1;
    ctx->logger.fn = csam_context_log;
    ctx->logger.ctx = ctx;

    res = csam_context_load_config(ctx, opts->config);
    if (res == CSAM_OK)
        res = csam_context_services(ctx, opts);
    if (res != CSAM_OK)
        goto out;

    /* libcurl's global initialisation, before anything could run it
     * lazily from two threads at once.  After the first call it only
     * counts a reference (libcurl >= 7.84 does that under its own lock);
     * libcsam has no matching cleanup, and none is wanted while the
     * module stays loaded (-z nodelete).  It reads the environment
     * (SSLKEYLOGFILE: a file it would open for appending, as root under
     * su), which is the caller's: hidden, as for libpq (environ.h). */
    csam_environ_hide();
    res = csam_services_init();
    csam_environ_restore();
    if (res != CSAM_OK) {
        pam_syslog(pamh, LOG_ERR, "cannot initialise the mail library");
        goto out;
    }
    res = csam_context_connect(ctx, 1);

out:
    if (res != CSAM_OK) {
        csam_context_free(ctx);
        return res;
    }
    *out = ctx;
    return CSAM_OK;
}

void csam_context_release(struct csam_context *ctx)
{
    /* The engine points at the store: it goes first. */
    csam_engine_free(ctx->engine);
    ctx->engine = NULL;
    if (ctx->store != NULL) {
        ctx->db_wait_left = csam_store_budget_left(ctx->store);
        csam_store_close(ctx->store);
    }
    ctx->store = NULL;
}

csam_result csam_context_reconnect(struct csam_context *ctx)
{
    if (ctx->engine != NULL)
        return CSAM_OK;
    csam_context_release(ctx);
    return csam_context_connect(ctx, 0);
}

csam_engine *csam_context_engine(struct csam_context *ctx)
{
    return ctx->engine;
}

void csam_context_free(struct csam_context *ctx)
{
    if (ctx == NULL)
        return;
    csam_context_release(ctx);
    csam_services_free(ctx->services);
    if (ctx->config_ready)
        csam_config_free(&ctx->config);
    csam_wipe(ctx, sizeof(*ctx));
    free(ctx);
}
