/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Activation flow handles (see flow.h).
 */
#include <string.h>

#include "statement.h"
#include "crypto.h"
#include "flow.h"

static const struct csam_store_stmt csam_store_flow_stmt_supersede = {
    "csam_store_flow_supersede",
    "UPDATE csam_flows SET superseded_at = now()"
    " WHERE registration_id = $1 AND done_at IS NULL"
    " AND superseded_at IS NULL",
    1, 0};

static const struct csam_store_stmt csam_store_flow_stmt_open = {
    "csam_store_flow_open",
    "INSERT INTO csam_flows (handle_hash, kind, step, registration_id,"
    " expires_at)"
    " VALUES ($1, 'activation', 'key', $2,"
    " now() + make_interval(secs => $3::integer))",
    3, 0};

csam_result csam_store_flow_open(csam_store *store, int64_t registration_id,
                                 const unsigned char *handle_hash, long ttl)
{
    char reg[CSAM_STORE_INT_SIZE], ttltext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];
    csam_result res;

    p[0] = csam_store_int(registration_id, reg);
    res = csam_store_exec(store, &csam_store_flow_stmt_supersede, p, NULL);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_bytes(handle_hash, CSAM_HASH_LEN);
    p[1] = csam_store_int(registration_id, reg);
    p[2] = csam_store_int(ttl, ttltext);
    return csam_store_exec(store, &csam_store_flow_stmt_open, p, NULL);
}

/* One query for both reads: the locking one differs only by its last
 * clause. */
#define CSAM_STORE_FLOW_SQL                                                    \
    "SELECT f.id, f.registration_id,"                                          \
    " coalesce(f.account_id, 0) AS account_id, f.step,"                        \
    " coalesce(f.key_type, '') AS key_type,"                                   \
    " f.done_at IS NOT NULL AS done, r.procedure = 'online' AS online,"        \
    " coalesce(r.account_id, 0) AS recovers, r.language,"                      \
    " coalesce(a.username, '') AS username,"                                   \
    " coalesce(a.status, '') AS account_status,"                               \
    " coalesce(a.email, '') AS account_email,"                                 \
    " f.password_hash IS NOT NULL AS has_password,"                            \
    " r.first_name, coalesce(r.email, '') AS email,"                           \
    " coalesce(f.terms_version, '') AS terms_version,"                         \
    " coalesce(f.phone, '') AS phone,"                                         \
    " r.attempts >= r.max_attempts AS locked"                                  \
    " FROM csam_flows f JOIN csam_registrations r ON r.id = f.registration_id" \
    " LEFT JOIN csam_accounts a"                                               \
    " ON a.id = coalesce(f.account_id, r.account_id)"                          \
    " WHERE f.handle_hash = $1 AND f.kind = 'activation'"                      \
    " AND f.superseded_at IS NULL AND f.expires_at > now()"                    \
    " AND r.superseded_at IS NULL AND r.expires_at > now()"                    \
    " AND (f.done_at IS NOT NULL OR r.used_at IS NULL)"

static const struct csam_store_stmt csam_store_flow_stmt_get = {
    "csam_store_flow_get", CSAM_STORE_FLOW_SQL, 1, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_store_flow_stmt_get_lock = {
    "csam_store_flow_get_lock", CSAM_STORE_FLOW_SQL " FOR UPDATE OF f", 1, 0};

csam_result csam_store_flow_get(csam_store *store,
                                const unsigned char *handle_hash, int lock,
                                struct csam_store_flow *out)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    p[0] = csam_store_bytes(handle_hash, CSAM_HASH_LEN);
    res = csam_store_exec(store,
                          lock ? &csam_store_flow_stmt_get_lock
                               : &csam_store_flow_stmt_get,
                          p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    out->id = csam_store_get_int64(rows, 0, "id", 0);
    out->registration_id = csam_store_get_int64(rows, 0, "registration_id", 0);
    out->account_id = csam_store_get_int64(rows, 0, "account_id", 0);
    csam_store_get_copy(rows, 0, "step", out->step, sizeof(out->step));
    out->key_type = csam_key_type_parse(csam_store_get(rows, 0, "key_type"));
    out->done = csam_store_get_bool(rows, 0, "done");
    out->online = csam_store_get_bool(rows, 0, "online");
    out->recovers = csam_store_get_int64(rows, 0, "recovers", 0);
    csam_store_get_copy(rows, 0, "account_status", out->account_status,
                        sizeof(out->account_status));
    csam_store_get_copy(rows, 0, "account_email", out->account_email,
                        sizeof(out->account_email));
    out->has_password = csam_store_get_bool(rows, 0, "has_password");
    csam_store_get_copy(rows, 0, "language", out->language,
                        sizeof(out->language));
    csam_store_get_copy(rows, 0, "username", out->username,
                        sizeof(out->username));
    csam_store_get_copy(rows, 0, "first_name", out->first_name,
                        sizeof(out->first_name));
    csam_store_get_copy(rows, 0, "email", out->email, sizeof(out->email));
    csam_store_get_copy(rows, 0, "terms_version", out->terms_version,
                        sizeof(out->terms_version));
    csam_store_get_copy(rows, 0, "phone", out->phone, sizeof(out->phone));
    out->locked = csam_store_get_bool(rows, 0, "locked");
    csam_store_rows_free(rows);
    return CSAM_OK;
}

static const struct csam_store_stmt csam_store_flow_stmt_choose_key = {
    "csam_store_flow_choose_key",
    "UPDATE csam_flows SET key_type = $2, terms_version = $3,"
    " terms_accepted_at = now(), step = 'credentials', phone = $4"
    " WHERE id = $1",
    4, 0};

csam_result csam_store_flow_choose_key(csam_store *store, int64_t flow_id,
                                       enum csam_key_type key_type,
                                       const char *terms_version,
                                       const char *phone)
{
    const char *type = csam_key_type_name(key_type);
    char id[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];

    if (type == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(flow_id, id);
    p[1] = csam_store_text(type);
    p[2] = csam_store_text(terms_version);
    p[3] = csam_store_text(phone);
    return csam_store_exec(store, &csam_store_flow_stmt_choose_key, p, NULL);
}

static const struct csam_store_stmt csam_store_flow_stmt_to_step = {
    "csam_store_flow_to_step",
    "UPDATE csam_flows SET account_id = $2, password_hash = $3, step = $4"
    " WHERE id = $1",
    4, 0};

csam_result csam_store_flow_to_step(csam_store *store, int64_t flow_id,
                                    int64_t account_id,
                                    const char *password_hash, const char *step)
{
    char id[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];

    p[0] = csam_store_int(flow_id, id);
    p[1] = csam_store_int(account_id, acc);
    p[2] = csam_store_text(password_hash);
    p[3] = csam_store_text(step);
    return csam_store_exec(store, &csam_store_flow_stmt_to_step, p, NULL);
}
