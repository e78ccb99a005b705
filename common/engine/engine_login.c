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
 * Argon2id run; csam_engine_login_verify makes one.
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

/* How long a name remembers its locks (and the longest lock): a day, or
 * lockout_duration when that is longer. */
#define CSAM_LOGIN_MEMORY "greatest($4::integer, 86400)"

/* The name's locks in a row before this try, forgotten after a quiet
 * CSAM_LOGIN_MEMORY. */
#define CSAM_LOGIN_LOCKS                                                       \
    "(CASE WHEN pf.last_failure_at < now() - make_interval(secs => "           \
    CSAM_LOGIN_MEMORY ") THEN 0 ELSE pf.locks END)"

/* Seconds left of a timestamp column, NULL when past. */
#define CSAM_LOGIN_LEFT(col)                                                   \
    "CASE WHEN " col " > now() THEN greatest(1, ceil(extract(epoch FROM "      \
    col " - now())))::bigint END"

/*
 * $1 the name typed, $2 its keyed hash, $3 lockout threshold, $4 lockout
 * duration (s), $5 failures after which each one adds a growing delay
 * (1, 2, 4 ... 60 s, as for codes), $6 the keyed hash of the browser's
 * device token (NULL: none), $7 the source counted on the web (NULL: not
 * counted), $8 the source's threshold.
 *
 * acc is the active account of that name; dev the known device the
 * browser holds for that account, if any.  A known device's try counts on
 * its own row (dch), nowhere else, and only its own lock refuses it.  Any
 * other browser's try counts first on the source (sc), then on the name
 * (ch); a name or an account that is locked, or a name inside its delay,
 * refuses it before either is counted, and so does a locked source (sc
 * then returns nothing, and ch does not run).  Each INSERT ... ON
 * CONFLICT ... WHERE runs on the newest version of its row, under its
 * lock: concurrent tries are counted one after the other, and no more
 * than a threshold of them get past a counter.  The try that reaches the
 * name's threshold locks the name for lockout_duration times two to the
 * power of the locks before it (at most CSAM_LOGIN_MEMORY), so a lock
 * that ends does not give the guessing a fresh start.  purge drops a few
 * rows nobody tried for long (they count nothing any more), so names
 * sprayed by a script do not pile up.
 *
 * One statement, one round trip, is the point: its text is longer than
 * the 4095 bytes ISO C requires compilers to take in one literal (GCC and
 * Clang take any length).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
static const struct csam_store_stmt csam_login_stmt_charge = {
    "csam_login_charge",
    "WITH acc AS ("
    " SELECT a.id, a.password_hash,"
    " " CSAM_LOGIN_LEFT("a.locked_until") " AS code_lock,"
    " coalesce((SELECT string_agg(k.type, ',') FROM csam_keys k"
    " WHERE k.account_id = a.id AND k.status = 'active'), '') AS keys"
    " FROM csam_accounts a WHERE a.username = $1::text"
    " AND a.status = 'active'),"
    " dev AS (SELECT d.id, " CSAM_LOGIN_LEFT("d.locked_until") " AS lock"
    " FROM csam_login_devices d JOIN acc ON d.account_id = acc.id"
    " WHERE d.device_hash = $6::bytea AND d.expires_at > now()),"
    " old AS (SELECT " CSAM_LOGIN_LEFT("delay_until") " AS delay,"
    " " CSAM_LOGIN_LEFT("locked_until") " AS lock, locked_until"
    " FROM csam_password_failures WHERE name_hash = $2::bytea),"
    " refused AS (SELECT 1 FROM old WHERE delay IS NOT NULL"
    " OR lock IS NOT NULL UNION ALL SELECT 1 FROM acc"
    " WHERE code_lock IS NOT NULL),"
    " src AS (SELECT " CSAM_LOGIN_LEFT("locked_until") " AS lock"
    " FROM csam_source_failures WHERE source = $7::text),"
    " dch AS (UPDATE csam_login_devices d SET"
    " failures = CASE WHEN d.failures + 1 >= $3::integer THEN 0"
    " ELSE d.failures + 1 END,"
    " last_failure_at = now(),"
    " locked_until = CASE WHEN d.failures + 1 >= $3::integer"
    " THEN now() + make_interval(secs => $4::integer)"
    " ELSE d.locked_until END"
    " FROM dev WHERE d.id = dev.id"
    " AND (d.locked_until IS NULL OR d.locked_until <= now())"
    " RETURNING d.failures = 0 AS locked_now),"
    " sc AS (INSERT INTO csam_source_failures AS sf"
    " (source, failures, window_start, locked_until)"
    " SELECT $7::text, 1, now(), CASE WHEN $8::integer <= 1"
    " THEN now() + make_interval(secs => $4::integer) END"
    " WHERE $7::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dev)"
    " AND NOT EXISTS (SELECT 1 FROM refused)"
    " ON CONFLICT (source) DO UPDATE SET"
    " failures = CASE WHEN sf.window_start"
    " < now() - make_interval(secs => $4::integer) THEN 1"
    " ELSE sf.failures + 1 END,"
    " window_start = CASE WHEN sf.window_start"
    " < now() - make_interval(secs => $4::integer) THEN now()"
    " ELSE sf.window_start END,"
    " locked_until = CASE WHEN (CASE WHEN sf.window_start"
    " < now() - make_interval(secs => $4::integer) THEN 1"
    " ELSE sf.failures + 1 END) >= $8::integer"
    " THEN now() + make_interval(secs => $4::integer)"
    " ELSE sf.locked_until END"
    " WHERE sf.locked_until IS NULL OR sf.locked_until <= now()"
    " RETURNING sf.locked_until > now() AS locked_now),"
    " ch AS ("
    " INSERT INTO csam_password_failures AS pf"
    " (name_hash, failures, last_failure_at, locked_until, locks)"
    " SELECT $2::bytea, CASE WHEN $3::integer <= 1 THEN 0 ELSE 1 END,"
    " now(), CASE WHEN $3::integer <= 1"
    " THEN now() + make_interval(secs => $4::integer) END,"
    " CASE WHEN $3::integer <= 1 THEN 1 ELSE 0 END"
    " WHERE NOT EXISTS (SELECT 1 FROM dev)"
    " AND NOT EXISTS (SELECT 1 FROM refused)"
    " AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM sc))"
    " ON CONFLICT (name_hash) DO UPDATE SET"
    " failures = CASE WHEN " CSAM_LOGIN_PREV " + 1 >= $3::integer THEN 0"
    " ELSE " CSAM_LOGIN_PREV " + 1 END,"
    " last_failure_at = now(),"
    " delay_until = CASE WHEN " CSAM_LOGIN_PREV " + 1 < $3::integer"
    " AND " CSAM_LOGIN_PREV " + 1 > $5::integer"
    " THEN now() + make_interval(secs =>"
    " least(power(2, " CSAM_LOGIN_PREV " - $5::integer), 60)) END,"
    " locked_until = CASE WHEN " CSAM_LOGIN_PREV " + 1 >= $3::integer"
    " THEN now() + make_interval(secs => least($4::integer * power(2, "
    CSAM_LOGIN_LOCKS "), " CSAM_LOGIN_MEMORY "))"
    " ELSE pf.locked_until END,"
    " locks = CASE WHEN " CSAM_LOGIN_PREV " + 1 >= $3::integer"
    " THEN " CSAM_LOGIN_LOCKS " + 1 ELSE " CSAM_LOGIN_LOCKS " END"
    " WHERE (pf.delay_until IS NULL OR pf.delay_until <= now())"
    " AND (pf.locked_until IS NULL OR pf.locked_until <= now())"
    " RETURNING greatest(0, ceil(extract(epoch FROM"
    " coalesce(pf.delay_until, now()) - now())))::bigint AS wait),"
    " purge AS (DELETE FROM csam_password_failures WHERE name_hash IN ("
    " SELECT name_hash FROM csam_password_failures"
    " WHERE last_failure_at < now() - make_interval(secs => greatest("
    "2 * $4::integer, " CSAM_LOGIN_MEMORY "))"
    " AND (locked_until IS NULL OR locked_until < now())"
    " AND name_hash <> $2::bytea ORDER BY last_failure_at LIMIT 4))"
    " SELECT (SELECT id FROM acc), (SELECT password_hash FROM acc),"
    " (SELECT code_lock FROM acc), (SELECT keys FROM acc),"
    " (SELECT count(*) FROM ch), (SELECT delay FROM old),"
    " (SELECT lock FROM old), (SELECT wait FROM ch),"
    " (SELECT id FROM dev), (SELECT lock FROM dev),"
    " (SELECT count(*) FROM dch), (SELECT locked_now FROM dch),"
    " (SELECT lock FROM src), (SELECT count(*) FROM sc),"
    " (SELECT locked_now FROM sc)",
    8, 0};
#pragma GCC diagnostic pop

/* Take the try back and audit: $1 the name's hash, $2 its lock before the
 * try or NULL (the row goes, or only its lock stays; untouched for a
 * known device), $3 action, $4 account, $5 source, $6 actor, $7 the known
 * device (NULL: none) and $8 whether the try locked it, $9 the threshold,
 * $10 the source the try was counted on (NULL: none) and $11 whether the
 * try locked it. */
