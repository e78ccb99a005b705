/*
 * Web login (DESIGN 2.3, 4): the password, then a code from one active key,
 * then a session.
 *
 * Wrong passwords count per login name (csam_password_failures, keyed by a
 * keyed hash of the name, for unknown names as for accounts, so delays and
 * locks tell nothing about which names exist) and per source address
 * (csam_source_failures, shared with wrong codes).  They never touch the
 * account's code-failure counter: a right password alone never resets it.
 *
 * Each try is counted before Argon2id runs, in the statement that also
 * refuses a try inside the name's delay: two hundred guesses sent at once
 * are two hundred counted failures, not two hundred free ones.  A right
 * password then takes its try back (csam_login_settle).
 *
 * Round trips: csam_engine_login_password makes three (source lock, count
 * and read the account, then the outcome) and one more on a wrong
 * password (the source's counter), around one Argon2id run;
 * csam_engine_login_verify makes one.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen, strdup */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

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

/* The name's failures before this try: those of a row whose last failure
 * is older than lockout_duration ($4) no longer count. */
#define CSAM_LOGIN_PREV                                                        \
    "(CASE WHEN pf.last_failure_at < now() - make_interval(secs => "           \
    "$4::integer) THEN 0 ELSE pf.failures END)"

/*
 * $1 the name typed, $2 its keyed hash, $3 lockout threshold, $4 lockout
 * duration (s), $5 failures after which each one adds a growing delay
 * (1, 2, 4 ... 60 s, as for codes).
 *
 * acc is the active account of that name, old the name's row before the
 * try; ch counts the try unless the row is inside its delay (the ON
 * CONFLICT ... WHERE runs on the newest version of the row, under its
 * lock: concurrent tries are counted one after the other); the try that
 * reaches the threshold locks the name for lockout_duration and starts the
 * count again.  purge drops a few rows nobody tried for twice
 * lockout_duration (they count nothing any more), so names sprayed by a
 * script do not pile up.
 */
static const struct csam_store_stmt csam_login_stmt_charge = {
    "csam_login_charge",
    "WITH acc AS ("
    " SELECT a.id, a.password_hash,"
    " CASE WHEN a.locked_until > now()"
    " THEN ceil(extract(epoch FROM a.locked_until - now()))::bigint"
    " ELSE 0 END AS code_lock,"
    " coalesce((SELECT string_agg(k.type, ',') FROM csam_keys k"
    " WHERE k.account_id = a.id AND k.status = 'active'), '') AS keys"
    " FROM csam_accounts a WHERE a.username = $1::text"
    " AND a.status = 'active'),"
    " old AS (SELECT delay_until, locked_until FROM csam_password_failures"
    " WHERE name_hash = $2::bytea),"
    " ch AS ("
    " INSERT INTO csam_password_failures AS pf"
    " (name_hash, failures, last_failure_at, locked_until)"
    " VALUES ($2::bytea, CASE WHEN $3::integer <= 1 THEN 0 ELSE 1 END,"
    " now(), CASE WHEN $3::integer <= 1"
    " THEN now() + make_interval(secs => $4::integer) END)"
    " ON CONFLICT (name_hash) DO UPDATE SET"
    " failures = CASE WHEN " CSAM_LOGIN_PREV " + 1 >= $3::integer THEN 0"
    " ELSE " CSAM_LOGIN_PREV " + 1 END,"
    " last_failure_at = now(),"
    " delay_until = CASE WHEN " CSAM_LOGIN_PREV " + 1 < $3::integer"
    " AND " CSAM_LOGIN_PREV " + 1 > $5::integer"
    " THEN now() + make_interval(secs =>"
    " least(power(2, " CSAM_LOGIN_PREV " - $5::integer), 60)) END,"
    " locked_until = CASE WHEN " CSAM_LOGIN_PREV " + 1 >= $3::integer"
    " THEN now() + make_interval(secs => $4::integer)"
    " ELSE pf.locked_until END"
    " WHERE pf.delay_until IS NULL OR pf.delay_until <= now()"
    " RETURNING greatest(0, ceil(extract(epoch FROM"
    " coalesce(pf.delay_until, now()) - now())))::bigint AS wait),"
    " purge AS (DELETE FROM csam_password_failures WHERE name_hash IN ("
    " SELECT name_hash FROM csam_password_failures"
    " WHERE last_failure_at < now() - make_interval(secs => 2 * $4::integer)"
    " AND (locked_until IS NULL OR locked_until < now())"
    " AND name_hash <> $2::bytea ORDER BY last_failure_at LIMIT 4))"
    " SELECT (SELECT id FROM acc), (SELECT password_hash FROM acc),"
    " (SELECT code_lock FROM acc), (SELECT keys FROM acc),"
    " (SELECT count(*) FROM ch),"
    " (SELECT greatest(1, ceil(extract(epoch FROM delay_until - now())))"
    "::bigint FROM old WHERE delay_until > now()),"
    " (SELECT locked_until::text FROM old WHERE locked_until > now()),"
    " (SELECT ceil(extract(epoch FROM locked_until - now()))::bigint"
    " FROM old WHERE locked_until > now()),"
    " (SELECT wait FROM ch)",
    5, 0};

