/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The administrator's rows (csam-admin, DESIGN 3.7): the schema's
 * migrations and their runner, the purge of what expired, counts for
 * stats, an account as the administrator sees it, revoking an account's
 * sessions, and the installation's secret fingerprint.  Typed functions;
 * the SQL next to each in admin.c.
 *
 * Nothing here returns a hash, a code, a national number or a secret.
 */
#ifndef CSAM_COMMON_STORE_ADMIN_H
#define CSAM_COMMON_STORE_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "result.h"
#include "store.h"
#include "validate.h"

/* RFC 3339 UTC times and their NUL, with room to spare. */
#define CSAM_STORE_ADMIN_TIME_SIZE 32

/* ---- schema: install.sql's migrations --------------------------------- */

#define CSAM_STORE_MIGRATIONS_MAX 64

struct csam_store_migration {
    int version;     /* NNN of its file name NNN_name.sql */
    char file[64];   /* "005_installation.sql" */
    char title[160]; /* its first line without "-- ", "" if not a comment */
};

struct csam_store_migrations {
    char dir[4096]; /* install.sql's directory, where \ir names files */
    struct csam_store_migration list[CSAM_STORE_MIGRATIONS_MAX];
    size_t n; /* in install.sql's order, versions increasing */
};

/* Read the migrations install.sql lists (its "\ir NNN_name.sql" lines;
 * its other lines are the transaction around them and comments).  The
 * file and every migration it names must be regular files that neither
 * their group nor others can write, in directories that are just as safe
 * (csam_file_check_dirs): csam-admin runs them with the administrator's
 * rights.  Errors, with why: CSAM_ERR_IO (cannot read), CSAM_ERR_INSECURE,
 * CSAM_ERR_CONFIG (a name not NNN_name.sql, versions not increasing, too
 * many). */
csam_result csam_store_migrations_read(const char *install_sql,
                                       struct csam_store_migrations *out,
                                       char *why, size_t why_len);

/* The database's schema version: max(version) of csam_schema_version, 0
 * when there is no schema at all.  Errors: CSAM_ERR_DB. */
csam_result csam_store_schema_version(csam_store *store, int64_t *version);

/* Apply, in one transaction, after the advisory lock install.sql takes
 * (two upgrades never interleave), every migration of list newer than the
 * version the database has once the lock is held; *applied counts them
 * and *version is the version after.  Nothing is applied when one fails:
 * why names the file and the server's message.  Errors: CSAM_ERR_IO
 * (a file cannot be read), CSAM_ERR_INSECURE, CSAM_ERR_DB,
 * CSAM_ERR_INVALID. */
csam_result csam_store_migrations_apply(
    csam_store *store, const struct csam_store_migrations *list,
    size_t *applied, int64_t *version, char *why, size_t why_len);

/* ---- purge ------------------------------------------------------------- */

enum csam_store_purge_kind {
    CSAM_STORE_PURGE_CHALLENGES = 0, /* codes expired age seconds ago */
    CSAM_STORE_PURGE_FLOWS,          /* activation and login handles */
    CSAM_STORE_PURGE_SESSIONS,       /* past their absolute lifetime */
    CSAM_STORE_PURGE_LOGIN_DEVICES,  /* known devices past their life */
    /* pending accounts of registrations never used whose link expired
     * (an activation abandoned before its confirm), with their keys and
     * codes; none a live handle or a recovery points to */
    CSAM_STORE_PURGE_PENDING_ACCOUNTS,
    /* never used, link expired (superseded and revoked ones too), and
     * nothing points to them: no account, flow or code (once the kinds
     * before have run) */
    CSAM_STORE_PURGE_REGISTRATIONS,
    CSAM_STORE_PURGE_PASSWORD_FAILURES, /* no failure for age s, unlocked */
    CSAM_STORE_PURGE_SOURCE_FAILURES,   /* window older than age, unlocked */
    CSAM_STORE_PURGE_AUDIT,             /* rows older than age */
    CSAM_STORE_PURGE_KINDS
};

