/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The account an activation makes (see account_new.h).
 */
#include <string.h>

#include "statement.h"
#include "account_new.h"

/* The unique violation that tells a name taken meanwhile. */
#define CSAM_STORE_ACCOUNT_NEW_SQLSTATE_UNIQUE "23505"

static const struct csam_store_stmt csam_store_account_new_stmt_taken = {
    "csam_store_account_new_taken",
    "SELECT 1 AS taken FROM csam_accounts WHERE username = $1"
    " AND registration_id <> $2",
    2, CSAM_STORE_RETRY};

csam_result csam_store_account_new_taken(csam_store *store,
                                         const char *username,
                                         int64_t registration_id, int *taken)
{
    char reg[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    *taken = 0;
    p[0] = csam_store_text(username);
    p[1] = csam_store_int(registration_id, reg);
    res = csam_store_exec(store, &csam_store_account_new_stmt_taken, p, &rows);
    if (res == CSAM_OK)
        *taken = csam_store_nrows(rows) > 0;
    csam_store_rows_free(rows);
    return res;
}

/* Every pending account of the registration's person goes: its own
 * earlier attempt's, and any left by a registration of the person that
 * is no longer live (the registration being activated is the person's
 * only live one). */
static const struct csam_store_stmt csam_store_account_new_stmt_drop = {
    "csam_store_account_new_drop",
    "DELETE FROM csam_accounts a USING csam_registrations r"
    " WHERE r.id = $1 AND a.nrn_hash = r.nrn_hash AND a.status = 'pending'",
    1, 0};

/* One account per person: a person who holds one that is not disabled
 * (made meanwhile by another procedure) gets no row; a name taken
 * meanwhile is still a unique violation. */
static const struct csam_store_stmt csam_store_account_new_stmt_pending = {
    "csam_store_account_new_pending",
    "INSERT INTO csam_accounts (username, password_hash, registration_id,"
    " language, email, nrn_hash, nrn_sealed)"
    " SELECT $1, $2, r.id, r.language, r.email, r.nrn_hash, r.nrn_sealed"
    " FROM csam_registrations r WHERE r.id = $3"
    " ON CONFLICT (nrn_hash) WHERE status <> 'disabled' DO NOTHING"
    " RETURNING id AS account_id",
    3, 0};

csam_result csam_store_account_new_pending(csam_store *store,
                                           int64_t registration_id,
                                           const char *username,
                                           const char *password_hash,
                                           int64_t *account_id)
{
    char reg[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    csam_result res;

    *account_id = 0;
    p[0] = csam_store_int(registration_id, reg);
    res = csam_store_exec(store, &csam_store_account_new_stmt_drop, p, NULL);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_text(username);
    p[1] = csam_store_text(password_hash);
    p[2] = csam_store_int(registration_id, reg);
    res = csam_store_exec(store, &csam_store_account_new_stmt_pending, p,
                          &rows);
    if (res != CSAM_OK) {
        if (strcmp(csam_store_sqlstate(store),
                   CSAM_STORE_ACCOUNT_NEW_SQLSTATE_UNIQUE)
            == 0)
            res = CSAM_ERR_USERNAME_TAKEN;
        return res;
    }
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_STATE;
    }
    *account_id = csam_store_get_int64(rows, 0, "account_id", 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

static const struct csam_store_stmt csam_store_account_new_stmt_key = {
    "csam_store_account_new_key",
    "INSERT INTO csam_keys (account_id, type, terms_version, phone)"
    " VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, '')) RETURNING id AS key_id",
    4, 0};

csam_result csam_store_account_new_key(csam_store *store, int64_t account_id,
                                       enum csam_key_type key_type,
                                       const char *terms_version,
                                       const char *phone, int64_t *key_id)
{
    const char *type = csam_key_type_name(key_type);
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    csam_result res;

    *key_id = 0;
    if (type == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(type);
    p[2] = csam_store_text(terms_version);
    p[3] = csam_store_text(phone);
    res = csam_store_exec(store, &csam_store_account_new_stmt_key, p, &rows);
    if (res == CSAM_OK)
        *key_id = csam_store_get_int64(rows, 0, "key_id", 0);
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_account_new_stmt_activate = {
    "csam_store_account_new_activate",
    "WITH k AS ("
    " UPDATE csam_keys SET status = 'active', activated_at = now()"
    " WHERE account_id = $1 AND type = $2 AND status = 'pending'"
    " RETURNING id),"
    " a AS ("
    " UPDATE csam_accounts SET status = 'active', activated_at = now(),"
    " failures = 0, locked_until = NULL"
    " WHERE id = $1 AND status = 'pending' RETURNING id),"
    " r AS ("
    " UPDATE csam_registrations SET used_at = now()"
    " WHERE id = $3 AND used_at IS NULL RETURNING id),"
    " f AS ("
    " UPDATE csam_flows SET step = 'done', done_at = now()"
    " WHERE id = $4 RETURNING id)"
    " SELECT (SELECT count(*) FROM k) AS keys,"
    " (SELECT count(*) FROM a) AS accounts,"
    " (SELECT count(*) FROM r) AS registrations,"
    " (SELECT count(*) FROM f) AS flows",
    4, 0};

csam_result
csam_store_account_new_activate(csam_store *store, int64_t account_id,
                                enum csam_key_type key_type,
                                int64_t registration_id, int64_t flow_id,
                                struct csam_store_account_new_moved *out)
{
    const char *type = csam_key_type_name(key_type);
    char acc[CSAM_STORE_INT_SIZE], reg[CSAM_STORE_INT_SIZE];
    char flow[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (type == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(type);
    p[2] = csam_store_int(registration_id, reg);
    p[3] = csam_store_int(flow_id, flow);
    res = csam_store_exec(store, &csam_store_account_new_stmt_activate, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    out->keys = csam_store_get_int64(rows, 0, "keys", 0);
    out->accounts = csam_store_get_int64(rows, 0, "accounts", 0);
    out->registrations = csam_store_get_int64(rows, 0, "registrations", 0);
    out->flows = csam_store_get_int64(rows, 0, "flows", 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}