/* Take the try back ($1 the name's hash, $2 its lock before the try or
 * NULL: the row goes, or only its lock stays) and audit ($3 action, $4
 * account, $5 source, $6 actor). */
#define CSAM_LOGIN_SETTLE_SQL                                                  \
    "WITH r AS (UPDATE csam_password_failures SET failures = 0,"               \
    " delay_until = NULL, locked_until = $2::timestamptz"                      \
    " WHERE name_hash = $1::bytea AND $2::timestamptz IS NOT NULL"             \
    " RETURNING 1),"                                                           \
    " d AS (DELETE FROM csam_password_failures WHERE name_hash = $1::bytea"    \
    " AND $2::timestamptz IS NULL RETURNING 1),"                               \
    " l AS (INSERT INTO csam_audit (actor, action, account_id, source)"        \
    " VALUES ($6::text, $3::text, $4::bigint, $5::text) RETURNING 1)"

static const struct csam_store_stmt csam_login_stmt_settle = {
    "csam_login_settle",
    CSAM_LOGIN_SETTLE_SQL
    " SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM d)",
    6, 0};

/* The same, and the login flow ($7 its handle's hash, $8 its lifetime). */
static const struct csam_store_stmt csam_login_stmt_open = {
    "csam_login_open",
    CSAM_LOGIN_SETTLE_SQL
    ","
    " f AS (INSERT INTO csam_flows (handle_hash, kind, step, account_id,"
    " expires_at) VALUES ($7::bytea, 'login', 'key', $4::bigint,"
    " now() + make_interval(secs => $8::integer)) RETURNING id)"
    " SELECT (SELECT count(*) FROM f)",
    8, 0};

csam_result csam_login_settle(csam_engine *engine,
                              const struct csam_login_check *chk,
                              const char *action, const char *username,
                              const char *source)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[6];

    p[0] = csam_store_bytes(chk->name_hash, CSAM_HASH_LEN);
    p[1] = csam_store_text(chk->prev_lock[0] != '\0' ? chk->prev_lock : NULL);
    p[2] = csam_store_text(action);
    p[3] = csam_store_int(chk->account_id, acc);
    p[4] = csam_store_text(csam_engine_source(source));
    p[5] = csam_store_text(username);
    return csam_store_exec(engine->deps.store, &csam_login_stmt_settle, p,
                           NULL);
}

/* A wrong password, or a name that is no account: the source's counter
 * and the audit row, the same two statements either way, so that both
 * take the same time.  The audit row names the account only when there is
 * one: an unknown name may be a password typed in the wrong field. */
static csam_result csam_login_failed(csam_engine *engine,
                                     const struct csam_login_check *chk,
                                     const char *username, const char *source)
{
    csam_result res = csam_source_fail(engine, source);

    if (res != CSAM_OK)
        return res;
    return csam_audit_write(
        engine->deps.store, chk->account_id != 0 ? username : NULL,
        "login.password_failed", 0, chk->account_id, source, NULL);
}

