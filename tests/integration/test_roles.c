/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The least-privilege roles of conf/sql/roles.sql (DESIGN 3.7), against
 * the database run-with-services made: it ran install.sql, then roles.sql,
 * and made a login role in each group role (CSAM_TEST_PG_WEB, _PAM,
 * _ADMIN).  Each role is refused what its component never does, with
 * SQLSTATE 42501 (insufficient_privilege): PAM reads no registration but a
 * first name, no password hash and no national number, and touches no
 * table of the web login (flows, sessions, devices, source counters); the
 * web deletes no audit row and reads no identity document; only
 * csam_admin deletes audit rows, and it reads no secret; nobody alters,
 * drops, truncates or creates a table.  What each one needs still runs
 * (in a transaction rolled back).  roles.sql runs twice without a change,
 * and takes back a grant it does not list.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_env.h"

static struct csam_test_env env;

static PGconn *connect_as(const char *variable)
{
    const char *conninfo = getenv(variable);
    PGconn *conn;

    if (conninfo == NULL || conninfo[0] == '\0') {
        fprintf(stderr, "%s is not set: run under run-with-services\n",
                variable);
        exit(99);
    }
    conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s: %s", variable, PQerrorMessage(conn));
        exit(99);
    }
    return conn;
}

/* Run sql in a transaction that is rolled back; the SQLSTATE of its
 * failure copied to state ("" when it ran). */
static void run(PGconn *conn, const char *sql, char state[6])
{
    PGresult *res;
    const char *s;

    PQclear(PQexec(conn, "BEGIN"));
    res = PQexec(conn, sql);
    s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (PQresultStatus(res) == PGRES_COMMAND_OK
        || PQresultStatus(res) == PGRES_TUPLES_OK)
        s = "";
    snprintf(state, 6, "%s", s != NULL ? s : "?????");
    if (state[0] != '\0' && strcmp(state, "42501") != 0)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    PQclear(PQexec(conn, "ROLLBACK"));
}

static void refused(PGconn *conn, const char *who, const char *sql)
{
    char state[6];

    run(conn, sql, state);
    if (strcmp(state, "42501") != 0)
        fail_msg("%s was not refused (SQLSTATE \"%s\"): %s", who, state, sql);
}

static void allowed(PGconn *conn, const char *who, const char *sql)
{
    char state[6];

    run(conn, sql, state);
    if (state[0] != '\0')
        fail_msg("%s was refused (SQLSTATE %s): %s", who, state, sql);
}

/* What no component may do: change the schema or another's rights. */
static const char *const everyone_refused[] = {
    "DROP TABLE csam_audit",
    "ALTER TABLE csam_accounts ADD COLUMN x integer",
    "ALTER TABLE csam_audit DISABLE TRIGGER ALL",
    "TRUNCATE csam_audit",
    "TRUNCATE csam_password_failures",
    "CREATE TABLE csam_shadow (x integer)",
    "UPDATE csam_audit SET action = 'x.y'",
    "UPDATE csam_schema_version SET version = 99",
    "INSERT INTO csam_schema_version (version, description) VALUES (99, 'x')",
    "CREATE ROLE csam_intruder",
};

static void check_everyone(PGconn *conn, const char *who)
{
    size_t i;

    for (i = 0; i < sizeof(everyone_refused) / sizeof(everyone_refused[0]); i++)
        refused(conn, who, everyone_refused[i]);
    /* the startup schema check */
    allowed(conn, who, "SELECT max(version) FROM csam_schema_version");
}

static void test_group_roles(void **state)
{
    PGconn *pg = csam_test_pg_connect(&env);

    (void)state;
    /* group roles without login or any power of their own */
    assert_int_equal(
        csam_test_pg_value(pg,
                           "SELECT count(*) FROM pg_roles"
                           " WHERE rolname IN ('csam_web', 'csam_pam',"
                           " 'csam_admin') AND NOT rolcanlogin"
                           " AND NOT rolsuper AND NOT rolcreaterole"
                           " AND NOT rolcreatedb AND NOT rolbypassrls",
                           NULL),
        3);
    /* and none owns anything */
    assert_int_equal(
        csam_test_pg_value(pg,
                           "SELECT count(*) FROM pg_class c JOIN pg_roles r"
                           " ON r.oid = c.relowner WHERE r.rolname IN"
                           " ('csam_web', 'csam_pam', 'csam_admin',"
                           " 'csam_test_web', 'csam_test_pam',"
                           " 'csam_test_admin')",
                           NULL),
        0);
    PQfinish(pg);
}

