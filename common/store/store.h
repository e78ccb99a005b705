/*
 * The PostgreSQL layer: one libpq connection, prepared statements only.
 *
 * A csam_store is one connection and is not thread-safe: hosts keep one
 * per thread (mod_csam's reslist) or per call (pam_csam).  Statements are
 * described by static struct csam_store_stmt values next to the code that
 * uses them; the store prepares each one lazily, once per connection, and
 * prepares them again after a reconnection.
 *
 * Reconnection: a call that finds the connection bad resets it (PQreset)
 * before running.  A statement marked CSAM_STORE_RETRY (a read, a BEGIN,
 * or a write whose repetition is harmless) is run once more after a reset
 * when the connection broke under it.  A failure inside a transaction
 * marks the transaction failed: csam_store_commit() then rolls it back and
 * returns CSAM_ERR_DB, so no half of a step is ever committed.
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
#define CSAM_STORE_SCHEMA_VERSION 3

typedef struct csam_store csam_store;

/* Connect with a libpq conninfo string.  The logger is copied; what its
 * ctx points to must outlive the store.  *out is owned by the caller
 * (csam_store_close).  Errors: CSAM_ERR_INVALID (NULL conninfo or out),
 * CSAM_ERR_NOMEM, CSAM_ERR_DB (cannot connect: *out stays NULL). */
csam_result csam_store_open(const char *conninfo,
                            const struct csam_logger *logger, csam_store **out);

/* CSAM_OK when the database's schema is at least CSAM_STORE_SCHEMA_VERSION.
 * Errors: CSAM_ERR_SCHEMA (older, or no schema at all), CSAM_ERR_DB. */
csam_result csam_store_check_schema(csam_store *store);

/* Close the connection (rolling back an open transaction) and free the
 * store.  NULL is a no-op. */
void csam_store_close(csam_store *store);

/* Whether conninfo is a connection string libpq accepts (checked at
 * startup, before any connection is tried).  On CSAM_ERR_INVALID, why
 * (why_len bytes) says what is wrong with it. */
csam_result csam_store_conninfo_check(const char *conninfo, char *why,
                                      size_t why_len);

/* Whether the store can be handed to the next user as it is: the
 * connection is up and no transaction is left open (a pool asks it when
 * a handle comes back, as mod_dbd does; 0: close it instead). */
int csam_store_healthy(const csam_store *store);

/* ---- statements, for libcsam's own use -------------------------------- */

enum csam_store_flags {
    CSAM_STORE_RETRY = 1 << 0 /* may run again after a reconnection */
};

/* A statement: its prepared-statement name (unique, "csam_" prefixed),
 * its SQL with $1..$n, and how many parameters it takes.  Instances are
 * static and live as long as the program. */
struct csam_store_stmt {
    const char *name;
    const char *sql;
    int nparams;
    unsigned flags;
};

/* One parameter: text (len ignored) or binary bytes (bytea: len bytes).
 * value NULL is SQL NULL. */
struct csam_store_param {
    const void *value;
    int len;
    int binary;
};

/* Shorthands to build parameter arrays. */
struct csam_store_param csam_store_text(const char *s);
struct csam_store_param csam_store_bytes(const void *b, size_t len);

/* Integer parameters are passed as text; buf must outlive the call. */
#define CSAM_STORE_INT_SIZE 24
struct csam_store_param csam_store_int(int64_t v,
                                       char buf[CSAM_STORE_INT_SIZE]);

/* The rows a statement returned (text format).  Opaque. */
typedef struct csam_store_rows csam_store_rows;

/* Run stmt with params[0..stmt->nparams).  On CSAM_OK, *rows (when rows
 * is not NULL) holds the result, freed by csam_store_rows_free().
 * Errors: CSAM_ERR_DB (the SQLSTATE is then in csam_store_sqlstate()),
 * CSAM_ERR_INVALID, CSAM_ERR_NOMEM. */
csam_result csam_store_exec(csam_store *store,
                            const struct csam_store_stmt *stmt,
                            const struct csam_store_param *params,
                            csam_store_rows **rows);

int csam_store_nrows(const csam_store_rows *rows);
/* Rows affected by an INSERT/UPDATE/DELETE without RETURNING. */
long csam_store_affected(const csam_store_rows *rows);
/* The value at (row, col) as text, or NULL for SQL NULL or out of range. */
const char *csam_store_value(const csam_store_rows *rows, int row, int col);
/* The value parsed as an integer; def for NULL, out of range or junk. */
int64_t csam_store_int64(const csam_store_rows *rows, int row, int col,
                         int64_t def);
/* 1 for PostgreSQL's "t", 0 otherwise. */
int csam_store_bool(const csam_store_rows *rows, int row, int col);
/* The same, by column name, as the statements' SQL names them (AS ...):
 * the way every reader outside store.c reads its columns, next to the SQL
 * that names them.  An unknown name reads as SQL NULL. */
const char *csam_store_get(const csam_store_rows *rows, int row,
                           const char *column);
int64_t csam_store_get_int64(const csam_store_rows *rows, int row,
                             const char *column, int64_t def);
int csam_store_get_bool(const csam_store_rows *rows, int row,
                        const char *column);
void csam_store_rows_free(csam_store_rows *rows);

/* The five-character SQLSTATE of the last failed statement, "" if none
 * (e.g. "23505" for a unique violation). */
const char *csam_store_sqlstate(const csam_store *store);

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

#endif