csam_result csam_login_check(csam_engine *engine, const char *source,
                             const char *username, const char *password,
                             struct csam_login_check *out,
                             struct csam_attempts *att)
{
    const struct csam_config *cfg = engine->deps.config;
    struct csam_argon2_params argon;
    char thr[CSAM_STORE_INT_SIZE], dur[CSAM_STORE_INT_SIZE];
    char half[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[5];
    csam_store_rows *rows = NULL;
    long threshold, code_lock, name_lock, lock, delay;
    char *phc = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    att->attempts_left = -1;
    att->retry_after = 0;
    if (username == NULL || password == NULL ||
        strnlen(username, CSAM_USERNAME_MAX + 1) > CSAM_USERNAME_MAX ||
        strnlen(password, CSAM_LOGIN_PASSWORD_BYTES + 1) >
            CSAM_LOGIN_PASSWORD_BYTES)
        return CSAM_ERR_INVALID;

    /* A locked source is refused before any work; every refusal before a
     * right password says "bad credentials", with when to try again. */
    res = csam_source_check(engine, source, att);
    if (res == CSAM_ERR_LOCKED)
        return CSAM_ERR_BAD_CREDENTIALS;
    if (res != CSAM_OK)
        return res;

    res = csam_engine_hash_named(engine, CSAM_PURPOSE_FLOW_HANDLE, "login_name",
                                 "", username, out->name_hash);
    if (res != CSAM_OK)
        return res;
    threshold = csam_login_clamp(cfg->lockout_threshold, 1, 1000);
    /* A name no account can have (bad syntax, bad UTF-8) looks up no
     * account, through the same statement, so it costs the same; its
     * bytes never reach the server as text. */
    p[0] = csam_store_text(csam_username_check(username) == CSAM_OK ? username
                                                                    : NULL);
    p[1] = csam_store_bytes(out->name_hash, CSAM_HASH_LEN);
    p[2] = csam_store_int(threshold, thr);
    p[3] = csam_store_int(csam_login_clamp(cfg->lockout_duration, 1, 7 * 86400),
                          dur);
    p[4] = csam_store_int(threshold / 2, half);
    res =
        csam_store_exec(engine->deps.store, &csam_login_stmt_charge, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_int64(rows, 0, 4, 0) == 0) {
        /* Inside the name's delay: refused unchecked, not counted. */
        att->retry_after = (long)csam_store_int64(rows, 0, 5, 1);
        csam_store_rows_free(rows);
        return CSAM_ERR_BAD_CREDENTIALS;
    }
    out->account_id = csam_store_int64(rows, 0, 0, 0);
    out->keys = csam_key_type_mask(csam_store_value(rows, 0, 3));
    code_lock = (long)csam_store_int64(rows, 0, 2, 0);
    name_lock = (long)csam_store_int64(rows, 0, 7, 0);
    delay = (long)csam_store_int64(rows, 0, 8, 0);
    snprintf(out->prev_lock, sizeof(out->prev_lock), "%s",
             csam_store_value(rows, 0, 6) != NULL ? csam_store_value(rows, 0, 6)
                                                  : "");
    if (out->account_id != 0 && csam_store_value(rows, 0, 1) != NULL) {
        phc = strdup(csam_store_value(rows, 0, 1));
        if (phc == NULL) {
            csam_store_rows_free(rows);
            return CSAM_ERR_NOMEM;
        }
    }
    csam_store_rows_free(rows);

    if (phc != NULL) {
        res = csam_password_verify(phc, password);
        free(phc);
        if (res == CSAM_ERR_INVALID) {
            /* A stored hash libargon2 cannot read: the account cannot log
             * in, and says so no differently. */
            csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                     "account %lld has an unreadable password hash",
                     (long long)out->account_id);
            res = CSAM_ERR_BAD_CREDENTIALS;
        }
    } else {
        argon.t_cost = (uint32_t)cfg->argon2_t_cost;
        argon.m_cost = (uint32_t)cfg->argon2_m_cost;
        argon.parallelism = (uint32_t)cfg->argon2_parallelism;
        csam_password_burn(&argon, password);
        res = CSAM_ERR_BAD_CREDENTIALS;
    }
    if (res == CSAM_ERR_BAD_CREDENTIALS) {
        att->retry_after = delay;
        res = csam_login_failed(engine, out, username, source);
        return res == CSAM_OK ? CSAM_ERR_BAD_CREDENTIALS : res;
    }
    if (res != CSAM_OK)
        return res;

