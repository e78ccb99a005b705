/*
 * Building and tearing down libcsam for one PAM call.  The order matters:
 * csam.conf first (it names everything else), then the secret (no point
 * connecting when codes cannot be hashed), then the SMS settings, then
 * the database.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "config.h"
#include "context.h"
#include "crypto.h"
#include "environ.h"
#include "keytype.h"
#include "log.h"
#include "mail.h"
#include "sms.h"
#include "store.h"

struct csam_context {
    pam_handle_t *pamh; /* for the logger; not ours */
    int debug;
    struct csam_config config;
    int config_ready; /* config must be freed */
    csam_secret *secret;
    csam_store *store;
    struct csam_smtp smtp;     /* points into config */
    struct csam_sms sms;       /* points into config; CSAM_SMS_NONE: off */
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

/* The SMS transport, checked across keys (sms_url for http, sms_command
 * for command).  key=sms with no transport can only ever refuse, so it
 * is a configuration error, said once here rather than as a puzzling
 * "no usable key" for every user. */
static csam_result csam_context_sms(struct csam_context *ctx,
                                    const struct csam_options *opts)
{
    char err[CSAM_SMS_ERRLEN];
    csam_result res;

    err[0] = '\0';
    res = csam_sms_from_config(&ctx->config, &ctx->sms, err, sizeof(err));
    if (res != CSAM_OK) {
        pam_syslog(ctx->pamh, LOG_ERR, "refusing the SMS settings: %s",
                   err[0] != '\0' ? err : csam_result_name(res));
        return res;
    }
    if (opts->keys == CSAM_KEY_SMS && ctx->sms.transport == CSAM_SMS_NONE) {
        pam_syslog(ctx->pamh, LOG_ERR,
                   "key=sms, but the configuration sets no sms_transport");
        return CSAM_ERR_CONFIG;
    }
    return CSAM_OK;
}

/* The connection and the engine over it: made for each step that needs
 * the database, dropped while the user types.  The schema is checked on
 * the first connection of a call only: the verification after the prompt
 * stays one round trip. */
static csam_result csam_context_connect(struct csam_context *ctx,
                                        int check_schema)
{
    struct csam_engine_deps deps;
    csam_result res;

    res = csam_store_open(ctx->config.database, &ctx->logger, &ctx->store);
    if (res == CSAM_OK && check_schema)
        res = csam_store_check_schema(ctx->store);
    if (res != CSAM_OK) {
        pam_syslog(ctx->pamh, LOG_ERR, "database unavailable: %s",
                   csam_result_name(res));
        return res;
    }
    memset(&deps, 0, sizeof(deps));
    deps.config = &ctx->config;
    deps.secret = ctx->secret;
    deps.store = ctx->store;
    deps.common_passwords = NULL; /* PAM never sets a password */
    deps.sender.fn = csam_smtp_sender;
    deps.sender.ctx = &ctx->smtp;
    /* No SMS transport: the engine does not use SMS keys at all. */
    if (ctx->sms.transport != CSAM_SMS_NONE) {
        deps.sms.fn = csam_sms_sender;
        deps.sms.ctx = &ctx->sms;
    }
    deps.logger = ctx->logger;
    return csam_engine_new(&deps, &ctx->engine);
}

csam_result csam_context_open(pam_handle_t *pamh,
                              const struct csam_options *opts,
                              struct csam_context **out)
{
    struct csam_context *ctx;
    char err[CSAM_CONFIG_ERRLEN];
    csam_result res;

    *out = NULL;
    ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return CSAM_ERR_NOMEM;
    ctx->pamh = pamh;
    ctx->debug = opts->debug;
    ctx->logger.fn = csam_context_log;
    ctx->logger.ctx = ctx;

    res = csam_context_load_config(ctx, opts->config);
    if (res != CSAM_OK)
        goto out;

    err[0] = '\0';
    res = csam_secret_load_group(ctx->config.secret_file,
                                 ctx->config.secret_group, &ctx->secret, err,
                                 sizeof(err));
    if (res != CSAM_OK) {
        pam_syslog(pamh, LOG_ERR, "cannot use the secret file %s: %s",
                   ctx->config.secret_file,
                   err[0] != '\0' ? err : csam_result_name(res));
        goto out;
    }
    /* libcurl's global initialisation, before anything could run it
     * lazily from two threads at once.  After the first call it only
     * counts a reference (libcurl >= 7.84 does that under its own lock);
     * libcsam has no matching cleanup, and none is wanted while the
     * module stays loaded (-z nodelete).  It reads the environment
     * (SSLKEYLOGFILE: a file it would open for appending, as root under
     * su), which is the caller's: hidden, as for libpq (environ.h). */
    csam_environ_hide();
    res = csam_smtp_init();
    csam_environ_restore();
    if (res != CSAM_OK) {
        pam_syslog(pamh, LOG_ERR, "cannot initialise the mail library");
        goto out;
    }
    ctx->smtp.relay = ctx->config.mail_relay;
    ctx->smtp.from = ctx->config.mail_from;
    ctx->smtp.timeout = ctx->config.mail_timeout;
    ctx->smtp.ca_file = ctx->config.mail_ca_file;
    res = csam_context_sms(ctx, opts);
    if (res == CSAM_OK)
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
    if (ctx->store != NULL)
        csam_store_close(ctx->store);
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
    csam_secret_free(ctx->secret);
    if (ctx->config_ready)
        csam_config_free(&ctx->config);
    csam_wipe(ctx, sizeof(*ctx));
    free(ctx);
}
