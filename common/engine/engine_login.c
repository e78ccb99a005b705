/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Web login (DESIGN 2.3, 4): the password, then a code from one active key,
 * then a session.
 *
 * Wrong passwords count per login name (csam_password_failures, keyed by a
 * keyed hash of the name, for unknown names as for accounts, so delays and
 * locks tell nothing about which names exist) and per source address
 * (csam_source_failures, shared with wrong codes).  They never touch the
 * account's code-failure counter: a right password alone never resets it.
 * From a known device (csam_login_devices, the browser's csam_device
 * cookie) they count on that device alone, and no other lock applies.
 *
 * Each try is counted before Argon2id runs, in the statement that also
 * refuses a try inside the name's delay or under a lock (the name's, the
 * account's, the source's: the same answer for a right and a wrong
 * password, no Argon2id run, so a lock is no oracle): two hundred guesses
 * sent at once are two hundred counted failures, not two hundred free
 * ones, and no more of them reach Argon2id than a counter allows.  A right
 * password then takes its try back (csam_login_settle).
 *
 * A web login code belongs to one live login flow; a new login of the
 * account with the same key inside the resend cooldown takes the pending
 * code over (DESIGN 4) instead of being told to wait.
 *
 * Round trips: csam_engine_login_password makes two (count and read, then
 * the outcome: the flow, or the audit row of a wrong password) around one
 * Argon2id run; csam_engine_login_verify makes one (two with the app's
 * key).  The statements are in the store (store/logins.c, the
 * verification in store/challenge.c); here are the rules and their order.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "logins.h"

/* The longest password looked at: far past any policy's maximum (1024
 * code points of at most four bytes), so nothing right is ever cut. */
#define CSAM_LOGIN_PASSWORD_BYTES 4096

static long csam_login_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void csam_login_policy(const csam_engine *engine,
                       struct csam_password_policy *policy)
{
    const struct csam_config *cfg = engine->deps.config;

    policy->min_length = cfg->password_min > 0 ? (size_t)cfg->password_min : 0;
    policy->max_length = cfg->password_max > 0 ? (size_t)cfg->password_max : 0;
    policy->common = engine->deps.common_passwords;
}

/* ---- counting a try ---------------------------------------------------- */

/* The settle statement's input for chk (logins.c says what it does). */
static void csam_login_settle_in(csam_engine *engine,
                                 const struct csam_login_check *chk,
                                 const char *action, const char *username,
                                 const char *source,
                                 struct csam_store_login_settle *in)
{
    in->name_hash = chk->name_hash;
    in->prev_lock = chk->prev_lock[0] != '\0' ? chk->prev_lock : NULL;
    in->action = action;
    in->actor = username;
    in->account_id = chk->account_id;
    in->source = csam_engine_source(source);
    in->device_id = chk->device_id;
    in->device_locked_now = chk->device_locked_now;
    in->threshold = csam_login_clamp(engine->deps.config->lockout_threshold, 1,
                                     1000);
    in->counted_source = chk->source_counted ? csam_engine_source(source)
                                             : NULL;
    in->source_locked_now = chk->source_locked_now;
}

csam_result csam_login_settle(csam_engine *engine,
                              const struct csam_login_check *chk,
                              const char *action, const char *username,
                              const char *source)
{
    struct csam_store_login_settle in;

    csam_login_settle_in(engine, chk, action, username, source, &in);
    return csam_store_login_settle(engine->deps.store, &in);
}

/* A wrong password, or a name that is no account: the audit row (the try
 * was counted before Argon2id ran), the same statement either way, so
 * that both take the same time.  The audit row names the account only
 * when there is one: an unknown name may be a password typed in the wrong
 * field.  Each audit row of these, and of a right password, stands for
 * one Argon2id run. */
static csam_result csam_login_failed(csam_engine *engine,
                                     const struct csam_login_check *chk,
                                     const char *username, const char *source)
{
    return csam_audit_write(
        engine->deps.store, chk->account_id != 0 ? username : NULL,
        "login.password_failed", 0, chk->account_id, source, NULL);
}

/* Run Argon2id on password against phc (NULL: an unknown name, whose
 * run is burnt with the configured parameters).  CSAM_OK or
 * CSAM_ERR_BAD_CREDENTIALS. */
