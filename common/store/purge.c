/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What csam-admin purge deletes (see admin.h), kind by kind: a count for
 * --dry-run and a batch delete, both with the same condition.
 *
 * A batch is one DELETE of at most n rows chosen by a subquery that walks
 * the kind's expiry index (schema 5): it runs as its own short
 * transaction, and a login never waits long for it.  The subquery takes
 * no row locks (FOR UPDATE SKIP LOCKED would need UPDATE on the table,
 * which csam_admin does not hold: conf/sql/roles.sql); the rows it
 * deletes are dead, so at most a batch waits for a transaction that still
 * holds one to end.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "statement.h"

/* $1: the age in seconds (bigint: audit_retention is up to 100 years). */
#define CSAM_PURGE_CUTOFF "now() - $1::bigint * interval '1 second'"

/* An account a made from the unused registration r that expired a day
 * ago, at the credentials step of an activation abandoned before its
 * confirm: only a pending one (an active or disabled one is a person's),
 * and none a registration points to as the account it recovers (that
 * reference has no ON DELETE action: the delete would fail).  Its keys,
 * codes, sessions and devices go with it (ON DELETE CASCADE). */
#define CSAM_PURGE_PENDING_ACCOUNT                                             \
    " FROM csam_registrations r JOIN csam_accounts a"                          \
    " ON a.registration_id = r.id"                                             \
    " WHERE r.used_at IS NULL AND r.expires_at < " CSAM_PURGE_CUTOFF           \
    " AND a.status = 'pending'"                                                \
    " AND NOT EXISTS (SELECT 1 FROM csam_registrations rr"                     \
    " WHERE rr.account_id = a.id)"

/* Nothing points to the registration r any more: no account made from it,
 * no activation flow, no code (flows, codes and pending accounts go
 * first, in kind order). */
#define CSAM_PURGE_REGISTRATION_FREE                                           \
    " AND NOT EXISTS (SELECT 1 FROM csam_accounts a"                           \
    " WHERE a.registration_id = r.id)"                                         \
    " AND NOT EXISTS (SELECT 1 FROM csam_flows f"                              \
    " WHERE f.registration_id = r.id)"                                         \
    " AND NOT EXISTS (SELECT 1 FROM csam_challenges c"                         \
    " WHERE c.registration_id = r.id)"
/* What a dry run counts: the flows, codes and pending accounts that the
 * same purge deletes before it comes to registrations (with the same age)
 * do not hold one back. */
#define CSAM_PURGE_REGISTRATION_FREED                                          \
    " AND NOT EXISTS (SELECT 1 FROM csam_accounts a"                           \
    " WHERE a.registration_id = r.id AND (a.status <> 'pending'"               \
    " OR EXISTS (SELECT 1 FROM csam_registrations rr"                          \
    " WHERE rr.account_id = a.id)"                                             \
    " OR EXISTS (SELECT 1 FROM csam_flows f"                                   \
    " WHERE f.account_id = a.id AND f.expires_at >= " CSAM_PURGE_CUTOFF ")))"  \
    " AND NOT EXISTS (SELECT 1 FROM csam_flows f"                              \
    " WHERE f.registration_id = r.id AND f.expires_at >= " CSAM_PURGE_CUTOFF   \
    ")"                                                                        \
    " AND NOT EXISTS (SELECT 1 FROM csam_challenges c"                         \
    " WHERE c.registration_id = r.id AND c.expires_at >= " CSAM_PURGE_CUTOFF   \
    ")"

struct csam_store_purge {
    struct csam_store_stmt count;
    struct csam_store_stmt batch;
};

/* One kind: its table, the key its rows are deleted by, and the condition
 * on the alias x.  Both statements may run again after a reconnection: a
 * count reads, a batch deletes what is still there. */
/* clang-format off */
#define CSAM_PURGE(name, table, key, cond)                                     \
    {{"csam_store_purge_count_" name,                                          \
      "SELECT count(*) AS n FROM " table " x WHERE " cond, 1,                  \
      CSAM_STORE_RETRY},                                                       \
     {"csam_store_purge_batch_" name,                                          \
      "DELETE FROM " table " WHERE " key " IN (SELECT x." key " FROM " table   \
      " x WHERE " cond " LIMIT $2::integer)",                                  \
      2, CSAM_STORE_RETRY}}
/* clang-format on */

