/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The administrator's rows (see admin.h): stats, an account, revoking its
 * sessions, the installation's fingerprint.  Migrations are in
 * migrations.c, the purge in purge.c.
 */
#include <string.h>

#include "admin.h"
#include "statement.h"

#define CSAM_STORE_ADMIN_UTC(col)                                              \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A live session, as a session check sees it (session.c). */
#define CSAM_STORE_ADMIN_SESSION_LIVE(s)                                       \
    s ".revoked_at IS NULL AND " s ".expires_at > now() AND " s                \
      ".last_seen_at + " s ".idle_timeout > now()"

/* ---- stats ------------------------------------------------------------- */

/* Web logins are the sessions made (session.created), web failures the
 * wrong passwords and the wrong web login codes; PAM's are its codes. */
/* clang-format off */
static const struct csam_store_stmt csam_store_admin_stmt_counts = {
    "csam_store_admin_counts",
    "SELECT 'accounts' AS what, status AS a, ''::text AS b, count(*) AS n"
    " FROM csam_accounts GROUP BY status"
    " UNION ALL SELECT 'keys', type, status, count(*)"
    " FROM csam_keys GROUP BY type, status"
    " UNION ALL SELECT 'registrations_pending', '', '', count(*)"
    " FROM csam_registrations WHERE used_at IS NULL"
    " AND superseded_at IS NULL AND expires_at > now()"
    " UNION ALL SELECT 'sessions_live', '', '', count(*)"
    " FROM csam_sessions s WHERE " CSAM_STORE_ADMIN_SESSION_LIVE("s")
    " UNION ALL SELECT 'audit_24h', action, coalesce(detail->>'purpose', ''),"
    " count(*) FROM csam_audit"
    " WHERE at > now() - interval '24 hours' AND action IN"
    " ('session.created', 'login.password_failed', 'challenge.passed',"
    " 'challenge.failed')"
    " GROUP BY action, detail->>'purpose'",
    0, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_admin_counts(csam_store *store,
                                    struct csam_store_admin_count *out,
                                    size_t max, size_t *n)
{
    csam_store_rows *rows = NULL;
    csam_result res;
    int i;

    if (n == NULL)
        return CSAM_ERR_INVALID;
    *n = 0;
    if (out == NULL || max == 0)
        return CSAM_ERR_INVALID;
    res = csam_store_exec(store, &csam_store_admin_stmt_counts, NULL, &rows);
    if (res != CSAM_OK)
        return res;
    for (i = 0; i < csam_store_nrows(rows) && *n < max; i++) {
        struct csam_store_admin_count *c = &out[(*n)++];

        csam_store_get_copy(rows, i, "what", c->what, sizeof(c->what));
        csam_store_get_copy(rows, i, "a", c->a, sizeof(c->a));
        csam_store_get_copy(rows, i, "b", c->b, sizeof(c->b));
        c->n = csam_store_get_int64(rows, i, "n", 0);
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* ---- an account -------------------------------------------------------- */

/* One row per key type (the newest key of the type, an active one first),
 * or one row with NULL key columns for an account without keys.  The last
 * logins come from the audit trail (the account's rows, by index). */
/* clang-format off */
static const struct csam_store_stmt csam_store_admin_stmt_account = {
    "csam_store_admin_account",
    "SELECT a.id, a.username, a.status,"
    " " CSAM_STORE_ADMIN_UTC("a.created_at") " AS created_at,"
    " " CSAM_STORE_ADMIN_UTC("a.activated_at") " AS activated_at,"
    " " CSAM_STORE_ADMIN_UTC("a.password_changed_at")
    " AS password_changed_at,"
    " CASE WHEN a.locked_until > now() THEN "
    CSAM_STORE_ADMIN_UTC("a.locked_until") " END AS locked_until,"
    " (SELECT " CSAM_STORE_ADMIN_UTC("max(au.at)") " FROM csam_audit au"
    " WHERE au.account_id = a.id AND au.action = 'session.created')"
    " AS last_web_login,"
    " (SELECT " CSAM_STORE_ADMIN_UTC("max(au.at)") " FROM csam_audit au"
    " WHERE au.account_id = a.id AND au.action = 'challenge.passed'"
    " AND au.detail->>'purpose' = 'pam_login') AS last_pam_login,"
    " (SELECT count(*) FROM csam_sessions s WHERE s.account_id = a.id"
    " AND " CSAM_STORE_ADMIN_SESSION_LIVE("s") ") AS sessions_live,"
    " k.type AS key_type, k.status AS key_status,"
    " " CSAM_STORE_ADMIN_UTC("k.activated_at") " AS key_activated_at"
    " FROM csam_accounts a LEFT JOIN LATERAL ("
    " SELECT DISTINCT ON (type) type, status, activated_at FROM csam_keys"
    " WHERE account_id = a.id"
    " ORDER BY type, status = 'active' DESC, created_at DESC, id DESC) k"
    " ON true WHERE a.username = $1 ORDER BY k.type",
    1, CSAM_STORE_RETRY};
/* clang-format on */

static void csam_store_admin_account_row(const csam_store_rows *rows,
                                         struct csam_store_admin_account *out)
{
    int i;

    out->id = csam_store_get_int64(rows, 0, "id", 0);
    csam_store_get_copy(rows, 0, "username", out->username,
                        sizeof(out->username));
    csam_store_get_copy(rows, 0, "status", out->status, sizeof(out->status));
    csam_store_get_copy(rows, 0, "created_at", out->created_at,
                        sizeof(out->created_at));
    csam_store_get_copy(rows, 0, "activated_at", out->activated_at,
                        sizeof(out->activated_at));
    csam_store_get_copy(rows, 0, "password_changed_at",
                        out->password_changed_at,
                        sizeof(out->password_changed_at));
    csam_store_get_copy(rows, 0, "locked_until", out->locked_until,
                        sizeof(out->locked_until));
    csam_store_get_copy(rows, 0, "last_web_login", out->last_web_login,
                        sizeof(out->last_web_login));
    csam_store_get_copy(rows, 0, "last_pam_login", out->last_pam_login,
                        sizeof(out->last_pam_login));
    out->sessions_live = csam_store_get_int64(rows, 0, "sessions_live", 0);
    for (i = 0;
         i < csam_store_nrows(rows) && out->n_keys < CSAM_STORE_ADMIN_KEYS_MAX;
         i++) {
        struct csam_store_admin_key *k = &out->keys[out->n_keys];

        if (csam_store_get(rows, i, "key_type") == NULL)
            continue;
        csam_store_get_copy(rows, i, "key_type", k->type, sizeof(k->type));
        csam_store_get_copy(rows, i, "key_status", k->status,
                            sizeof(k->status));
        csam_store_get_copy(rows, i, "key_activated_at", k->activated_at,
                            sizeof(k->activated_at));
        out->n_keys++;
    }
}

csam_result csam_store_admin_account(csam_store *store, const char *username,
                                     struct csam_store_admin_account *out)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (username == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_text(username);
    res = csam_store_exec(store, &csam_store_admin_stmt_account, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 0)
        res = CSAM_ERR_NOT_FOUND;
    else
        csam_store_admin_account_row(rows, out);
    csam_store_rows_free(rows);
    return res;
}

/* clang-format off */
static const struct csam_store_stmt csam_store_admin_stmt_revoke = {
    "csam_store_admin_sessions_revoke",
    "WITH a AS (SELECT id FROM csam_accounts WHERE username = $1),"
    " s AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE account_id = (SELECT id FROM a) AND revoked_at IS NULL"
    " AND expires_at > now() RETURNING 1)"
    " SELECT (SELECT id FROM a) AS account_id,"
    " (SELECT count(*) FROM s) AS revoked",
    1, 0};
/* clang-format on */

csam_result csam_store_admin_sessions_revoke(csam_store *store,
                                             const char *username,
                                             int64_t *account_id,
                                             int64_t *revoked)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (account_id == NULL || revoked == NULL)
        return CSAM_ERR_INVALID;
    *account_id = 0;
    *revoked = 0;
    if (username == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_text(username);
    res = csam_store_exec(store, &csam_store_admin_stmt_revoke, p, &rows);
    if (res != CSAM_OK)
        return res;
    *account_id = csam_store_get_int64(rows, 0, "account_id", 0);
    *revoked = csam_store_get_int64(rows, 0, "revoked", 0);
    csam_store_rows_free(rows);
    return *account_id > 0 ? CSAM_OK : CSAM_ERR_NOT_FOUND;
}

/* ---- the installation's fingerprint ----------------------------------- */

/* clang-format off */
static const struct csam_store_stmt csam_store_admin_stmt_installation = {
    "csam_store_installation_get",
    "SELECT encode(secret_fingerprint, 'hex') AS fingerprint,"
    " " CSAM_STORE_ADMIN_UTC("recorded_at") " AS recorded_at, recorded_by,"
    " encode(previous_fingerprint, 'hex') AS previous_fingerprint,"
    " " CSAM_STORE_ADMIN_UTC("rekey_started_at") " AS rekey_started_at,"
    " floor(extract(epoch FROM rekey_started_at))::bigint"
    " AS rekey_started_epoch,"
    " " CSAM_STORE_ADMIN_UTC("rekeyed_at") " AS rekeyed_at"
    " FROM csam_installation",
    0, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_store_admin_stmt_record = {
    "csam_store_installation_record",
    "INSERT INTO csam_installation (secret_fingerprint, recorded_by)"
    " VALUES ($1, $2) ON CONFLICT (one) DO NOTHING",
    2, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_installation_get(csam_store *store,
                                        struct csam_store_installation *out)
{
    csam_store_rows *rows = NULL;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    res = csam_store_exec(store, &csam_store_admin_stmt_installation, NULL,
                          &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 0)
        res = CSAM_ERR_NOT_FOUND;
    else if (csam_store_get_hex(rows, 0, "fingerprint", out->fingerprint,
                                CSAM_HASH_LEN)
             != CSAM_HASH_LEN)
        res = CSAM_ERR_DB;
    if (res == CSAM_OK) {
        csam_store_get_copy(rows, 0, "recorded_at", out->recorded_at,
                            sizeof(out->recorded_at));
        csam_store_get_copy(rows, 0, "recorded_by", out->recorded_by,
                            sizeof(out->recorded_by));
        out->has_previous = csam_store_get_hex(rows, 0, "previous_fingerprint",
                                               out->previous_fingerprint,
                                               CSAM_HASH_LEN)
                            == CSAM_HASH_LEN;
        csam_store_get_copy(rows, 0, "rekey_started_at", out->rekey_started_at,
                            sizeof(out->rekey_started_at));
        out->rekey_started_epoch = csam_store_get_int64(
            rows, 0, "rekey_started_epoch", 0);
        csam_store_get_copy(rows, 0, "rekeyed_at", out->rekeyed_at,
                            sizeof(out->rekeyed_at));
    }
    csam_store_rows_free(rows);
    return res;
}

csam_result csam_store_installation_record(csam_store *store,
                                           const unsigned char *fingerprint,
                                           const char *by, int *recorded)
{
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (recorded == NULL)
        return CSAM_ERR_INVALID;
    *recorded = 0;
    if (fingerprint == NULL || by == NULL || by[0] == '\0')
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(fingerprint, CSAM_HASH_LEN);
    p[1] = csam_store_text(by);
    res = csam_store_exec(store, &csam_store_admin_stmt_record, p, &rows);
    if (res != CSAM_OK)
        return res;
    *recorded = csam_store_affected(rows) == 1;
    csam_store_rows_free(rows);
    return CSAM_OK;
}