#define CSAM_LOGIN_SETTLE_SQL                                                  \
    "WITH r AS (UPDATE csam_password_failures SET failures = 0,"               \
    " delay_until = NULL, locked_until = $2::timestamptz"                      \
    " WHERE name_hash = $1::bytea AND $2::timestamptz IS NOT NULL"             \
    " AND $7::bigint IS NULL RETURNING 1),"                                    \
    " d AS (DELETE FROM csam_password_failures WHERE name_hash = $1::bytea"    \
    " AND $2::timestamptz IS NULL AND $7::bigint IS NULL RETURNING 1),"        \
    " dr AS (UPDATE csam_login_devices SET last_used_at = now(),"              \
    " failures = CASE WHEN $8::boolean THEN greatest($9::integer - 1, 0)"      \
    " ELSE greatest(failures - 1, 0) END,"                                     \
    " locked_until = CASE WHEN $8::boolean THEN NULL ELSE locked_until END"    \
    " WHERE id = $7::bigint RETURNING 1),"                                     \
    " sr AS (UPDATE csam_source_failures SET"                                  \
    " failures = greatest(failures - 1, 0),"                                   \
    " locked_until = CASE WHEN $11::boolean THEN NULL ELSE locked_until END"   \
    " WHERE source = $10::text RETURNING 1),"                                  \
    " l AS (INSERT INTO csam_audit (actor, action, account_id, source)"        \
    " VALUES ($6::text, $3::text, $4::bigint, $5::text) RETURNING 1)"