    /* The right password: only now may a lock be told. */
    lock = code_lock > name_lock ? code_lock : name_lock;
    if (lock > 0) {
        res = csam_login_settle(engine, out, "login.locked", username, source);
        att->retry_after = lock;
        return res == CSAM_OK ? CSAM_ERR_LOCKED : res;
    }
    return CSAM_OK;
}

/* ---- the login steps --------------------------------------------------- */

csam_result csam_engine_login_password(csam_engine *engine, const char *source,
                                       const char *username,
                                       const char *password,
                                       char handle[CSAM_TOKEN_SIZE],
                                       unsigned *key_types,
                                       struct csam_attempts *att)
{
    unsigned char hhash[CSAM_HASH_LEN];
    char acc[CSAM_STORE_INT_SIZE], ttl[CSAM_STORE_INT_SIZE];
    struct csam_login_check chk;
    struct csam_attempts dummy;
    struct csam_store_param p[8];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || handle == NULL || key_types == NULL)
        return CSAM_ERR_INVALID;
    handle[0] = '\0';
    *key_types = 0;
    res = csam_login_check(engine, source, username, password, &chk, att);
    if (res != CSAM_OK)
        return res;

    res = csam_token_new(handle);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "login", 0,
                               handle, hhash);
    if (res != CSAM_OK) {
        csam_wipe(handle, CSAM_TOKEN_SIZE);
        return res;
    }
    p[0] = csam_store_bytes(chk.name_hash, CSAM_HASH_LEN);
    p[1] = csam_store_text(chk.prev_lock[0] != '\0' ? chk.prev_lock : NULL);
    p[2] = csam_store_text("login.password_accepted");
    p[3] = csam_store_int(chk.account_id, acc);
    p[4] = csam_store_text(csam_engine_source(source));
    p[5] = csam_store_text(username);
    p[6] = csam_store_bytes(hhash, sizeof(hhash));
    p[7] = csam_store_int(
        csam_login_clamp(engine->deps.config->flow_ttl, 60, 86400), ttl);
    res = csam_store_exec(engine->deps.store, &csam_login_stmt_open, p, &rows);
    if (res == CSAM_OK && csam_store_int64(rows, 0, 0, 0) != 1)
        res = CSAM_ERR_DB;
    csam_store_rows_free(rows);
    if (res != CSAM_OK) {
        csam_wipe(handle, CSAM_TOKEN_SIZE);
        handle[0] = '\0';
        return res;
    }
    *key_types = chk.keys & csam_engine_offered(engine);
    return CSAM_OK;
}

/* The live login flow of a handle, locked, with what a code mail needs. */
static const struct csam_store_stmt csam_login_stmt_flow = {
    "csam_login_flow",
    "SELECT f.id, a.id, a.username, a.email, a.language, r.first_name,"
    " coalesce((SELECT string_agg(k.type, ',') FROM csam_keys k"
    " WHERE k.account_id = a.id AND k.status = 'active'), ''),"
    " (SELECT k.id FROM csam_keys k WHERE k.account_id = a.id"
    " AND k.type = $2 AND k.status = 'active'),"
    " CASE WHEN a.locked_until > now()"
    " THEN ceil(extract(epoch FROM a.locked_until - now()))::bigint"
    " ELSE 0 END, f.step, coalesce(f.key_type, ''),"
    " (SELECT k.phone FROM csam_keys k WHERE k.account_id = a.id"
    " AND k.type = 'sms' AND k.status = 'active')"
    " FROM csam_flows f JOIN csam_accounts a ON a.id = f.account_id"
    " JOIN csam_registrations r ON r.id = a.registration_id"
    " WHERE f.handle_hash = $1 AND f.kind = 'login'"
    " AND f.done_at IS NULL AND f.superseded_at IS NULL"
    " AND f.expires_at > now() AND a.status = 'active'"
    " FOR UPDATE OF f",
    2, 0};