static csam_result csam_login_argon2(csam_engine *engine, int64_t account_id,
                                     const char *phc, const char *password)
{
    const struct csam_config *cfg = engine->deps.config;
    struct csam_argon2_params argon;
    csam_result res;

    if (phc != NULL) {
        res = csam_password_verify(phc, password);
        if (res == CSAM_ERR_INVALID) {
            /* A stored hash libargon2 cannot read: the account cannot log
             * in, and says so no differently. */
            csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                     "account %lld has an unreadable password hash",
                     (long long)account_id);
            res = CSAM_ERR_BAD_CREDENTIALS;
        }
    } else {
        argon.t_cost = (uint32_t)cfg->argon2_t_cost;
        argon.m_cost = (uint32_t)cfg->argon2_m_cost;
        argon.parallelism = (uint32_t)cfg->argon2_parallelism;
        csam_password_burn(&argon, password);
        res = CSAM_ERR_BAD_CREDENTIALS;
    }
    return res;
}

/* Why a try was refused before Argon2id (*why says which rule): CSAM_OK
 * when it was not. */
static csam_result csam_login_refusal(const struct csam_store_login_tally *t,
                                      long duration, const char *source,
                                      enum csam_login_refusal *why,
                                      struct csam_attempts *att)
{
    *why = CSAM_LOGIN_TRIED;
    if (t->device_id != 0) {
        if (!t->device_counted) {
            att->retry_after = t->device_lock > 0 ? t->device_lock : 1;
            *why = CSAM_LOGIN_DEVICE_LOCKED;
            return CSAM_ERR_LOCKED;
        }
        return CSAM_OK;
    }
    /* Inside the name's delay: refused unchecked, not counted. */
    if (t->name_delay > 0) {
        att->retry_after = t->name_delay;
        *why = CSAM_LOGIN_DELAYED;
        return CSAM_ERR_BAD_CREDENTIALS;
    }
    /* A lock of the name, of the account or of the source: the same
     * answer for a right and a wrong password, and no Argon2id run, so
     * that the lock is no oracle (DESIGN 4). */
    if (t->name_lock > 0 || t->account_lock > 0) {
        att->retry_after = t->name_lock > 0 ? t->name_lock : t->account_lock;
        *why = t->name_lock > 0 ? CSAM_LOGIN_NAME_LOCKED
                                : CSAM_LOGIN_ACCOUNT_LOCKED;
        return CSAM_ERR_LOCKED;
    }
    if (source != NULL && !t->source_counted) {
        att->retry_after = t->source_lock > 0 ? t->source_lock : duration;
        *why = CSAM_LOGIN_SOURCE_LOCKED;
        return CSAM_ERR_LOCKED;
    }
    /* Locked or delayed by a concurrent try since the snapshot. */
    if (!t->name_counted) {
        att->retry_after = 1;
        *why = CSAM_LOGIN_DELAYED;
        return CSAM_ERR_BAD_CREDENTIALS;
    }
    return CSAM_OK;
}

csam_result csam_login_check(csam_engine *engine, const char *source,
                             const char *username, const char *password,
                             struct csam_login_check *out,
                             struct csam_attempts *att)
{
    return csam_login_check_device(engine, source, NULL, username, password,
                                   out, att);
}

/* A try counted and not refused: what it found, then one Argon2id run. */
static csam_result csam_login_tallied(csam_engine *engine,
                                      const struct csam_store_login_tally *t,
                                      const char *username,
                                      const char *password, const char *source,
                                      struct csam_login_check *out,
                                      struct csam_attempts *att)
{
    csam_result res;

    out->account_id = t->account_id;
    out->keys = t->keys;
    out->device_id = t->device_id;
    out->device_locked_now = t->device_locked_now;
    out->source_counted = t->source_counted;
    out->source_locked_now = t->source_locked_now;
    out->name_locked_now = t->name_locked_now;
    if (out->device_id == 0)
        att->retry_after = t->name_wait;
    res = csam_login_argon2(engine, out->account_id,
                            out->account_id != 0 ? t->password_hash : NULL,
                            password);
    if (res == CSAM_ERR_BAD_CREDENTIALS) {
        res = csam_login_failed(engine, out, username, source);
        return res == CSAM_OK ? CSAM_ERR_BAD_CREDENTIALS : res;
    }
    att->retry_after = 0;
    return res;
}

