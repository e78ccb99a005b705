/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registrations, their link and paper code, and the letter shown once
 * (see registration.h).
 */
#include <string.h>

#include "statement.h"
#include "crypto.h"
#include "registration.h"

static const struct csam_store_stmt csam_store_registration_stmt_next_id = {
    "csam_store_registration_next_id",
    "SELECT nextval(pg_get_serial_sequence('csam_registrations', 'id'))"
    " AS id",
    0, CSAM_STORE_RETRY};

csam_result csam_store_registration_next_id(csam_store *store, int64_t *id)
{
    csam_store_rows *rows = NULL;
    csam_result res;

    *id = 0;
    res = csam_store_exec(store, &csam_store_registration_stmt_next_id, NULL,
                          &rows);
    if (res == CSAM_OK)
        *id = csam_store_get_int64(rows, 0, "id", 0);
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_registration_stmt_lock = {
    "csam_store_registration_lock_person",
    "SELECT pg_advisory_xact_lock(4242002, hashtext(encode($1, 'hex')))", 1, 0};

csam_result csam_store_registration_lock_person(csam_store *store,
                                                const unsigned char *nrn_hash)
{
    struct csam_store_param p[1];

    p[0] = csam_store_bytes(nrn_hash, CSAM_HASH_LEN);
    return csam_store_exec(store, &csam_store_registration_stmt_lock, p, NULL);
}

static const struct csam_store_stmt csam_store_registration_stmt_drop_pending =
    {"csam_store_registration_drop_pending",
     "DELETE FROM csam_accounts a USING csam_registrations r"
     " WHERE a.registration_id = r.id AND r.nrn_hash = $1"
     " AND r.used_at IS NULL AND r.superseded_at IS NULL"
     " AND a.status = 'pending'",
     1, 0};

/* The flows CTE runs though the query does not read it: PostgreSQL runs
 * every data-modifying WITH to completion. */
static const struct csam_store_stmt csam_store_registration_stmt_supersede = {
    "csam_store_registration_supersede",
    "WITH old AS ("
    " UPDATE csam_registrations SET superseded_at = now()"
    " WHERE nrn_hash = $1 AND used_at IS NULL AND superseded_at IS NULL"
    " RETURNING id),"
    " flows AS ("
    " UPDATE csam_flows SET superseded_at = now()"
    " WHERE registration_id IN (SELECT id FROM old)"
    " AND done_at IS NULL AND superseded_at IS NULL RETURNING id)"
    " SELECT id AS registration_id FROM old",
    1, 0};

csam_result csam_store_registration_supersede(csam_store *store,
                                              const unsigned char *nrn_hash,
                                              int64_t *superseded_id)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    *superseded_id = 0;
    p[0] = csam_store_bytes(nrn_hash, CSAM_HASH_LEN);
    /* The account goes first: it names the registration as still live. */
    res = csam_store_exec(store, &csam_store_registration_stmt_drop_pending, p,
                          NULL);
    if (res == CSAM_OK)
        res = csam_store_exec(store, &csam_store_registration_stmt_supersede, p,
                              &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) > 0)
        *superseded_id = csam_store_get_int64(rows, 0, "registration_id", 0);
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_registration_stmt_insert = {
    "csam_store_registration_insert",
    "INSERT INTO csam_registrations (id, nrn_hash, first_name, last_name,"
    " birth_date, document_type, document_number, email, language,"
    " token_hash, code_hash, max_attempts, expires_at, created_by,"
    " created_from, nrn_sealed, account_id)"
    " OVERRIDING SYSTEM VALUE"
    " VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8, $9, $10, $11,"
    " $12::integer, now() + make_interval(secs => $13::integer), $14, $15,"
    " $16, NULLIF($17::bigint, 0))"
    " RETURNING to_char(expires_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS expires_utc,"
    " to_char(expires_at AT TIME ZONE 'Europe/Brussels', 'YYYY-MM-DD')"
    " AS expires_brussels_date",
    17, 0};