static const struct csam_store_stmt csam_login_stmt_choose = {
    "csam_login_choose",
    "UPDATE csam_flows SET key_type = $2, step = 'confirm' WHERE id = $1", 2,
    0};

struct csam_login_flow {
    int64_t id;
    int64_t account_id;
    int64_t key_id;
    unsigned keys;
    long locked_for;
    int confirm; /* a key was chosen before */
    enum csam_key_type chosen;
    char username[CSAM_USERNAME_BUFSIZE];
    char email[CSAM_EMAIL_MAX + 1];
    char language[3];
    char first_name[CSAM_NAME_MAX + 1];
    char phone[CSAM_PHONE_SIZE]; /* the active SMS key's, "" if none */
};

static void csam_login_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

static csam_result csam_login_flow_lock(csam_engine *engine, const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_login_flow *out)
{
    unsigned char hash[CSAM_HASH_LEN];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "login", 0, handle,
                           hash);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_bytes(hash, sizeof(hash));
    p[1] = csam_store_text(csam_key_type_name(key_type));
    res = csam_store_exec(engine->deps.store, &csam_login_stmt_flow, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_EXPIRED;
    }
    out->id = csam_store_int64(rows, 0, 0, 0);
    out->account_id = csam_store_int64(rows, 0, 1, 0);
    csam_login_copy(out->username, sizeof(out->username),
                    csam_store_value(rows, 0, 2));
    csam_login_copy(out->email, sizeof(out->email),
                    csam_store_value(rows, 0, 3));
    csam_login_copy(out->language, sizeof(out->language),
                    csam_store_value(rows, 0, 4));
    csam_login_copy(out->first_name, sizeof(out->first_name),
                    csam_store_value(rows, 0, 5));
    out->keys = csam_key_type_mask(csam_store_value(rows, 0, 6));
    out->key_id = csam_store_int64(rows, 0, 7, 0);
    out->locked_for = (long)csam_store_int64(rows, 0, 8, 0);
    out->confirm = csam_store_value(rows, 0, 9) != NULL &&
                   strcmp(csam_store_value(rows, 0, 9), "confirm") == 0;
    out->chosen = csam_key_type_parse(csam_store_value(rows, 0, 10));
    csam_login_copy(out->phone, sizeof(out->phone),
                    csam_store_value(rows, 0, 11));
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* Inside the transaction: a fresh web login code for the flow's handle,
 * its audit row and its mail or SMS; for the app's key only the challenge
 * row that bounds the attempts, nothing sent. */
static csam_result csam_login_send_code(csam_engine *engine,
                                        const struct csam_login_flow *flow,
                                        enum csam_key_type type,
                                        const char *handle, const char *source)
{
    char code[CSAM_ENGINE_CODE_SIZE] = "";
    char minutes[CSAM_STORE_INT_SIZE];
    struct csam_challenge_owner owner;
    struct csam_tvar vars[3];
    csam_result res;

    owner.account_id = flow->account_id;
    owner.username = flow->username;
    owner.handle = handle;
    res = csam_challenge_issue(engine, &owner, flow->key_id,
                               CSAM_CHALLENGE_WEB_LOGIN, type, source, code);
    if (res == CSAM_OK)
        res = csam_audit_write(
            engine->deps.store, flow->username, "challenge.issued", 0,
            flow->account_id, source,
            type == CSAM_KEY_TOTP
                ? "{\"purpose\": \"web_login\", \"key_type\": \"totp\"}"
            : type == CSAM_KEY_SMS
                ? "{\"purpose\": \"web_login\", \"key_type\": \"sms\"}"
                : "{\"purpose\": \"web_login\", \"key_type\": \"email\"}");
    if (res == CSAM_OK && type != CSAM_KEY_TOTP) {
        csam_engine_code_minutes(engine, minutes);
        vars[0].name = "first_name";
        vars[0].value = flow->first_name;
        vars[1].name = "code";
        vars[1].value = code;
        vars[2].name = "minutes";
        vars[2].value = minutes;
        if (type == CSAM_KEY_SMS)
            res = csam_engine_sms(engine, flow->phone, flow->language, vars,
                                  3, code);
        else
            res = csam_engine_mail(engine, flow->email, flow->language,
                                   "code", vars, 3, code);
    }
    csam_wipe(code, sizeof(code));
    return res;
}