/* A flow token's hashes (a login handle, label "login"; a device token,
 * "login_device"), as csam_engine_name_hashes the name's: one made before
 * the secret was replaced is stored under the previous secret's hash. */
static csam_result csam_login_token_hashes(const csam_engine *engine,
                                           const char *label, const char *token,
                                           struct csam_engine_hashes *out)
{
    const csam_secret *prev = csam_secret_previous(engine->deps.secret);
    csam_result res;

    out->has_previous = 0;
    res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, label, 0, token,
                           out->current);
    if (res == CSAM_OK && prev != NULL) {
        res = csam_engine_hash_under(prev, CSAM_PURPOSE_FLOW_HANDLE, label, 0,
                                     token, out->previous);
        out->has_previous = res == CSAM_OK;
    }
    return res;
}

/* Count the try (one statement), then run Argon2id unless it was
 * refused. */
static csam_result
csam_login_check_gated(csam_engine *engine, const char *source,
                       const char *device, const char *username,
                       const char *password, struct csam_login_check *out,
                       struct csam_attempts *att)
{
    struct csam_engine_hashes name, dev;
    struct csam_store_limits limits;
    struct csam_store_login_try tried;
    struct csam_store_login_tally tally;
    csam_result res;

    memset(out, 0, sizeof(*out));
    att->attempts_left = -1;
    att->retry_after = 0;
    if (username == NULL || password == NULL
        || strnlen(username, CSAM_USERNAME_MAX + 1) > CSAM_USERNAME_MAX
        || strnlen(password, CSAM_LOGIN_PASSWORD_BYTES + 1)
               > CSAM_LOGIN_PASSWORD_BYTES)
        return CSAM_ERR_INVALID;
    res = csam_engine_name_hashes(engine, username, &name);
    if (res == CSAM_OK)
        memcpy(out->name_hash, name.current, CSAM_HASH_LEN);
    if (res == CSAM_OK && device != NULL && csam_token_valid(device))
        res = csam_login_token_hashes(engine, "login_device", device, &dev);
    else
        device = NULL;
    if (res != CSAM_OK)
        return res;
    csam_challenge_limits(engine, &limits);
    /* A name no account can have (bad syntax, bad UTF-8) looks up no
     * account, through the same statement, so it costs the same; its
     * bytes never reach the server as text. */
    tried.username = csam_username_check(username) == CSAM_OK ? username : NULL;
    tried.name_hash = out->name_hash;
    tried.device_hash = device != NULL ? dev.current : NULL;
    /* While the secret is replaced, the name's counters and the device
     * may still be stored under the previous secret's hashes. */
    tried.name_hash_previous = name.has_previous ? name.previous : NULL;
    tried.device_hash_previous = device != NULL && dev.has_previous
                                     ? dev.previous
                                     : NULL;
    tried.source = csam_engine_source(source);
    tried.limits = &limits;
    res = csam_store_login_charge(engine->deps.store, &tried, &tally);
    out->device_id = tally.device_id;
    out->account_id = tally.account_id;
    /* A device known under the previous secret moves to the current one,
     * so that it stays known once the previous secret is removed. */
    if (res == CSAM_OK && tally.device_id != 0 && tally.device_previous)
        res = csam_store_login_device_rehash(
            engine->deps.store, tally.device_id, dev.previous, dev.current);
    if (res == CSAM_OK)
        res = csam_login_refusal(&tally, limits.duration, tried.source,
                                 &out->refusal, att);
    if (res == CSAM_OK)
        res = csam_login_tallied(engine, &tally, username, password, source,
                                 out, att);
    free(tally.password_hash);
    return res;
}
csam_result csam_login_check_device(csam_engine *engine, const char *source,
                                    const char *device, const char *username,
                                    const char *password,
                                    struct csam_login_check *out,
                                    struct csam_attempts *att)
{
    const struct csam_gate *gate = &engine->deps.hash_gate;
    csam_result res;

