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
                                       const char *code,
                                       unsigned char out[CSAM_HASH_LEN])
{
    const char *pname = csam_challenge_purpose_name(purpose);

    if (purpose == CSAM_CHALLENGE_WEB_LOGIN ||
        purpose == CSAM_CHALLENGE_PAM_LOGIN) {
        if (o->username == NULL)
            return CSAM_ERR_INVALID;
        return csam_engine_hash_named(engine, csam_challenge_key(purpose),
                                      pname, o->username, code, out);
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
    res = csam_challenge_hash(engine, owner, purpose, code, hash);
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
    " AND attempts < max_attempts"
    " FROM csam_challenges WHERE account_id = $1 AND purpose = $2"
    " ORDER BY created_at DESC, id DESC LIMIT 1",
    2, CSAM_STORE_RETRY};

csam_result csam_challenge_age(csam_engine *engine, int64_t account_id,
                               enum csam_challenge_purpose purpose, long *age,
                               int *usable)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    *age = -1;
    *usable = 0;
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
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/*
 * The verification.  Parameters: $1 the account (its id, or its username
 * with $10 the key type it must have active), $2 purpose, $3 hash of the
 * typed code, $4 account lockout threshold, $5 lockout duration (s),
 * $6 source counted on the web (NULL otherwise), $7 source threshold,
 * $8 failures after which each further one adds a growing delay, $9 the
 * source written to the audit trail.
 *
 * who is the account; acct/src/pick read the state before the statement;
 * c marks the code used or counts the attempt; a counts (or clears) the
 * account's failures; s counts the source's; log writes the audit row.  When another
 * transaction used the code first, c's row lock waits for it and then
 * finds used_at set: c is empty and the answer is "expired".
 *
 * The hashes are compared by the server: they are keyed, so an attacker
 * who cannot compute them learns nothing from how long that takes.
 */
#define CSAM_CHALLENGE_VERIFY_SQL(who)                                         \
    "WITH who AS (" who "),"                                                   \
    " acct AS ("                                                               \
    " SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"   \
    " FROM csam_accounts WHERE id = (SELECT id FROM who) AND locked_until > "  \
    "now()),"                                                                  \
    " src AS ("                                                                \
    " SELECT ceil(extract(epoch FROM locked_until - now()))::bigint AS wait"   \
    " FROM csam_source_failures"                                               \
    " WHERE source = $6::text AND locked_until > now()),"                      \
    " pick AS ("                                                               \
    " SELECT id, attempts >= max_attempts AS exhausted,"                       \
    " expires_at <= now() AS expired FROM csam_challenges"                     \
    " WHERE account_id = (SELECT id FROM who) AND purpose = $2::text"          \
    " AND used_at IS NULL AND superseded_at IS NULL"                           \
    " ORDER BY created_at DESC, id DESC LIMIT 1),"                             \
    " c AS ("                                                                  \
    " UPDATE csam_challenges ch"                                               \
    " SET used_at = CASE WHEN ch.code_hash = $3 THEN now() END,"               \
    " attempts = ch.attempts + CASE WHEN ch.code_hash = $3 THEN 0 ELSE 1 END"  \
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
    " RETURNING greatest(0, ceil(extract(epoch FROM"                           \
    " coalesce(acc.locked_until, now()) - now())))::bigint AS wait,"           \
    " acc.failures),"                                                          \
    " s AS ("                                                                  \
    " INSERT INTO csam_source_failures AS sf (source, failures, window_start)" \
    " SELECT $6::text, 1, now() FROM c WHERE NOT c.ok AND $6::text IS NOT "    \
    "NULL"                                                                     \
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
    " FROM c RETURNING 1)"                                                     \
    " SELECT (SELECT wait FROM acct), (SELECT wait FROM src),"                 \
    " (SELECT count(*) FROM pick), (SELECT exhausted FROM pick),"              \
    " (SELECT expired FROM pick), (SELECT ok FROM c),"                         \
    " (SELECT left_over FROM c), (SELECT wait FROM a),"                        \
    " (SELECT failures FROM a),"                                               \
    " (SELECT count(*) FROM s) + (SELECT count(*) FROM log),"                  \
    " (SELECT count(*) FROM who)"

/* By account id ($1), when the caller knows it.
 *
 * Both forms may run again after a reconnection (outside a transaction:
 * the store never retries inside one).  The usual case is a connection
 * that died while idle (a server restart): the statement never ran.  Even
 * if it had committed and only the answer was lost, running it again
 * cannot let a code through twice: a used code is "expired", and at worst
 * one wrong attempt counts twice.  Failing closed, never open. */
static const struct csam_store_stmt csam_challenge_stmt_verify = {
    "csam_challenge_verify",
    CSAM_CHALLENGE_VERIFY_SQL("SELECT $1::bigint AS id"), 9, CSAM_STORE_RETRY};

/* By username ($1), which must name an active account with an active key
 * of type $10: a login costs this one round trip. */
static const struct csam_store_stmt csam_challenge_stmt_verify_name = {
    "csam_challenge_verify_name",
    CSAM_CHALLENGE_VERIFY_SQL(
        "SELECT a.id FROM csam_accounts a WHERE a.username = $1::text"
        " AND a.status = 'active' AND EXISTS (SELECT 1 FROM csam_keys k"
        " WHERE k.account_id = a.id AND k.type = $10::text"
        " AND k.status = 'active')"),
    10, CSAM_STORE_RETRY};

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

csam_result csam_challenge_verify(csam_engine *engine,
                                  const struct csam_challenge_owner *owner,
                                  enum csam_challenge_purpose purpose,
                                  enum csam_key_type key_type, const char *code,
                                  const char *source, int web,
                                  struct csam_attempts *att)
{
    const struct csam_config *cfg = engine->deps.config;
    char canon[CSAM_ENGINE_CODE_SIZE];
    unsigned char hash[CSAM_HASH_LEN];
    char acc[CSAM_STORE_INT_SIZE], thr[CSAM_STORE_INT_SIZE];
    char dur[CSAM_STORE_INT_SIZE], sthr[CSAM_STORE_INT_SIZE];
    char delay[CSAM_STORE_INT_SIZE];
    const char *src = csam_engine_source(source);
    int by_name = owner != NULL && owner->account_id == 0;
    struct csam_store_param p[10];
    csam_store_rows *rows = NULL;
    long threshold = csam_challenge_clamp(cfg->lockout_threshold, 1, 1000);
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    if (owner == NULL || (by_name && owner->username == NULL) ||
        (by_name && csam_key_type_name(key_type) == NULL))
        return CSAM_ERR_INVALID;
    if (csam_challenge_canonical(code, canon))
        res = csam_challenge_hash(engine, owner, purpose, canon, hash);
    else
        /* A malformed code is a wrong code: it counts as an attempt and
         * is compared against a value no code hashes to. */
        res = csam_random_bytes(hash, sizeof(hash));
    csam_wipe(canon, sizeof(canon));
    if (res != CSAM_OK)
        return res;
    p[0] = by_name ? csam_store_text(owner->username)
                   : csam_store_int(owner->account_id, acc);
    p[1] = csam_store_text(csam_challenge_purpose_name(purpose));
    p[2] = csam_store_bytes(hash, sizeof(hash));
    p[3] = csam_store_int(threshold, thr);
    p[4] = csam_store_int(
        csam_challenge_clamp(cfg->lockout_duration, 1, 7 * 86400), dur);
    p[5] = csam_store_text(web ? src : NULL);
    p[6] = csam_store_int(threshold * CSAM_SOURCE_THRESHOLD_FACTOR, sthr);
    p[7] = csam_store_int(threshold / 2, delay);
    p[8] = csam_store_text(src);
    p[9] = csam_store_text(csam_key_type_name(key_type));
    res = csam_store_exec(engine->deps.store,
                          by_name ? &csam_challenge_stmt_verify_name
                                  : &csam_challenge_stmt_verify,
                          p, &rows);
    csam_wipe(hash, sizeof(hash));
    if (res != CSAM_OK)
        return res;
    if (csam_store_int64(rows, 0, 10, 0) == 0) {
        res = CSAM_ERR_NOT_FOUND;
    } else if (csam_store_value(rows, 0, 0) != NULL) {
        att->retry_after = (long)csam_store_int64(rows, 0, 0, 1);
        res = CSAM_ERR_LOCKED;
    } else if (csam_store_value(rows, 0, 1) != NULL) {
        att->retry_after = (long)csam_store_int64(rows, 0, 1, 1);
        res = CSAM_ERR_LOCKED;
    } else if (csam_store_int64(rows, 0, 2, 0) == 0 ||
               csam_store_bool(rows, 0, 4)) {
        res = CSAM_ERR_EXPIRED;
    } else if (csam_store_bool(rows, 0, 3)) {
        att->attempts_left = 0;
        res = CSAM_ERR_LOCKED;
    } else if (csam_store_value(rows, 0, 5) == NULL) {
        res = CSAM_ERR_EXPIRED; /* used by a concurrent submission */
    } else if (csam_store_bool(rows, 0, 5)) {
        res = CSAM_OK;
    } else {
        int64_t left = csam_store_int64(rows, 0, 6, 0);
        int64_t wait = csam_store_int64(rows, 0, 7, 0);
        int64_t failures = csam_store_int64(rows, 0, 8, 0);

        att->attempts_left = left < 0 ? 0 : (int)left;
        att->retry_after = (long)wait;
        /* The failure that reached the threshold locked the account (its
         * counter starts again at 0); the last attempt locked the code. */
        if (failures == 0 && wait > 0)
            res = CSAM_ERR_LOCKED;
        else
            res = left <= 0 ? CSAM_ERR_LOCKED : CSAM_ERR_BAD_CODE;
    }
    csam_store_rows_free(rows);
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