static const struct csam_store_stmt csam_login_stmt_settle = {
    "csam_login_settle",
    CSAM_LOGIN_SETTLE_SQL
    " SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM d)"
    " + (SELECT count(*) FROM dr) + (SELECT count(*) FROM sr)",
    11, 0};

/* The same, and the login flow ($12 its handle's hash, $13 its lifetime;
 * it remembers the known device $7 its codes count on). */
static const struct csam_store_stmt csam_login_stmt_open = {
    "csam_login_open",
    CSAM_LOGIN_SETTLE_SQL
    ","
    " f AS (INSERT INTO csam_flows (handle_hash, kind, step, account_id,"
    " expires_at, device_id) VALUES ($12::bytea, 'login', 'key', $4::bigint,"
    " now() + make_interval(secs => $13::integer), $7::bigint) RETURNING id)"
    " SELECT (SELECT count(*) FROM f)",
    13, 0};

/* The settle statement's parameters $1..$11 for chk. */
struct csam_login_settle_args {
    char acc[CSAM_STORE_INT_SIZE], dev[CSAM_STORE_INT_SIZE];
    char thr[CSAM_STORE_INT_SIZE];
};

static void csam_login_settle_params(csam_engine *engine,
                                     const struct csam_login_check *chk,
                                     const char *action, const char *username,
                                     const char *source,
                                     struct csam_login_settle_args *a,
                                     struct csam_store_param p[11])
{
    p[0] = csam_store_bytes(chk->name_hash, CSAM_HASH_LEN);
    p[1] = csam_store_text(chk->prev_lock[0] != '\0' ? chk->prev_lock : NULL);
    p[2] = csam_store_text(action);
    p[3] = csam_store_int(chk->account_id, a->acc);
    p[4] = csam_store_text(csam_engine_source(source));
    p[5] = csam_store_text(username);
    p[6] = chk->device_id > 0 ? csam_store_int(chk->device_id, a->dev)
                              : csam_store_text(NULL);
    p[7] = csam_store_text(chk->device_locked_now ? "true" : "false");
    p[8] = csam_store_int(
        csam_login_clamp(engine->deps.config->lockout_threshold, 1, 1000),
        a->thr);
    p[9] = csam_store_text(chk->source_counted ? csam_engine_source(source)
                                               : NULL);
    p[10] = csam_store_text(chk->source_locked_now ? "true" : "false");
}

