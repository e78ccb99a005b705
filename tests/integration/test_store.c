/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store against a real PostgreSQL (run-with-services): prepared
 * statements with text and binary parameters, transactions that roll
 * back, reconnection after a server restart, a stopped server, the schema
 * check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "statement.h"
#include "test_env.h"

static struct csam_test_env env;

static const struct csam_store_stmt stmt_echo = {
    "test_echo", "SELECT octet_length($1::bytea), $2::text, $3::bigint + 1", 3,
    CSAM_STORE_RETRY};
static const struct csam_store_stmt stmt_audit = {
    "test_audit",
    "INSERT INTO csam_audit (action, actor) VALUES ('test.store', $1)"
    " RETURNING id",
    1, 0};
static const struct csam_store_stmt stmt_count = {
    "test_count", "SELECT count(*) FROM csam_audit WHERE actor = $1", 1,
    CSAM_STORE_RETRY};
static const struct csam_store_stmt stmt_fail = {"test_fail", "SELECT 1 / 0", 0,
                                                 0};
static const struct csam_store_stmt stmt_now = {
    "test_now", "SELECT now() < now() + interval '1 second'", 0,
    CSAM_STORE_RETRY};

static csam_store *open_store(const char *conninfo)
{
    csam_store *store = NULL;

    assert_int_equal(csam_store_open(conninfo, NULL, &store), CSAM_OK);
    assert_non_null(store);
    return store;
}

static long long count_actor(csam_store *store, const char *actor)
{
    struct csam_store_param p[1] = {csam_store_text(actor)};
    csam_store_rows *rows = NULL;
    long long n;

    assert_int_equal(csam_store_exec(store, &stmt_count, p, &rows), CSAM_OK);
    n = csam_store_int64(rows, 0, 0, -1);
    csam_store_rows_free(rows);
    return n;
}

static void test_open_refused(void **state)
{
    csam_store *store = (csam_store *)1;

    (void)state;
    assert_int_equal(csam_store_open("host=127.0.0.1 port=1 "
                                     "connect_timeout=2",
                                     NULL, &store),
                     CSAM_ERR_DB);
    assert_null(store);
    assert_int_equal(csam_store_open(NULL, NULL, &store), CSAM_ERR_INVALID);
    assert_int_equal(csam_store_open("this is not = a conninfo '", NULL,
                                     &store),
                     CSAM_ERR_DB);
    assert_null(store);
}

static void test_params(void **state)
{
    const unsigned char bytes[5] = {0, 1, 0, 0xff, 0x27};
    const char *evil = "x'); DROP TABLE csam_audit; --";
    char buf[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];
    csam_store_rows *rows = NULL;
    csam_store *store = open_store(env.pg);

    (void)state;
    p[0] = csam_store_bytes(bytes, sizeof(bytes));
    p[1] = csam_store_text(evil);
    p[2] = csam_store_int(INT64_C(9007199254740993), buf);
    assert_int_equal(csam_store_exec(store, &stmt_echo, p, &rows), CSAM_OK);
    assert_int_equal(csam_store_nrows(rows), 1);
    /* binary parameters keep their NUL bytes */
    assert_int_equal(csam_store_int64(rows, 0, 0, -1), 5);
    /* text is data, never SQL */
    assert_string_equal(csam_store_value(rows, 0, 1), evil);
    assert_int_equal(csam_store_int64(rows, 0, 2, -1),
                     INT64_C(9007199254740994));
    assert_null(csam_store_value(rows, 0, 3));
    assert_null(csam_store_value(rows, 1, 0));
    csam_store_rows_free(rows);
    /* and the statement is reused (prepared once) */
    assert_int_equal(csam_store_exec(store, &stmt_echo, p, NULL), CSAM_OK);
    p[0] = csam_store_text(evil);
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_OK);
    assert_int_equal(count_actor(store, evil), 1);
    csam_store_close(store);
}

static void test_transactions(void **state)
{
    struct csam_store_param p[1] = {csam_store_text("tx-actor")};
    csam_store *store = open_store(env.pg);

    (void)state;
    assert_int_equal(csam_store_begin(store), CSAM_OK);
    assert_int_equal(csam_store_begin(store), CSAM_ERR_INVALID);
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_OK);
    csam_store_rollback(store);
    assert_int_equal(count_actor(store, "tx-actor"), 0);

    assert_int_equal(csam_store_begin(store), CSAM_OK);
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_OK);
    assert_int_equal(csam_store_commit(store), CSAM_OK);
    assert_int_equal(count_actor(store, "tx-actor"), 1);

    /* one failing statement: the whole transaction is refused */
    assert_int_equal(csam_store_begin(store), CSAM_OK);
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_OK);
    assert_int_equal(csam_store_exec(store, &stmt_fail, NULL, NULL),
                     CSAM_ERR_DB);
    assert_string_equal(csam_store_sqlstate(store), "22012");
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_ERR_DB);
    assert_int_equal(csam_store_commit(store), CSAM_ERR_DB);
    assert_int_equal(count_actor(store, "tx-actor"), 1);
    assert_int_equal(csam_store_commit(store), CSAM_ERR_INVALID);
    csam_store_close(store);
}

