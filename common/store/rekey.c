/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rows of csam-admin secret rekey (see rekey.h).  Columns are read by
 * name; bytea as hex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey.h"
#include "statement.h"

/* ---- pages ------------------------------------------------------------- */

/* clang-format off */
static const struct csam_store_stmt csam_store_rekey_stmt_accounts = {
    "csam_store_rekey_accounts",
    "SELECT id, encode(nrn_hash, 'hex') AS nrn_hash,"
    " encode(nrn_sealed, 'hex') AS nrn_sealed,"
    " subject IS NOT NULL AS has_subject"
    " FROM csam_accounts WHERE id > $1::bigint ORDER BY id LIMIT $2::integer",
    2, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_store_rekey_stmt_registrations = {
    "csam_store_rekey_registrations",
    "SELECT id, encode(nrn_hash, 'hex') AS nrn_hash,"
    " encode(nrn_sealed, 'hex') AS nrn_sealed, false AS has_subject"
    " FROM csam_registrations WHERE id > $1::bigint"
    " AND nrn_sealed IS NOT NULL ORDER BY id LIMIT $2::integer",
    2, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_store_rekey_stmt_keys = {
    "csam_store_rekey_keys",
    "SELECT id, encode(totp_secret, 'hex') AS sealed"
    " FROM csam_keys WHERE id > $1::bigint AND type = 'totp'"
    " ORDER BY id LIMIT $2::integer",
    2, CSAM_STORE_RETRY};
/* clang-format on */

static csam_result csam_store_rekey_page(csam_store *store,
                                         const struct csam_store_stmt *stmt,
                                         int64_t after, size_t max,
                                         csam_store_rows **rows)
{
    char a[CSAM_STORE_INT_SIZE], m[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];

    if (store == NULL || max == 0 || max > 100000)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(after, a);
    p[1] = csam_store_int((int64_t)max, m);
    return csam_store_exec(store, stmt, p, rows);
}

static csam_result csam_store_rekey_persons(csam_store *store,
                                            const struct csam_store_stmt *stmt,
                                            int64_t after,
                                            struct csam_store_rekey_person *out,
                                            size_t max, size_t *n)
{
    csam_store_rows *rows = NULL;
    csam_result res;
    const char *v;
    int i;

    if (n == NULL)
        return CSAM_ERR_INVALID;
    *n = 0;
    if (out == NULL)
        return CSAM_ERR_INVALID;
    res = csam_store_rekey_page(store, stmt, after, max, &rows);
    if (res != CSAM_OK)
        return res;
    for (i = 0; i < csam_store_nrows(rows) && (size_t)i < max; i++) {
        struct csam_store_rekey_person *r = &out[i];

        memset(r, 0, sizeof(*r));
        r->id = csam_store_get_int64(rows, i, "id", 0);
        r->has_subject = csam_store_get_bool(rows, i, "has_subject");
        if (csam_store_get_hex(rows, i, "nrn_hash", r->nrn_hash, CSAM_HASH_LEN)
            != CSAM_HASH_LEN)
            res = CSAM_ERR_DB;
        v = csam_store_get(rows, i, "nrn_sealed");
        if (v != NULL) {
            if (csam_store_get_hex(rows, i, "nrn_sealed", r->nrn_sealed,
                                   sizeof(r->nrn_sealed))
                != sizeof(r->nrn_sealed))
                res = CSAM_ERR_DB;
            r->sealed = 1;
        }
        if (r->id <= 0 || res != CSAM_OK) {
            res = CSAM_ERR_DB;
            break;
        }
    }
    if (res == CSAM_OK)
        *n = (size_t)i;
    csam_store_rows_free(rows);
    return res;
}

csam_result csam_store_rekey_accounts(csam_store *store, int64_t after,
                                      struct csam_store_rekey_person *out,
                                      size_t max, size_t *n)
{
    return csam_store_rekey_persons(store, &csam_store_rekey_stmt_accounts,
                                    after, out, max, n);
}

csam_result csam_store_rekey_registrations(csam_store *store, int64_t after,
                                           struct csam_store_rekey_person *out,
                                           size_t max, size_t *n)
{
    return csam_store_rekey_persons(store, &csam_store_rekey_stmt_registrations,
                                    after, out, max, n);
}

csam_result csam_store_rekey_keys(csam_store *store, int64_t after,
                                  struct csam_store_rekey_key *out, size_t max,
                                  size_t *n)
{
    csam_store_rows *rows = NULL;
    csam_result res;
    int i;

    if (n == NULL)
        return CSAM_ERR_INVALID;
    *n = 0;
    if (out == NULL)
        return CSAM_ERR_INVALID;
    res = csam_store_rekey_page(store, &csam_store_rekey_stmt_keys, after, max,
                                &rows);
    if (res != CSAM_OK)
        return res;
    for (i = 0; i < csam_store_nrows(rows) && (size_t)i < max; i++) {
        struct csam_store_rekey_key *k = &out[i];

        memset(k, 0, sizeof(*k));
        k->id = csam_store_get_int64(rows, i, "id", 0);
        k->len = csam_store_get_hex(rows, i, "sealed", k->sealed,
                                    sizeof(k->sealed));
        if (k->id <= 0) {
            res = CSAM_ERR_DB;
            break;
        }
    }
    if (res == CSAM_OK)
        *n = (size_t)i;
    csam_store_rows_free(rows);
    return res;
}

/* ---- the persons' locks ------------------------------------------------ */

/* $1 the hashes in hex, comma-separated: the key hashtext(encode(hash,
 * 'hex')) of registration.c's lock, one per hash in the order given. */
static const struct csam_store_stmt csam_store_rekey_stmt_lock = {
    "csam_store_rekey_lock_persons",
    "SELECT pg_advisory_xact_lock(4242002, hashtext(h))"
    " FROM unnest(string_to_array($1::text, ',')) WITH ORDINALITY AS l(h, n)"
    " ORDER BY n",
    1, 0};

csam_result
csam_store_rekey_lock_persons(csam_store *store,
                              unsigned char (*hashes)[CSAM_HASH_LEN], size_t n)
{
    static const char digits[] = "0123456789abcdef";
    struct csam_store_param p[1];
    csam_result res;
    char *list, *w;
    size_t i, j;

    if (store == NULL || (hashes == NULL && n > 0))
        return CSAM_ERR_INVALID;
    if (n == 0)
        return CSAM_OK;
    list = malloc(n * (2 * CSAM_HASH_LEN + 1));
    if (list == NULL)
        return CSAM_ERR_NOMEM;
    w = list;
    for (i = 0; i < n; i++) {
        if (i > 0)
            *w++ = ',';
        for (j = 0; j < CSAM_HASH_LEN; j++) {
            *w++ = digits[hashes[i][j] >> 4];
            *w++ = digits[hashes[i][j] & 15];
        }
    }
    *w = '\0';
    p[0] = csam_store_text(list);
    res = csam_store_exec(store, &csam_store_rekey_stmt_lock, p, NULL);
    free(list);
    return res;
}

/* ---- moves ------------------------------------------------------------- */

/* A live registration (unused, not superseded) of the person meets a live
 * one under the new hash $2: the unique index on live hashes allows one,
 * and the newer (made under the new secret) wins, as a registration made
 * again supersedes the older one. */
#define CSAM_STORE_REKEY_SUPERSEDED                                            \
    " superseded_at = CASE WHEN used_at IS NULL AND superseded_at IS NULL"     \
    " AND EXISTS (SELECT 1 FROM csam_registrations o WHERE o.nrn_hash = $2"    \
    " AND o.used_at IS NULL AND o.superseded_at IS NULL)"                      \
    " THEN now() ELSE superseded_at END"

/* $1 id, $2 new hash, $3 new sealed number, $4 subject (NULL: keep),
 * $5 old hash, $6 old sealed number.  The registrations move only when
 * the account did; an unsealed one keeps no seal. */
/* clang-format off */
static const struct csam_store_stmt csam_store_rekey_stmt_account = {
    "csam_store_rekey_account_move",
    "WITH a AS (UPDATE csam_accounts SET nrn_hash = $2, nrn_sealed = $3,"
    " subject = coalesce(subject, $4::text)"
    " WHERE id = $1::bigint AND nrn_hash = $5 AND nrn_sealed = $6"
    " AND (status = 'disabled' OR NOT EXISTS (SELECT 1 FROM csam_accounts o"
    " WHERE o.nrn_hash = $2 AND o.status <> 'disabled'"
    " AND o.id <> $1::bigint))"
    " RETURNING id),"
    " r AS (UPDATE csam_registrations SET nrn_hash = $2,"
    " nrn_sealed = CASE WHEN nrn_sealed IS NULL THEN NULL ELSE $3 END,"
    CSAM_STORE_REKEY_SUPERSEDED
    " WHERE nrn_hash = $5 AND EXISTS (SELECT 1 FROM a) RETURNING id)"
    " SELECT (SELECT count(*) FROM a) AS accounts,"
    " (SELECT count(*) FROM r) AS registrations,"
    " EXISTS (SELECT 1 FROM csam_accounts o WHERE o.nrn_hash = $2"
    " AND o.status <> 'disabled' AND o.id <> $1::bigint) AS taken",
    6, 0};
/* clang-format on */

csam_result csam_store_rekey_account_move(csam_store *store,
                                          const struct csam_store_rekey_move *m,
                                          int64_t *accounts,
                                          int64_t *registrations, int *taken)
{
    char id[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[6];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (accounts == NULL || registrations == NULL || taken == NULL)
        return CSAM_ERR_INVALID;
    *accounts = *registrations = 0;
    *taken = 0;
    if (store == NULL || m == NULL || m->old_hash == NULL
        || m->old_sealed == NULL || m->new_hash == NULL
        || m->new_sealed == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(m->id, id);
    p[1] = csam_store_bytes(m->new_hash, CSAM_HASH_LEN);
    p[2] = csam_store_bytes(m->new_sealed, m->new_len);
    p[3] = csam_store_text(m->subject);
    p[4] = csam_store_bytes(m->old_hash, CSAM_HASH_LEN);
    p[5] = csam_store_bytes(m->old_sealed, m->old_len);
    res = csam_store_exec(store, &csam_store_rekey_stmt_account, p, &rows);
    if (res != CSAM_OK)
        return res;
    *accounts = csam_store_get_int64(rows, 0, "accounts", 0);
    *registrations = csam_store_get_int64(rows, 0, "registrations", 0);
    *taken = *accounts == 0 && csam_store_get_bool(rows, 0, "taken");
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* $1 id, $2 its hash as read, $3 the subject. */
static const struct csam_store_stmt csam_store_rekey_stmt_subject = {
    "csam_store_rekey_account_subject",
    "UPDATE csam_accounts SET subject = $3::text WHERE id = $1::bigint"
    " AND nrn_hash = $2 AND nrn_sealed IS NULL AND subject IS NULL",
    3, 0};

csam_result
csam_store_rekey_account_subject(csam_store *store, int64_t id,
                                 const unsigned char hash[CSAM_HASH_LEN],
                                 const char *subject, int *stored)
{
    char idbuf[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (stored == NULL)
        return CSAM_ERR_INVALID;
    *stored = 0;
    if (store == NULL || hash == NULL || subject == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(id, idbuf);
    p[1] = csam_store_bytes(hash, CSAM_HASH_LEN);
    p[2] = csam_store_text(subject);
    res = csam_store_exec(store, &csam_store_rekey_stmt_subject, p, &rows);
    if (res == CSAM_OK)
        *stored = csam_store_affected(rows) == 1;
    csam_store_rows_free(rows);
    return res;
}

/* $1 id, $2 new hash, $3 new sealed number, $4 old hash, $5 old sealed.
 * An account that holds the old hash (one not disabled, by the partial
 * unique index, or the one made from this registration) keeps it. */
/* clang-format off */
static const struct csam_store_stmt csam_store_rekey_stmt_registration = {
    "csam_store_rekey_registration_move",
    "WITH held AS (SELECT EXISTS (SELECT 1 FROM csam_accounts a"
    " WHERE a.nrn_hash = $4 AND a.status <> 'disabled')"
    " OR EXISTS (SELECT 1 FROM csam_accounts a"
    " WHERE a.registration_id = $1::bigint) AS held),"
    " r AS (UPDATE csam_registrations SET nrn_hash = $2, nrn_sealed = $3,"
    CSAM_STORE_REKEY_SUPERSEDED
    " WHERE id = $1::bigint AND nrn_hash = $4 AND nrn_sealed = $5"
    " AND NOT (SELECT held FROM held) RETURNING id)"
    " SELECT (SELECT count(*) FROM r) AS moved,"
    " (SELECT held FROM held) AS held",
    5, 0};
/* clang-format on */

csam_result
csam_store_rekey_registration_move(csam_store *store,
                                   const struct csam_store_rekey_move *m,
                                   int *moved, int *held)
{
    char id[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[5];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (moved == NULL || held == NULL)
        return CSAM_ERR_INVALID;
    *moved = *held = 0;
    if (store == NULL || m == NULL || m->old_hash == NULL
        || m->old_sealed == NULL || m->new_hash == NULL
        || m->new_sealed == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(m->id, id);
    p[1] = csam_store_bytes(m->new_hash, CSAM_HASH_LEN);
    p[2] = csam_store_bytes(m->new_sealed, m->new_len);
    p[3] = csam_store_bytes(m->old_hash, CSAM_HASH_LEN);
    p[4] = csam_store_bytes(m->old_sealed, m->old_len);
    res = csam_store_exec(store, &csam_store_rekey_stmt_registration, p, &rows);
    if (res != CSAM_OK)
        return res;
    *moved = csam_store_get_int64(rows, 0, "moved", 0) == 1;
    *held = csam_store_get_bool(rows, 0, "held");
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* $1 id, $2 new sealed secret, $3 old. */
static const struct csam_store_stmt csam_store_rekey_stmt_key = {
    "csam_store_rekey_key_move",
    "UPDATE csam_keys SET totp_secret = $2 WHERE id = $1::bigint"
    " AND totp_secret = $3",
    3, 0};

csam_result csam_store_rekey_key_move(csam_store *store,
                                      const struct csam_store_rekey_move *m,
                                      int *moved)
{
    char id[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (moved == NULL)
        return CSAM_ERR_INVALID;
    *moved = 0;
    if (store == NULL || m == NULL || m->old_sealed == NULL
        || m->new_sealed == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(m->id, id);
    p[1] = csam_store_bytes(m->new_sealed, m->new_len);
    p[2] = csam_store_bytes(m->old_sealed, m->old_len);
    res = csam_store_exec(store, &csam_store_rekey_stmt_key, p, &rows);
    if (res == CSAM_OK)
        *moved = csam_store_affected(rows) == 1;
    csam_store_rows_free(rows);
    return res;
}

/* ---- the installation row ---------------------------------------------- */

/* A rekey from $1 is under way when it started and did not end: its start
 * stays (a rerun resumes it).  rekeyed_at set means the row's rekey is
 * the one that made $1 current: a new one starts now. */
static const struct csam_store_stmt csam_store_rekey_stmt_start = {
    "csam_store_rekey_start",
    "UPDATE csam_installation SET rekey_started_at = now(), rekeyed_at = NULL"
    " WHERE secret_fingerprint = $1"
    " AND (rekey_started_at IS NULL OR rekeyed_at IS NOT NULL)",
    1, 0};

csam_result csam_store_rekey_start(csam_store *store,
                                   const unsigned char *previous_fp)
{
    struct csam_store_param p[1];

    if (store == NULL || previous_fp == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(previous_fp, CSAM_HASH_LEN);
    return csam_store_exec(store, &csam_store_rekey_stmt_start, p, NULL);
}

static const struct csam_store_stmt csam_store_rekey_stmt_finish = {
    "csam_store_rekey_finish",
    "UPDATE csam_installation SET secret_fingerprint = $1,"
    " previous_fingerprint = $2, recorded_at = now(), recorded_by = $3,"
    " rekeyed_at = now() WHERE secret_fingerprint = $2",
    3, 0};

csam_result csam_store_rekey_finish(csam_store *store,
                                    const unsigned char *current_fp,
                                    const unsigned char *previous_fp,
                                    const char *by, int *recorded)
{
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (recorded == NULL)
        return CSAM_ERR_INVALID;
    *recorded = 0;
    if (store == NULL || current_fp == NULL || previous_fp == NULL || by == NULL
        || by[0] == '\0')
        return CSAM_ERR_INVALID;
    p[0] = csam_store_bytes(current_fp, CSAM_HASH_LEN);
    p[1] = csam_store_bytes(previous_fp, CSAM_HASH_LEN);
    p[2] = csam_store_text(by);
    res = csam_store_exec(store, &csam_store_rekey_stmt_finish, p, &rows);
    if (res == CSAM_OK)
        *recorded = csam_store_affected(rows) == 1;
    csam_store_rows_free(rows);
    return res;
}

/* ---- until when the previous secret is needed -------------------------- */

/* $1 the cut (Unix seconds, 0: now).  Each branch walks its table's
 * expiry index (schema 5) from now on. */
/* clang-format off */
static const struct csam_store_stmt csam_store_rekey_stmt_needed = {
    "csam_store_rekey_needed_until",
    "WITH c AS (SELECT CASE WHEN $1::bigint > 0 THEN to_timestamp($1::bigint)"
    " ELSE now() END AS cut)"
    " SELECT to_char(max(e) AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS until FROM ("
    " SELECT max(least(s.expires_at, s.last_seen_at + s.idle_timeout)) AS e"
    " FROM csam_sessions s, c WHERE s.expires_at > now()"
    " AND s.revoked_at IS NULL AND s.created_at < c.cut"
    " AND s.last_seen_at + s.idle_timeout > now()"
    " UNION ALL SELECT max(d.expires_at) FROM csam_login_devices d, c"
    " WHERE d.expires_at > now() AND d.created_at < c.cut"
    " UNION ALL SELECT max(r.expires_at) FROM csam_registrations r, c"
    " WHERE r.expires_at > now() AND r.used_at IS NULL"
    " AND r.superseded_at IS NULL AND r.created_at < c.cut"
    " UNION ALL SELECT max(f.expires_at) FROM csam_flows f, c"
    " WHERE f.expires_at > now() AND f.done_at IS NULL"
    " AND f.superseded_at IS NULL AND f.created_at < c.cut"
    " UNION ALL SELECT max(x.expires_at) FROM csam_challenges x, c"
    " WHERE x.expires_at > now() AND x.used_at IS NULL"
    " AND x.superseded_at IS NULL AND x.created_at < c.cut) l",
    1, CSAM_STORE_RETRY};
/* clang-format on */

csam_result csam_store_rekey_needed_until(csam_store *store, int64_t since,
                                          char *out, size_t size)
{
    char s[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (out == NULL || size == 0)
        return CSAM_ERR_INVALID;
    out[0] = '\0';
    if (store == NULL || since < 0)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(since, s);
    res = csam_store_exec(store, &csam_store_rekey_stmt_needed, p, &rows);
    if (res == CSAM_OK)
        csam_store_get_copy(rows, 0, "until", out, size);
    csam_store_rows_free(rows);
    return res;
}