    memset(out, 0, sizeof(*out));
    att->attempts_left = -1;
    att->retry_after = 0;
    /* The gate bounds this process's concurrent Argon2id runs (each holds
     * argon2_m_cost of memory).  It is taken before the try is counted: a
     * try refused as busy costs the citizen nothing. */
    if (gate->enter != NULL && gate->enter(gate->ctx) != 0)
        return CSAM_ERR_BUSY;
    res = csam_login_check_gated(engine, source, device, username, password,
                                 out, att);
    if (gate->leave != NULL)
        gate->leave(gate->ctx);
    return res;
}

csam_result csam_engine_name_hashes(const csam_engine *engine,
                                    const char *username,
                                    struct csam_engine_hashes *out)
{
    const csam_secret *prev = csam_secret_previous(engine->deps.secret);
    csam_result res;

    out->has_previous = 0;
    res = csam_engine_hash_named(engine, CSAM_PURPOSE_FLOW_HANDLE, "login_name",
                                 "", username, out->current);
    if (res == CSAM_OK && prev != NULL) {
        res = csam_engine_hash_secret(prev, CSAM_PURPOSE_FLOW_HANDLE,
                                      "login_name", "", username,
                                      out->previous);
        out->has_previous = res == CSAM_OK;
    }
    return res;
}

csam_result csam_login_device_hash(const csam_engine *engine,
                                   const char *device,
                                   unsigned char out[CSAM_HASH_LEN])
{
    return csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "login_device", 0,
                            device, out);
}

/* ---- the login steps --------------------------------------------------- */

csam_result csam_engine_login_password(csam_engine *engine, const char *source,
                                       const char *username,
                                       const char *password,
                                       char handle[CSAM_TOKEN_SIZE],
                                       unsigned *key_types,
                                       struct csam_attempts *att)
{
    return csam_engine_login_password_device(engine, source, NULL, username,
                                             password, handle, key_types, att);
}

csam_result csam_engine_login_password_device(
    csam_engine *engine, const char *source, const char *device,
    const char *username, const char *password, char handle[CSAM_TOKEN_SIZE],
    unsigned *key_types, struct csam_attempts *att)
{
    unsigned char hhash[CSAM_HASH_LEN];
    struct csam_store_login_settle settle;
    struct csam_login_check chk;
    struct csam_attempts dummy;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || handle == NULL || key_types == NULL)
        return CSAM_ERR_INVALID;
    handle[0] = '\0';
    *key_types = 0;
    res = csam_login_check_device(engine, source, device, username, password,
                                  &chk, att);
    if (res != CSAM_OK) {
        csam_login_notice_password(engine, &chk, res, username, source);
        return res;
    }

    res = csam_token_new(handle);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "login", 0,
                               handle, hhash);
    if (res == CSAM_OK) {
        csam_login_settle_in(engine, &chk, "login.password_accepted", username,
                             source, &settle);
        res = csam_store_login_open(
            engine->deps.store, &settle, hhash,
            csam_login_clamp(engine->deps.config->flow_ttl, 60, 86400));
    }
    if (res != CSAM_OK) {
        csam_wipe(handle, CSAM_TOKEN_SIZE);
        handle[0] = '\0';
        return res;
    }
    *key_types = chk.keys & csam_engine_offered(engine);
    return CSAM_OK;
}

/* ---- choosing a key ----------------------------------------------------- */

/* The live login flow of a handle, locked until the transaction ends,
 * with what a code message needs (key_id: the active key of key_type). */
static csam_result csam_login_flow_lock(csam_engine *engine, const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_store_login_flow *out)
{
    const csam_secret *cur = engine->deps.secret, *s;
    unsigned char hash[CSAM_HASH_LEN];
    csam_result res = CSAM_ERR_NOT_FOUND;

    memset(out, 0, sizeof(*out));
    for (s = cur; s != NULL && res == CSAM_ERR_NOT_FOUND;
         s = csam_engine_secret_next(cur, s)) {
        res = csam_engine_hash_under(s, CSAM_PURPOSE_FLOW_HANDLE, "login", 0,
                                     handle, hash);
        if (res == CSAM_OK)
            res = csam_store_login_flow_lock(engine->deps.store, hash,
                                             csam_key_type_name(key_type), out);
    }
    return res == CSAM_ERR_NOT_FOUND ? CSAM_ERR_EXPIRED : res;
}

/* Inside the transaction: a fresh web login code bound to the flow, its
 * audit row and its mail or SMS; for the app's key only the challenge row
 * that bounds the attempts, nothing sent.  The flow then owns it. */
