/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persons: the account a person holds and a recovery's confirmation (see
 * person.h).
 */
#include <string.h>

#include "statement.h"
#include "account_person.h"

static const struct csam_store_stmt csam_store_person_stmt_account = {
    "csam_store_person_account",
    "SELECT id, username FROM csam_accounts"
    " WHERE nrn_hash = $1 AND status = 'active'",
    1, CSAM_STORE_RETRY};

csam_result csam_store_person_account(csam_store *store,
                                      const unsigned char *nrn_hash,
                                      struct csam_store_person_account *out)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    p[0] = csam_store_bytes(nrn_hash, CSAM_HASH_LEN);
    res = csam_store_exec(store, &csam_store_person_stmt_account, p, &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) != 1)
        res = CSAM_ERR_NOT_FOUND;
    if (res == CSAM_OK) {
        out->id = csam_store_get_int64(rows, 0, "id", 0);
        csam_store_get_copy(rows, 0, "username", out->username,
                            sizeof(out->username));
    }
    csam_store_rows_free(rows);
    return res;
}

/* The key of csam_store_registration_lock_person, reached from the flow. */
static const struct csam_store_stmt csam_store_person_stmt_lock_flow = {
    "csam_store_person_lock_flow",
    "SELECT pg_advisory_xact_lock(4242002, hashtext(encode(r.nrn_hash, 'hex')))"
    " FROM csam_flows f JOIN csam_registrations r ON r.id = f.registration_id"
    " WHERE f.handle_hash = $1",
    1, 0};

csam_result csam_store_person_lock_flow(csam_store *store,
                                        const unsigned char *handle_hash)
{
    struct csam_store_param p[1];

    p[0] = csam_store_bytes(handle_hash, CSAM_HASH_LEN);
    return csam_store_exec(store, &csam_store_person_stmt_lock_flow, p, NULL);
}

/* An UPDATE that changes no key column: the row's lock is FOR NO KEY
 * UPDATE, as csam_store_account_lock's. */
static const struct csam_store_stmt csam_store_person_stmt_hold = {
    "csam_store_person_account_hold",
    "UPDATE csam_accounts"
    " SET failures = CASE WHEN $2::boolean THEN 0 ELSE failures END,"
    " locked_until = CASE WHEN $2::boolean THEN NULL ELSE locked_until END"
    " WHERE id = $1 AND status = 'active' RETURNING id",
    2, 0};

csam_result csam_store_person_account_hold(csam_store *store,
                                           int64_t account_id, int unlock)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(unlock ? "true" : "false");
    res = csam_store_exec(store, &csam_store_person_stmt_hold, p, &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) != 1)
        res = CSAM_ERR_STATE;
    csam_store_rows_free(rows);
    return res;
}

/* $1 account, $2 the new key's type, $3 desk (every active key, not only
 * the type's), $4 end every session and login.  The sessions of a key
 * retired end with it (DESIGN 4), whatever $4 says. */
static const struct csam_store_stmt csam_store_person_stmt_retire = {
    "csam_store_person_retire",
    "WITH k AS (UPDATE csam_keys SET status = 'inactive',"
    " deactivated_at = now()"
    " WHERE account_id = $1 AND status = 'active'"
    " AND ($3::boolean OR type = $2) RETURNING type),"
    " s AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE account_id = $1 AND revoked_at IS NULL"
    " AND ($4::boolean OR key_type IN (SELECT type FROM k)) RETURNING id),"
    " l AS (UPDATE csam_flows SET superseded_at = now()"
    " WHERE account_id = $1 AND kind = 'login' AND done_at IS NULL"
    " AND superseded_at IS NULL AND $4::boolean RETURNING id)"
    " SELECT (SELECT count(*) FROM k) AS keys_retired,"
    " (SELECT count(*) FROM s) AS sessions_ended,"
    " (SELECT count(*) FROM l) AS logins_ended",
    4, 0};

/* $1 account, $2 key type, $3 registration, $4 flow, $5 desk.  The
 * sub-statements read the rows as they were before it: the flow's
 * password before f drops it, the account's address before a changes
 * it. */
