/*
 * Security codes (challenges) and the failure counters around them.
 *
 * A code is bound to its owner (an account) and its purpose twice: its
 * keyed hash covers both, and it is only ever looked up by both.  It has
 * an expiry from the database clock, a bounded number of attempts, and is
 * single-use.  Verification is one statement, so that two submissions of
 * one code racing each other cannot both win and so that a verification
 * costs one round trip.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"

static const char *const csam_challenge_purposes[] = {
    "activation_confirm", "key_confirm", "web_login", "pam_login"};

/* Which derived key hashes which purpose's codes: activation and later
 * key confirmations share the key-confirmation key (their labels differ). */
static enum csam_purpose csam_challenge_key(enum csam_challenge_purpose p)
{
    switch (p) {
    case CSAM_CHALLENGE_WEB_LOGIN: return CSAM_PURPOSE_WEB_LOGIN;
    case CSAM_CHALLENGE_PAM_LOGIN: return CSAM_PURPOSE_PAM_LOGIN;
    case CSAM_CHALLENGE_ACTIVATION_CONFIRM:
    case CSAM_CHALLENGE_KEY_CONFIRM: break;
    }
    return CSAM_PURPOSE_KEY_CONFIRM;
}

const char *csam_challenge_purpose_name(enum csam_challenge_purpose p)
{
    if ((unsigned)p >=
        sizeof(csam_challenge_purposes) / sizeof(csam_challenge_purposes[0]))
        return "key_confirm";
    return csam_challenge_purposes[p];
}

static long csam_challenge_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The keyed hash of a code for its owner and purpose (see
 * struct csam_challenge_owner for which owner binds which purpose). */
static csam_result csam_challenge_hash(csam_engine *engine,
                                       const struct csam_challenge_owner *o,
                                       enum csam_challenge_purpose purpose,
                                       enum csam_key_type key_type,
                                       const char *code,
                                       unsigned char out[CSAM_HASH_LEN])
{
    const char *pname = csam_challenge_purpose_name(purpose);
    const char *tname = csam_key_type_name(key_type);
    char bound[CSAM_STORE_INT_SIZE + 16];

    switch (purpose) {
    case CSAM_CHALLENGE_WEB_LOGIN:
        /* Bound by its row to one live login flow (flow_id), which a new
         * login of the account may take over (DESIGN 4: a pending code is
         * reused): the hash cannot name the handle, which changes then. */
        (void)o;
        return csam_engine_hash_named(engine, csam_challenge_key(purpose),
                                      "web_login/flow", "", code, out);
    case CSAM_CHALLENGE_PAM_LOGIN:
        if (o->username == NULL)
            return CSAM_ERR_INVALID;
        return csam_engine_hash_named(engine, csam_challenge_key(purpose),
                                      pname, o->username, code, out);
    case CSAM_CHALLENGE_KEY_CONFIRM:
        /* Bound to the key type too: a code sent to a new phone does not
         * confirm an e-mail key started meanwhile. */
        if (o->account_id <= 0 || tname == NULL)
            return CSAM_ERR_INVALID;
        snprintf(bound, sizeof(bound), "%lld/%s", (long long)o->account_id,
                 tname);
        return csam_engine_hash_named(engine, csam_challenge_key(purpose),
                                      pname, bound, code, out);
    case CSAM_CHALLENGE_ACTIVATION_CONFIRM:
        break;
    }
    if (o->account_id <= 0)
        return CSAM_ERR_INVALID;
    return csam_engine_hash(engine, csam_challenge_key(purpose), pname,
                            o->account_id, code, out);
}

/* The newest pending code of the same owner and purpose is superseded by
 * the one inserted in the same statement. */
static const struct csam_store_stmt csam_challenge_stmt_issue = {
    "csam_challenge_issue",
    "WITH old AS ("
    " UPDATE csam_challenges SET superseded_at = now()"
    " WHERE account_id = $1 AND purpose = $2"
    " AND used_at IS NULL AND superseded_at IS NULL RETURNING id)"
    " INSERT INTO csam_challenges (account_id, purpose, key_id, key_type,"
    " code_hash, max_attempts, expires_at, source)"
    " SELECT $1, $2, NULLIF($3::bigint, 0), $4, $5, $6::integer,"
    " now() + make_interval(secs => $7::integer), $8"
    " FROM (SELECT count(*) FROM old) AS superseded"
    " RETURNING id",
    8, 0};