static void test_unique_violation(void **state)
{
    static const struct csam_store_stmt dup = {
        "test_dup",
        "INSERT INTO csam_schema_version (version, description)"
        " VALUES (1, 'again')",
        0, 0};
    csam_store *store = open_store(env.pg);

    (void)state;
    assert_int_equal(csam_store_exec(store, &dup, NULL, NULL), CSAM_ERR_DB);
    assert_string_equal(csam_store_sqlstate(store), "23505");
    csam_store_close(store);
}

static void test_restart_between_calls(void **state)
{
    csam_store *store = open_store(env.pg);
    struct csam_store_param p[1] = {csam_store_text("restart-actor")};

    (void)state;
    assert_int_equal(csam_store_exec(store, &stmt_now, NULL, NULL), CSAM_OK);
    assert_int_equal(csam_store_resets(store), 0);
    assert_int_equal(csam_test_pg_ctl(&env, "restart"), 0);
    /* the next call notices, reconnects, prepares again and works */
    assert_int_equal(csam_store_exec(store, &stmt_now, NULL, NULL), CSAM_OK);
    assert_int_equal(csam_store_resets(store), 1);
    /* a statement prepared before the restart is prepared again */
    assert_int_equal(count_actor(store, "restart-actor"), 0);

    /* a write that may not run twice is not retried, but the call after
     * it finds the connection reset */
    assert_int_equal(csam_test_pg_ctl(&env, "restart"), 0);
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_ERR_DB);
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_OK);
    assert_int_equal(count_actor(store, "restart-actor"), 1);
    csam_store_close(store);
}

static void test_restart_in_transaction(void **state)
{
    struct csam_store_param p[1] = {csam_store_text("restart-tx")};
    csam_store *store = open_store(env.pg);

    (void)state;
    assert_int_equal(csam_store_begin(store), CSAM_OK);
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_OK);
    assert_int_equal(csam_test_pg_ctl(&env, "restart"), 0);
    /* the first half is gone with the server: never silently continue */
    assert_int_equal(csam_store_exec(store, &stmt_audit, p, NULL), CSAM_ERR_DB);
    assert_int_equal(csam_store_commit(store), CSAM_ERR_DB);
    assert_int_equal(count_actor(store, "restart-tx"), 0);
    csam_store_close(store);
}

static void test_server_stopped(void **state)
{
    csam_store *store = open_store(env.pg);
    csam_store *other = NULL;

    (void)state;
    assert_int_equal(csam_test_pg_ctl(&env, "stop"), 0);
    assert_int_equal(csam_store_exec(store, &stmt_now, NULL, NULL),
                     CSAM_ERR_DB);
    assert_int_equal(csam_store_check_schema(store), CSAM_ERR_DB);
    assert_int_equal(csam_store_begin(store), CSAM_ERR_DB);
    assert_int_equal(csam_store_open(env.pg, NULL, &other), CSAM_ERR_DB);
    assert_null(other);
    assert_int_equal(csam_test_pg_ctl(&env, "start"), 0);
    assert_int_equal(csam_store_exec(store, &stmt_now, NULL, NULL), CSAM_OK);
    assert_int_equal(csam_store_check_schema(store), CSAM_OK);
    csam_store_close(store);
}

/* The last message the store logged, for test_schema_check. */
static void schema_log(void *ctx, enum csam_log_level level, const char *msg)
{
    (void)level;
    snprintf(ctx, 1024, "%s", msg);
}

static void test_schema_check(void **state)
{
    char conninfo[4096];
    char logged[1024] = "";
    struct csam_logger logger = {schema_log, logged};
    csam_store *store = open_store(env.pg);
    PGconn *conn;

    (void)state;
    assert_int_equal(csam_store_check_schema(store), CSAM_OK);
    csam_store_close(store);

    /* A database without the schema, then with an empty version table:
     * both are older than this code needs, and the message says to run
     * the installed install.sql, not the source tree's. */
    snprintf(conninfo, sizeof(conninfo), "%s dbname=postgres", env.pg);
    store = NULL;
    assert_int_equal(csam_store_open(conninfo, &logger, &store), CSAM_OK);
    assert_int_equal(csam_store_check_schema(store), CSAM_ERR_SCHEMA);
    assert_non_null(strstr(logged, CSAM_PKGDATADIR "/sql/install.sql"));
    logged[0] = '\0';
    conn = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    assert_int_equal(csam_test_pg_value(conn,
                                        "CREATE TABLE csam_schema_version"
                                        " (version integer PRIMARY KEY)",
                                        NULL),
                     0);
    assert_int_equal(csam_store_check_schema(store), CSAM_ERR_SCHEMA);
    assert_non_null(strstr(logged, CSAM_PKGDATADIR "/sql/install.sql"));
    csam_test_pg_value(conn, "DROP TABLE csam_schema_version", NULL);
    PQfinish(conn);
    csam_store_close(store);
}