static csam_result csam_login_send_code(
    csam_engine *engine, const struct csam_store_login_flow *flow,
    enum csam_key_type type, const char *handle, const char *source)
{
    struct csam_challenge_owner owner = {flow->account_id, flow->username,
                                         handle};
    struct csam_challenge_recipient to = {
        flow->username, 0,   flow->first_name, flow->language, flow->email,
        flow->phone,    NULL};
    csam_result res;

    res = csam_challenge_send(engine, &owner, flow->key_id,
                              CSAM_CHALLENGE_WEB_LOGIN, type, &to, source);
    if (res == CSAM_OK)
        res = csam_store_login_adopt(engine->deps.store, flow->id,
                                     flow->account_id);
    return res;
}

/* The code sent moments ago, for this login or an abandoned one, is still
 * good: this login takes it over, nothing is sent (DESIGN 4: never "too
 * many attempts" for an abandoned login). */
static csam_result
csam_login_reuse_code(csam_engine *engine,
                      const struct csam_store_login_flow *flow,
                      enum csam_key_type type, const char *source)
{
    csam_result res;

    res = csam_store_login_adopt(engine->deps.store, flow->id,
                                 flow->account_id);
    if (res == CSAM_OK)
        res = csam_audit_write(engine->deps.store, flow->username,
                               "challenge.reused", 0, flow->account_id, source,
                               type == CSAM_KEY_SMS
                                   ? "{\"purpose\": \"web_login\", "
                                     "\"key_type\": \"sms\"}"
                                   : "{\"purpose\": \"web_login\", "
                                     "\"key_type\": \"email\"}");
    return res;
}

/* Inside the transaction, the flow locked: reuse the account's pending
 * code, or send a new one unless the cooldown holds it back. */
static csam_result csam_login_code_for(csam_engine *engine,
                                       const struct csam_store_login_flow *flow,
                                       enum csam_key_type key_type,
                                       const char *handle, const char *source,
                                       struct csam_login_code *out,
                                       struct csam_attempts *att)
{
    long cooldown = csam_login_clamp(engine->deps.config->resend_cooldown, 0,
                                     86400);
    struct csam_store_login_pending pending;
    csam_result res;

    res = csam_store_login_pending(engine->deps.store, flow->account_id,
                                   &pending);
    if (res != CSAM_OK)
        return res;
    if (key_type != CSAM_KEY_TOTP && pending.usable && pending.type == key_type
        && pending.age < cooldown) {
        res = csam_login_reuse_code(engine, flow, key_type, source);
        if (res == CSAM_OK) {
            out->reused = 1;
            out->sent_at = pending.created;
            out->resend_after = cooldown - pending.age;
        }
        return res;
    }
    /* One message per resend_cooldown per account, whichever login asks:
     * a script holding the password cannot flood the mailbox or the
     * phone.  A code already used does not hold the next login back: the
     * citizen logged in with it, nobody is flooding.  Refused before
     * anything changed: a key chosen before stays chosen, its code still
     * good. */
    if (key_type != CSAM_KEY_TOTP && pending.age >= 0 && pending.age < cooldown
        && !pending.used) {
        att->retry_after = cooldown - pending.age;
        return CSAM_ERR_TOO_SOON;
    }
    res = csam_login_send_code(engine, flow, key_type, handle, source);
    if (res == CSAM_OK && key_type != CSAM_KEY_TOTP) {
        out->sent_at = pending.now;
        out->resend_after = cooldown;
    }
    return res;
}

csam_result csam_engine_login_challenge(csam_engine *engine, const char *source,
                                        const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_attempts *att)
{
    struct csam_login_code sent;

    return csam_engine_login_code(engine, source, handle, key_type, &sent, att);
}