static void test_pam(void **state)
{
    PGconn *c = connect_as("CSAM_TEST_PG_PAM");
    static const char *const no[] = {
        "SELECT * FROM csam_registrations",
        "SELECT nrn_hash FROM csam_registrations",
        "SELECT email FROM csam_registrations",
        "SELECT document_number FROM csam_registrations",
        "SELECT password_hash FROM csam_accounts",
        "SELECT nrn_hash FROM csam_accounts",
        "SELECT nrn_sealed FROM csam_accounts",
        "SELECT session_hash FROM csam_sessions",
        "SELECT password_hash FROM csam_flows",
        "SELECT device_hash FROM csam_login_devices",
        "SELECT * FROM csam_password_failures",
        "SELECT * FROM csam_audit",
        "INSERT INTO csam_registrations (procedure) VALUES ('online')",
        "UPDATE csam_registrations SET used_at = now()",
        "UPDATE csam_accounts SET password_hash = '$argon2id$x'",
        "UPDATE csam_accounts SET status = 'active'",
        "UPDATE csam_keys SET status = 'active'",
        "UPDATE csam_sessions SET revoked_at = NULL",
        "DELETE FROM csam_audit",
        "DELETE FROM csam_challenges",
        "DELETE FROM csam_accounts",
        "DELETE FROM csam_keys",
        /* the web login's tables: PAM's code check names none of them */
        "SELECT id FROM csam_flows",
        "UPDATE csam_flows SET done_at = now()",
        "SELECT id FROM csam_sessions",
        "INSERT INTO csam_sessions (account_id) VALUES (0)",
        "SELECT id FROM csam_login_devices",
        "DELETE FROM csam_login_devices",
        "SELECT source FROM csam_source_failures",
        "INSERT INTO csam_source_failures (source) VALUES ('192.0.2.1')",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        refused(c, "csam_pam", no[i]);
    check_everyone(c, "csam_pam");
    /* engine_pam.c's account lookup and its lock */
    allowed(c, "csam_pam",
            "SELECT a.id, a.email, r.first_name FROM csam_accounts a"
            " JOIN csam_registrations r ON r.id = a.registration_id"
            " WHERE a.username = 'nobody'");
    allowed(c, "csam_pam",
            "SELECT 1 FROM csam_accounts WHERE id = 0 FOR UPDATE");
    allowed(c, "csam_pam",
            "SELECT totp_secret FROM csam_keys WHERE account_id = 0");
    allowed(c, "csam_pam",
            "INSERT INTO csam_audit (action) VALUES ('test.roles')");
    PQfinish(c);
}

static void test_web(void **state)
{
    PGconn *c = connect_as("CSAM_TEST_PG_WEB");
    static const char *const no[] = {
        "DELETE FROM csam_audit",
        "SELECT detail FROM csam_audit",
        "SELECT document_number FROM csam_registrations",
        "SELECT birth_date FROM csam_registrations",
        "SELECT * FROM csam_registrations",
        "UPDATE csam_registrations SET nrn_hash = nrn_hash",
        "UPDATE csam_accounts SET username = username",
        "UPDATE csam_accounts SET nrn_hash = nrn_hash",
        "UPDATE csam_keys SET totp_secret = totp_secret",
        /* the purge's deletes are csam_admin's */
        "DELETE FROM csam_challenges",
        "DELETE FROM csam_sessions",
        "DELETE FROM csam_flows",
        "DELETE FROM csam_registrations",
        "DELETE FROM csam_source_failures",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        refused(c, "csam_web", no[i]);
    check_everyone(c, "csam_web");
    /* the deletes its own flows make (roles.sql says why) */
    allowed(c, "csam_web",
            "DELETE FROM csam_keys WHERE account_id = 0"
            " AND status = 'pending'");
    allowed(c, "csam_web",
            "DELETE FROM csam_accounts WHERE status = 'pending' AND id = 0");
    allowed(c, "csam_web",
            "DELETE FROM csam_login_devices WHERE expires_at < now()"
            " AND id = 0");
    allowed(c, "csam_web",
            "DELETE FROM csam_password_failures WHERE name_hash = ''");
    /* the identifiers drawn before the row (registration, TOTP key) */
    allowed(c, "csam_web",
            "SELECT nextval(pg_get_serial_sequence('csam_registrations',"
            " 'id'))");
    allowed(c, "csam_web",
            "SELECT nextval(pg_get_serial_sequence('csam_keys', 'id'))");
    PQfinish(c);
}

static void test_admin(void **state)
{
    PGconn *c = connect_as("CSAM_TEST_PG_ADMIN");
    static const char *const no[] = {
        "SELECT password_hash FROM csam_accounts",
        "SELECT nrn_sealed FROM csam_accounts",
        "SELECT totp_secret FROM csam_keys",
        "SELECT code_hash FROM csam_challenges",
        "SELECT token_hash FROM csam_registrations",
        "SELECT document_number FROM csam_registrations",
        "SELECT session_hash FROM csam_sessions",
        "SELECT handle_hash FROM csam_flows",
        "SELECT password_hash FROM csam_flows",
        "SELECT device_hash FROM csam_login_devices",
        "INSERT INTO csam_accounts (username) VALUES ('x')",
        "UPDATE csam_accounts SET password_hash = '$argon2id$x'",
        "UPDATE csam_accounts SET status = 'active'",
        "UPDATE csam_keys SET status = 'active'",
        "INSERT INTO csam_sessions (account_id) VALUES (0)",
        "SELECT nextval(pg_get_serial_sequence('csam_keys', 'id'))",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        refused(c, "csam_admin", no[i]);
    check_everyone(c, "csam_admin");
    /* purge, stats, unlock, sessions revoke */
    allowed(c, "csam_admin",
            "DELETE FROM csam_audit WHERE at < now() - interval '400 days'");
    allowed(c, "csam_admin",
            "DELETE FROM csam_challenges WHERE expires_at < now()");
    allowed(c, "csam_admin",
            "DELETE FROM csam_registrations WHERE expires_at < now()"
            " AND used_at IS NULL AND id NOT IN (SELECT registration_id"
            " FROM csam_accounts)");
    allowed(c, "csam_admin",
            "SELECT status, count(*) FROM csam_accounts"
            " GROUP BY status");
    allowed(c, "csam_admin",
            "UPDATE csam_accounts SET failures = 0, locked_until = NULL"
            " WHERE username = 'nobody'");
    allowed(c, "csam_admin",
            "UPDATE csam_sessions SET revoked_at = now() WHERE account_id = 0"
            " AND revoked_at IS NULL");
    allowed(c, "csam_admin",
            "INSERT INTO csam_audit (actor, action) VALUES ('csam-admin',"
            " 'test.roles')");
    PQfinish(c);
}

/* The first column of the first row of sql, as text (malloc'd). */
static char *text_of(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    char *text;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    text = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    assert_non_null(text);
    return text;
}

/* Besides the table's owner, only csam_admin may delete an audit row;
 * nobody may update or truncate one. */
static void test_audit_delete(void **state)
{
    PGconn *pg = csam_test_pg_connect(&env);
    char *who;

    (void)state;
    who = text_of(pg, "SELECT coalesce(string_agg(grantee || ' '"
                      " || privilege_type, ',' ORDER BY grantee), '')"
                      " FROM information_schema.role_table_grants"
                      " WHERE table_name = 'csam_audit' AND privilege_type"
                      " IN ('DELETE', 'UPDATE', 'TRUNCATE') AND grantee"
                      " <> (SELECT tableowner FROM pg_tables"
                      " WHERE tablename = 'csam_audit')");
    assert_string_equal(who, "csam_admin DELETE");
    free(who);
    PQfinish(pg);
}

/* The grants, as text, to compare two runs of roles.sql. */
static char *grants(PGconn *pg)
{
    return text_of(
        pg, "SELECT string_agg(g, E'\\n' ORDER BY g) FROM ("
            " SELECT grantee || ' ' || privilege_type || ' ' || table_name AS g"
            " FROM information_schema.role_table_grants"
            " WHERE grantee LIKE 'csam\\_%'"
            " UNION ALL SELECT grantee || ' ' || privilege_type || ' '"
            " || table_name || '.' || column_name"
            " FROM information_schema.column_privileges"
            " WHERE grantee LIKE 'csam\\_%'"
            " UNION ALL SELECT grantee || ' ' || privilege_type || ' '"
            " || object_name FROM information_schema.usage_privileges"
            " WHERE grantee LIKE 'csam\\_%') AS x");
}

static int roles_sql(void)
{
    const char *bin = getenv("CSAM_TEST_PG_BIN");
    char cmd[8192];

    snprintf(cmd, sizeof(cmd),
             "'%s/psql' -q -X -v ON_ERROR_STOP=1 -d '%s' -f "
             "'%s/conf/sql/roles.sql' >/dev/null",
             bin != NULL ? bin : "/usr/bin", env.pg, env.srcdir);
    return system(cmd);
}

static void test_roles_sql_twice(void **state)
{
    PGconn *pg = csam_test_pg_connect(&env);
    char *before, *after;

    (void)state;
    before = grants(pg);
    assert_non_null(strstr(before, "csam_pam SELECT csam_registrations."
                                   "first_name"));
    assert_int_equal(roles_sql(), 0);
    after = grants(pg);
    assert_string_equal(before, after);
    free(after);
    /* a grant the file does not list (an older version's, a hand-made
     * one) is taken back */
    assert_int_equal(csam_test_pg_value(pg,
                                        "GRANT DELETE ON csam_audit, "
                                        "csam_sessions TO csam_web",
                                        NULL),
                     0);
    assert_int_equal(roles_sql(), 0);
    after = grants(pg);
    assert_string_equal(before, after);
    free(after);
    free(before);
    PQfinish(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_roles),
        cmocka_unit_test(test_pam),
        cmocka_unit_test(test_web),
        cmocka_unit_test(test_admin),
        cmocka_unit_test(test_audit_delete),
        cmocka_unit_test(test_roles_sql_twice),
    };

    csam_test_env_get(&env);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
