/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The administrator's upkeep (DESIGN 3.7): the schema against
 * install.sql, the purge of what expired, the counts of stats.  None of
 * it needs the secret: a store connection is enough (the purge timer has
 * nothing else).  The account and secret commands are in
 * engine_admin_account.c.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "engine.h"
#include "engine_internal.h"

/* ---- schema ------------------------------------------------------------ */

static void csam_admin_migration_copy(struct csam_admin_migration *dst,
                                      const struct csam_store_migration *src)
{
    dst->version = src->version;
    snprintf(dst->file, sizeof(dst->file), "%s", src->file);
    snprintf(dst->title, sizeof(dst->title), "%s", src->title);
}

/* Read install.sql and the database's version; list what is newer. */
static csam_result csam_admin_schema_read(csam_store *store,
                                          const char *install_sql,
                                          struct csam_store_migrations *list,
                                          struct csam_admin_schema *out,
                                          char *why, size_t why_len)
{
    csam_result res;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->package = CSAM_STORE_SCHEMA_VERSION;
    res = csam_store_migrations_read(install_sql, list, why, why_len);
    if (res != CSAM_OK)
        return res;
    out->newest = list->list[list->n - 1].version;
    res = csam_store_schema_version(store, &out->database);
    if (res != CSAM_OK) {
        snprintf(why, why_len, "database: cannot read the schema version");
        return res;
    }
    for (i = 0; i < list->n && out->n_migrations < CSAM_ADMIN_MIGRATIONS_MAX;
         i++)
        if (list->list[i].version > out->database)
            csam_admin_migration_copy(&out->migrations[out->n_migrations++],
                                      &list->list[i]);
    return CSAM_OK;
}

csam_result csam_admin_schema_status(csam_store *store, const char *install_sql,
                                     struct csam_admin_schema *out, char *why,
                                     size_t why_len)
{
    struct csam_store_migrations list;

    if (store == NULL || install_sql == NULL || out == NULL || why == NULL
        || why_len == 0)
        return CSAM_ERR_INVALID;
    why[0] = '\0';
    return csam_admin_schema_read(store, install_sql, &list, out, why, why_len);
}

csam_result csam_admin_schema_upgrade(csam_store *store,
                                      const char *install_sql,
                                      struct csam_admin_schema *out, char *why,
                                      size_t why_len)
{
    struct csam_store_migrations list;
    size_t applied = 0;
    int64_t after = 0;
    csam_result res;

    if (store == NULL || install_sql == NULL || out == NULL || why == NULL
        || why_len == 0)
        return CSAM_ERR_INVALID;
    why[0] = '\0';
    res = csam_admin_schema_read(store, install_sql, &list, out, why, why_len);
    if (res != CSAM_OK)
        return res;
    /* An older package's files over a newer database would change
     * nothing, and its servers would run on a schema they do not know. */
    if (out->database > out->newest) {
        snprintf(why, why_len,
                 "database schema version %lld is newer than %s's newest "
                 "migration (%d)",
                 (long long)out->database, install_sql, out->newest);
        return CSAM_ERR_SCHEMA;
    }
    if (out->n_migrations > 0) {
        res = csam_store_migrations_apply(store, &list, &applied, &after, why,
                                          why_len);
        if (res != CSAM_OK) {
            if (why[0] == '\0')
                snprintf(why, why_len, "database: the upgrade failed");
            return res;
        }
        /* Another csam-admin (or psql) may have applied some meanwhile:
         * this list says what this one would have, the version where it
         * stands now. */
        out->database = after;
        (void)applied;
    }
    if (out->database < out->package) {
        snprintf(why, why_len,
                 "%s reaches schema version %lld, this build needs %d: "
                 "install.sql is older than csam-admin",
                 install_sql, (long long)out->database, out->package);
        return CSAM_ERR_SCHEMA;
    }
    return CSAM_OK;
}

/* ---- purge ------------------------------------------------------------- */