csam_result csam_engine_login_code(csam_engine *engine, const char *source,
                                   const char *handle,
                                   enum csam_key_type key_type,
                                   struct csam_login_code *out,
                                   struct csam_attempts *att)
{
    struct csam_store_login_flow flow;
    struct csam_login_code dummy_out;
    struct csam_attempts dummy;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    if (out == NULL)
        out = &dummy_out;
    att->attempts_left = -1;
    att->retry_after = 0;
    memset(out, 0, sizeof(*out));
    if (engine == NULL)
        return CSAM_ERR_INVALID;
    if (handle == NULL || !csam_token_valid(handle))
        return CSAM_ERR_EXPIRED;
    if (csam_key_type_name(key_type) == NULL)
        return CSAM_ERR_INVALID;
    res = csam_store_begin(engine->deps.store);
    if (res != CSAM_OK)
        return res;
    /* The flow's row lock serialises two choices on one handle. */
    res = csam_login_flow_lock(engine, handle, key_type, &flow);
    if (res == CSAM_OK
        && (!((unsigned)key_type & flow.keys & csam_engine_offered(engine))
            || flow.key_id == 0))
        res = CSAM_ERR_INVALID;
    /* A known device is held back by its own lock only (at the code). */
    if (res == CSAM_OK && flow.locked_for > 0 && flow.device_id == 0) {
        att->retry_after = flow.locked_for;
        res = CSAM_ERR_LOCKED;
    }
    if (res == CSAM_OK)
        res = csam_login_code_for(engine, &flow, key_type, handle, source, out,
                                  att);
    if (res == CSAM_OK)
        res = csam_store_login_choose(engine->deps.store, flow.id,
                                      csam_key_type_name(key_type));
    if (res != CSAM_OK) {
        csam_store_rollback(engine->deps.store);
        return res;
    }
    return csam_store_commit(engine->deps.store);
}

/* ---- the code ------------------------------------------------------------ */

/* What a login verdict means: those of csam_challenge_outcome, with
 * CSAM_ERR_EXPIRED for an unknown, expired or used handle (or an account
 * or key gone) and CSAM_ERR_STATE when no key was chosen yet.  *totp is
 * set when the flow waits for the app's code and the e-mail form found no
 * owner to check (it changed nothing). */
static csam_result csam_login_outcome(const struct csam_store_login_verdict *v,
                                      int *totp, struct csam_session_info *out,
                                      struct csam_attempts *att)
{
    csam_result res;

    *totp = 0;
    if (!v->flow_found)
        return CSAM_ERR_EXPIRED;
    if (!v->confirm)
        return CSAM_ERR_STATE; /* no key chosen yet */
    if (v->key_type == CSAM_KEY_TOTP && !v->verdict.owner_found) {
        *totp = 1;
        return CSAM_ERR_STATE;
    }
    res = csam_challenge_outcome(&v->verdict, att);
    /* The key or the account went away, or the handle was used
     * meanwhile. */
    if (res == CSAM_ERR_NOT_FOUND || (res == CSAM_OK && !v->session_made))
        res = CSAM_ERR_EXPIRED;
    if (res == CSAM_OK) {
        snprintf(out->username, sizeof(out->username), "%s", v->username);
        out->key_type = v->key_type;
        out->auth_time = v->auth_time;
        out->expires_at = v->expires_at;
        out->idle_expires_at = v->idle_expires_at;
    }
    return res;
}

/* The app's key: its secret opens here, between the e-mail form (which
 * read it) and the TOTP form (which stores the step and counts). */
static csam_result
csam_login_verify_totp(csam_engine *engine,
                       const struct csam_store_login_verify *in,
                       struct csam_store_challenge_check *ck, const char *code,
                       struct csam_store_login_verdict *v,
                       struct csam_session_info *out, struct csam_attempts *att)
{
    int64_t key_id = v->totp_key_id, step = -1;
    csam_result res;
    int totp = 0;

    if (key_id <= 0)
        return CSAM_ERR_EXPIRED; /* the key went away */
    res = csam_totp_match(engine, key_id, v->totp_sealed, v->totp_last_step,
                          v->now, code, &step);
    if (res != CSAM_OK)
        return res;
    ck->totp_step = step;
    res = csam_store_challenge_verify_login_totp(engine->deps.store, in, key_id,
                                                 ck, v);
    if (res != CSAM_OK)
        return res;
    res = csam_login_outcome(v, &totp, out, att);
    return totp ? CSAM_ERR_EXPIRED : res; /* the key went away meanwhile */
}

/* The web login's verification: one statement (two for the app's key)
 * checks the code of the flow's chosen key, counts it, and on success
 * uses the handle up, creates the session whose cookie hashes to
 * session_hash and, with device_hash, records a known device
 * (*device_made).  From a known device, wrong codes count on it alone. */