csam_result
csam_store_registration_insert(csam_store *store,
                               const struct csam_store_registration_new *in,
                               struct csam_store_registration_expiry *out)
{
    char id[CSAM_STORE_INT_SIZE], max[CSAM_STORE_INT_SIZE];
    char ttl[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[17];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (in->nrn_hash == NULL || in->nrn_sealed == NULL || in->token_hash == NULL
        || in->code_hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(in->id, id);
    p[1] = csam_store_bytes(in->nrn_hash, CSAM_HASH_LEN);
    p[2] = csam_store_text(in->first_name);
    p[3] = csam_store_text(in->last_name);
    p[4] = csam_store_text(in->birth_date);
    p[5] = csam_store_text(in->document_type);
    p[6] = csam_store_text(in->document_number);
    p[7] = csam_store_text(in->email);
    p[8] = csam_store_text(in->language);
    p[9] = csam_store_bytes(in->token_hash, CSAM_HASH_LEN);
    p[10] = csam_store_bytes(in->code_hash, CSAM_HASH_LEN);
    p[11] = csam_store_int(in->max_attempts, max);
    p[12] = csam_store_int(in->ttl, ttl);
    p[13] = csam_store_text(in->created_by);
    p[14] = csam_store_text(in->created_from);
    p[15] = csam_store_bytes(in->nrn_sealed, CSAM_STORE_SEALED_NRN_LEN);
    p[16] = csam_store_int(in->account_id, acc);
    res = csam_store_exec(store, &csam_store_registration_stmt_insert, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    csam_store_get_copy(rows, 0, "expires_utc", out->utc, sizeof(out->utc));
    csam_store_get_copy(rows, 0, "expires_brussels_date", out->brussels_date,
                        sizeof(out->brussels_date));
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* The registration and its flow in one statement: one round trip for
 * what the online procedure's start writes. */
static const struct csam_store_stmt csam_store_registration_stmt_online = {
    "csam_store_registration_online_new",
    "WITH r AS ("
    " INSERT INTO csam_registrations (procedure, nrn_hash, nrn_sealed,"
    " account_id, first_name, last_name, language, identity_source,"
    " created_by, created_from, max_attempts, expires_at)"
    " VALUES ('online', $1, $2, NULLIF($3::bigint, 0), $4, $5, $6, $7, $7,"
    " $8, $9::integer, now() + make_interval(secs => $10::integer))"
    " RETURNING id, expires_at),"
    " f AS ("
    " INSERT INTO csam_flows (handle_hash, kind, step, registration_id,"
    " expires_at)"
    " SELECT $11, 'activation', 'key', r.id, r.expires_at FROM r"
    " RETURNING id)"
    " SELECT r.id AS id, (SELECT count(*) FROM f) AS flows FROM r",
    11, 0};

csam_result csam_store_registration_online_new(
    csam_store *store, const struct csam_store_registration_online *in,
    int64_t *id)
{
    char acc[CSAM_STORE_INT_SIZE], max[CSAM_STORE_INT_SIZE];
    char ttl[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[11];
    csam_store_rows *rows = NULL;
    csam_result res;

    *id = 0;
    if (in->nrn_hash == NULL || in->nrn_sealed == NULL
        || in->handle_hash == NULL || in->identity_source == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(in->nrn_hash, CSAM_HASH_LEN);
    p[1] = csam_store_bytes(in->nrn_sealed, CSAM_STORE_SEALED_NRN_LEN);
    p[2] = csam_store_int(in->account_id, acc);
    p[3] = csam_store_text(in->first_name);
    p[4] = csam_store_text(in->last_name);
    p[5] = csam_store_text(in->language);
    p[6] = csam_store_text(in->identity_source);
    p[7] = csam_store_text(in->created_from);
    p[8] = csam_store_int(in->max_attempts, max);
    p[9] = csam_store_int(in->ttl, ttl);
    p[10] = csam_store_bytes(in->handle_hash, CSAM_HASH_LEN);
    res = csam_store_exec(store, &csam_store_registration_stmt_online, p,
                          &rows);
    if (res == CSAM_OK
        && (csam_store_nrows(rows) != 1
            || csam_store_get_int64(rows, 0, "flows", 0) != 1))
        res = CSAM_ERR_DB;
    if (res == CSAM_OK)
        *id = csam_store_get_int64(rows, 0, "id", 0);
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_registration_stmt_email = {
    "csam_store_registration_set_email",
    "UPDATE csam_registrations SET email = $2"
    " WHERE id = $1 AND procedure = 'online' AND used_at IS NULL",
    2, 0};

csam_result csam_store_registration_set_email(csam_store *store, int64_t id,
                                              const char *email)
{
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(id, idtext);
    p[1] = csam_store_text(email);
    res = csam_store_exec(store, &csam_store_registration_stmt_email, p, &rows);
    if (res == CSAM_OK && csam_store_affected(rows) != 1)
        res = CSAM_ERR_NOT_FOUND;
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_registration_stmt_by_token = {
    "csam_store_registration_by_token",
    "SELECT id, language, attempts >= max_attempts AS locked"
    " FROM csam_registrations WHERE token_hash = $1"
    " AND used_at IS NULL AND superseded_at IS NULL AND expires_at > now()",
    1, CSAM_STORE_RETRY};

csam_result
csam_store_registration_by_token(csam_store *store,
                                 const unsigned char *token_hash,
                                 struct csam_store_registration_live *out)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    p[0] = csam_store_bytes(token_hash, CSAM_HASH_LEN);
    res = csam_store_exec(store, &csam_store_registration_stmt_by_token, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        res = CSAM_ERR_NOT_FOUND;
    } else {
        out->id = csam_store_get_int64(rows, 0, "id", 0);
        csam_store_get_copy(rows, 0, "language", out->language,
                            sizeof(out->language));
        out->locked = csam_store_get_bool(rows, 0, "locked");
    }
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_registration_stmt_try_code = {
    "csam_store_registration_try_code",
    "UPDATE csam_registrations"
    " SET attempts = attempts + CASE WHEN code_hash"
    " IN ($2::bytea, coalesce($3::bytea, $2::bytea)) THEN 0 ELSE 1 END"
    " WHERE id = $1 AND used_at IS NULL AND superseded_at IS NULL"
    " AND expires_at > now() AND attempts < max_attempts"
    " RETURNING code_hash IN ($2::bytea, coalesce($3::bytea, $2::bytea))"
    " AS matched, max_attempts - attempts AS attempts_left",
    3, 0};

csam_result
csam_store_registration_try_code(csam_store *store, int64_t id,
                                 const unsigned char *code_hash,
                                 const unsigned char *code_hash_previous,
                                 struct csam_store_registration_try *out)
{
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    p[0] = csam_store_int(id, idtext);
    p[1] = csam_store_bytes(code_hash, CSAM_HASH_LEN);
    p[2] = code_hash_previous != NULL
               ? csam_store_bytes(code_hash_previous, CSAM_HASH_LEN)
               : csam_store_text(NULL);
    res = csam_store_exec(store, &csam_store_registration_stmt_try_code, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        res = CSAM_ERR_NOT_FOUND;
    } else {
        out->matched = csam_store_get_bool(rows, 0, "matched");
        out->attempts_left = (int)csam_store_get_int64(rows, 0, "attempts_left",
                                                       0);
    }
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_registration_stmt_count = {
    "csam_store_registration_count_attempt",
    "UPDATE csam_registrations SET attempts = attempts + 1"
    " WHERE id = $1 AND attempts < max_attempts"
    " RETURNING max_attempts - attempts AS attempts_left",
    1, 0};

csam_result csam_store_registration_count_attempt(csam_store *store, int64_t id,
                                                  int *attempts_left)
{
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    *attempts_left = 0;
    p[0] = csam_store_int(id, idtext);
    res = csam_store_exec(store, &csam_store_registration_stmt_count, p, &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) == 1)
        *attempts_left = (int)csam_store_get_int64(rows, 0, "attempts_left", 0);
    csam_store_rows_free(rows);
    return res;
}

static const struct csam_store_stmt csam_store_registration_stmt_letter = {
    "csam_store_registration_letter_claim",
    "UPDATE csam_registrations SET letter_shown_at = now()"
    " WHERE id = $1 AND created_by = $2 AND letter_shown_at IS NULL"
    " AND used_at IS NULL AND superseded_at IS NULL AND expires_at > now()"
    " RETURNING id",
    2, 0};

csam_result csam_store_registration_letter_claim(csam_store *store, int64_t id,
                                                 const char *officer)
{
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(id, idtext);
    p[1] = csam_store_text(officer);
    res = csam_store_exec(store, &csam_store_registration_stmt_letter, p,
                          &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) != 1)
        res = CSAM_ERR_NOT_FOUND;
    csam_store_rows_free(rows);
    return res;
}
