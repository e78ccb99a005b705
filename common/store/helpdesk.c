/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helpdesk's rows (see helpdesk.h).
 *
 * Every lookup starts from the person's registrations (an index on
 * nrn_hash): accounts are reached through their registration (a unique
 * index on registration_id), so that a disabled account, which the
 * partial index on csam_accounts.nrn_hash leaves out, costs no scan
 * either.
 */
#include <string.h>

#include "statement.h"
#include "helpdesk.h"

#define CSAM_STORE_HELPDESK_UTC(col)                                           \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* clang-format off */
static const struct csam_store_stmt csam_store_helpdesk_stmt_registrations = {
    "csam_store_helpdesk_registrations",
    "SELECT id,"
    " CASE WHEN used_at IS NOT NULL THEN 'used'"
    " WHEN revoked_by IS NOT NULL THEN 'revoked'"
    " WHEN superseded_at IS NOT NULL THEN 'superseded'"
    " WHEN expires_at <= now() THEN 'expired'"
    " ELSE 'pending' END AS status,"
    " procedure, " CSAM_STORE_HELPDESK_UTC("created_at") " AS created_at, "
    CSAM_STORE_HELPDESK_UTC("expires_at") " AS expires_at,"
    " created_by AS officer"
    " FROM csam_registrations WHERE nrn_hash = $1"
    " ORDER BY created_at DESC, id DESC LIMIT $2::integer",
    2, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_helpdesk_registrations(
    csam_store *store, const unsigned char *nrn_hash,
    struct csam_store_helpdesk_registration *out, size_t max, size_t *n)
{
    char limit[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;
    int i;

    if (n == NULL)
        return CSAM_ERR_INVALID;
    *n = 0;
    if (nrn_hash == NULL || out == NULL || max == 0 || max > 1000)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(nrn_hash, CSAM_HASH_LEN);
    p[1] = csam_store_int((int64_t)max, limit);
    res = csam_store_exec(store, &csam_store_helpdesk_stmt_registrations, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    for (i = 0; i < csam_store_nrows(rows) && *n < max; i++) {
        struct csam_store_helpdesk_registration *reg = &out[*n];

        memset(reg, 0, sizeof(*reg));
        reg->id = csam_store_get_int64(rows, i, "id", 0);
        csam_store_get_copy(rows, i, "status", reg->status,
                            sizeof(reg->status));
        csam_store_get_copy(rows, i, "procedure", reg->procedure,
                            sizeof(reg->procedure));
        csam_store_get_copy(rows, i, "created_at", reg->created_at,
                            sizeof(reg->created_at));
        csam_store_get_copy(rows, i, "expires_at", reg->expires_at,
                            sizeof(reg->expires_at));
        csam_store_get_copy(rows, i, "officer", reg->officer,
                            sizeof(reg->officer));
        (*n)++;
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* One row per key type (the newest key of the type, an active one first),
 * or one row with NULL key columns for an account without keys. */
/* clang-format off */
static const struct csam_store_stmt csam_store_helpdesk_stmt_account = {
    "csam_store_helpdesk_account",
    "WITH account AS ("
    " SELECT a.id, a.username, a.status,"
    " CASE WHEN a.locked_until > now() THEN "
    CSAM_STORE_HELPDESK_UTC("a.locked_until") " END AS locked_until"
    " FROM csam_registrations r"
    " JOIN csam_accounts a ON a.registration_id = r.id"
    " WHERE r.nrn_hash = $1 AND a.nrn_hash = $1"
    " ORDER BY a.status <> 'disabled' DESC, a.created_at DESC, a.id DESC"
    " LIMIT 1)"
    " SELECT account.id, account.username, account.status,"
    " account.locked_until, k.type AS key_type, k.status AS key_status"
    " FROM account LEFT JOIN LATERAL ("
    " SELECT DISTINCT ON (type) type, status FROM csam_keys"
    " WHERE account_id = account.id"
    " ORDER BY type, status = 'active' DESC, created_at DESC, id DESC) k"
    " ON true ORDER BY k.type",
    1, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_helpdesk_account(csam_store *store,
                                        const unsigned char *nrn_hash,
                                        struct csam_store_helpdesk_account *out)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;
    int i;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (nrn_hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(nrn_hash, CSAM_HASH_LEN);
    res = csam_store_exec(store, &csam_store_helpdesk_stmt_account, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) == 0) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    out->id = csam_store_get_int64(rows, 0, "id", 0);
    csam_store_get_copy(rows, 0, "username", out->username,
                        sizeof(out->username));
    csam_store_get_copy(rows, 0, "status", out->status, sizeof(out->status));
    csam_store_get_copy(rows, 0, "locked_until", out->locked_until,
                        sizeof(out->locked_until));
    for (i = 0; i < csam_store_nrows(rows)
                && out->n_keys < CSAM_STORE_HELPDESK_KEYS_MAX;
         i++) {
        enum csam_key_type type = csam_key_type_parse(
            csam_store_get(rows, i, "key_type"));
        struct csam_store_helpdesk_key *key = &out->keys[out->n_keys];

        if (type == CSAM_KEY_NONE)
            continue;
        key->type = type;
        csam_store_get_copy(rows, i, "key_status", key->status,
                            sizeof(key->status));
        out->n_keys++;
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* clang-format off */
static const struct csam_store_stmt csam_store_helpdesk_stmt_name_lock = {
    "csam_store_helpdesk_name_lock",
    "SELECT " CSAM_STORE_HELPDESK_UTC("locked_until") " AS locked_until"
    " FROM (SELECT locked_until FROM csam_password_failures"
    "   WHERE name_hash IN ($1::bytea, coalesce($2::bytea, $1::bytea))"
    "   ORDER BY name_hash = $1::bytea DESC LIMIT 1) f"
    " WHERE locked_until > now()",
    2, CSAM_STORE_RETRY};
/* clang-format on */

csam_result
csam_store_helpdesk_name_lock(csam_store *store, const unsigned char *name_hash,
                              const unsigned char *name_hash_previous,
                              char locked_until[CSAM_STORE_HELPDESK_TIME_SIZE])
{
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (locked_until == NULL)
        return CSAM_ERR_INVALID;
    locked_until[0] = '\0';
    if (name_hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(name_hash, CSAM_HASH_LEN);
    p[1] = name_hash_previous != NULL
               ? csam_store_bytes(name_hash_previous, CSAM_HASH_LEN)
               : csam_store_text(NULL);
    res = csam_store_exec(store, &csam_store_helpdesk_stmt_name_lock, p, &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) == 1)
        csam_store_get_copy(rows, 0, "locked_until", locked_until,
                            CSAM_STORE_HELPDESK_TIME_SIZE);
    csam_store_rows_free(rows);
    return res;
}

/* Two index walks joined by UNION (the audit rows of the registrations,
 * those of the accounts) rather than one OR, which the planner would
 * answer with a scan of the whole trail.  A registration is made by an
 * officer at the desk only: online, its creator is the identity source. */
/* clang-format off */
static const struct csam_store_stmt csam_store_helpdesk_stmt_history = {
    "csam_store_helpdesk_history",
    "WITH person AS ("
    " SELECT id, procedure FROM csam_registrations WHERE nrn_hash = $1),"
    " accounts AS ("
    " SELECT a.id FROM person JOIN csam_accounts a"
    " ON a.registration_id = person.id WHERE a.nrn_hash = $1),"
    " rows AS ("
    " SELECT au.id, au.action, au.actor, au.at, au.source"
    " FROM csam_audit au JOIN person ON au.registration_id = person.id"
    " WHERE au.actor IS NOT NULL AND (au.action IN ("
    " 'helpdesk.search', 'registration.link_resent',"
    " 'registration.revoked', 'registration.letter_shown')"
    " OR au.action = 'registration.created' AND person.procedure = 'desk')"
    " UNION"
    " SELECT au.id, au.action, au.actor, au.at, au.source"
    " FROM csam_audit au JOIN accounts ON au.account_id = accounts.id"
    " WHERE au.actor IS NOT NULL"
    " AND au.action IN ('helpdesk.search', 'account.unlocked'))"
    " SELECT action, actor AS officer, " CSAM_STORE_HELPDESK_UTC("at")
    " AS at, source FROM rows ORDER BY rows.at DESC, rows.id DESC"
    " LIMIT $2::integer",
    2, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_helpdesk_history(csam_store *store,
                                        const unsigned char *nrn_hash,
                                        struct csam_store_helpdesk_action *out,
                                        size_t max, size_t *n)
{
    char limit[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;
    int i;

    if (n == NULL)
        return CSAM_ERR_INVALID;
    *n = 0;
    if (nrn_hash == NULL || out == NULL || max == 0 || max > 1000)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(nrn_hash, CSAM_HASH_LEN);
    p[1] = csam_store_int((int64_t)max, limit);
    res = csam_store_exec(store, &csam_store_helpdesk_stmt_history, p, &rows);
    if (res != CSAM_OK)
        return res;
    for (i = 0; i < csam_store_nrows(rows) && *n < max; i++) {
        struct csam_store_helpdesk_action *act = &out[*n];

        memset(act, 0, sizeof(*act));
        csam_store_get_copy(rows, i, "action", act->action,
                            sizeof(act->action));
        csam_store_get_copy(rows, i, "officer", act->officer,
                            sizeof(act->officer));
        csam_store_get_copy(rows, i, "at", act->at, sizeof(act->at));
        csam_store_get_copy(rows, i, "source", act->source,
                            sizeof(act->source));
        (*n)++;
    }
    csam_store_rows_free(rows);
    return CSAM_OK;
}

static const struct csam_store_stmt csam_store_helpdesk_stmt_relink = {
    "csam_store_helpdesk_relink",
    "UPDATE csam_registrations SET token_hash = $2"
    " WHERE id = $1 AND procedure = 'desk' AND used_at IS NULL"
    " AND superseded_at IS NULL AND expires_at > now()"
    " RETURNING email, language, first_name, last_name,"
    " to_char(expires_at AT TIME ZONE 'Europe/Brussels', 'YYYY-MM-DD')"
    " AS expires_brussels_date",
    2, 0};

csam_result csam_store_helpdesk_relink(csam_store *store, int64_t id,
                                       const unsigned char *token_hash,
                                       struct csam_store_helpdesk_mail *out)
{
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (token_hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(id, idtext);
    p[1] = csam_store_bytes(token_hash, CSAM_HASH_LEN);
    res = csam_store_exec(store, &csam_store_helpdesk_stmt_relink, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    csam_store_get_copy(rows, 0, "email", out->email, sizeof(out->email));
    csam_store_get_copy(rows, 0, "language", out->language,
                        sizeof(out->language));
    csam_store_get_copy(rows, 0, "first_name", out->first_name,
                        sizeof(out->first_name));
    csam_store_get_copy(rows, 0, "last_name", out->last_name,
                        sizeof(out->last_name));
    csam_store_get_copy(rows, 0, "expires_brussels_date",
                        out->expires_brussels_date,
                        sizeof(out->expires_brussels_date));
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* The account goes first, as when a registration is superseded
 * (registration.c): it names the registration as still live, and the
 * activation that would make it active takes the same rows in the same
 * order. */
static const struct csam_store_stmt csam_store_helpdesk_stmt_drop_pending = {
    "csam_store_helpdesk_drop_pending",
    "DELETE FROM csam_accounts a USING csam_registrations r"
    " WHERE a.registration_id = r.id AND r.id = $1"
    " AND r.used_at IS NULL AND r.superseded_at IS NULL"
    " AND a.status = 'pending'",
    1, 0};

/* The flows CTE runs though the query does not read it: PostgreSQL runs
 * every data-modifying WITH to completion. */
static const struct csam_store_stmt csam_store_helpdesk_stmt_revoke = {
    "csam_store_helpdesk_revoke",
    "WITH reg AS ("
    " UPDATE csam_registrations SET superseded_at = now(), revoked_by = $2"
    " WHERE id = $1 AND used_at IS NULL AND superseded_at IS NULL"
    " AND expires_at > now() RETURNING id),"
    " flows AS ("
    " UPDATE csam_flows SET superseded_at = now()"
    " WHERE registration_id IN (SELECT id FROM reg)"
    " AND done_at IS NULL AND superseded_at IS NULL RETURNING id)"
    " SELECT id AS registration_id FROM reg",
    2, 0};

csam_result csam_store_helpdesk_revoke(csam_store *store, int64_t id,
                                       const char *officer,
                                       long *accounts_deleted)
{
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (accounts_deleted == NULL)
        return CSAM_ERR_INVALID;
    *accounts_deleted = 0;
    if (officer == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(id, idtext);
    p[1] = csam_store_text(officer);
    res = csam_store_exec(store, &csam_store_helpdesk_stmt_drop_pending, p,
                          &rows);
    if (res == CSAM_OK)
        *accounts_deleted = csam_store_affected(rows);
    csam_store_rows_free(rows);
    rows = NULL;
    if (res == CSAM_OK)
        res = csam_store_exec(store, &csam_store_helpdesk_stmt_revoke, p,
                              &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) != 1)
        res = CSAM_ERR_NOT_FOUND;
    csam_store_rows_free(rows);
    return res;
}

/* The counters' rows as they were (the statement's snapshot) say whether
 * they were locked; the UPDATEs put them back to none.  The name's row
 * and the devices' are touched only when the account exists, so that an
 * unknown username lifts nothing. */
static const struct csam_store_stmt csam_store_helpdesk_stmt_unlock = {
    "csam_store_helpdesk_unlock",
    "WITH account AS ("
    " SELECT id, coalesce(locked_until > now(), false) AS locked"
    " FROM csam_accounts WHERE username = $1 AND status <> 'disabled'),"
    " name AS ("
    " SELECT coalesce(locked_until > now(), false) AS locked"
    " FROM csam_password_failures"
    " WHERE name_hash IN ($2::bytea, coalesce($3::bytea, $2::bytea))"
    " AND EXISTS (SELECT 1 FROM account)),"
    " a AS ("
    " UPDATE csam_accounts SET failures = 0, locked_until = NULL"
    " WHERE id IN (SELECT id FROM account) RETURNING id),"
    " n AS ("
    " UPDATE csam_password_failures SET failures = 0, delay_until = NULL,"
    " locked_until = NULL, locks = 0"
    " WHERE name_hash IN ($2::bytea, coalesce($3::bytea, $2::bytea))"
    " AND EXISTS (SELECT 1 FROM account)"
    " RETURNING 1),"
    " d AS ("
    " UPDATE csam_login_devices SET failures = 0, locked_until = NULL"
    " WHERE account_id IN (SELECT id FROM account)"
    " AND (failures > 0 OR locked_until IS NOT NULL) RETURNING 1)"
    " SELECT account.id AS account_id, account.locked AS account_locked,"
    " coalesce((SELECT bool_or(locked) FROM name), false) AS name_locked"
    " FROM account",
    3, 0};

csam_result csam_store_helpdesk_unlock(csam_store *store, const char *username,
                                       const unsigned char *name_hash,
                                       const unsigned char *name_hash_previous,
                                       struct csam_store_helpdesk_unlocked *out)
{
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (username == NULL || name_hash == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_text(username);
    p[1] = csam_store_bytes(name_hash, CSAM_HASH_LEN);
    p[2] = name_hash_previous != NULL
               ? csam_store_bytes(name_hash_previous, CSAM_HASH_LEN)
               : csam_store_text(NULL);
    res = csam_store_exec(store, &csam_store_helpdesk_stmt_unlock, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        res = CSAM_ERR_NOT_FOUND;
    } else {
        out->account_id = csam_store_get_int64(rows, 0, "account_id", 0);
        out->account_locked = csam_store_get_bool(rows, 0, "account_locked");
        out->name_locked = csam_store_get_bool(rows, 0, "name_locked");
    }
    csam_store_rows_free(rows);
    return res;
}