static csam_result
csam_login_verify_code(csam_engine *engine, const char *handle,
                       const char *code, const char *source,
                       const unsigned char *session_hash,
                       const unsigned char *device_hash, int *device_made,
                       struct csam_session_info *out, struct csam_attempts *att)
{
    const struct csam_config *cfg = engine->deps.config;
    struct csam_engine_hashes hh, chash;
    struct csam_challenge_owner owner = {0, NULL, handle};
    struct csam_store_login_verify in = {
        NULL, NULL, session_hash, device_hash, 0, 0, CSAM_LOGIN_DEVICE_TTL};
    struct csam_store_challenge_check ck;
    struct csam_store_limits limits;
    struct csam_store_login_verdict v;
    csam_result res;
    int totp = 0;

    att->attempts_left = -1;
    att->retry_after = 0;
    *device_made = 0;
    memset(out, 0, sizeof(*out));
    if (handle == NULL || !csam_token_valid(handle))
        return CSAM_ERR_EXPIRED;
    /* The statement takes either hash of the handle. */
    res = csam_login_token_hashes(engine, "login", handle, &hh);
    in.handle_hash = hh.current;
    if (res == CSAM_OK && hh.has_previous)
        in.handle_hash_previous = hh.previous;
    if (res == CSAM_OK)
        res = csam_challenge_typed_hash(engine, &owner,
                                        CSAM_CHALLENGE_WEB_LOGIN,
                                        CSAM_KEY_EMAIL, code, &chash);
    if (res != CSAM_OK)
        return res;
    in.session_idle = csam_login_clamp(cfg->session_idle, 1, 86400);
    in.session_life = csam_login_clamp(cfg->session_absolute, 1, 31 * 86400);
    csam_challenge_check_init(engine, CSAM_CHALLENGE_WEB_LOGIN, source, 1,
                              &limits, &ck);
    csam_challenge_check_hashes(&ck, &chash);
    memset(&v, 0, sizeof(v));
    res = csam_store_challenge_verify_login(engine->deps.store, &in, &ck, &v);
    csam_wipe(&chash, sizeof(chash));
    ck.code_hash = NULL;
    ck.code_hash_previous = NULL;
    if (res == CSAM_OK)
        res = csam_login_outcome(&v, &totp, out, att);
    if (totp)
        res = csam_login_verify_totp(engine, &in, &ck, code, &v, out, att);
    *device_made = res == CSAM_OK && v.device_made;
    if (res != CSAM_OK && v.flow_found)
        csam_login_notice_code(engine, &v.verdict, res, v.username, source);
    csam_wipe(v.totp_sealed, sizeof(v.totp_sealed));
    return res;
}
csam_result csam_engine_login_verify(csam_engine *engine, const char *source,
                                     const char *handle, const char *code,
                                     struct csam_session_ticket *out,
                                     struct csam_attempts *att)
{
    unsigned char shash[CSAM_HASH_LEN], dhash[CSAM_HASH_LEN];
    struct csam_attempts dummy;
    int device_made = 0;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    /* The session id is made here, never taken from the browser: no
     * session fixation. */
    res = csam_token_new(out->cookie);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_SESSION, "session", 0,
                               out->cookie, shash);
    /* A completed login makes this browser a known device of the account
     * (unless it is one already): its token goes to the browser once. */
    if (res == CSAM_OK)
        res = csam_token_new(out->device);
    if (res == CSAM_OK)
        res = csam_login_device_hash(engine, out->device, dhash);
    if (res == CSAM_OK)
        res = csam_login_verify_code(engine, handle, code, source, shash, dhash,
                                     &device_made, &out->info, att);
    csam_wipe(shash, sizeof(shash));
    csam_wipe(dhash, sizeof(dhash));
    if (!device_made) {
        csam_wipe(out->device, sizeof(out->device));
        out->device[0] = '\0';
    }
    if (res != CSAM_OK) {
        csam_wipe(out->cookie, sizeof(out->cookie));
        return res;
    }
    csam_log(&engine->deps.logger, CSAM_LOG_INFO,
             "web login of %s with the %s key", out->info.username,
             csam_key_type_name(out->info.key_type));
    return CSAM_OK;
}