static const char *const csam_admin_purge_names[CSAM_ADMIN_PURGE_KINDS] = {
    [CSAM_ADMIN_PURGE_CHALLENGES] = "challenges",
    [CSAM_ADMIN_PURGE_FLOWS] = "flows",
    [CSAM_ADMIN_PURGE_SESSIONS] = "sessions",
    [CSAM_ADMIN_PURGE_LOGIN_DEVICES] = "login_devices",
    [CSAM_ADMIN_PURGE_PENDING_ACCOUNTS] = "pending_accounts",
    [CSAM_ADMIN_PURGE_REGISTRATIONS] = "registrations",
    [CSAM_ADMIN_PURGE_PASSWORD_FAILURES] = "password_failures",
    [CSAM_ADMIN_PURGE_SOURCE_FAILURES] = "source_failures",
    [CSAM_ADMIN_PURGE_AUDIT] = "audit",
};

/* The store's kinds, in the same order. */
static const enum csam_store_purge_kind
    csam_admin_purge_store_kind[CSAM_ADMIN_PURGE_KINDS] = {
        [CSAM_ADMIN_PURGE_CHALLENGES] = CSAM_STORE_PURGE_CHALLENGES,
        [CSAM_ADMIN_PURGE_FLOWS] = CSAM_STORE_PURGE_FLOWS,
        [CSAM_ADMIN_PURGE_SESSIONS] = CSAM_STORE_PURGE_SESSIONS,
        [CSAM_ADMIN_PURGE_LOGIN_DEVICES] = CSAM_STORE_PURGE_LOGIN_DEVICES,
        [CSAM_ADMIN_PURGE_PENDING_ACCOUNTS] = CSAM_STORE_PURGE_PENDING_ACCOUNTS,
        [CSAM_ADMIN_PURGE_REGISTRATIONS] = CSAM_STORE_PURGE_REGISTRATIONS,
        [CSAM_ADMIN_PURGE_PASSWORD_FAILURES] =
            CSAM_STORE_PURGE_PASSWORD_FAILURES,
        [CSAM_ADMIN_PURGE_SOURCE_FAILURES] = CSAM_STORE_PURGE_SOURCE_FAILURES,
        [CSAM_ADMIN_PURGE_AUDIT] = CSAM_STORE_PURGE_AUDIT,
};

const char *csam_admin_purge_name(enum csam_admin_purge_kind kind)
{
    return (int)kind >= 0 && kind < CSAM_ADMIN_PURGE_KINDS
               ? csam_admin_purge_names[kind]
               : NULL;
}

static double csam_admin_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* How old a row of kind must be, in seconds; -1: keep them all. */
static long csam_admin_purge_age(const struct csam_config *config,
                                 enum csam_admin_purge_kind kind)
{
    switch (kind) {
    case CSAM_ADMIN_PURGE_PASSWORD_FAILURES:
    case CSAM_ADMIN_PURGE_SOURCE_FAILURES: return CSAM_ADMIN_PURGE_IDLE;
    case CSAM_ADMIN_PURGE_AUDIT:
        return config->audit_retention > 0 ? config->audit_retention * 86400L
                                           : -1;
    default: return CSAM_ADMIN_PURGE_GRACE;
    }
}

/* Delete one kind batch by batch until a batch comes back short. */
static csam_result csam_admin_purge_kind(csam_store *store,
                                         enum csam_admin_purge_kind kind,
                                         long age, long batch,
                                         struct csam_admin_purge *out)
{
    int64_t deleted;
    csam_result res;

    do {
        double started = csam_admin_now_ms(), took;

        res = csam_store_purge_batch(store, csam_admin_purge_store_kind[kind],
                                     age, batch, &deleted);
        if (res != CSAM_OK)
            return res;
        took = csam_admin_now_ms() - started;
        if (took > out->longest_batch_ms)
            out->longest_batch_ms = took;
        out->batches++;
        out->rows[kind] += deleted;
    } while (deleted >= batch);
    return CSAM_OK;
}

