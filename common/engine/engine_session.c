/*
 * Web sessions (DESIGN 4): the browser holds a 256-bit token, the database
 * its keyed hash, an idle timeout, an absolute expiry and a revocation
 * time.  Every check reads the database, so a logout or a password change
 * is seen by every node at the next request.
 *
 * Round trips: csam_engine_session_check makes exactly one (a protected
 * request costs one statement: lookup, expiry checks, account check and
 * the touch together); csam_engine_session_end one.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

/*
 * $1 the cookie's hash, $2 whether to touch.  s is the live session of an
 * active account; t moves its last use to now, but only when the last one
 * is older than a sixtieth of the idle timeout (at most 30 s): a burst of
 * requests costs one write, and the idle timeout ends a session at most
 * that much early.  The revoked_at test in t sees a logout that committed
 * while this statement waited for the row.
 */
static const struct csam_store_stmt csam_session_stmt_check = {
    "csam_session_check",
    "WITH s AS ("
    " SELECT s.id, a.username, s.key_type, s.created_at, s.expires_at,"
    " s.last_seen_at, s.idle_timeout"
    " FROM csam_sessions s JOIN csam_accounts a ON a.id = s.account_id"
    " WHERE s.session_hash = $1 AND s.revoked_at IS NULL"
    " AND s.expires_at > now() AND s.last_seen_at + s.idle_timeout > now()"
    " AND a.status = 'active'),"
    " t AS (UPDATE csam_sessions u SET last_seen_at = now() FROM s"
    " WHERE $2::boolean AND u.id = s.id AND u.revoked_at IS NULL"
    " AND u.last_seen_at < now() - least(s.idle_timeout / 60,"
    " interval '30 seconds')"
    " RETURNING u.last_seen_at)"
    " SELECT s.username, s.key_type,"
    " floor(extract(epoch FROM s.created_at))::bigint,"
    " floor(extract(epoch FROM s.expires_at))::bigint,"
    " floor(extract(epoch FROM least(coalesce((SELECT last_seen_at FROM t),"
    " s.last_seen_at) + s.idle_timeout, s.expires_at)))::bigint"
    " FROM s",
    2, CSAM_STORE_RETRY};

/* The cookie's keyed hash; CSAM_ERR_EXPIRED for anything that is not a
 * token's shape, before the database is asked. */
static csam_result csam_session_hash(csam_engine *engine, const char *cookie,
                                     unsigned char out[CSAM_HASH_LEN])
{
    if (cookie == NULL || !csam_token_valid(cookie))
        return CSAM_ERR_EXPIRED;
    return csam_engine_hash(engine, CSAM_PURPOSE_SESSION, "session", 0, cookie,
                            out);
}

csam_result csam_engine_session_check(csam_engine *engine, const char *cookie,
                                      int touch, struct csam_session_info *out)
{
    unsigned char hash[CSAM_HASH_LEN];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    res = csam_session_hash(engine, cookie, hash);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_bytes(hash, sizeof(hash));
    p[1] = csam_store_text(touch ? "true" : "false");
    res =
        csam_store_exec(engine->deps.store, &csam_session_stmt_check, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_EXPIRED;
    }
    snprintf(out->username, sizeof(out->username), "%s",
             csam_store_value(rows, 0, 0));
    out->key_type = csam_key_type_parse(csam_store_value(rows, 0, 1));
    out->auth_time = csam_store_int64(rows, 0, 2, 0);
    out->expires_at = csam_store_int64(rows, 0, 3, 0);
    out->idle_expires_at = csam_store_int64(rows, 0, 4, 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* $1 the cookie's hash, $2 the source: revoked, and audited, once. */
static const struct csam_store_stmt csam_session_stmt_end = {
    "csam_session_end",
    "WITH r AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE session_hash = $1 AND revoked_at IS NULL"
    " RETURNING id, account_id),"
    " l AS (INSERT INTO csam_audit (actor, action, account_id, source,"
    " detail)"
    " SELECT a.username, 'session.ended', r.account_id, $2::text,"
    " jsonb_build_object('session', r.id)"
    " FROM r JOIN csam_accounts a ON a.id = r.account_id RETURNING 1)"
    " SELECT (SELECT count(*) FROM r)",
    2, CSAM_STORE_RETRY};

csam_result csam_engine_session_end(csam_engine *engine, const char *source,
                                    const char *cookie)
{
    unsigned char hash[CSAM_HASH_LEN];
    struct csam_store_param p[2];
    csam_result res;

    if (engine == NULL)
        return CSAM_ERR_INVALID;
    res = csam_session_hash(engine, cookie, hash);
    if (res == CSAM_ERR_EXPIRED)
        return CSAM_OK; /* nothing to end */
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_bytes(hash, sizeof(hash));
    p[1] = csam_store_text(csam_engine_source(source));
    return csam_store_exec(engine->deps.store, &csam_session_stmt_end, p, NULL);
}

/* ---- asking for the password again ------------------------------------ */

int csam_engine_session_reauth_needed(const csam_engine *engine,
                                      const struct csam_session_info *session)
{
    long after;

    if (engine == NULL || session == NULL)
        return 1;
    after = engine->deps.config->reauth_after;
    /* auth_time is the database's clock and now the node's: a few seconds
     * of skew move a limit of minutes by as much, on either side. */
    return after <= 0 || (int64_t)time(NULL) - session->auth_time >= after;
}

csam_result csam_engine_session_reauth(csam_engine *engine,
                                       const char *source,
                                       const struct csam_session_info *session,
                                       const char *password,
                                       struct csam_attempts *att)
{
    struct csam_login_check chk;
    struct csam_attempts dummy;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || session == NULL)
        return CSAM_ERR_INVALID;
    if (!csam_engine_session_reauth_needed(engine, session))
        return CSAM_OK;
    if (password == NULL || password[0] == '\0')
        return CSAM_ERR_REAUTH;
    res = csam_login_check(engine, source, session->username, password, &chk,
                           att);
    if (res != CSAM_OK)
        return res;
    if (chk.account_id == 0)
        return CSAM_ERR_BAD_CREDENTIALS; /* the account went away */
    return csam_login_settle(engine, &chk, "password.reconfirmed",
                             session->username, source);
}