/* How many rows of kind are older than age seconds as the kind says.
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_purge_count(csam_store *store,
                                   enum csam_store_purge_kind kind, long age,
                                   int64_t *n);

/* Delete at most batch of them in one statement (its own short
 * transaction when none is open); *deleted counts them.  Errors:
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_purge_batch(csam_store *store,
                                   enum csam_store_purge_kind kind, long age,
                                   long batch, int64_t *deleted);

/* ---- stats ------------------------------------------------------------- */

/* One count: what ("accounts", "keys", "registrations_pending",
 * "sessions_live", "audit_24h"), two words saying which ones (a status; a
 * key type and a status; an audit action and the code's purpose), n. */
struct csam_store_admin_count {
    char what[24];
    char a[65];
    char b[24];
    int64_t n;
};

#define CSAM_STORE_ADMIN_COUNTS_MAX 64

/* Every count of stats in one statement, at most max in out[0..*n).
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_admin_counts(csam_store *store,
                                    struct csam_store_admin_count *out,
                                    size_t max, size_t *n);

/* ---- an account -------------------------------------------------------- */

#define CSAM_STORE_ADMIN_KEYS_MAX 8

struct csam_store_admin_key {
    char type[8];    /* "email", "sms", "totp" */
    char status[16]; /* "active", "pending", "inactive" */
    char activated_at[CSAM_STORE_ADMIN_TIME_SIZE]; /* "" never */
};

struct csam_store_admin_account {
    int64_t id;
    char username[CSAM_USERNAME_BUFSIZE];
    char status[16];
    char created_at[CSAM_STORE_ADMIN_TIME_SIZE];
    char activated_at[CSAM_STORE_ADMIN_TIME_SIZE]; /* "" never */
    char password_changed_at[CSAM_STORE_ADMIN_TIME_SIZE];
    char locked_until[CSAM_STORE_ADMIN_TIME_SIZE];   /* wrong codes; "" none */
    char last_web_login[CSAM_STORE_ADMIN_TIME_SIZE]; /* "" none (audit) */
    char last_pam_login[CSAM_STORE_ADMIN_TIME_SIZE]; /* "" none (audit) */
    int64_t sessions_live;
    struct csam_store_admin_key keys[CSAM_STORE_ADMIN_KEYS_MAX];
    size_t n_keys; /* the newest key of each type, an active one first */
};

/* The account named username, in one statement.  Errors:
 * CSAM_ERR_NOT_FOUND, CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_admin_account(csam_store *store, const char *username,
                                     struct csam_store_admin_account *out);

/* End every live session of the account named username (revoked now, on
 * every node); *account_id names it and *revoked counts the sessions.
 * Inside the caller's transaction when one is open.  Errors:
 * CSAM_ERR_NOT_FOUND, CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_admin_sessions_revoke(csam_store *store,
                                             const char *username,
                                             int64_t *account_id,
                                             int64_t *revoked);

/* ---- the installation's secret fingerprint (csam_installation) -------- */

struct csam_store_installation {
    unsigned char fingerprint[CSAM_HASH_LEN];
    char recorded_at[CSAM_STORE_ADMIN_TIME_SIZE];
    char recorded_by[256];
    /* schema 6: the fingerprint a complete rekey replaced (has_previous
     * 0: none), when the newest rekey began ("" and 0: never) and ended
     * ("": not complete) */
    unsigned char previous_fingerprint[CSAM_HASH_LEN];
    int has_previous;
    char rekey_started_at[CSAM_STORE_ADMIN_TIME_SIZE];
    int64_t rekey_started_epoch;
    char rekeyed_at[CSAM_STORE_ADMIN_TIME_SIZE];
};

/* The row, CSAM_ERR_NOT_FOUND when none was recorded yet.  Errors:
 * CSAM_ERR_DB. */
csam_result csam_store_installation_get(csam_store *store,
                                        struct csam_store_installation *out);

/* Record fingerprint by `by` unless a row is there already (it is never
 * overwritten); *recorded is 1 when this call wrote it.  Errors:
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_installation_record(csam_store *store,
                                           const unsigned char *fingerprint,
                                           const char *by, int *recorded);

#endif