static const struct csam_store_stmt csam_store_person_stmt_finish = {
    "csam_store_person_finish",
    "WITH k AS (UPDATE csam_keys SET status = 'active', activated_at = now()"
    " WHERE account_id = $1 AND type = $2 AND status = 'pending'"
    " RETURNING id),"
    " a AS (UPDATE csam_accounts a"
    " SET password_hash = coalesce(fl.password_hash, a.password_hash),"
    " password_changed_at = CASE WHEN fl.password_hash IS NULL"
    " THEN a.password_changed_at ELSE now() END,"
    " failures = 0, locked_until = NULL,"
    " nrn_sealed = coalesce(a.nrn_sealed, rg.nrn_sealed),"
    " email = CASE WHEN $5::boolean THEN coalesce(rg.email, a.email)"
    " ELSE a.email END"
    " FROM csam_flows fl, csam_registrations rg"
    " WHERE a.id = $1 AND a.status = 'active' AND fl.id = $4 AND rg.id = $3"
    " AND a.nrn_hash = rg.nrn_hash"
    " RETURNING fl.password_hash IS NOT NULL AS password_changed,"
    " a.email AS new_email),"
    " r AS (UPDATE csam_registrations SET used_at = now()"
    " WHERE id = $3 AND account_id = $1 AND used_at IS NULL"
    " AND superseded_at IS NULL RETURNING id),"
    " f AS (UPDATE csam_flows SET step = 'done', done_at = now(),"
    " password_hash = NULL WHERE id = $4 AND done_at IS NULL RETURNING id)"
    " SELECT (SELECT count(*) FROM k) AS keys,"
    " (SELECT count(*) FROM a) AS accounts,"
    " (SELECT count(*) FROM r) AS registrations,"
    " (SELECT count(*) FROM f) AS flows,"
    " coalesce((SELECT password_changed FROM a), false) AS password_changed,"
    " (SELECT email FROM csam_accounts WHERE id = $1) AS old_email,"
    " (SELECT new_email FROM a) AS new_email",
    5, 0};

csam_result csam_store_person_recover(csam_store *store,
                                      const struct csam_store_recovery *in,
                                      struct csam_store_recovered *out)
{
    const char *type;
    char acc[CSAM_STORE_INT_SIZE], reg[CSAM_STORE_INT_SIZE];
    char flow[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[5];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (in == NULL || (type = csam_key_type_name(in->key_type)) == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(in->account_id, acc);
    p[1] = csam_store_text(type);
    p[2] = csam_store_text(in->desk ? "true" : "false");
    p[3] = csam_store_text(in->end_sessions ? "true" : "false");
    res = csam_store_exec(store, &csam_store_person_stmt_retire, p, &rows);
    if (res != CSAM_OK)
        return res;
    out->keys_retired = csam_store_get_int64(rows, 0, "keys_retired", 0);
    out->sessions_ended = csam_store_get_int64(rows, 0, "sessions_ended", 0);
    csam_store_rows_free(rows);
    rows = NULL;

    p[2] = csam_store_int(in->registration_id, reg);
    p[3] = csam_store_int(in->flow_id, flow);
    p[4] = csam_store_text(in->desk ? "true" : "false");
    res = csam_store_exec(store, &csam_store_person_stmt_finish, p, &rows);
    if (res != CSAM_OK)
        return res;
    /* Each of the four rows must have moved, or the data was not what the
     * flow said: refuse rather than recover half. */
    if (csam_store_get_int64(rows, 0, "keys", 0) != 1
        || csam_store_get_int64(rows, 0, "accounts", 0) != 1
        || csam_store_get_int64(rows, 0, "registrations", 0) != 1
        || csam_store_get_int64(rows, 0, "flows", 0) != 1)
        res = CSAM_ERR_STATE;
    if (res == CSAM_OK) {
        out->password_changed = csam_store_get_bool(rows, 0,
                                                    "password_changed");
        csam_store_get_copy(rows, 0, "old_email", out->old_email,
                            sizeof(out->old_email));
        csam_store_get_copy(rows, 0, "new_email", out->new_email,
                            sizeof(out->new_email));
    }
    csam_store_rows_free(rows);
    return res;
}