csam_result csam_admin_purge(csam_store *store,
                             const struct csam_config *config, int dry_run,
                             long batch, struct csam_admin_purge *out)
{
    double started = csam_admin_now_ms();
    csam_result res = CSAM_OK;
    int kind;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (store == NULL || config == NULL || batch < 1 || batch > 100000)
        return CSAM_ERR_INVALID;
    out->audit_kept = config->audit_retention <= 0;
    for (kind = 0; res == CSAM_OK && kind < CSAM_ADMIN_PURGE_KINDS; kind++) {
        long age = csam_admin_purge_age(config, kind);

        if (age < 0)
            continue;
        if (dry_run)
            res = csam_store_purge_count(store,
                                         csam_admin_purge_store_kind[kind], age,
                                         &out->rows[kind]);
        else
            res = csam_admin_purge_kind(store, kind, age, batch, out);
    }
    out->seconds = (csam_admin_now_ms() - started) / 1000.0;
    return res;
}

/* ---- stats ------------------------------------------------------------- */

static const char *const csam_admin_key_types[CSAM_ADMIN_KEY_TYPES] = {
    "email", "sms", "totp"};
static const char *const csam_admin_key_statuses[CSAM_ADMIN_KEY_STATUSES] = {
    "active", "pending", "inactive"};

const char *csam_admin_key_type_name(size_t i)
{
    return i < CSAM_ADMIN_KEY_TYPES ? csam_admin_key_types[i] : NULL;
}

const char *csam_admin_key_status_name(size_t i)
{
    return i < CSAM_ADMIN_KEY_STATUSES ? csam_admin_key_statuses[i] : NULL;
}

static int csam_admin_index(const char *const *names, size_t n,
                            const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

static void csam_admin_stats_add(const struct csam_store_admin_count *c,
                                 struct csam_admin_stats *out)
{
    if (strcmp(c->what, "accounts") == 0) {
        if (strcmp(c->a, "pending") == 0)
            out->accounts_pending = c->n;
        else if (strcmp(c->a, "active") == 0)
            out->accounts_active = c->n;
        else if (strcmp(c->a, "disabled") == 0)
            out->accounts_disabled = c->n;
    } else if (strcmp(c->what, "keys") == 0) {
        int t = csam_admin_index(csam_admin_key_types, CSAM_ADMIN_KEY_TYPES,
                                 c->a);
        int s = csam_admin_index(csam_admin_key_statuses,
                                 CSAM_ADMIN_KEY_STATUSES, c->b);

        if (t >= 0 && s >= 0)
            out->keys[t][s] = c->n;
    } else if (strcmp(c->what, "registrations_pending") == 0) {
        out->registrations_pending = c->n;
    } else if (strcmp(c->what, "sessions_live") == 0) {
        out->sessions_live = c->n;
    } else if (strcmp(c->what, "audit_24h") == 0) {
        int web = strcmp(c->b, "web_login") == 0;
        int pam = strcmp(c->b, "pam_login") == 0;

        if (strcmp(c->a, "session.created") == 0)
            out->web_logins += c->n;
        else if (strcmp(c->a, "login.password_failed") == 0
                 || (web && strcmp(c->a, "challenge.failed") == 0))
            out->web_failures += c->n;
        else if (pam && strcmp(c->a, "challenge.passed") == 0)
            out->pam_logins += c->n;
        else if (pam && strcmp(c->a, "challenge.failed") == 0)
            out->pam_failures += c->n;
    }
}

csam_result csam_admin_stats(csam_store *store, struct csam_admin_stats *out)
{
    struct csam_store_admin_count counts[CSAM_STORE_ADMIN_COUNTS_MAX];
    csam_result res;
    size_t i, n = 0;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (store == NULL)
        return CSAM_ERR_INVALID;
    res = csam_store_admin_counts(store, counts, CSAM_STORE_ADMIN_COUNTS_MAX,
                                  &n);
    for (i = 0; res == CSAM_OK && i < n; i++)
        csam_admin_stats_add(&counts[i], out);
    return res;
}
