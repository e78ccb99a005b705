/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Accounts and their keys (see account.h for the contract).  Each
 * statement sits next to the one function that runs it and names every
 * column it returns.
 */
#include <stdio.h>
#include <string.h>

#include "statement.h"
#include "account.h"

/* ---- the list ------------------------------------------------------------ */

static const struct csam_store_stmt csam_store_account_stmt_keys = {
    "csam_store_account_keys",
    "SELECT k.type AS type, k.status AS status,"
    " coalesce(to_char(k.activated_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') AS activated_at"
    " FROM csam_accounts a LEFT JOIN LATERAL ("
    " SELECT DISTINCT ON (type) type, status, activated_at FROM csam_keys"
    " WHERE account_id = a.id"
    " ORDER BY type, status = 'active' DESC, created_at DESC, id DESC) k"
    " ON true WHERE a.username = $1 AND a.status = 'active'"
    " ORDER BY k.type",
    1, CSAM_STORE_RETRY};

csam_result csam_store_account_keys(csam_store *store, const char *username,
                                    struct csam_store_key *keys, size_t max,
                                    size_t *n)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;
    int i, nrows;

    if (n == NULL || username == NULL || (keys == NULL && max > 0))
        return CSAM_ERR_INVALID;
    *n = 0;
    p[0] = csam_store_text(username);
    res = csam_store_exec(store, &csam_store_account_stmt_keys, p, &rows);
    if (res != CSAM_OK)
        return res;
    nrows = csam_store_nrows(rows);
    if (nrows == 0)
        res = CSAM_ERR_NOT_FOUND;
    for (i = 0; i < nrows && *n < max; i++) {
        struct csam_store_key *k = &keys[*n];
        enum csam_key_type type = csam_key_type_parse(
            csam_store_get(rows, i, "type"));

        if (type == CSAM_KEY_NONE)
            continue; /* the left join's row of an account without keys */
        memset(k, 0, sizeof(*k));
        k->type = type;
        snprintf(k->status, sizeof(k->status), "%s",
                 csam_store_get(rows, i, "status"));
        snprintf(k->activated_at, sizeof(k->activated_at), "%s",
                 csam_store_get(rows, i, "activated_at"));
        (*n)++;
    }
    csam_store_rows_free(rows);
    return res;
}

/* ---- the account, locked ------------------------------------------------- */

/* NO KEY: the lock serialises changes of the account without blocking the
 * rows that refer to it (sessions, codes, audit). */
static const struct csam_store_stmt csam_store_account_stmt_lock = {
    "csam_store_account_lock",
    "SELECT a.id AS id, a.email AS email, a.language AS language,"
    " r.first_name AS first_name FROM csam_accounts a"
    " JOIN csam_registrations r ON r.id = a.registration_id"
    " WHERE a.username = $1 AND a.status = 'active'"
    " FOR NO KEY UPDATE OF a",
    1, 0};

csam_result csam_store_account_lock(csam_store *store, const char *username,
                                    struct csam_store_account *out)
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
    res = csam_store_exec(store, &csam_store_account_stmt_lock, p, &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) != 1)
        res = CSAM_ERR_NOT_FOUND;
    if (res == CSAM_OK) {
        out->id = csam_store_get_int64(rows, 0, "id", 0);
        snprintf(out->email, sizeof(out->email), "%s",
                 csam_store_get(rows, 0, "email"));
        snprintf(out->language, sizeof(out->language), "%s",
                 csam_store_get(rows, 0, "language"));
        snprintf(out->first_name, sizeof(out->first_name), "%s",
                 csam_store_get(rows, 0, "first_name"));
    }
    csam_store_rows_free(rows);
    return res;
}

/* ---- adding a key -------------------------------------------------------- */

static const struct csam_store_stmt csam_store_account_stmt_key_state = {
    "csam_store_account_key_state",
    "SELECT coalesce((SELECT id FROM csam_keys WHERE account_id = $1"
    " AND type = $2 AND status = 'active'), 0) AS active,"
    " coalesce((SELECT id FROM csam_keys WHERE account_id = $1"
    " AND type = $2 AND status = 'pending'"
    " ORDER BY created_at DESC, id DESC LIMIT 1), 0) AS pending",
    2, 0};

