/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL layer: one libpq connection, prepared statements only.
 *
 * A csam_store is one connection and is not thread-safe: hosts keep one
 * per thread (mod_csam's reslist) or per call (pam_csam).  This header is
 * the store's public face, the connection and its transactions, which the
 * engine hands on to the modules; statements and their rows are in
 * statement.h, for the store's own files only (tests/check-layers.sh).
 *
 * Reconnection: a call that finds the connection bad resets it (PQreset)
 * before running.  A statement marked CSAM_STORE_RETRY (a read, a BEGIN,
 * or a write whose repetition is harmless) is run once more after a reset
 * when the connection broke under it.  A failure inside a transaction
 * marks the transaction failed: csam_store_commit() then rolls it back and
 * returns CSAM_ERR_DB, so no half of a step is ever committed.
 *
 * Bounds (struct csam_store_bounds): a database that stops answering
 * (a stopped server, a network black hole) must not hold a worker or a
 * PAM prompt until TCP gives up.  Connecting is bounded by libpq's
 * connect_timeout (per address tried); every statement by the server's
 * statement_timeout and lock_timeout, and, for a server that cannot even
 * time out, by a wait on the socket that gives up a little later; an idle
 * transaction by idle_in_transaction_session_timeout.  The statement
 * waits of one store also share a budget (csam_store_budget): a host
 * bounds the total a unit of work (a request, an authentication) may
 * wait, not only each wait.  A wait that gives up drops the connection
 * (the server rolls back whatever transaction was open) and the store
 * answers CSAM_ERR_DB from then on without trying again: it is not
 * healthy, and the host replaces it.
 *
 * Nothing here logs a parameter value: they may be hashes, codes or
 * addresses.  Logged messages name the statement and the SQLSTATE only.
 */
#ifndef CSAM_COMMON_STORE_H
#define CSAM_COMMON_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "result.h"

/* The schema version this code needs (conf/sql: max(version) of
 * csam_schema_version). */
#define CSAM_STORE_SCHEMA_VERSION 6

/* The file that creates or upgrades a database's schema where make install
 * put it ($(pkgdatadir)/sql/install.sql, defined by Makefile.am): every
 * message about a missing or old schema names it, not the source tree. */
#ifndef CSAM_SCHEMA_FILE
#define CSAM_SCHEMA_FILE "/usr/share/csam/sql/install.sql"
#endif

typedef struct csam_store csam_store;

struct csam_config;

/* How long a store may wait for the database (0 anywhere: no bound, as
 * csam_store_open gives, for csam-admin's long batches). */
struct csam_store_bounds {
    long connect_timeout;   /* s: libpq's connect_timeout, replacing one the
                               conninfo sets (libpq counts 1 as 2) */
    long statement_timeout; /* ms: statement_timeout and lock_timeout */
    long idle_timeout;      /* ms: idle_in_transaction_session_timeout */
    long budget;            /* ms: what the statements of one unit of work
                               may wait in all (csam_store_budget) */
};

/* How much longer than statement_timeout a wait on the socket lasts: a
 * server that answers reports its own timeout (SQLSTATE 57014) first. */
#define CSAM_STORE_WAIT_GRACE_MS 500

/* The bounds csam.conf's db_connect_timeout and db_statement_timeout
 * give.  An idle transaction may last as long as a mail or an SMS sent
 * inside it (the mail goes out before COMMIT) plus a statement. */
void csam_store_bounds_from_config(const struct csam_config *cfg,
                                   struct csam_store_bounds *out);

/* csam_store_open with bounds (NULL: none).  Setting the session's
 * timeouts costs one round trip when connecting (and after a reset),
 * none per statement. */
csam_result csam_store_open_bounded(const char *conninfo,
                                    const struct csam_store_bounds *bounds,
                                    const struct csam_logger *logger,
                                    csam_store **out);

/* Give the store ms milliseconds of statement waits from now on (a pool
 * refills it for each request; 0: the bounds' budget).  A store opened
 * with a budget starts with it. */
void csam_store_budget(csam_store *store, long ms);

/* What is left of the budget, ms (-1: no budget). */
long csam_store_budget_left(const csam_store *store);

/* 1 when a wait gave up on this store: the database stopped answering
 * (the store is not healthy; a pool may pause before connecting again). */
int csam_store_stalled(const csam_store *store);

/* Connect with a libpq conninfo string.  The logger is copied; what its
 * ctx points to must outlive the store.  *out is owned by the caller
 * (csam_store_close).  Errors: CSAM_ERR_INVALID (NULL conninfo or out),
 * CSAM_ERR_NOMEM, CSAM_ERR_DB (cannot connect: *out stays NULL). */
csam_result csam_store_open(const char *conninfo,
                            const struct csam_logger *logger, csam_store **out);

/* CSAM_OK when the database's schema is at least CSAM_STORE_SCHEMA_VERSION.
 * Errors: CSAM_ERR_SCHEMA (older, or no schema at all; logged, naming
 * CSAM_SCHEMA_FILE), CSAM_ERR_DB. */
csam_result csam_store_check_schema(csam_store *store);

/* Close the connection (rolling back an open transaction) and free the
 * store.  NULL is a no-op. */
void csam_store_close(csam_store *store);

/* Whether conninfo is a connection string libpq accepts (checked at
 * startup, before any connection is tried).  On CSAM_ERR_INVALID, why
 * (why_len bytes) says what is wrong with it. */
csam_result csam_store_conninfo_check(const char *conninfo, char *why,
                                      size_t why_len);

/* The service a conninfo names (its service= keyword) in service (len
 * bytes), "" when it names none.  Errors: CSAM_ERR_INVALID (not a
 * conninfo string). */
csam_result csam_store_conninfo_service(const char *conninfo, char *service,
                                        size_t len);

/* The system's service file as Debian's libpq reads it (its sysconfdir);
 * PGSYSCONFDIR would move it, but the modules hide the environment when
 * they connect (environ.h). */
#define CSAM_STORE_SYSTEM_SERVICE_FILE "/etc/postgresql-common/pg_service.conf"

/* 1 when the pg_service.conf file at path defines [service], 0 when it
 * does not or cannot be read. */
int csam_store_service_defined(const char *path, const char *service);

/* Whether the store can be handed to the next user as it is: the
 * connection is up and no transaction is left open (a pool asks it when
 * a handle comes back, as mod_dbd does; 0: close it instead). */
int csam_store_healthy(const csam_store *store);

/* Transactions.  begin: CSAM_ERR_INVALID when one is already open.
 * commit: CSAM_ERR_DB when a statement failed inside it or COMMIT failed;
 * the transaction is over either way.  rollback never fails visibly. */
csam_result csam_store_begin(csam_store *store);
csam_result csam_store_commit(csam_store *store);
void csam_store_rollback(csam_store *store);

/* Number of times the connection was reset (for tests and diagnostics). */
unsigned long csam_store_resets(const csam_store *store);

/* Number of round trips made so far (statements executed, prepared or
 * retried), for tests and diagnostics of the "one round trip" budgets. */
unsigned long csam_store_round_trips(const csam_store *store);

/* The version of the libpq loaded at run time, as PQlibVersion() gives
 * it (150008 for 15.8). */
int csam_store_libpq_version(void);

#endif
