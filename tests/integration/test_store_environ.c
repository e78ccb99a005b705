/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store connects as its conninfo says, whatever the process
 * environment says (DESIGN 3.4; environ.h): libpq's variables set to
 * hostile values change nothing, neither when connecting nor when a reset
 * reconnects, and the environment is back afterwards.  This is the path
 * mod_csam's pool and pam_csam share.  The hiding itself nests across
 * threads.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "environ.h"
#include "statement.h"
#include "test_env.h"

static struct csam_test_env env;

/* Each would move the connection elsewhere, refuse it, or change the
 * session, were libpq to read it. */
static const char *const hostile[][2] = {
    {"PGHOSTADDR", "127.0.0.2"},
    {"PGHOST", "127.0.0.2"},
    {"PGPORT", "1"},
    {"PGSERVICE", "csam-test-no-such-service"},
    {"PGSERVICEFILE", "/nonexistent/pg_service.conf"},
    {"PGSYSCONFDIR", "/nonexistent"},
    {"HOME", "/nonexistent"},
    {"PGOPTIONS", "-c default_transaction_read_only=on"},
    {"PGSSLMODE", "require"},
    {"PGGSSENCMODE", "require"},
    {"PGTARGETSESSIONATTRS", "read-only"},
    {"PGAPPNAME", "evil"},
    {"PGTZ", "Pacific/Kiritimati"},
    {"PGDATESTYLE", "SQL, DMY"},
};

#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static const struct csam_store_stmt stmt_session = {
    "test_environ_session",
    "SELECT current_setting('TimeZone') <> 'Pacific/Kiritimati'"
    " AND current_setting('DateStyle') NOT LIKE 'SQL%'"
    " AND current_setting('application_name') <> 'evil'"
    " AND current_setting('transaction_read_only') = 'off'",
    0, CSAM_STORE_RETRY};

static void set_hostile(void)
{
    size_t i;

    for (i = 0; i < NHOSTILE; i++)
        assert_int_equal(setenv(hostile[i][0], hostile[i][1], 1), 0);
}

static void clear_hostile(void)
{
    size_t i;

    for (i = 0; i < NHOSTILE; i++)
        assert_int_equal(unsetenv(hostile[i][0]), 0);
}

static void assert_hostile_still_set(void)
{
    size_t i;

    for (i = 0; i < NHOSTILE; i++) {
        const char *v = getenv(hostile[i][0]);

        assert_non_null(v);
        assert_string_equal(v, hostile[i][1]);
    }
}

static void assert_session_clean(csam_store *store)
{
    csam_store_rows *rows = NULL;

    assert_int_equal(csam_store_exec(store, &stmt_session, NULL, &rows),
                     CSAM_OK);
    assert_true(csam_store_bool(rows, 0, 0));
    csam_store_rows_free(rows);
}

static void test_connect_ignores_environment(void **state)
{
    csam_store *store = NULL;

    (void)state;
    set_hostile();
    assert_int_equal(csam_store_open(env.pg, NULL, &store), CSAM_OK);
    assert_hostile_still_set();
    assert_session_clean(store);
    csam_store_close(store);
}

static void test_reset_ignores_environment(void **state)
{
    csam_store *store = NULL;

    (void)state;
    clear_hostile();
    assert_int_equal(csam_store_open(env.pg, NULL, &store), CSAM_OK);
    set_hostile();
    assert_int_equal(csam_test_pg_ctl(&env, "restart"), 0);
    /* The connection died with the server: the next call resets it. */
    assert_session_clean(store);
    assert_true(csam_store_resets(store) >= 1);
    assert_hostile_still_set();
    csam_store_close(store);
}

#define NTHREADS 8

static pthread_barrier_t barrier;

static void *hide_in_thread(void *arg)
{
    int *seen_hidden = arg;

    csam_environ_hide();
    /* Every thread is inside its hide here at once. */
    pthread_barrier_wait(&barrier);
    *seen_hidden = getenv("CSAM_ENVIRON_PROBE") == NULL;
    pthread_barrier_wait(&barrier);
    csam_environ_restore();
    return NULL;
}

static void test_hiding_nests_across_threads(void **state)
{
    pthread_t threads[NTHREADS];
    int seen_hidden[NTHREADS];
    size_t i;

    (void)state;
    assert_int_equal(setenv("CSAM_ENVIRON_PROBE", "x", 1), 0);
    assert_int_equal(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
    for (i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, hide_in_thread,
                                        &seen_hidden[i]),
                         0);
    for (i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_true(seen_hidden[i]);
    }
    pthread_barrier_destroy(&barrier);
    assert_non_null(getenv("CSAM_ENVIRON_PROBE"));
    assert_string_equal(getenv("CSAM_ENVIRON_PROBE"), "x");

    /* Nested in one thread: hidden until the outer restore. */
    csam_environ_hide();
    csam_environ_hide();
    csam_environ_restore();
    assert_null(getenv("CSAM_ENVIRON_PROBE"));
    csam_environ_restore();
    assert_non_null(getenv("CSAM_ENVIRON_PROBE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_ignores_environment),
        cmocka_unit_test(test_reset_ignores_environment),
        cmocka_unit_test(test_hiding_nests_across_threads),
    };

    csam_test_env_get(&env);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