/* DESIGN 3.6: install.sql on a database that has the schema changes
 * nothing (same schema dump, same version rows). */
static char *schema_dump_of(const char *pgbin, const char *conninfo,
                            const char *path)
{
    char cmd[8192];
    FILE *f;
    char *buf;
    long len;

    snprintf(cmd, sizeof(cmd),
             "'%s/pg_dump' --schema-only --no-owner -d '%s' > '%s'", pgbin,
             conninfo, path);
    assert_int_equal(system(cmd), 0);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len > 1000);
    rewind(f);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    /* pg_dump frames its output with \restrict / \unrestrict lines that
     * carry a fresh random key each time: not part of the schema. */
    {
        char *r = buf, *w = buf;

        while (*r != '\0') {
            char *eol = strchr(r, '\n');
            size_t n = eol != NULL ? (size_t)(eol - r) + 1 : strlen(r);

            if (strncmp(r, "\\restrict ", 10) != 0
                && strncmp(r, "\\unrestrict ", 12) != 0) {
                memmove(w, r, n);
                w += n;
            }
            r += n;
        }
        *w = '\0';
    }
    return buf;
}

static char *schema_dump(const char *pgbin, const char *path)
{
    return schema_dump_of(pgbin, env.pg, path);
}

static void test_install_twice(void **state)
{
    const char *pgbin = getenv("CSAM_TEST_PG_BIN");
    char cmd[8192], path[4096];
    char *before, *after;
    PGconn *conn = csam_test_pg_connect(&env);

    (void)state;
    assert_non_null(pgbin);
    snprintf(path, sizeof(path), "%s/schema.sql", env.tmpdir);
    before = schema_dump(pgbin, path);
    snprintf(cmd, sizeof(cmd),
             "'%s/psql' -q -X -v ON_ERROR_STOP=1 -d '%s'"
             " -f '%s/conf/sql/install.sql' >/dev/null",
             pgbin, env.pg, env.srcdir);
    assert_int_equal(system(cmd), 0);
    after = schema_dump(pgbin, path);
    assert_string_equal(before, after);
    /* max, not count: migrations are numbered as they are assigned, and
     * a branch may carry a later one before the earlier ones land. */
    assert_int_equal(csam_test_pg_value(conn,
                                        "SELECT max(version) FROM"
                                        " csam_schema_version",
                                        NULL),
                     CSAM_STORE_SCHEMA_VERSION);
    free(before);
    free(after);
    PQfinish(conn);
}

/* Run one file of conf/sql on the database of conninfo with psql. */
static int run_sql_file(const char *pgbin, const char *conninfo,
                        const char *file)
{
    char cmd[8192];

    snprintf(cmd, sizeof(cmd),
             "'%s/psql' -q -X -v ON_ERROR_STOP=1 -d '%s'"
             " -f '%s/conf/sql/%s' >/dev/null",
             pgbin, conninfo, env.srcdir, file);
    return system(cmd);
}

/* Schema 4 on a version-3 database where one person holds two active
 * accounts (the desk let them make a second): the newest is kept, the
 * other disabled with its sessions revoked and an audit row; another
 * person's account is untouched; install.sql again changes nothing. */
