/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine object and what every step shares: keyed hashes bound to an
 * owner, client addresses, composing and sending mail.  The steps live in
 * engine_registration.c, engine_activation.c, engine_challenge.c and
 * engine_pam.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_internal.h"
#include "sms.h"

csam_result csam_engine_new(const struct csam_engine_deps *deps,
                            csam_engine **out)
{
    csam_engine *engine;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (deps == NULL || deps->config == NULL || deps->secret == NULL
        || deps->store == NULL || deps->sender.fn == NULL)
        return CSAM_ERR_INVALID;
    engine = calloc(1, sizeof(*engine));
    if (engine == NULL)
        return CSAM_ERR_NOMEM;
    engine->deps = *deps;
    *out = engine;
    return CSAM_OK;
}

void csam_engine_free(csam_engine *engine)
{
    free(engine);
}

const char *csam_step_name(enum csam_step step)
{
    switch (step) {
    case CSAM_STEP_KEY: return "key";
    case CSAM_STEP_CREDENTIALS: return "credentials";
    /* The address's code goes to the same endpoint as the key's. */
    case CSAM_STEP_CONFIRM:
    case CSAM_STEP_EMAIL: return "confirm";
    case CSAM_STEP_DONE: return "done";
    }
    return "key";
}

csam_result csam_engine_hash_named(const csam_engine *engine,
                                   enum csam_purpose purpose, const char *label,
                                   const char *owner, const char *value,
                                   unsigned char out[CSAM_HASH_LEN])
{
    return csam_engine_hash_secret(engine->deps.secret, purpose, label, owner,
                                   value, out);
}

csam_result csam_engine_hash_secret(const csam_secret *secret,
                                    enum csam_purpose purpose,
                                    const char *label, const char *owner,
                                    const char *value,
                                    unsigned char out[CSAM_HASH_LEN])
{
    /* label, owner and value are short (at most a token and a username);
     * a fixed buffer keeps the secret value off the heap. */
    char buf[256];
    size_t llen, olen, vlen;
    csam_result res;

    if (label == NULL || owner == NULL || value == NULL)
        return CSAM_ERR_INVALID;
    llen = strlen(label);
    olen = strlen(owner);
    vlen = strlen(value);
    if (llen + olen + vlen + 2 > sizeof(buf))
        return CSAM_ERR_INVALID;
    memcpy(buf, label, llen);
    buf[llen] = '\0';
    memcpy(buf + llen + 1, owner, olen);
    buf[llen + 1 + olen] = '\0';
    memcpy(buf + llen + olen + 2, value, vlen);
    res = csam_keyed_hash(secret, purpose, buf, llen + olen + 2 + vlen, out);
    csam_wipe(buf, sizeof(buf));
    return res;
}

csam_result csam_engine_hash(const csam_engine *engine,
                             enum csam_purpose purpose, const char *label,
                             int64_t owner, const char *value,
                             unsigned char out[CSAM_HASH_LEN])
{
    return csam_engine_hash_under(engine->deps.secret, purpose, label, owner,
                                  value, out);
}

csam_result csam_engine_hash_under(const csam_secret *secret,
                                   enum csam_purpose purpose, const char *label,
                                   int64_t owner, const char *value,
                                   unsigned char out[CSAM_HASH_LEN])
{
    char owner_text[24];

    snprintf(owner_text, sizeof(owner_text), "%" PRId64, owner);
    return csam_engine_hash_secret(secret, purpose, label, owner_text, value,
                                   out);
}

const csam_secret *csam_engine_secret_next(const csam_secret *current,
                                           const csam_secret *s)
{
    /* Only the current secret has a previous one (attaching refuses a
     * chain), so the loop ends after two at most. */
    return s == current ? csam_secret_previous(current) : NULL;
}

const char *csam_engine_source(const char *source)
{
    if (source == NULL
        || csam_text_check(source, CSAM_ENGINE_SOURCE_MAX) != CSAM_OK)
        return NULL;
    return source;
}