csam_result csam_engine_login_challenge(csam_engine *engine, const char *source,
                                        const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_attempts *att)
{
    csam_store *store;
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    struct csam_login_flow flow;
    struct csam_attempts dummy;
    long age = -1, cooldown;
    int usable = 0, used = 0;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL)
        return CSAM_ERR_INVALID;
    if (handle == NULL || !csam_token_valid(handle))
        return CSAM_ERR_EXPIRED;
    if (csam_key_type_name(key_type) == NULL)
        return CSAM_ERR_INVALID;
    store = engine->deps.store;
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    /* The flow's row lock serialises two choices on one handle. */
    res = csam_login_flow_lock(engine, handle, key_type, &flow);
    if (res != CSAM_OK)
        goto rollback;
    if (!((unsigned)key_type & flow.keys & csam_engine_offered(engine)) ||
        flow.key_id == 0) {
        res = CSAM_ERR_INVALID;
        goto rollback;
    }
    if (flow.locked_for > 0) {
        att->retry_after = flow.locked_for;
        res = CSAM_ERR_LOCKED;
        goto rollback;
    }
    if (key_type != CSAM_KEY_TOTP) {
        /* One code per resend_cooldown per account, whichever login asks:
         * a script holding the password cannot flood the mailbox or the
         * phone.  A code already used does not hold the next login back:
         * the citizen logged in with it, nobody is flooding. */
        res = csam_challenge_age(engine, flow.account_id,
                                 CSAM_CHALLENGE_WEB_LOGIN, &age, &usable,
                                 &used);
        if (res != CSAM_OK)
            goto rollback;
        cooldown = engine->deps.config->resend_cooldown;
        if (age >= 0 && age < cooldown && !used) {
            /* Refused before anything changed: a key chosen before stays
             * chosen, its code still good. */
            att->retry_after = cooldown - age;
            res = CSAM_ERR_LOCKED;
            goto rollback;
        }
    }
    res = csam_login_send_code(engine, &flow, key_type, handle, source);
    if (res != CSAM_OK)
        goto rollback;
    p[0] = csam_store_int(flow.id, idtext);
    p[1] = csam_store_text(csam_key_type_name(key_type));
    res = csam_store_exec(store, &csam_login_stmt_choose, p, NULL);
    if (res != CSAM_OK)
        goto rollback;
    return csam_store_commit(store);

rollback:
    csam_store_rollback(store);
    return res;
}

csam_result csam_engine_login_verify(csam_engine *engine, const char *source,
                                     const char *handle, const char *code,
                                     struct csam_session_ticket *out,
                                     struct csam_attempts *att)
{
    unsigned char shash[CSAM_HASH_LEN];
    struct csam_attempts dummy;
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
    if (res == CSAM_OK)
        res = csam_challenge_verify_login(engine, handle, code, source, shash,
                                          &out->info, att);
    csam_wipe(shash, sizeof(shash));
    if (res != CSAM_OK) {
        csam_wipe(out->cookie, sizeof(out->cookie));
        return res;
    }
    csam_log(&engine->deps.logger, CSAM_LOG_INFO,
             "web login of %s with the %s key", out->info.username,
             csam_key_type_name(out->info.key_type));
    return CSAM_OK;
}