static void test_upgrade_disables_duplicates(void **state)
{
    const char *pgbin = getenv("CSAM_TEST_PG_BIN");
    char admin[4096], v3[4096], path[4096];
    char *before, *after;
    PGconn *conn;

    (void)state;
    assert_non_null(pgbin);
    snprintf(admin, sizeof(admin), "%s dbname=postgres", env.pg);
    snprintf(v3, sizeof(v3), "%s dbname=csam_v3", env.pg);
    conn = PQconnectdb(admin);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    csam_test_pg_value(conn, "DROP DATABASE IF EXISTS csam_v3", NULL);
    assert_int_equal(csam_test_pg_value(conn, "CREATE DATABASE csam_v3", NULL),
                     0);
    PQfinish(conn);
    assert_int_equal(run_sql_file(pgbin, v3, "001_base.sql"), 0);
    assert_int_equal(run_sql_file(pgbin, v3, "002_login_devices.sql"), 0);
    assert_int_equal(run_sql_file(pgbin, v3, "003_letter_once.sql"), 0);

    conn = PQconnectdb(v3);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    /* person ab: two used registrations, two active accounts (the older
     * with two live sessions); person cd: one */
    assert_int_equal(
        csam_test_pg_value(
            conn,
            "WITH r AS (INSERT INTO csam_registrations (nrn_hash, first_name,"
            " last_name, birth_date, document_type, document_number, email,"
            " language, token_hash, code_hash, max_attempts, created_at,"
            " expires_at, created_by, used_at)"
            " SELECT decode(repeat(p, 32), 'hex'), 'Anne', 'Peeters',"
            " '1960-01-01', 'eid', 'X' || n, n || '@example.be', 'fr',"
            " decode(repeat(to_hex(n), 32), 'hex'),"
            " decode(repeat(to_hex(n + 100), 32), 'hex'), 5,"
            " now() - make_interval(days => 30 - n),"
            " now() + interval '1 day', 'desk', now()"
            " FROM (VALUES ('ab', 17), ('ab', 18), ('cd', 19)) v(p, n)"
            " RETURNING id, document_number, created_at, email)"
            " INSERT INTO csam_accounts (username, password_hash,"
            " registration_id, status, language, email, created_at,"
            " activated_at)"
            " SELECT 'user' || substr(document_number, 2), '$argon2id$x', id,"
            " 'active', 'fr', email, created_at, created_at FROM r",
            NULL),
        3);
    assert_int_equal(csam_test_pg_value(
                         conn,
                         "INSERT INTO csam_sessions (session_hash, account_id,"
                         " key_type, idle_timeout, expires_at)"
                         " SELECT decode(repeat(h, 32), 'hex'), a.id, 'email',"
                         " interval '1 hour', now() + interval '1 day'"
                         " FROM csam_accounts a, (VALUES ('e1'), ('e2')) v(h)"
                         " WHERE a.username = 'user17'",
                         NULL),
                     2);
    PQfinish(conn);

    assert_int_equal(run_sql_file(pgbin, v3, "install.sql"), 0);
    conn = PQconnectdb(v3);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    assert_int_equal(csam_test_pg_value(conn,
                                        "SELECT max(version)"
                                        " FROM csam_schema_version",
                                        NULL),
                     CSAM_STORE_SCHEMA_VERSION);
    assert_int_equal(csam_test_pg_value(conn,
                                        "SELECT count(*) FROM csam_accounts"
                                        " WHERE status = 'active'",
                                        NULL),
                     2);
    assert_int_equal(csam_test_pg_value(conn,
                                        "SELECT count(*) FROM csam_accounts"
                                        " WHERE username = 'user17'"
                                        " AND status = 'disabled'",
                                        NULL),
                     1);
    assert_int_equal(csam_test_pg_value(conn,
                                        "SELECT count(*) FROM csam_accounts"
                                        " WHERE username IN ('user18',"
                                        " 'user19') AND status = 'active'"
                                        " AND nrn_hash IS NOT NULL",
                                        NULL),
                     2);
    assert_int_equal(csam_test_pg_value(conn,
                                        "SELECT count(*) FROM csam_sessions"
                                        " WHERE revoked_at IS NOT NULL",
                                        NULL),
                     2);
    assert_int_equal(
        csam_test_pg_value(conn,
                           "SELECT count(*) FROM csam_audit au"
                           " JOIN csam_accounts a ON a.id = au.account_id"
                           " WHERE au.action = 'account.disabled_duplicate'"
                           " AND a.username = 'user17'"
                           " AND au.registration_id = a.registration_id"
                           " AND au.detail->>'sessions_revoked' = '2'",
                           NULL),
        1);
    assert_int_equal(
        csam_test_pg_value(conn, "SELECT count(*) FROM csam_audit", NULL), 1);

    /* again: the same schema, the same rows */
    snprintf(path, sizeof(path), "%s/schema_v3.sql", env.tmpdir);
    before = schema_dump_of(pgbin, v3, path);
    assert_int_equal(run_sql_file(pgbin, v3, "install.sql"), 0);
    after = schema_dump_of(pgbin, v3, path);
    assert_string_equal(before, after);
    assert_int_equal(
        csam_test_pg_value(conn, "SELECT count(*) FROM csam_audit", NULL), 1);
    assert_int_equal(csam_test_pg_value(conn,
                                        "SELECT count(*) FROM csam_accounts"
                                        " WHERE status = 'active'",
                                        NULL),
                     2);
    free(before);
    free(after);
    PQfinish(conn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_refused),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_unique_violation),
        cmocka_unit_test(test_restart_between_calls),
        cmocka_unit_test(test_restart_in_transaction),
        cmocka_unit_test(test_server_stopped),
        cmocka_unit_test(test_schema_check),
        cmocka_unit_test(test_install_twice),
        cmocka_unit_test(test_upgrade_disables_duplicates),
    };

    csam_test_env_get(&env);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