csam_result csam_engine_mail(csam_engine *engine, const char *to,
                             const char *lang, const char *kind,
                             const struct csam_tvar *vars, size_t nvars,
                             const char *secret)
{
    const struct csam_config *cfg = engine->deps.config;
    const struct csam_template_dirs dirs = {cfg->templates_dir, cfg->data_dir};
    struct csam_mail_content content;
    struct csam_message msg;
    char why[512];
    csam_result res;

    memset(&content, 0, sizeof(content));
    res = csam_mail_compose(&dirs, lang, kind, vars, nvars, &content, why,
                            sizeof(why));
    if (res != CSAM_OK) {
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "cannot compose the '%s' mail (%s): %s; check the "
                 "templates under %s and %s/templates",
                 kind, csam_result_name(res),
                 why[0] != '\0' ? why : "no detail",
                 cfg->templates_dir != NULL ? cfg->templates_dir : "(none)",
                 cfg->data_dir != NULL ? cfg->data_dir : "(none)");
        return CSAM_ERR_MAIL;
    }
    memset(&msg, 0, sizeof(msg));
    msg.to = to;
    msg.subject = content.subject;
    msg.text = content.text;
    msg.html = content.html;
    msg.kind = kind;
    msg.secret = secret;
    res = engine->deps.sender.fn(engine->deps.sender.ctx, &msg);
    /* The bodies carry the code or link: wipe them before freeing. */
    if (content.text != NULL)
        csam_wipe(content.text, strlen(content.text));
    if (content.html != NULL)
        csam_wipe(content.html, strlen(content.html));
    csam_mail_content_free(&content);
    if (res != CSAM_OK) {
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "the '%s' mail could not be delivered (%s)", kind,
                 csam_result_name(res));
        return CSAM_ERR_MAIL;
    }
    return CSAM_OK;
}

void csam_engine_code_minutes(const csam_engine *engine,
                              char out[CSAM_ENGINE_MINUTES_SIZE])
{
    long ttl = engine->deps.config->code_ttl;

    snprintf(out, CSAM_ENGINE_MINUTES_SIZE, "%ld",
             ttl > 0 ? (ttl + 59) / 60 : 1);
}

unsigned csam_engine_offered(const csam_engine *engine)
{
    unsigned types = (unsigned)CSAM_KEY_EMAIL | (unsigned)CSAM_KEY_TOTP;

    /* Without a gateway an SMS key could never receive its codes. */
    if (engine->deps.sms.fn != NULL)
        types |= (unsigned)CSAM_KEY_SMS;
    return types;
}

csam_result csam_engine_sms(csam_engine *engine, const char *to,
                            const char *lang, const struct csam_tvar *vars,
                            size_t nvars, const char *secret)
{
    const struct csam_config *cfg = engine->deps.config;
    const struct csam_template_dirs dirs = {cfg->templates_dir, cfg->data_dir};
    struct csam_message msg;
    char *text = NULL;
    csam_result res;

    if (engine->deps.sms.fn == NULL) {
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "an SMS code was asked for but SMS is not configured");
        return CSAM_ERR_MAIL;
    }
    res = csam_sms_compose(&dirs, lang, "code", vars, nvars, &text);
    if (res != CSAM_OK) {
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "cannot compose the code SMS (%s): check the templates "
                 "under %s and %s/templates",
                 csam_result_name(res),
                 cfg->templates_dir != NULL ? cfg->templates_dir : "(none)",
                 cfg->data_dir != NULL ? cfg->data_dir : "(none)");
        return CSAM_ERR_MAIL;
    }
    memset(&msg, 0, sizeof(msg));
    msg.to = to;
    msg.text = text;
    msg.kind = "code";
    msg.secret = secret;
    res = engine->deps.sms.fn(engine->deps.sms.ctx, &msg);
    csam_wipe(text, strlen(text));
    free(text);
    if (res != CSAM_OK) {
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "the code SMS could not be delivered (%s)",
                 csam_result_name(res));
        return CSAM_ERR_MAIL;
    }
    return CSAM_OK;
}