csam_result csam_challenge_issue(csam_engine *engine,
                                 const struct csam_challenge_owner *owner,
                                 int64_t key_id,
                                 enum csam_challenge_purpose purpose,
                                 enum csam_key_type key_type,
                                 const char *source,
                                 char code[CSAM_ENGINE_CODE_SIZE])
{
    const struct csam_config *cfg = engine->deps.config;
    unsigned char hash[CSAM_HASH_LEN];
    char acc[CSAM_STORE_INT_SIZE], key[CSAM_STORE_INT_SIZE];
    char max[CSAM_STORE_INT_SIZE], ttl[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[8];
    const char *pname = csam_challenge_purpose_name(purpose);
    csam_result res;

    res = csam_security_code_new(CSAM_ENGINE_CODE_DIGITS, code,
                                 CSAM_ENGINE_CODE_SIZE);
    if (res != CSAM_OK)
        return res;
    if (owner == NULL || owner->account_id <= 0)
        return CSAM_ERR_INVALID;
    if (key_type == CSAM_KEY_TOTP) {
        /* The app makes the codes: the row only bounds the attempts and
         * the time, and its hash is one no typed code can match. */
        csam_wipe(code, CSAM_ENGINE_CODE_SIZE);
        res = csam_random_bytes(hash, sizeof(hash));
    } else {
        res = csam_challenge_hash(engine, owner, purpose, key_type, code,
                                  hash);
    }
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_int(owner->account_id, acc);
    p[1] = csam_store_text(pname);
    p[2] = csam_store_int(key_id, key);
    p[3] = csam_store_text(csam_key_type_name(key_type));
    p[4] = csam_store_bytes(hash, sizeof(hash));
    p[5] =
        csam_store_int(csam_challenge_clamp(cfg->code_attempts, 1, 100), max);
    p[6] = csam_store_int(csam_challenge_clamp(cfg->code_ttl, 1, 86400), ttl);
    p[7] = csam_store_text(csam_engine_source(source));
    res = csam_store_exec(engine->deps.store, &csam_challenge_stmt_issue, p,
                          NULL);
    csam_wipe(hash, sizeof(hash));
    return res;
}

static const struct csam_store_stmt csam_challenge_stmt_age = {
    "csam_challenge_age",
    "SELECT floor(extract(epoch FROM now() - created_at))::bigint,"
    " used_at IS NULL AND superseded_at IS NULL AND expires_at > now()"
    " AND attempts < max_attempts, used_at IS NOT NULL"
    " FROM csam_challenges WHERE account_id = $1 AND purpose = $2"
    " ORDER BY created_at DESC, id DESC LIMIT 1",
    2, CSAM_STORE_RETRY};

csam_result csam_challenge_age(csam_engine *engine, int64_t account_id,
                               enum csam_challenge_purpose purpose, long *age,
                               int *usable, int *used)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    *age = -1;
    *usable = 0;
    if (used != NULL)
        *used = 0;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(csam_challenge_purpose_name(purpose));
    res =
        csam_store_exec(engine->deps.store, &csam_challenge_stmt_age, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1) {
        *age = (long)csam_store_int64(rows, 0, 0, 0);
        if (*age < 0)
            *age = 0;
        *usable = csam_store_bool(rows, 0, 1);
        if (used != NULL)
            *used = csam_store_bool(rows, 0, 2);
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* $1 account (0: none), $2 purpose, $3 registration (0: none), $4 the
 * cooldown: the seconds it still runs, or no row. */
static const struct csam_store_stmt csam_challenge_stmt_cooldown = {
    "csam_challenge_cooldown",
    "SELECT ceil(extract(epoch FROM max(c.created_at)"
    " + make_interval(secs => $4::integer) - now()))::bigint"
    " FROM csam_challenges c WHERE c.purpose = $2 AND c.key_type <> 'totp'"
    " AND c.account_id IN (SELECT a.id FROM csam_accounts a"
    " WHERE a.id = $1::bigint OR a.registration_id = $3::bigint)"
    " HAVING max(c.created_at) + make_interval(secs => $4::integer) > now()",
    4, CSAM_STORE_RETRY};

csam_result csam_challenge_cooldown(csam_engine *engine, int64_t account_id,
                                    int64_t registration_id,
                                    enum csam_challenge_purpose purpose,
                                    long *retry_after)
{
    char acc[CSAM_STORE_INT_SIZE], reg[CSAM_STORE_INT_SIZE];
    char wait[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    csam_result res;

    *retry_after = 0;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(csam_challenge_purpose_name(purpose));
    p[2] = csam_store_int(registration_id, reg);
    p[3] = csam_store_int(
        csam_challenge_clamp(engine->deps.config->resend_cooldown, 0, 86400),
        wait);
    res = csam_store_exec(engine->deps.store, &csam_challenge_stmt_cooldown, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1) {
        *retry_after = (long)csam_store_int64(rows, 0, 0, 1);
        if (*retry_after < 1)
            *retry_after = 1;
        res = CSAM_ERR_TOO_SOON;
    }
    csam_store_rows_free(rows);
    return res;
}

/*
 * The verification.  Parameters: $1 the account (its id, or its username
 * with $10 the key type it must have active; or the login handle's hash),
 * $2 purpose, $3 hash of the typed code, $4 account lockout threshold,
 * $5 lockout duration (s), $6 source counted on the web (NULL otherwise),
 * $7 source threshold, $8 failures after which each further one adds a
 * growing delay, $9 the source written to the audit trail.
 *
 * pre may define CTEs who depends on; who is the account (with flow, the
 * login flow a web login code must belong to, and dev, the known device
 * the login came from: see CSAM_CHALLENGE_NO_FLOW); acct/src/pick read
 * the state before the statement (for a known device, acct is its lock
 * and src is empty); c marks the code used or counts the attempt; a
 * counts (or clears) the account's failures, ad the known device's
 * instead; s counts the source's (never for a known device); log writes
 * the audit row; post may add CTEs that act on success (c.ok) and cols
 * the columns they return.  When another
 * transaction used the code first, c's row lock waits for it and then
 * finds used_at set: c is empty and the answer is "expired".
 *
 * The hashes are compared by the server: they are keyed, so an attacker
 * who cannot compute them learns nothing from how long that takes.
 */
/* who's columns besides id for every form but the web login's: no login
 * flow (flow, the flow a web login code belongs to) and no known device
 * (dev, whose row counts the failures instead of the account's). */
#define CSAM_CHALLENGE_NO_FLOW ", NULL::bigint AS flow, NULL::bigint AS dev"

#define CSAM_CHALLENGE_VERIFY_SQL(pre, who, post, cols)                        \
    CSAM_CHALLENGE_VERIFY_SQL_M(pre, who, "", "ch.code_hash = $3", post, cols)

/* The same with mid (CTEs run after acct, src and pick: a TOTP key's step
 * stored only when the code may be checked at all) and match (what makes
 * the typed code right). */
#define CSAM_CHALLENGE_VERIFY_SQL_M(pre, who, mid, match, post, cols)          \
    "WITH " pre " who AS (" who "),"                                           \
    " acct AS ("                                                               \
    " SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"   \
    " FROM csam_accounts WHERE id = (SELECT id FROM who) AND locked_until > "  \
    "now() AND (SELECT dev FROM who) IS NULL"                                  \
    " UNION ALL SELECT ceil(extract(epoch FROM locked_until - now()))::bigint" \
    " FROM csam_login_devices WHERE id = (SELECT dev FROM who)"                \
    " AND locked_until > now()),"                                              \
    " src AS ("                                                                \
    " SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"   \
    " FROM csam_source_failures WHERE (SELECT dev FROM who) IS NULL"           \
    " AND source = $6::text AND locked_until > now()),"                        \
    " pick AS ("                                                               \
    " SELECT id, attempts >= max_attempts AS exhausted,"                       \
    " expires_at <= now() AS expired FROM csam_challenges"                     \
    " WHERE account_id = (SELECT id FROM who) AND purpose = $2::text"          \
    " AND used_at IS NULL AND superseded_at IS NULL"                           \
    " AND flow_id IS NOT DISTINCT FROM (SELECT flow FROM who)"                 \
    " ORDER BY created_at DESC, id DESC LIMIT 1)," mid                         \
    " c AS ("                                                                  \
    " UPDATE csam_challenges ch"                                               \
    " SET used_at = CASE WHEN " match " THEN now() END,"                       \
    " attempts = ch.attempts + CASE WHEN " match " THEN 0 ELSE 1 END"          \
    " FROM pick WHERE ch.id = pick.id"                                         \
    " AND NOT pick.exhausted AND NOT pick.expired"                             \
    " AND NOT EXISTS (SELECT 1 FROM acct) AND NOT EXISTS (SELECT 1 FROM src)"  \
    " AND ch.used_at IS NULL AND ch.superseded_at IS NULL"                     \
    " AND ch.attempts < ch.max_attempts AND ch.expires_at > now()"             \
    " RETURNING ch.id, ch.used_at IS NOT NULL AS ok,"                          \
    " ch.max_attempts - ch.attempts AS left_over),"                            \
    " a AS ("                                                                  \
    " UPDATE csam_accounts acc SET"                                            \
    " failures = CASE WHEN c.ok OR acc.failures + 1 >= $4::integer THEN 0"     \
    " ELSE acc.failures + 1 END,"                                              \
    " locked_until = CASE WHEN c.ok THEN NULL"                                 \
    " WHEN acc.failures + 1 >= $4::integer"                                    \
    " THEN now() + make_interval(secs => $5::integer)"                         \
    " WHEN acc.failures + 1 > $8::integer"                                     \
    " THEN now() + make_interval(secs =>"                                      \
    " least(power(2, acc.failures - $8::integer), 60))"                        \
    " ELSE acc.locked_until END"                                               \
    " FROM c WHERE acc.id = (SELECT id FROM who)"                              \
    " AND (c.ok OR (SELECT dev FROM who) IS NULL)"                             \
    " RETURNING greatest(0, ceil(extract(epoch FROM"                           \
    " coalesce(acc.locked_until, now()) - now())))::bigint AS wait,"           \
    " acc.failures),"                                                          \
    " ad AS ("                                                                 \
    " UPDATE csam_login_devices d SET"                                         \
    " failures = CASE WHEN c.ok OR d.failures + 1 >= $4::integer THEN 0"       \
    " ELSE d.failures + 1 END,"                                                \
    " last_failure_at = CASE WHEN c.ok THEN d.last_failure_at ELSE now() END," \
    " locked_until = CASE WHEN c.ok THEN NULL"                                 \
    " WHEN d.failures + 1 >= $4::integer"                                      \
    " THEN now() + make_interval(secs => $5::integer)"                         \
    " WHEN d.failures + 1 > $8::integer"                                       \
    " THEN now() + make_interval(secs =>"                                      \
    " least(power(2, d.failures - $8::integer), 60))"                          \
    " ELSE d.locked_until END"                                                 \
    " FROM c WHERE d.id = (SELECT dev FROM who)"                               \
    " RETURNING greatest(0, ceil(extract(epoch FROM"                           \
    " coalesce(d.locked_until, now()) - now())))::bigint AS wait,"             \
    " d.failures),"                                                            \
    " s AS ("                                                                  \
    " INSERT INTO csam_source_failures AS sf (source, failures, window_start)" \
    " SELECT $6::text, 1, now() FROM c WHERE NOT c.ok AND $6::text IS NOT "    \
    "NULL AND (SELECT dev FROM who) IS NULL"                                   \
    " ON CONFLICT (source) DO UPDATE SET"                                      \
    " failures = CASE WHEN sf.window_start"                                    \
    " < now() - make_interval(secs => $5::integer) THEN 1"                     \
    " ELSE sf.failures + 1 END,"                                               \
    " window_start = CASE WHEN sf.window_start"                                \
    " < now() - make_interval(secs => $5::integer) THEN now()"                 \
    " ELSE sf.window_start END,"                                               \
    " locked_until = CASE WHEN sf.window_start"                                \
    " >= now() - make_interval(secs => $5::integer)"                           \
    " AND sf.failures + 1 >= $7::integer"                                      \
    " THEN now() + make_interval(secs => $5::integer)"                         \
    " ELSE sf.locked_until END"                                                \
    " RETURNING 1),"                                                           \
    " log AS ("                                                                \
    " INSERT INTO csam_audit (action, account_id, source, detail)"             \
    " SELECT CASE WHEN c.ok THEN 'challenge.passed'"                           \
    " ELSE 'challenge.failed' END, (SELECT id FROM who), $9::text,"            \
    " jsonb_build_object('purpose', $2::text, 'challenge', c.id)"              \
    " FROM c RETURNING 1)" post                                                \
    " SELECT (SELECT wait FROM acct), (SELECT wait FROM src),"                 \
    " (SELECT count(*) FROM pick), (SELECT exhausted FROM pick),"              \
    " (SELECT expired FROM pick), (SELECT ok FROM c),"                         \
    " (SELECT left_over FROM c),"                                              \
    " coalesce((SELECT wait FROM ad), (SELECT wait FROM a)),"                  \
    " coalesce((SELECT failures FROM ad), (SELECT failures FROM a)),"          \
    " (SELECT count(*) FROM s) + (SELECT count(*) FROM log),"                  \
    " (SELECT count(*) FROM who)" cols

/* A TOTP code, by account id ($1) and key id ($10): $3 is the step the
 * typed code matched (NULL: it matched none).  t stores it as the key's
 * last step only if it is newer than the stored one, in this statement, so
 * two submissions of one code cannot both win; the challenge row counts
 * the attempt as for a sent code. */
#define CSAM_CHALLENGE_TOTP_STEP(keyexpr)                                       \
    " t AS (UPDATE csam_keys k SET totp_last_step = $3::bigint"                \
    " WHERE k.id = " keyexpr " AND k.type = 'totp'"                            \
    " AND k.status <> 'inactive' AND $3::bigint IS NOT NULL"                   \
    " AND (k.totp_last_step IS NULL OR k.totp_last_step < $3::bigint)"         \
    " AND EXISTS (SELECT 1 FROM pick WHERE NOT exhausted AND NOT expired)"     \
    " AND NOT EXISTS (SELECT 1 FROM acct) AND NOT EXISTS (SELECT 1 FROM src)"  \
    " RETURNING k.id),"

/* By account id ($1), when the caller knows it.
 *
 * Every form may run again after a reconnection (outside a transaction:
 * the store never retries inside one).  The usual case is a connection
 * that died while idle (a server restart): the statement never ran.  Even
 * if it had committed and only the answer was lost, running it again
 * cannot let a code through twice: a used code is "expired", and at worst
 * one wrong attempt counts twice.  Failing closed, never open. */
/* The statements' texts are longer than the 4095 bytes ISO C requires
 * compilers to take in one literal; GCC and Clang take any length, and one
 * statement is the point (one round trip per verification, DESIGN 5). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
static const struct csam_store_stmt csam_challenge_stmt_verify = {
    "csam_challenge_verify",
    CSAM_CHALLENGE_VERIFY_SQL("", "SELECT $1::bigint AS id" CSAM_CHALLENGE_NO_FLOW,
                              "", ""),
    9,
    CSAM_STORE_RETRY};

/* By username ($1), which must name an active account with an active key
 * of type $10: a login costs this one round trip. */
static const struct csam_store_stmt csam_challenge_stmt_verify_name = {
    "csam_challenge_verify_name",
    CSAM_CHALLENGE_VERIFY_SQL(
        "",
        "SELECT a.id" CSAM_CHALLENGE_NO_FLOW
        " FROM csam_accounts a WHERE a.username = $1::text"
        " AND a.status = 'active' AND EXISTS (SELECT 1 FROM csam_keys k"
        " WHERE k.account_id = a.id AND k.type = $10::text"
        " AND k.status = 'active')",
        "", ""),
    10, CSAM_STORE_RETRY};

/* By login handle ($1 its hash): fl is the live login flow; its account
 * must be active and still have the chosen key active.  On success, in
 * the same statement, f uses the handle up (only once: a second success
 * racing this one finds done_at set and gets no session), sess creates
 * the session ($10 the cookie's hash, $11 idle timeout, $12 absolute
 * lifetime, in seconds) and slog audits it.  A web login costs this one
 * round trip.  The e-mailed and SMS codes are checked by hash; a TOTP
 * code by its own form (csam_challenge_stmt_verify_login_totp), after the
 * e-mail form has read the key's sealed secret.
 *
 * Its text is longer than the 4095 bytes ISO C requires compilers to take
 * in one literal; GCC and Clang take any length, and one statement is the
 * point (one round trip per verification, DESIGN 5). */
#define CSAM_CHALLENGE_LOGIN_SQL(types, mid, match, extra)                     \
    CSAM_CHALLENGE_VERIFY_SQL_M(                                               \
        "fl AS (SELECT f.id, f.account_id, f.step, f.key_type, a.username,"    \
        " f.device_id, (SELECT d.expires_at FROM csam_login_devices d"         \
        " WHERE d.id = f.device_id) AS device_expires"                         \
        " FROM csam_flows f JOIN csam_accounts a ON a.id = f.account_id"       \
        " WHERE f.handle_hash = $1::bytea AND f.kind = 'login'"                \
        " AND f.done_at IS NULL AND f.superseded_at IS NULL"                   \
        " AND f.expires_at > now() AND a.status = 'active'),",                 \
        "SELECT fl.account_id AS id, fl.id AS flow, fl.device_id AS dev"       \
        " FROM fl WHERE fl.step = 'confirm'"                                   \
        " AND fl.key_type IN " types " AND EXISTS (SELECT 1"                   \
        " FROM csam_keys k WHERE k.account_id = fl.account_id"                 \
        " AND k.type = fl.key_type AND k.status = 'active')",                  \
        mid, match,                                                            \
        ", f AS (UPDATE csam_flows fw SET step = 'done', done_at = now()"      \
        " FROM c WHERE c.ok AND fw.id = (SELECT id FROM fl)"                   \
        " AND fw.done_at IS NULL RETURNING fw.id),"                            \
        " sess AS (INSERT INTO csam_sessions (session_hash, account_id,"       \
        " key_type, idle_timeout, expires_at, source)"                         \
        " SELECT $10::bytea, fl.account_id, fl.key_type,"                      \
        " make_interval(secs => $11::integer),"                                \
        " now() + make_interval(secs => $12::integer), $9::text"               \
        " FROM f, fl RETURNING id,"                                            \
        " floor(extract(epoch FROM created_at))::bigint AS auth,"              \
        " floor(extract(epoch FROM expires_at))::bigint AS ends,"              \
        " floor(extract(epoch FROM least(last_seen_at + idle_timeout,"         \
        " expires_at)))::bigint AS idle_ends),"                                \
        " slog AS (INSERT INTO csam_audit (actor, action, account_id,"         \
        " source, detail)"                                                     \
        " SELECT fl.username, 'session.created', fl.account_id, $9::text,"     \
        " jsonb_build_object('session', sess.id, 'key_type', fl.key_type,"     \
        " 'flow', fl.id) FROM sess, fl RETURNING 1),"                          \
        " nd AS (INSERT INTO csam_login_devices (account_id, device_hash,"     \
        " expires_at) SELECT fl.account_id, $13::bytea,"                       \
        " now() + make_interval(secs => $14::integer) FROM f, fl"              \
        " WHERE $13::bytea IS NOT NULL AND (fl.device_expires IS NULL"         \
        " OR fl.device_expires < now() + make_interval(secs =>"                \
        " $14::integer / 6)) RETURNING id),"                                   \
        " xd AS (DELETE FROM csam_login_devices WHERE id IN (SELECT id"        \
        " FROM csam_login_devices WHERE expires_at < now()"                    \
        " ORDER BY expires_at LIMIT 4) RETURNING 1)" extra,                    \
        ", (SELECT count(*) FROM fl), (SELECT step FROM fl),"                  \
        " (SELECT key_type FROM fl), (SELECT username FROM fl),"               \
        " (SELECT auth FROM sess), (SELECT ends FROM sess),"                   \
        " (SELECT idle_ends FROM sess), (SELECT count(*) FROM slog),"          \
        " (SELECT count(*) FROM nd)")

/* For a login with the app's key, the e-mail form also reads (tk) what
 * checking its code needs, with the database clock: the TOTP form then
 * costs one round trip more, the sealed secret opening in between. */
#define CSAM_CHALLENGE_LOGIN_TK                                                \
    ", tk AS (SELECT k.id, encode(k.totp_secret, 'hex') AS sealed,"            \
    " coalesce(k.totp_last_step, -1) AS last FROM csam_keys k JOIN fl"         \
    " ON k.account_id = fl.account_id WHERE fl.step = 'confirm'"               \
    " AND fl.key_type = 'totp' AND k.type = 'totp' AND k.status = 'active')"

static const struct csam_store_stmt csam_challenge_stmt_verify_login = {
    "csam_challenge_verify_login",
    CSAM_CHALLENGE_LOGIN_SQL("('email', 'sms')", "", "ch.code_hash = $3",
                             CSAM_CHALLENGE_LOGIN_TK)
    ", (SELECT id FROM tk), (SELECT sealed FROM tk), (SELECT last FROM tk),"
    " floor(extract(epoch FROM now()))::bigint",
    14, CSAM_STORE_RETRY};

/* The TOTP form: $3 the matched step (NULL: none), $15 the key. */
static const struct csam_store_stmt csam_challenge_stmt_verify_login_totp = {
    "csam_challenge_verify_login_totp",
    CSAM_CHALLENGE_LOGIN_SQL(
        "('totp')",
        CSAM_CHALLENGE_TOTP_STEP(
            "$15::bigint AND k.account_id = (SELECT id FROM who)"),
        "EXISTS (SELECT 1 FROM t)", ""),
    15, CSAM_STORE_RETRY};
#pragma GCC diagnostic pop

/* A typed code in canonical form: digits only, spaces dropped (people
 * copy "123 456").  Anything else cannot match and is hashed as such. */
static int csam_challenge_canonical(const char *typed,
                                    char out[CSAM_ENGINE_CODE_SIZE])
{
    size_t n = 0;

    if (typed == NULL)
        return 0;
    for (; *typed != '\0'; typed++) {
        if (*typed == ' ')
            continue;
        if (*typed < '0' || *typed > '9' || n == CSAM_SECURITY_CODE_MAX)
            return 0;
        out[n++] = *typed;
    }
    out[n] = '\0';
    return n >= 6;
}

/* The keyed hash of what was typed; a malformed code is a wrong code: it
 * counts as an attempt and is compared against a value no code hashes
 * to. */
static csam_result csam_challenge_typed_hash(
    csam_engine *engine, const struct csam_challenge_owner *owner,
    enum csam_challenge_purpose purpose, enum csam_key_type key_type,
    const char *code, unsigned char hash[CSAM_HASH_LEN])
{
    char canon[CSAM_ENGINE_CODE_SIZE];
    csam_result res;

    if (csam_challenge_canonical(code, canon))
        res = csam_challenge_hash(engine, owner, purpose, key_type, canon,
                                  hash);
    else
        res = csam_random_bytes(hash, CSAM_HASH_LEN);
    csam_wipe(canon, sizeof(canon));
    return res;
}

/* Parameters $2..$9, shared by every form of the statement. */
struct csam_challenge_args {
    char thr[CSAM_STORE_INT_SIZE], dur[CSAM_STORE_INT_SIZE];
    char sthr[CSAM_STORE_INT_SIZE], delay[CSAM_STORE_INT_SIZE];
};

static void csam_challenge_common(csam_engine *engine,
                                  enum csam_challenge_purpose purpose,
                                  const unsigned char hash[CSAM_HASH_LEN],
                                  const char *source, int web,
                                  struct csam_challenge_args *args,
                                  struct csam_store_param p[9])
{
    const struct csam_config *cfg = engine->deps.config;
    long threshold = csam_challenge_clamp(cfg->lockout_threshold, 1, 1000);
    const char *src = csam_engine_source(source);

    p[1] = csam_store_text(csam_challenge_purpose_name(purpose));
    p[2] = csam_store_bytes(hash, CSAM_HASH_LEN);
    p[3] = csam_store_int(threshold, args->thr);
    p[4] = csam_store_int(
        csam_challenge_clamp(cfg->lockout_duration, 1, 7 * 86400), args->dur);
    p[5] = csam_store_text(web ? src : NULL);
    p[6] = csam_store_int(threshold * CSAM_SOURCE_THRESHOLD_FACTOR,
                          args->sthr);
    p[7] = csam_store_int(threshold / 2, args->delay);
    p[8] = csam_store_text(src);
}

/* What the statement's first eleven columns say. */
static csam_result csam_challenge_outcome(const csam_store_rows *rows,
                                          struct csam_attempts *att)
{
    if (csam_store_int64(rows, 0, 10, 0) == 0)
        return CSAM_ERR_NOT_FOUND;
    if (csam_store_value(rows, 0, 0) != NULL) {
        att->retry_after = (long)csam_store_int64(rows, 0, 0, 1);
        return CSAM_ERR_LOCKED;
    }
    if (csam_store_value(rows, 0, 1) != NULL) {
        att->retry_after = (long)csam_store_int64(rows, 0, 1, 1);
        return CSAM_ERR_LOCKED;
    }
    if (csam_store_int64(rows, 0, 2, 0) == 0 || csam_store_bool(rows, 0, 4))
        return CSAM_ERR_EXPIRED;
    if (csam_store_bool(rows, 0, 3)) {
        att->attempts_left = 0;
        return CSAM_ERR_LOCKED;
    }
    if (csam_store_value(rows, 0, 5) == NULL)
        return CSAM_ERR_EXPIRED; /* used by a concurrent submission */
    if (csam_store_bool(rows, 0, 5))
        return CSAM_OK;
    {
        int64_t left = csam_store_int64(rows, 0, 6, 0);
        int64_t wait = csam_store_int64(rows, 0, 7, 0);
        int64_t failures = csam_store_int64(rows, 0, 8, 0);

        att->attempts_left = left < 0 ? 0 : (int)left;
        att->retry_after = (long)wait;
        /* The failure that reached the threshold locked the account (its
         * counter starts again at 0); the last attempt locked the code. */
        if (failures == 0 && wait > 0)
            return CSAM_ERR_LOCKED;
        return left <= 0 ? CSAM_ERR_LOCKED : CSAM_ERR_BAD_CODE;
    }
}

csam_result csam_challenge_verify(csam_engine *engine,
                                  const struct csam_challenge_owner *owner,
                                  enum csam_challenge_purpose purpose,
                                  enum csam_key_type key_type, const char *code,
                                  const char *source, int web,
                                  struct csam_attempts *att)
{
    unsigned char hash[CSAM_HASH_LEN];
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_challenge_args args;
    int by_name = owner != NULL && owner->account_id == 0;
    struct csam_store_param p[10];
    csam_store_rows *rows = NULL;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    if (owner == NULL || (by_name && owner->username == NULL) ||
        (by_name && csam_key_type_name(key_type) == NULL))
        return CSAM_ERR_INVALID;
    res = csam_challenge_typed_hash(engine, owner, purpose, key_type, code,
                                    hash);
    if (res != CSAM_OK)
        return res;
    p[0] = by_name ? csam_store_text(owner->username)
                   : csam_store_int(owner->account_id, acc);
    csam_challenge_common(engine, purpose, hash, source, web, &args, p);
    p[9] = csam_store_text(csam_key_type_name(key_type));
    res = csam_store_exec(engine->deps.store,
                          by_name ? &csam_challenge_stmt_verify_name
                                  : &csam_challenge_stmt_verify,
                          p, &rows);
    csam_wipe(hash, sizeof(hash));
    if (res != CSAM_OK)
        return res;
    res = csam_challenge_outcome(rows, att);
    csam_store_rows_free(rows);
    return res;
}

/* A TOTP code by account id ($1) and key id ($10). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
static const struct csam_store_stmt csam_challenge_stmt_verify_totp = {
    "csam_challenge_verify_totp",
    CSAM_CHALLENGE_VERIFY_SQL_M(
        "", "SELECT $1::bigint AS id" CSAM_CHALLENGE_NO_FLOW,
        CSAM_CHALLENGE_TOTP_STEP("$10::bigint AND k.account_id = $1::bigint"),
        "EXISTS (SELECT 1 FROM t)", "", ""),
    10, CSAM_STORE_RETRY};
#pragma GCC diagnostic pop

csam_result csam_challenge_verify_totp(csam_engine *engine,
                                       int64_t account_id, int64_t key_id,
                                       enum csam_challenge_purpose purpose,
                                       int64_t step, const char *source,
                                       int web, struct csam_attempts *att)
{
    unsigned char none[CSAM_HASH_LEN] = {0};
    char acc[CSAM_STORE_INT_SIZE], key[CSAM_STORE_INT_SIZE];
    char st[CSAM_STORE_INT_SIZE];
    struct csam_challenge_args args;
    struct csam_store_param p[10];
    csam_store_rows *rows = NULL;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    if (account_id <= 0 || key_id <= 0)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(account_id, acc);
    csam_challenge_common(engine, purpose, none, source, web, &args, p);
    p[2] = step >= 0 ? csam_store_int(step, st) : csam_store_text(NULL);
    p[9] = csam_store_int(key_id, key);
    res = csam_store_exec(engine->deps.store, &csam_challenge_stmt_verify_totp,
                          p, &rows);
    if (res != CSAM_OK)
        return res;
    res = csam_challenge_outcome(rows, att);
    csam_store_rows_free(rows);
    return res;
}

/* The outcome of either login form.  *totp is set when the flow waits
 * for a TOTP code and the e-mail form found no account to check (it
 * changed nothing). */
static csam_result csam_challenge_login_outcome(const csam_store_rows *rows,
                                                int *totp,
                                                struct csam_session_info *out,
                                                struct csam_attempts *att)
{
    const char *step = csam_store_value(rows, 0, 12);
    csam_result res;

    *totp = 0;
    if (csam_store_int64(rows, 0, 11, 0) == 0)
        return CSAM_ERR_EXPIRED;
    if (step == NULL || strcmp(step, "confirm") != 0)
        return CSAM_ERR_STATE; /* no key chosen yet */
    if (csam_key_type_parse(csam_store_value(rows, 0, 13)) == CSAM_KEY_TOTP &&
        csam_store_int64(rows, 0, 10, 0) == 0) {
        *totp = 1;
        return CSAM_ERR_STATE;
    }
    res = csam_challenge_outcome(rows, att);
    if (res == CSAM_ERR_NOT_FOUND)
        res = CSAM_ERR_EXPIRED; /* the key or the account went away */
    else if (res == CSAM_OK && csam_store_int64(rows, 0, 18, 0) != 1)
        res = CSAM_ERR_EXPIRED; /* the handle was used meanwhile */
    if (res == CSAM_OK) {
        snprintf(out->username, sizeof(out->username), "%s",
                 csam_store_value(rows, 0, 14));
        out->key_type = csam_key_type_parse(csam_store_value(rows, 0, 13));
        out->auth_time = csam_store_int64(rows, 0, 15, 0);
        out->expires_at = csam_store_int64(rows, 0, 16, 0);
        out->idle_expires_at = csam_store_int64(rows, 0, 17, 0);
    }
    return res;
}

csam_result csam_challenge_verify_login(csam_engine *engine,
                                        const char *handle, const char *code,
                                        const char *source,
                                        const unsigned char *session_hash,
                                        const unsigned char *device_hash,
                                        int *device_made,
                                        struct csam_session_info *out,
                                        struct csam_attempts *att)
{
    const struct csam_config *cfg = engine->deps.config;
    unsigned char hhash[CSAM_HASH_LEN], chash[CSAM_HASH_LEN];
    char idle[CSAM_STORE_INT_SIZE], life[CSAM_STORE_INT_SIZE];
    char st[CSAM_STORE_INT_SIZE], key[CSAM_STORE_INT_SIZE];
    char dttl[CSAM_STORE_INT_SIZE];
    struct csam_challenge_owner owner = {0, NULL, handle};
    struct csam_challenge_args args;
    struct csam_store_param p[15];
    csam_store_rows *rows = NULL;
    int64_t key_id, step = -1;
    csam_result res;
    int totp = 0;

    att->attempts_left = -1;
    att->retry_after = 0;
    *device_made = 0;
    memset(out, 0, sizeof(*out));
    if (handle == NULL || !csam_token_valid(handle))
        return CSAM_ERR_EXPIRED;
    res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "login", 0,
                           handle, hhash);
    if (res == CSAM_OK)
        res = csam_challenge_typed_hash(engine, &owner,
                                        CSAM_CHALLENGE_WEB_LOGIN,
                                        CSAM_KEY_EMAIL, code, chash);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_bytes(hhash, sizeof(hhash));
    csam_challenge_common(engine, CSAM_CHALLENGE_WEB_LOGIN, chash, source, 1,
                          &args, p);
    p[9] = csam_store_bytes(session_hash, CSAM_HASH_LEN);
    p[10] = csam_store_int(csam_challenge_clamp(cfg->session_idle, 1, 86400),
                           idle);
    p[11] = csam_store_int(
        csam_challenge_clamp(cfg->session_absolute, 1, 31 * 86400), life);
    p[12] = device_hash != NULL ? csam_store_bytes(device_hash, CSAM_HASH_LEN)
                                : csam_store_text(NULL);
    p[13] = csam_store_int(CSAM_LOGIN_DEVICE_TTL, dttl);
    res = csam_store_exec(engine->deps.store, &csam_challenge_stmt_verify_login,
                          p, &rows);
    csam_wipe(chash, sizeof(chash));
    if (res != CSAM_OK)
        return res;
    res = csam_challenge_login_outcome(rows, &totp, out, att);
    if (!totp) {
        *device_made = res == CSAM_OK && csam_store_int64(rows, 0, 19, 0) > 0;
        csam_store_rows_free(rows);
        return res;
    }
    /* The app's key: open its secret and check the code here, then count
     * and store in the TOTP form. */
    key_id = csam_store_int64(rows, 0, 20, 0);
    if (key_id <= 0) {
        csam_store_rows_free(rows);
        return CSAM_ERR_EXPIRED; /* the key went away */
    }
    res = csam_totp_match(engine, key_id, csam_store_value(rows, 0, 21),
                          csam_store_int64(rows, 0, 22, -1),
                          csam_store_int64(rows, 0, 23, 0), code, &step);
    csam_store_rows_free(rows);
    rows = NULL;
    if (res != CSAM_OK)
        return res;
    p[2] = step >= 0 ? csam_store_int(step, st) : csam_store_text(NULL);
    p[14] = csam_store_int(key_id, key);
    res = csam_store_exec(engine->deps.store,
                          &csam_challenge_stmt_verify_login_totp, p, &rows);
    if (res != CSAM_OK)
        return res;
    res = csam_challenge_login_outcome(rows, &totp, out, att);
    *device_made = res == CSAM_OK && csam_store_int64(rows, 0, 19, 0) > 0;
    csam_store_rows_free(rows);
    if (totp)
        res = CSAM_ERR_EXPIRED; /* the key went away meanwhile */
    return res;
}

/* ---- per-source counters --------------------------------------------- */

static const struct csam_store_stmt csam_source_stmt_check = {
    "csam_source_check",
    "SELECT ceil(extract(epoch FROM locked_until - now()))::bigint"
    " FROM csam_source_failures WHERE source = $1 AND locked_until > now()",
    1, CSAM_STORE_RETRY};

csam_result csam_source_check(csam_engine *engine, const char *source,
                              struct csam_attempts *att)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    source = csam_engine_source(source);
    if (source == NULL)
        return CSAM_OK;
    p[0] = csam_store_text(source);
    res =
        csam_store_exec(engine->deps.store, &csam_source_stmt_check, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 1) {
        att->attempts_left = -1;
        att->retry_after = (long)csam_store_int64(rows, 0, 0, 1);
        res = CSAM_ERR_LOCKED;
    }
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_source_stmt_fail = {
    "csam_source_fail",
    "INSERT INTO csam_source_failures AS sf (source, failures, window_start)"
    " VALUES ($1, 1, now())"
    " ON CONFLICT (source) DO UPDATE SET"
    " failures = CASE WHEN sf.window_start"
    " < now() - make_interval(secs => $2::integer) THEN 1"
    " ELSE sf.failures + 1 END,"
    " window_start = CASE WHEN sf.window_start"
    " < now() - make_interval(secs => $2::integer) THEN now()"
    " ELSE sf.window_start END,"
    " locked_until = CASE WHEN sf.window_start"
    " >= now() - make_interval(secs => $2::integer)"
    " AND sf.failures + 1 >= $3::integer"
    " THEN now() + make_interval(secs => $2::integer)"
    " ELSE sf.locked_until END",
    3, 0};

csam_result csam_source_fail(csam_engine *engine, const char *source)
{
    const struct csam_config *cfg = engine->deps.config;
    char dur[CSAM_STORE_INT_SIZE], thr[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];

    source = csam_engine_source(source);
    if (source == NULL)
        return CSAM_OK;
    p[0] = csam_store_text(source);
    p[1] = csam_store_int(
        csam_challenge_clamp(cfg->lockout_duration, 1, 7 * 86400), dur);
    p[2] =
        csam_store_int(csam_challenge_clamp(cfg->lockout_threshold, 1, 1000) *
                           CSAM_SOURCE_THRESHOLD_FACTOR,
                       thr);
    return csam_store_exec(engine->deps.store, &csam_source_stmt_fail, p, NULL);
}
