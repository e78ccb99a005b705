/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statements and their rows, for the store's own files only: each one is
 * a static struct csam_store_stmt next to the typed function that runs it
 * (common/store/<concern>.c), prepared lazily, once per connection, and
 * again after a reconnection.  Nothing outside common/store includes this
 * (tests/check-layers.sh).
 */
#ifndef CSAM_COMMON_STATEMENT_H
#define CSAM_COMMON_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

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
/* Copy the value into dst (size bytes, size > 0), always terminated; SQL
 * NULL, out of range or an unknown name copies "".  A value longer than
 * size - 1 is cut: returns 1 when the whole value fits, 0 when it was
 * cut, so a reader for whom a cut value could mean another can refuse
 * it. */
int csam_store_get_copy(const csam_store_rows *rows, int row,
                        const char *column, char *dst, size_t size);
/* The bytes of a bytea column the statement reads as encode(col, 'hex')
 * into dst: how many (at most size), or 0 for SQL NULL, an unknown name,
 * or a value that is not lowercase hex or holds more than size bytes. */
size_t csam_store_get_hex(const csam_store_rows *rows, int row,
                          const char *column, unsigned char *dst, size_t size);
void csam_store_rows_free(csam_store_rows *rows);

/* Run a script of several SQL statements without parameters (a schema
 * migration, admin.c), inside the caller's transaction, which must be
 * open: the one way in for text that is not a prepared statement, kept
 * for the store's files and never given anything a user typed.  On
 * failure the transaction is marked failed and why (why_len bytes) holds
 * the server's message, for the administrator who runs it; it is not
 * logged.  Errors: CSAM_ERR_INVALID (no transaction open), CSAM_ERR_DB. */
csam_result csam_store_run_script(csam_store *store, const char *sql, char *why,
                                  size_t why_len);

/* The five-character SQLSTATE of the last failed statement, "" if none
 * (e.g. "23505" for a unique violation). */
const char *csam_store_sqlstate(const csam_store *store);

#endif