/* clang-format off */
static const struct csam_store_purge
    csam_store_purge_kinds[CSAM_STORE_PURGE_KINDS] = {
    [CSAM_STORE_PURGE_CHALLENGES] = CSAM_PURGE(
        "challenges", "csam_challenges", "id",
        "x.expires_at < " CSAM_PURGE_CUTOFF),
    [CSAM_STORE_PURGE_FLOWS] = CSAM_PURGE(
        "flows", "csam_flows", "id", "x.expires_at < " CSAM_PURGE_CUTOFF),
    /* Revoked and idle sessions are dead already; every one reaches its
     * absolute expiry within session_absolute, so this one condition
     * (and its index) covers them all. */
    [CSAM_STORE_PURGE_SESSIONS] = CSAM_PURGE(
        "sessions", "csam_sessions", "id",
        "x.expires_at < " CSAM_PURGE_CUTOFF),
    [CSAM_STORE_PURGE_LOGIN_DEVICES] = CSAM_PURGE(
        "login_devices", "csam_login_devices", "id",
        "x.expires_at < " CSAM_PURGE_CUTOFF),
    /* Walks the registrations' expiry index.  A handle that still points
     * to the account (its flow is not purged yet) holds it back: the
     * delete would set the handle's account to NULL under a flow that
     * may still be running; the dry run counts the accounts whose
     * handles the flows kind deletes first.  The outer status check is
     * evaluated again on a row an activation changed meanwhile, so an
     * account that has just become active stays. */
    [CSAM_STORE_PURGE_PENDING_ACCOUNTS] = {
        {"csam_store_purge_count_pending_accounts",
         "SELECT count(*) AS n" CSAM_PURGE_PENDING_ACCOUNT
         " AND NOT EXISTS (SELECT 1 FROM csam_flows f"
         " WHERE f.account_id = a.id AND f.expires_at >= " CSAM_PURGE_CUTOFF
         ")", 1, CSAM_STORE_RETRY},
        {"csam_store_purge_batch_pending_accounts",
         "DELETE FROM csam_accounts WHERE status = 'pending' AND id IN"
         " (SELECT a.id" CSAM_PURGE_PENDING_ACCOUNT
         " AND NOT EXISTS (SELECT 1 FROM csam_flows f"
         " WHERE f.account_id = a.id)"
         " LIMIT $2::integer)",
         2, CSAM_STORE_RETRY}},
    /* Used registrations stay: they say how an account was made or
     * recovered (the helpdesk shows them). */
    [CSAM_STORE_PURGE_REGISTRATIONS] = {
        {"csam_store_purge_count_registrations",
         "SELECT count(*) AS n FROM csam_registrations r"
         " WHERE r.used_at IS NULL AND r.expires_at < " CSAM_PURGE_CUTOFF
         CSAM_PURGE_REGISTRATION_FREED, 1, CSAM_STORE_RETRY},
        {"csam_store_purge_batch_registrations",
         "DELETE FROM csam_registrations WHERE id IN (SELECT r.id"
         " FROM csam_registrations r"
         " WHERE r.used_at IS NULL AND r.expires_at < " CSAM_PURGE_CUTOFF
         CSAM_PURGE_REGISTRATION_FREE
         " LIMIT $2::integer)",
         2, CSAM_STORE_RETRY}},
    /* A name nobody mistyped for long, with no delay or lock in force:
     * its count of locks (which makes the next one longer) is forgotten
     * too. */
    [CSAM_STORE_PURGE_PASSWORD_FAILURES] = CSAM_PURGE(
        "password_failures", "csam_password_failures", "name_hash",
        "x.last_failure_at < " CSAM_PURGE_CUTOFF
        " AND (x.locked_until IS NULL OR x.locked_until < now())"
        " AND (x.delay_until IS NULL OR x.delay_until < now())"),
    [CSAM_STORE_PURGE_SOURCE_FAILURES] = CSAM_PURGE(
        "source_failures", "csam_source_failures", "source",
        "x.window_start < " CSAM_PURGE_CUTOFF
        " AND (x.locked_until IS NULL OR x.locked_until < now())"),
    [CSAM_STORE_PURGE_AUDIT] = CSAM_PURGE(
        "audit", "csam_audit", "id", "x.at < " CSAM_PURGE_CUTOFF),
};
/* clang-format on */

static int csam_store_purge_valid(enum csam_store_purge_kind kind, long age)
{
    return (int)kind >= 0 && kind < CSAM_STORE_PURGE_KINDS && age >= 0;
}

csam_result csam_store_purge_count(csam_store *store,
                                   enum csam_store_purge_kind kind, long age,
                                   int64_t *n)
{
    char age_buf[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (n == NULL)
        return CSAM_ERR_INVALID;
    *n = 0;
    if (!csam_store_purge_valid(kind, age))
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(age, age_buf);
    res = csam_store_exec(store, &csam_store_purge_kinds[kind].count, p, &rows);
    if (res != CSAM_OK)
        return res;
    *n = csam_store_get_int64(rows, 0, "n", 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

csam_result csam_store_purge_batch(csam_store *store,
                                   enum csam_store_purge_kind kind, long age,
                                   long batch, int64_t *deleted)
{
    char age_buf[CSAM_STORE_INT_SIZE], batch_buf[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    if (deleted == NULL)
        return CSAM_ERR_INVALID;
    *deleted = 0;
    if (!csam_store_purge_valid(kind, age) || batch < 1 || batch > 1000000)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_int(age, age_buf);
    p[1] = csam_store_int(batch, batch_buf);
    res = csam_store_exec(store, &csam_store_purge_kinds[kind].batch, p, &rows);
    if (res != CSAM_OK)
        return res;
    *deleted = csam_store_affected(rows);
    csam_store_rows_free(rows);
    return CSAM_OK;
}