csam_result csam_store_account_key_state(csam_store *store, int64_t account_id,
                                         enum csam_key_type type,
                                         struct csam_store_key_state *out)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (csam_key_type_name(type) == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(csam_key_type_name(type));
    res = csam_store_exec(store, &csam_store_account_stmt_key_state, p, &rows);
    if (res != CSAM_OK)
        return res;
    out->active = csam_store_get_int64(rows, 0, "active", 0);
    out->pending = csam_store_get_int64(rows, 0, "pending", 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

static const struct csam_store_stmt csam_store_account_stmt_key_add = {
    "csam_store_account_key_add",
    "WITH d AS (DELETE FROM csam_keys WHERE account_id = $1 AND type = $2"
    " AND status = 'pending')"
    " INSERT INTO csam_keys (account_id, type, terms_version, phone)"
    " VALUES ($1, $2, $3, $4) RETURNING id AS id",
    4, 0};

csam_result csam_store_account_key_add(csam_store *store,
                                       const struct csam_store_key_new *key,
                                       int64_t *key_id)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (key_id == NULL)
        return CSAM_ERR_INVALID;
    *key_id = 0;
    if (key == NULL || csam_key_type_name(key->type) == NULL
        || key->terms_version == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(key->account_id, acc);
    p[1] = csam_store_text(csam_key_type_name(key->type));
    p[2] = csam_store_text(key->terms_version);
    p[3] = csam_store_text(key->phone);
    res = csam_store_exec(store, &csam_store_account_stmt_key_add, p, &rows);
    if (res == CSAM_OK)
        *key_id = csam_store_get_int64(rows, 0, "id", 0);
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_account_stmt_key_drop = {
    "csam_store_account_key_drop_pending",
    "DELETE FROM csam_keys WHERE account_id = $1 AND type = $2"
    " AND status = 'pending'",
    2, 0};

csam_result csam_store_account_key_drop_pending(csam_store *store,
                                                int64_t account_id,
                                                enum csam_key_type type)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];

    if (csam_key_type_name(type) == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(csam_key_type_name(type));
    return csam_store_exec(store, &csam_store_account_stmt_key_drop, p, NULL);
}

/* ---- confirming it ------------------------------------------------------- */

static const struct csam_store_stmt csam_store_account_stmt_key_activate = {
    "csam_store_account_key_activate",
    "UPDATE csam_keys SET status = 'active', activated_at = now()"
    " WHERE id = $1 AND status = 'pending'",
    1, 0};

csam_result csam_store_account_key_activate(csam_store *store, int64_t key_id)
{
    char key[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(key_id, key);
    res = csam_store_exec(store, &csam_store_account_stmt_key_activate, p,
                          &rows);
    if (res == CSAM_OK && csam_store_affected(rows) != 1)
        res = CSAM_ERR_STATE;
    csam_store_rows_free(rows);
    return res;
}

/* ---- deactivating one ---------------------------------------------------- */

/* k: the key, only when another active key remains (the account's row,
 * locked first by the caller, makes a concurrent deactivation wait and
 * then see this one).  s: the sessions it opened.  active_before: the
 * type's active keys in the snapshot before the update, which tells a
 * last key (1) from no such key (0). */
static const struct csam_store_stmt csam_store_account_stmt_key_deactivate = {
    "csam_store_account_key_deactivate",
    "WITH k AS (UPDATE csam_keys k SET status = 'inactive',"
    " deactivated_at = now()"
    " WHERE k.account_id = $1 AND k.type = $2 AND k.status = 'active'"
    " AND EXISTS (SELECT 1 FROM csam_keys o WHERE o.account_id = $1"
    " AND o.status = 'active' AND o.id <> k.id) RETURNING k.id),"
    " s AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE account_id = $1 AND key_type = $2 AND revoked_at IS NULL"
    " AND EXISTS (SELECT 1 FROM k) RETURNING id)"
    " SELECT (SELECT count(*) FROM k) AS deactivated,"
    " (SELECT count(*) FROM csam_keys WHERE account_id = $1 AND type = $2"
    " AND status = 'active') AS active_before,"
    " (SELECT count(*) FROM s) AS sessions_ended",
    2, 0};

csam_result csam_store_account_key_deactivate(csam_store *store,
                                              int64_t account_id,
                                              enum csam_key_type type,
                                              int64_t *sessions_ended)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (sessions_ended == NULL)
        return CSAM_ERR_INVALID;
    *sessions_ended = 0;
    if (csam_key_type_name(type) == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(csam_key_type_name(type));
    res = csam_store_exec(store, &csam_store_account_stmt_key_deactivate, p,
                          &rows);
    if (res == CSAM_OK && csam_store_get_int64(rows, 0, "deactivated", 0) != 1)
        res = csam_store_get_int64(rows, 0, "active_before", 0) == 0
                  ? CSAM_ERR_NOT_FOUND
                  : CSAM_ERR_STATE;
    if (res == CSAM_OK)
        *sessions_ended = csam_store_get_int64(rows, 0, "sessions_ended", 0);
    csam_store_rows_free(rows);
    return res;
}

/* ---- the password -------------------------------------------------------- */

/* $1 account, $2 the new PHC string, $3 the kept session's hash (or
 * NULL), $4 source. */
static const struct csam_store_stmt csam_store_account_stmt_password = {
    "csam_store_account_password_set",
    "WITH p AS (UPDATE csam_accounts SET password_hash = $2,"
    " password_changed_at = now() WHERE id = $1 RETURNING username),"
    " s AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE account_id = $1 AND revoked_at IS NULL"
    " AND session_hash IS DISTINCT FROM $3::bytea RETURNING id),"
    " f AS (UPDATE csam_flows SET superseded_at = now()"
    " WHERE account_id = $1 AND kind = 'login' AND done_at IS NULL"
    " AND superseded_at IS NULL RETURNING id),"
    " l AS (INSERT INTO csam_audit (actor, action, account_id, source,"
    " detail) SELECT p.username, 'password.changed', $1, $4,"
    " jsonb_build_object('sessions_ended', (SELECT count(*) FROM s),"
    " 'logins_ended', (SELECT count(*) FROM f))"
    " FROM p RETURNING 1)"
    " SELECT (SELECT count(*) FROM p) AS changed",
    4, 0};

csam_result
csam_store_account_password_set(csam_store *store,
                                const struct csam_store_password_change *change)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (change == NULL || change->password_hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(change->account_id, acc);
    p[1] = csam_store_text(change->password_hash);
    p[2] = change->keep_session != NULL
               ? csam_store_bytes(change->keep_session, CSAM_HASH_LEN)
               : csam_store_text(NULL);
    p[3] = csam_store_text(change->source);
    res = csam_store_exec(store, &csam_store_account_stmt_password, p, &rows);
    if (res == CSAM_OK && csam_store_get_int64(rows, 0, "changed", 0) != 1)
        res = CSAM_ERR_NOT_FOUND;
    csam_store_rows_free(rows);
    return res;
}
