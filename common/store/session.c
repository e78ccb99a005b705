/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Web sessions (DESIGN 4): the statements behind a protected request and
 * a logout, each one round trip.  Columns are read by name.
 */
#include <stdio.h>
#include <string.h>

#include "statement.h"
#include "session.h"

/*
 * $1 the cookie's hash, $2 whether to touch, $3 whether to read the sealed
 * number.  s is the live session of an active account; t moves its last
 * use to now, but only when the last one is older than a sixtieth of the
 * idle timeout (at most 30 s): a burst of requests costs one write, and
 * the idle timeout ends a session at most that much early.  The revoked_at
 * test in t sees a logout that committed while this statement waited for
 * the row.  The person's columns come with the session (one round trip
 * stays one); nrn_sealed only when asked for or when no subject is
 * stored (the engine tells from it which secret made the hash), NULL
 * otherwise.
 */
static const struct csam_store_stmt csam_store_session_stmt_check = {
    "csam_session_check",
    "WITH s AS ("
    " SELECT s.id, a.username, s.key_type, s.created_at, s.expires_at,"
    " s.last_seen_at, s.idle_timeout, a.nrn_hash, a.subject,"
    " CASE WHEN $3::boolean OR a.subject IS NULL THEN a.nrn_sealed END"
    " AS nrn_sealed"
    " FROM csam_sessions s JOIN csam_accounts a ON a.id = s.account_id"
    " WHERE s.session_hash = $1 AND s.revoked_at IS NULL"
    " AND s.expires_at > now() AND s.last_seen_at + s.idle_timeout > now()"
    " AND a.status = 'active'),"
    " t AS (UPDATE csam_sessions u SET last_seen_at = now() FROM s"
    " WHERE $2::boolean AND u.id = s.id AND u.revoked_at IS NULL"
    " AND u.last_seen_at < now() - least(s.idle_timeout / 60,"
    " interval '30 seconds')"
    " RETURNING u.last_seen_at)"
    " SELECT s.username AS username, s.key_type AS key_type,"
    " floor(extract(epoch FROM s.created_at))::bigint AS created_at,"
    " floor(extract(epoch FROM s.expires_at))::bigint AS expires_at,"
    " floor(extract(epoch FROM least(coalesce((SELECT last_seen_at FROM t),"
    " s.last_seen_at) + s.idle_timeout, s.expires_at)))::bigint"
    " AS idle_expires_at,"
    " encode(s.nrn_hash, 'hex') AS nrn_hash,"
    " encode(s.nrn_sealed, 'hex') AS nrn_sealed, s.subject AS subject"
    " FROM s",
    3, CSAM_STORE_RETRY};

csam_result csam_store_session_check(csam_store *store,
                                     const unsigned char hash[CSAM_HASH_LEN],
                                     int touch, int sealed,
                                     struct csam_store_session *out)
{
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    const char *v;
    csam_result res = CSAM_OK;

    if (store == NULL || hash == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    p[0] = csam_store_bytes(hash, CSAM_HASH_LEN);
    p[1] = csam_store_text(touch ? "true" : "false");
    p[2] = csam_store_text(sealed ? "true" : "false");
    res = csam_store_exec(store, &csam_store_session_stmt_check, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    v = csam_store_get(rows, 0, "username");
    snprintf(out->username, sizeof(out->username), "%s", v ? v : "");
    v = csam_store_get(rows, 0, "key_type");
    snprintf(out->key_type, sizeof(out->key_type), "%s", v ? v : "");
    out->created_at = csam_store_get_int64(rows, 0, "created_at", 0);
    out->expires_at = csam_store_get_int64(rows, 0, "expires_at", 0);
    out->idle_expires_at = csam_store_get_int64(rows, 0, "idle_expires_at", 0);
    /* The schema's CHECKs give these lengths; anything else is a database
     * this code does not know, not a session to trust. */
    if (csam_store_get_hex(rows, 0, "nrn_hash", out->nrn_hash,
                           sizeof(out->nrn_hash))
        != sizeof(out->nrn_hash))
        res = CSAM_ERR_DB;
    /* The schema's CHECK gives 43 characters; a longer one is refused,
     * never cut into another person's subject. */
    if (!csam_store_get_copy(rows, 0, "subject", out->subject,
                             sizeof(out->subject)))
        res = CSAM_ERR_DB;
    v = csam_store_get(rows, 0, "nrn_sealed");
    if (res == CSAM_OK && v != NULL) {
        if (csam_store_get_hex(rows, 0, "nrn_sealed", out->nrn_sealed,
                               sizeof(out->nrn_sealed))
            == sizeof(out->nrn_sealed))
            out->nrn_sealed_len = sizeof(out->nrn_sealed);
        else
            res = CSAM_ERR_DB;
    }
    csam_store_rows_free(rows);
    if (res != CSAM_OK)
        memset(out, 0, sizeof(*out));
    return res;
}

/* $1 the cookie's hash, $2 the source: revoked, and audited, once. */
static const struct csam_store_stmt csam_store_session_stmt_end = {
    "csam_session_end",
    "WITH r AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE session_hash = $1 AND revoked_at IS NULL"
    " RETURNING id, account_id),"
    " l AS (INSERT INTO csam_audit (actor, action, account_id, source,"
    " detail)"
    " SELECT a.username, 'session.ended', r.account_id, $2::text,"
    " jsonb_build_object('session', r.id)"
    " FROM r JOIN csam_accounts a ON a.id = r.account_id RETURNING 1)"
    " SELECT (SELECT count(*) FROM r) AS ended",
    2, CSAM_STORE_RETRY};

csam_result csam_store_session_end(csam_store *store,
                                   const unsigned char hash[CSAM_HASH_LEN],
                                   const char *source)
{
    struct csam_store_param p[2];

    if (store == NULL || hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(hash, CSAM_HASH_LEN);
    p[1] = csam_store_text(source);
    return csam_store_exec(store, &csam_store_session_stmt_end, p, NULL);
}

/* $1 the hash the session is stored under, $2 the hash it moves to. */
static const struct csam_store_stmt csam_store_session_stmt_rehash = {
    "csam_session_rehash",
    "UPDATE csam_sessions SET session_hash = $2 WHERE session_hash = $1", 2,
    CSAM_STORE_RETRY};

csam_result csam_store_session_rehash(csam_store *store,
                                      const unsigned char from[CSAM_HASH_LEN],
                                      const unsigned char to[CSAM_HASH_LEN])
{
    struct csam_store_param p[2];

    if (store == NULL || from == NULL || to == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(from, CSAM_HASH_LEN);
    p[1] = csam_store_bytes(to, CSAM_HASH_LEN);
    return csam_store_exec(store, &csam_store_session_stmt_rehash, p, NULL);
}
