/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PostgreSQL layer over libpq (see store.h for the contract).
 */
/* clock_gettime, poll */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "config.h"
#include "environ.h"
#include "statement.h"

/* More distinct statements than libcsam has; a table, not a hash: lookups
 * are a pointer compare over a few dozen entries. */
#define CSAM_STORE_MAX_STMTS 128
#define CSAM_STORE_MAX_PARAMS 24

struct csam_store {
    PGconn *conn; /* NULL once a wait gave up (given_up) */
    struct csam_store_bounds bounds;
    long wait_left; /* ms of statement waits left, -1: no budget */
    int given_up;   /* the database stopped answering: no more tries */
    struct csam_logger logger;
    const struct csam_store_stmt *prepared[CSAM_STORE_MAX_STMTS];
    size_t nprepared;
    int in_tx;
    int tx_failed;
    unsigned long resets;
    unsigned long round_trips;
    char sqlstate[6];
};

struct csam_store_rows {
    PGresult *res;
};

static const struct csam_store_stmt csam_store_stmt_begin = {
    "csam_store_begin", "BEGIN", 0, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_store_stmt_commit = {
    "csam_store_commit", "COMMIT", 0, 0};
static const struct csam_store_stmt csam_store_stmt_rollback = {
    "csam_store_rollback", "ROLLBACK", 0, 0};
static const struct csam_store_stmt csam_store_stmt_schema = {
    "csam_store_schema",
    "SELECT max(version) AS version FROM csam_schema_version", 0,
    CSAM_STORE_RETRY};

/* libpq's notices (e.g. "there is no transaction in progress") are for
 * people reading psql, not for a server log. */
static void csam_store_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static long csam_store_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long the next wait may last, ms (-1: for ever): the statement bound
 * (the server's own timeout plus a grace), cut to the budget left. */
static long csam_store_wait_limit(const csam_store *store)
{
    long limit = -1;

    if (store->bounds.statement_timeout > 0)
        limit = store->bounds.statement_timeout + CSAM_STORE_WAIT_GRACE_MS;
    if (store->wait_left >= 0 && (limit < 0 || store->wait_left < limit))
        limit = store->wait_left;
    return limit;
}

/* The database did not answer in time: drop the connection.  Closing the
 * socket is what a stopped server cannot ignore: when it runs again, the
 * backend finds its client gone and rolls back the open transaction (a
 * cancel request would have to reach the stopped postmaster first). */
static void csam_store_give_up(csam_store *store, const char *what, long ms)
{
    csam_log(&store->logger, CSAM_LOG_ERR,
             "database statement %s: no answer within %ld ms, connection "
             "dropped",
             what, ms);
    PQfinish(store->conn);
    store->conn = NULL;
    store->given_up = 1;
    snprintf(store->sqlstate, sizeof(store->sqlstate), "%s", "57014");
    if (store->in_tx)
        store->tx_failed = 1;
}

/* The result of what was just sent (the first error when a script gave
 * several results, else the last result), waiting at most the wait limit
 * for it; NULL when nothing came back (the connection broke, or the wait
 * gave up and dropped it). */
static PGresult *csam_store_collect(csam_store *store, const char *what)
{
    long limit = csam_store_wait_limit(store);
    long start = csam_store_now_ms();
    PGresult *res = NULL, *next;

    for (;;) {
        while (PQisBusy(store->conn)) {
            struct pollfd pfd;
            long left = limit < 0 ? -1 : start + limit - csam_store_now_ms();
            int rc;

            if (limit >= 0 && left <= 0) {
                PQclear(res);
                csam_store_give_up(store, what, limit);
                return NULL;
            }
            pfd.fd = PQsocket(store->conn);
            pfd.events = POLLIN;
            pfd.revents = 0;
            if (pfd.fd < 0)
                break; /* gone: PQgetResult says so without waiting */
            rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
            if (rc < 0 && errno != EINTR)
                break;
            if (rc > 0 && !PQconsumeInput(store->conn))
                break;
        }
        next = PQgetResult(store->conn);
        if (next == NULL)
            break;
        if (res == NULL || PQresultStatus(res) == PGRES_COMMAND_OK
            || PQresultStatus(res) == PGRES_TUPLES_OK) {
            PQclear(res);
            res = next;
        } else {
            PQclear(next);
        }
    }
    if (store->wait_left >= 0) {
        store->wait_left -= csam_store_now_ms() - start;
        if (store->wait_left < 0)
            store->wait_left = 0;
    }
    return res;
}

/* The session's timeouts, in one round trip: SET, not options=-c in the
 * conninfo, so options an administrator set (in the conninfo or a
 * service file) still apply. */
static int csam_store_set_timeouts(csam_store *store)
{
    char sql[256];
    PGresult *res;
    int ok;

    if (store->bounds.statement_timeout <= 0 && store->bounds.idle_timeout <= 0)
        return 1;
    snprintf(sql, sizeof(sql),
             "SET statement_timeout = %ld; SET lock_timeout = %ld; "
             "SET idle_in_transaction_session_timeout = %ld",
             store->bounds.statement_timeout, store->bounds.statement_timeout,
             store->bounds.idle_timeout);
    store->round_trips++;
    if (!PQsendQuery(store->conn, sql))
        return 0;
    res = csam_store_collect(store, "csam_store_timeouts");
    ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
}

static int csam_store_configure(csam_store *store)
{
    PQsetNoticeProcessor(store->conn, csam_store_notice, NULL);
    /* Every string we send and read is UTF-8, whatever the server's
     * default says: asked for when connecting (client_encoding). */
    return csam_store_set_timeouts(store);
}

/* libpq's message about conn in buf, without the newline libpq ends it
 * with (a log line is one line).  Returns buf. */
static const char *csam_store_libpq_message(const PGconn *conn, char *buf,
                                            size_t len)
{
    size_t n;

    snprintf(buf, len, "%s", PQerrorMessage(conn));
    n = strlen(buf);
    while (n > 0
           && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '
               || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    return buf;
}

int csam_store_libpq_version(void)
{
    return PQlibVersion();
}

csam_result csam_store_open(const char *conninfo,
                            const struct csam_logger *logger, csam_store **out)
{
    return csam_store_open_bounded(conninfo, NULL, logger, out);
}

void csam_store_bounds_from_config(const struct csam_config *cfg,
                                   struct csam_store_bounds *out)
{
    long longest = cfg->mail_timeout > cfg->sms_timeout ? cfg->mail_timeout
                                                        : cfg->sms_timeout;

    out->connect_timeout = cfg->db_connect_timeout;
    out->statement_timeout = cfg->db_statement_timeout * 1000;
    out->idle_timeout = (longest + cfg->db_statement_timeout) * 1000;
    out->budget = out->statement_timeout + CSAM_STORE_WAIT_GRACE_MS;
}

void csam_store_budget(csam_store *store, long ms)
{
    if (store == NULL)
        return;
    if (ms <= 0)
        ms = store->bounds.budget > 0 ? store->bounds.budget : -1;
    store->wait_left = ms;
}

long csam_store_budget_left(const csam_store *store)
{
    return store != NULL ? store->wait_left : -1;
}

int csam_store_stalled(const csam_store *store)
{
    return store != NULL && store->given_up;
}

csam_result csam_store_open_bounded(const char *conninfo,
                                    const struct csam_store_bounds *bounds,
                                    const struct csam_logger *logger,
                                    csam_store **out)
{
    /* The conninfo is expanded first (expand_dbname), so what follows it
     * wins: db_connect_timeout replaces a connect_timeout the conninfo
     * sets, which could otherwise be 0 (for ever). */
    const char *keywords[] = {"dbname", "client_encoding", "connect_timeout",
                              NULL};
    const char *values[4];
    char connect_timeout[24];
    char msg[512];
    csam_store *store;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (conninfo == NULL)
        return CSAM_ERR_INVALID;
    store = calloc(1, sizeof(*store));
    if (store == NULL)
        return CSAM_ERR_NOMEM;
    if (logger != NULL)
        store->logger = *logger;
    if (bounds != NULL)
        store->bounds = *bounds;
    store->wait_left = -1;
    csam_store_budget(store, 0);
    values[0] = conninfo;
    values[1] = "UTF8";
    values[2] = NULL;
    if (store->bounds.connect_timeout > 0) {
        snprintf(connect_timeout, sizeof(connect_timeout), "%ld",
                 store->bounds.connect_timeout);
        values[2] = connect_timeout;
    }
    values[3] = NULL;
    /* Only the conninfo decides where and how to connect, never the
     * environment of the host process (environ.h says why and how). */
    csam_environ_hide();
    store->conn = PQconnectdbParams(keywords, values, 1);
    csam_environ_restore();
    if (store->conn == NULL) {
        free(store);
        return CSAM_ERR_NOMEM;
    }
    if (PQstatus(store->conn) != CONNECTION_OK
        || !csam_store_configure(store)) {
        /* libpq's message names the host and the reason, never the
         * password of the conninfo string. */
        csam_log(&store->logger, CSAM_LOG_ERR, "database connection failed: %s",
                 csam_store_libpq_message(store->conn, msg, sizeof(msg)));
        PQfinish(store->conn); /* NULL when the wait gave up: a no-op */
        free(store);
        return CSAM_ERR_DB;
    }
    *out = store;
    return CSAM_OK;
}

void csam_store_close(csam_store *store)
{
    if (store == NULL)
        return;
    if (store->in_tx)
        csam_store_rollback(store);
    PQfinish(store->conn);
    free(store);
}

unsigned long csam_store_resets(const csam_store *store)
{
    return store != NULL ? store->resets : 0;
}

unsigned long csam_store_round_trips(const csam_store *store)
{
    return store != NULL ? store->round_trips : 0;
}

const char *csam_store_sqlstate(const csam_store *store)
{
    return store != NULL ? store->sqlstate : "";
}

/* Reconnect with the same parameters.  Prepared statements died with the
 * old server session, so the table is emptied and they are prepared again
 * when next used. */
static int csam_store_reset(csam_store *store)
{
    char msg[512];

    store->nprepared = 0;
    store->resets++;
    /* A reset reads the environment again (the startup packet's
     * settings, TLS and Kerberos files): hidden as when connecting. */
    csam_environ_hide();
    PQreset(store->conn);
    csam_environ_restore();
    if (PQstatus(store->conn) != CONNECTION_OK
        || !csam_store_configure(store)) {
        csam_log(&store->logger, CSAM_LOG_ERR,
                 "database reconnection failed: %s",
                 csam_store_libpq_message(store->conn, msg, sizeof(msg)));
        return 0;
    }
    csam_log(&store->logger, CSAM_LOG_NOTICE, "database connection reset");
    return 1;
}

static int csam_store_is_prepared(const csam_store *store,
                                  const struct csam_store_stmt *stmt)
{
    size_t i;

    for (i = 0; i < store->nprepared; i++)
        if (store->prepared[i] == stmt)
            return 1;
    return 0;
}

static void csam_store_note_error(csam_store *store, const PGresult *res,
                                  const char *what)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                                    : NULL;

    snprintf(store->sqlstate, sizeof(store->sqlstate), "%s",
             state != NULL ? state : "");
    /* The primary message of a constraint or syntax error may quote a
     * value (a username, a hash): only the statement and SQLSTATE go to
     * the log. */
    csam_log(
        &store->logger,
        strcmp(store->sqlstate, "23505") == 0 ? CSAM_LOG_INFO : CSAM_LOG_ERR,
        "database statement %s failed: SQLSTATE %s%s", what,
        store->sqlstate[0] != '\0' ? store->sqlstate : "none",
        PQstatus(store->conn) != CONNECTION_OK ? " (connection lost)" : "");
}

static int csam_store_prepare(csam_store *store,
                              const struct csam_store_stmt *stmt)
{
    PGresult *res;
    int ok;

    if (csam_store_is_prepared(store, stmt))
        return 1;
    if (store->nprepared == CSAM_STORE_MAX_STMTS) {
        csam_log(&store->logger, CSAM_LOG_ERR,
                 "too many distinct statements for one connection");
        return 0;
    }
    store->round_trips++;
    res = NULL;
    if (PQsendPrepare(store->conn, stmt->name, stmt->sql, stmt->nparams, NULL))
        res = csam_store_collect(store, stmt->name);
    if (store->given_up)
        return 0;
    ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (ok)
        store->prepared[store->nprepared++] = stmt;
    else
        csam_store_note_error(store, res, stmt->name);
    PQclear(res);
    return ok;
}

/* One attempt: prepare if needed, then execute.  Returns the result (which
 * may be an error result) or NULL when nothing came back. */
static PGresult *csam_store_run(csam_store *store,
                                const struct csam_store_stmt *stmt,
                                const struct csam_store_param *params)
{
    const char *values[CSAM_STORE_MAX_PARAMS];
    int lengths[CSAM_STORE_MAX_PARAMS];
    int formats[CSAM_STORE_MAX_PARAMS];
    int i;

    if (!csam_store_prepare(store, stmt))
        return NULL;
    for (i = 0; i < stmt->nparams; i++) {
        values[i] = params[i].value;
        lengths[i] = params[i].binary ? params[i].len : 0;
        formats[i] = params[i].binary ? 1 : 0;
    }
    store->round_trips++;
    if (!PQsendQueryPrepared(store->conn, stmt->name, stmt->nparams,
                             stmt->nparams > 0 ? values : NULL,
                             stmt->nparams > 0 ? lengths : NULL,
                             stmt->nparams > 0 ? formats : NULL, 0))
        return NULL;
    return csam_store_collect(store, stmt->name);
}

static int csam_store_result_ok(const PGresult *res)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;

    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

csam_result csam_store_exec(csam_store *store,
                            const struct csam_store_stmt *stmt,
                            const struct csam_store_param *params,
                            csam_store_rows **rows)
{
    PGresult *res = NULL;
    int attempt;

    if (rows != NULL)
        *rows = NULL;
    if (store == NULL || stmt == NULL || stmt->nparams < 0
        || stmt->nparams > CSAM_STORE_MAX_PARAMS
        || (stmt->nparams > 0 && params == NULL))
        return CSAM_ERR_INVALID;
    store->sqlstate[0] = '\0';
    if (store->in_tx && store->tx_failed)
        return CSAM_ERR_DB;
    /* A database that stopped answering would only hang the next try
     * too: the host replaces this store (csam_store_healthy). */
    if (store->given_up) {
        snprintf(store->sqlstate, sizeof(store->sqlstate), "%s", "57014");
        return CSAM_ERR_DB;
    }

    for (attempt = 0; attempt < 2; attempt++) {
        /* A connection already known to be dead is reset first; inside
         * a transaction that would silently lose its earlier statements,
         * so the transaction fails instead. */
        if (PQstatus(store->conn) != CONNECTION_OK) {
            if (store->in_tx || !csam_store_reset(store))
                break;
        }
        res = csam_store_run(store, stmt, params);
        if (csam_store_result_ok(res)) {
            if (rows != NULL) {
                *rows = malloc(sizeof(**rows));
                if (*rows == NULL) {
                    PQclear(res);
                    return CSAM_ERR_NOMEM;
                }
                (*rows)->res = res;
            } else {
                PQclear(res);
            }
            return CSAM_OK;
        }
        if (res != NULL)
            csam_store_note_error(store, res, stmt->name);
        PQclear(res);
        res = NULL;
        if (store->given_up)
            break;
        /* Only a broken connection is worth another try, and only for a
         * statement that may safely run twice. */
        if (store->in_tx || !(stmt->flags & CSAM_STORE_RETRY)
            || PQstatus(store->conn) == CONNECTION_OK)
            break;
    }
    if (store->in_tx)
        store->tx_failed = 1;
    return CSAM_ERR_DB;
}

int csam_store_nrows(const csam_store_rows *rows)
{
    return rows != NULL ? PQntuples(rows->res) : 0;
}

long csam_store_affected(const csam_store_rows *rows)
{
    const char *n = rows != NULL ? PQcmdTuples(rows->res) : "";
    char *end;
    long v;

    if (n == NULL || n[0] == '\0')
        return 0;
    errno = 0;
    v = strtol(n, &end, 10);
    return errno == 0 && *end == '\0' ? v : 0;
}

const char *csam_store_value(const csam_store_rows *rows, int row, int col)
{
    if (rows == NULL || row < 0 || col < 0 || row >= PQntuples(rows->res)
        || col >= PQnfields(rows->res) || PQgetisnull(rows->res, row, col))
        return NULL;
    return PQgetvalue(rows->res, row, col);
}

int64_t csam_store_int64(const csam_store_rows *rows, int row, int col,
                         int64_t def)
{
    const char *s = csam_store_value(rows, row, col);
    char *end;
    long long v;

    if (s == NULL || s[0] == '\0')
        return def;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return def;
    return (int64_t)v;
}

int csam_store_bool(const csam_store_rows *rows, int row, int col)
{
    const char *s = csam_store_value(rows, row, col);

    return s != NULL && s[0] == 't' && s[1] == '\0';
}

static int csam_store_column(const csam_store_rows *rows, const char *column)
{
    if (rows == NULL || column == NULL)
        return -1;
    return PQfnumber(rows->res, column);
}

const char *csam_store_get(const csam_store_rows *rows, int row,
                           const char *column)
{
    return csam_store_value(rows, row, csam_store_column(rows, column));
}

int64_t csam_store_get_int64(const csam_store_rows *rows, int row,
                             const char *column, int64_t def)
{
    return csam_store_int64(rows, row, csam_store_column(rows, column), def);
}

int csam_store_get_bool(const csam_store_rows *rows, int row,
                        const char *column)
{
    return csam_store_bool(rows, row, csam_store_column(rows, column));
}

int csam_store_get_copy(const csam_store_rows *rows, int row,
                        const char *column, char *dst, size_t size)
{
    const char *src = csam_store_get(rows, row, column);
    size_t n;
    int whole;

    if (size == 0)
        return 0;
    if (src == NULL) {
        dst[0] = '\0';
        return 1;
    }
    n = strlen(src);
    whole = n < size;
    if (!whole)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return whole;
}

static int csam_store_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t csam_store_get_hex(const csam_store_rows *rows, int row,
                          const char *column, unsigned char *dst, size_t size)
{
    const char *hex = csam_store_get(rows, row, column);
    size_t i, len;
    int hi, lo;

    if (hex == NULL || dst == NULL || strlen(hex) % 2 != 0
        || strlen(hex) / 2 > size)
        return 0;
    len = strlen(hex) / 2;
    for (i = 0; i < len; i++) {
        hi = csam_store_hex_digit(hex[2 * i]);
        lo = csam_store_hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    return len;
}

void csam_store_rows_free(csam_store_rows *rows)
{
    if (rows == NULL)
        return;
    PQclear(rows->res);
    free(rows);
}

struct csam_store_param csam_store_text(const char *s)
{
    struct csam_store_param p = {s, 0, 0};

    return p;
}

struct csam_store_param csam_store_bytes(const void *b, size_t len)
{
    struct csam_store_param p = {b, len > INT_MAX ? INT_MAX : (int)len, 1};

    return p;
}

struct csam_store_param csam_store_int(int64_t v, char buf[CSAM_STORE_INT_SIZE])
{
    snprintf(buf, CSAM_STORE_INT_SIZE, "%" PRId64, v);
    return csam_store_text(buf);
}

csam_result csam_store_begin(csam_store *store)
{
    csam_result res;

    if (store == NULL || store->in_tx)
        return CSAM_ERR_INVALID;
    res = csam_store_exec(store, &csam_store_stmt_begin, NULL, NULL);
    if (res == CSAM_OK) {
        store->in_tx = 1;
        store->tx_failed = 0;
    }
    return res;
}

csam_result csam_store_commit(csam_store *store)
{
    csam_store_rows *rows = NULL;
    csam_result res;
    int committed;

    if (store == NULL || !store->in_tx)
        return CSAM_ERR_INVALID;
    if (store->tx_failed) {
        csam_store_rollback(store);
        return CSAM_ERR_DB;
    }
    res = csam_store_exec(store, &csam_store_stmt_commit, NULL, &rows);
    /* COMMIT of a transaction the server aborted answers "ROLLBACK"
     * without an error: only "COMMIT" means the rows are there. */
    committed = res == CSAM_OK && strcmp(PQcmdStatus(rows->res), "COMMIT") == 0;
    csam_store_rows_free(rows);
    store->in_tx = 0;
    store->tx_failed = 0;
    return committed ? CSAM_OK : CSAM_ERR_DB;
}

void csam_store_rollback(csam_store *store)
{
    if (store == NULL || !store->in_tx)
        return;
    store->tx_failed = 0;
    store->in_tx = 0;
    /* With the connection gone the server has already rolled back. */
    if (PQstatus(store->conn) == CONNECTION_OK)
        (void)csam_store_exec(store, &csam_store_stmt_rollback, NULL, NULL);
}

csam_result csam_store_conninfo_check(const char *conninfo, char *why,
                                      size_t why_len)
{
    PQconninfoOption *opts;
    char *err = NULL;

    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (conninfo == NULL)
        return CSAM_ERR_INVALID;
    opts = PQconninfoParse(conninfo, &err);
    if (opts == NULL) {
        if (why != NULL && why_len > 0)
            snprintf(why, why_len, "%s", err != NULL ? err : "out of memory");
        if (err != NULL)
            PQfreemem(err);
        return CSAM_ERR_INVALID;
    }
    PQconninfoFree(opts);
    return CSAM_OK;
}

csam_result csam_store_run_script(csam_store *store, const char *sql, char *why,
                                  size_t why_len)
{
    PGresult *res;
    const char *msg;

    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (store == NULL || sql == NULL || !store->in_tx)
        return CSAM_ERR_INVALID;
    if (store->tx_failed)
        return CSAM_ERR_DB;
    store->round_trips++;
    res = NULL;
    if (!store->given_up && PQsendQuery(store->conn, sql))
        res = csam_store_collect(store, "script");
    if (csam_store_result_ok(res)) {
        PQclear(res);
        return CSAM_OK;
    }
    msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "%s",
                 msg != NULL           ? msg
                 : store->conn != NULL ? PQerrorMessage(store->conn)
                                       : "no answer from the database");
    csam_store_note_error(store, res, "script");
    PQclear(res);
    store->tx_failed = 1;
    return CSAM_ERR_DB;
}

int csam_store_healthy(const csam_store *store)
{
    return store != NULL && !store->in_tx
           && PQstatus(store->conn) == CONNECTION_OK
           && PQtransactionStatus(store->conn) == PQTRANS_IDLE;
}

csam_result csam_store_check_schema(csam_store *store)
{
    csam_store_rows *rows = NULL;
    csam_result res;
    int64_t version;

    if (store == NULL)
        return CSAM_ERR_INVALID;
    res = csam_store_exec(store, &csam_store_stmt_schema, NULL, &rows);
    if (res != CSAM_OK) {
        /* 42P01: csam_schema_version does not exist, no schema at all. */
        if (strcmp(store->sqlstate, "42P01") == 0) {
            csam_log(&store->logger, CSAM_LOG_ERR,
                     "the database has no CSAM schema: create it with "
                     "psql -v ON_ERROR_STOP=1 -f " CSAM_SCHEMA_FILE);
            res = CSAM_ERR_SCHEMA;
        }
        return res;
    }
    version = csam_store_get_int64(rows, 0, "version", 0);
    csam_store_rows_free(rows);
    if (version < CSAM_STORE_SCHEMA_VERSION) {
        csam_log(&store->logger, CSAM_LOG_ERR,
                 "database schema version %" PRId64 " is older than %d: "
                 "upgrade it with psql -v ON_ERROR_STOP=1 -f " CSAM_SCHEMA_FILE,
                 version, CSAM_STORE_SCHEMA_VERSION);
        return CSAM_ERR_SCHEMA;
    }
    return CSAM_OK;
}