csam_result csam_login_settle(csam_engine *engine,
                              const struct csam_login_check *chk,
                              const char *action, const char *username,
                              const char *source)
{
    struct csam_login_settle_args args;
    struct csam_store_param p[11];

    csam_login_settle_params(engine, chk, action, username, source, &args, p);
    return csam_store_exec(engine->deps.store, &csam_login_stmt_settle, p,
                           NULL);
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

/* Why a try was refused before Argon2id: CSAM_OK when it was not. */
static csam_result csam_login_refusal(const csam_store_rows *rows,
                                      int known_device, long duration,
                                      const char *source,
                                      struct csam_attempts *att)
{
    if (known_device) {
        if (csam_store_int64(rows, 0, 10, 0) == 0) {
            att->retry_after = (long)csam_store_int64(rows, 0, 9, 1);
            return CSAM_ERR_LOCKED;
        }
        return CSAM_OK;
    }
    /* Inside the name's delay: refused unchecked, not counted. */
    if (csam_store_value(rows, 0, 5) != NULL) {
        att->retry_after = (long)csam_store_int64(rows, 0, 5, 1);
        return CSAM_ERR_BAD_CREDENTIALS;
    }
    /* A lock of the name, of the account or of the source: the same
     * answer for a right and a wrong password, and no Argon2id run, so
     * that the lock is no oracle (DESIGN 4). */
    if (csam_store_value(rows, 0, 6) != NULL) {
        att->retry_after = (long)csam_store_int64(rows, 0, 6, 1);
        return CSAM_ERR_LOCKED;
    }
    if (csam_store_value(rows, 0, 2) != NULL) {
        att->retry_after = (long)csam_store_int64(rows, 0, 2, 1);
        return CSAM_ERR_LOCKED;
    }
    if (source != NULL && csam_store_int64(rows, 0, 13, 0) == 0) {
        att->retry_after = csam_store_value(rows, 0, 12) != NULL
                               ? (long)csam_store_int64(rows, 0, 12, 1)
                               : duration;
        return CSAM_ERR_LOCKED;
    }
    /* Locked or delayed by a concurrent try since the snapshot. */
    if (csam_store_int64(rows, 0, 4, 0) == 0) {
        att->retry_after = 1;
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

static csam_result csam_login_check_gated(csam_engine *engine,
                                          const char *source,
                                          const char *device,
                                          const char *username,
                                          const char *password,
                                          struct csam_login_check *out,
                                          struct csam_attempts *att)
{
    const struct csam_config *cfg = engine->deps.config;
    unsigned char dhash[CSAM_HASH_LEN];
    char thr[CSAM_STORE_INT_SIZE], dur[CSAM_STORE_INT_SIZE];
    char half[CSAM_STORE_INT_SIZE], sthr[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[8];
    csam_store_rows *rows = NULL;
    long threshold, duration;
    const char *src = csam_engine_source(source);
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

    res = csam_engine_hash_named(engine, CSAM_PURPOSE_FLOW_HANDLE, "login_name",
                                 "", username, out->name_hash);
    if (res == CSAM_OK && device != NULL && csam_token_valid(device))
        res = csam_login_device_hash(engine, device, dhash);
    else
        device = NULL;
    if (res != CSAM_OK)
        return res;
    threshold = csam_login_clamp(cfg->lockout_threshold, 1, 1000);
    duration = csam_login_clamp(cfg->lockout_duration, 1, 7 * 86400);
    /* A name no account can have (bad syntax, bad UTF-8) looks up no
     * account, through the same statement, so it costs the same; its
     * bytes never reach the server as text. */
    p[0] = csam_store_text(csam_username_check(username) == CSAM_OK ? username
                                                                    : NULL);
    p[1] = csam_store_bytes(out->name_hash, CSAM_HASH_LEN);
    p[2] = csam_store_int(threshold, thr);
    p[3] = csam_store_int(duration, dur);
    p[4] = csam_store_int(threshold / 2, half);
    p[5] = device != NULL ? csam_store_bytes(dhash, sizeof(dhash))
                          : csam_store_text(NULL);
    p[6] = csam_store_text(src);
    p[7] = csam_store_int(threshold * CSAM_SOURCE_THRESHOLD_FACTOR, sthr);
    res =
        csam_store_exec(engine->deps.store, &csam_login_stmt_charge, p, &rows);
    if (res != CSAM_OK)
        return res;
    out->device_id = csam_store_int64(rows, 0, 8, 0);
    res = csam_login_refusal(rows, out->device_id != 0, duration, src, att);
    if (res != CSAM_OK) {
        csam_store_rows_free(rows);
        return res;
    }
    out->account_id = csam_store_int64(rows, 0, 0, 0);
    out->keys = csam_key_type_mask(csam_store_value(rows, 0, 3));
    out->device_locked_now = csam_store_bool(rows, 0, 11);
    out->source_counted = csam_store_int64(rows, 0, 13, 0) != 0;
    out->source_locked_now = csam_store_bool(rows, 0, 14);
    if (out->account_id != 0 && csam_store_value(rows, 0, 1) != NULL) {
        phc = strdup(csam_store_value(rows, 0, 1));
        if (phc == NULL) {
            csam_store_rows_free(rows);
            return CSAM_ERR_NOMEM;
        }
    }
    if (out->device_id == 0)
        att->retry_after = (long)csam_store_int64(rows, 0, 7, 0);
    csam_store_rows_free(rows);

    res = csam_login_argon2(engine, out->account_id, phc, password);
    free(phc);
    if (res == CSAM_ERR_BAD_CREDENTIALS) {
        res = csam_login_failed(engine, out, username, source);
        return res == CSAM_OK ? CSAM_ERR_BAD_CREDENTIALS : res;
    }
    att->retry_after = 0;
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

csam_result csam_login_device_hash(const csam_engine *engine,
                                   const char *device,
                                   unsigned char out[CSAM_HASH_LEN])
{
    return csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "login_device",
                            0, device, out);
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
    char ttl[CSAM_STORE_INT_SIZE];
    struct csam_login_settle_args args;
    struct csam_login_check chk;
    struct csam_attempts dummy;
    struct csam_store_param p[13];
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
    res = csam_login_check_device(engine, source, device, username, password,
                                  &chk, att);
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
    csam_login_settle_params(engine, &chk, "login.password_accepted", username,
                             source, &args, p);
    p[11] = csam_store_bytes(hhash, sizeof(hhash));
    p[12] = csam_store_int(
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
    " AND k.type = 'sms' AND k.status = 'active'), f.device_id"
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
    int64_t device_id;           /* the known device it started from, 0 */
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
    out->device_id = csam_store_int64(rows, 0, 12, 0);
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

/* The account's newest web login code: its age and creation (Unix
 * seconds), key type, whether it can still be used and whether it was,
 * and the database clock. */
static const struct csam_store_stmt csam_login_stmt_pending = {
    "csam_login_pending",
    "SELECT floor(extract(epoch FROM now() - c.created_at))::bigint,"
    " c.key_type, c.used_at IS NULL AND c.superseded_at IS NULL"
    " AND c.expires_at > now() AND c.attempts < c.max_attempts,"
    " c.used_at IS NOT NULL, floor(extract(epoch FROM c.created_at))::bigint,"
    " floor(extract(epoch FROM now()))::bigint"
    " FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT * FROM csam_challenges"
    " WHERE account_id = $1::bigint AND purpose = 'web_login'"
    " ORDER BY created_at DESC, id DESC LIMIT 1) AS c ON true",
    1, 0};

/* The account's live web login code ($2) becomes the flow's ($1): issued
 * just now, or taken over from another login, whose flow is then
 * superseded (its handle is worth nothing any more). */
static const struct csam_store_stmt csam_login_stmt_adopt = {
    "csam_login_adopt",
    "WITH pick AS (SELECT id, flow_id FROM csam_challenges"
    " WHERE account_id = $2::bigint AND purpose = 'web_login'"
    " AND used_at IS NULL AND superseded_at IS NULL"
    " ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE),"
    " c AS (UPDATE csam_challenges ch SET flow_id = $1::bigint FROM pick"
    " WHERE ch.id = pick.id RETURNING ch.id),"
    " o AS (UPDATE csam_flows SET superseded_at = now()"
    " WHERE id = (SELECT flow_id FROM pick) AND id <> $1::bigint"
    " AND done_at IS NULL AND superseded_at IS NULL RETURNING id)"
    " SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM o)",
    2, 0};

struct csam_login_pending {
    long age;               /* -1: the account never had a code */
    enum csam_key_type type;
    int usable, used;
    int64_t created, now;
};

static csam_result csam_login_pending_read(csam_engine *engine,
                                           int64_t account_id,
                                           struct csam_login_pending *out)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    out->age = -1;
    p[0] = csam_store_int(account_id, acc);
    res = csam_store_exec(engine->deps.store, &csam_login_stmt_pending, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1) {
        out->now = csam_store_int64(rows, 0, 5, 0);
    }
    if (csam_store_nrows(rows) == 1 && csam_store_value(rows, 0, 0) != NULL) {
        out->age = (long)csam_store_int64(rows, 0, 0, 0);
        if (out->age < 0)
            out->age = 0;
        out->type = csam_key_type_parse(csam_store_value(rows, 0, 1));
        out->usable = csam_store_bool(rows, 0, 2);
        out->used = csam_store_bool(rows, 0, 3);
        out->created = csam_store_int64(rows, 0, 4, 0);
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

static csam_result csam_login_adopt(csam_engine *engine,
                                    const struct csam_login_flow *flow)
{
    char fid[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(flow->id, fid);
    p[1] = csam_store_int(flow->account_id, acc);
    res = csam_store_exec(engine->deps.store, &csam_login_stmt_adopt, p,
                          &rows);
    if (res == CSAM_OK && csam_store_int64(rows, 0, 0, 0) != 1)
        res = CSAM_ERR_DB; /* the code just issued or found is gone */
    csam_store_rows_free(rows);
    return res;
}

csam_result csam_engine_login_challenge(csam_engine *engine, const char *source,
                                        const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_attempts *att)
{
    struct csam_login_code sent;

    return csam_engine_login_code(engine, source, handle, key_type, &sent,
                                  att);
}

csam_result csam_engine_login_code(csam_engine *engine, const char *source,
                                   const char *handle,
                                   enum csam_key_type key_type,
                                   struct csam_login_code *out,
                                   struct csam_attempts *att)
{
    csam_store *store;
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    struct csam_login_pending pending;
    struct csam_login_flow flow;
    struct csam_login_code dummy_out;
    struct csam_attempts dummy;
    long cooldown;
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
    store = engine->deps.store;
    cooldown = csam_login_clamp(engine->deps.config->resend_cooldown, 0,
                                86400);
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
    /* A known device is held back by its own lock only (at the code). */
    if (flow.locked_for > 0 && flow.device_id == 0) {
        att->retry_after = flow.locked_for;
        res = CSAM_ERR_LOCKED;
        goto rollback;
    }
    res = csam_login_pending_read(engine, flow.account_id, &pending);
    if (res != CSAM_OK)
        goto rollback;
    if (key_type != CSAM_KEY_TOTP && pending.usable &&
        pending.type == key_type && pending.age < cooldown) {
        /* The code sent moments ago, for this login or an abandoned one,
         * is still good: this login takes it over, nothing is sent
         * (DESIGN 4: never "too many attempts" for an abandoned login). */
        res = csam_login_adopt(engine, &flow);
        if (res == CSAM_OK)
            res = csam_audit_write(store, flow.username, "challenge.reused", 0,
                                   flow.account_id, source,
                                   key_type == CSAM_KEY_SMS
                                       ? "{\"purpose\": \"web_login\", "
                                         "\"key_type\": \"sms\"}"
                                       : "{\"purpose\": \"web_login\", "
                                         "\"key_type\": \"email\"}");
        if (res != CSAM_OK)
            goto rollback;
        out->reused = 1;
        out->sent_at = pending.created;
        out->resend_after = cooldown - pending.age;
    } else {
        /* One message per resend_cooldown per account, whichever login
         * asks: a script holding the password cannot flood the mailbox or
         * the phone.  A code already used does not hold the next login
         * back: the citizen logged in with it, nobody is flooding. */
        if (key_type != CSAM_KEY_TOTP && pending.age >= 0 &&
            pending.age < cooldown && !pending.used) {
            /* Refused before anything changed: a key chosen before stays
             * chosen, its code still good. */
            att->retry_after = cooldown - pending.age;
            res = CSAM_ERR_TOO_SOON;
            goto rollback;
        }
        res = csam_login_send_code(engine, &flow, key_type, handle, source);
        if (res == CSAM_OK)
            res = csam_login_adopt(engine, &flow);
        if (res != CSAM_OK)
            goto rollback;
        if (key_type != CSAM_KEY_TOTP) {
            out->sent_at = pending.now;
            out->resend_after = cooldown;
        }
    }
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
        res = csam_challenge_verify_login(engine, handle, code, source, shash,
                                          dhash, &device_made, &out->info,
                                          att);
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
