/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Web sessions through the engine, against a real PostgreSQL and SMTP
 * server: idle and absolute expiry (rows aged with UPDATE), revocation at
 * logout, touch, damaged cookies, an account no longer active; and one
 * login code verified twice at once, which makes exactly one session.
 */
#define _POSIX_C_SOURCE 200809L

#define CSAM_SUITE_SERIAL 600
/* every test logs in more than once a minute */
#define CSAM_SUITE_NO_COOLDOWN
#include "engine_suite.h"

static void login(const struct csam_test_citizen *c,
                  struct csam_session_ticket *t)
{
    csam_test_login(&ctx, c, "192.0.2.50", t);
}

static void test_session_expiry(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket a, b, d, e;
    struct csam_session_info info;
    long long moved;
    char saved;

    (void)state;
    active_citizen(&c, "sess");
    login(&c, &a);
    login(&c, &b);
    login(&c, &d);
    login(&c, &e);
    /* idle: unused for longer than the idle timeout */
    assert_int_equal(sql("UPDATE csam_sessions SET last_seen_at = now() -"
                         " idle_timeout - interval '1 second'"
                         " WHERE id = (SELECT min(id) FROM csam_sessions"
                         " WHERE account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1))",
                         c.username),
                     1);
    assert_int_equal(csam_engine_session_check(ctx.engine, a.cookie, 1, &info),
                     CSAM_ERR_EXPIRED);
    /* touch: a use moves last_seen_at; a check without touch does not */
    assert_int_equal(sql("UPDATE csam_sessions SET last_seen_at = now() -"
                         " interval '5 minutes' WHERE revoked_at IS NULL"
                         " AND last_seen_at > now() - interval '1 minute'"
                         " AND account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1)",
                         c.username),
                     3);
    assert_int_equal(csam_engine_session_check(ctx.engine, b.cookie, 0, &info),
                     CSAM_OK);
    moved = sql("SELECT count(*) FROM csam_sessions WHERE last_seen_at >"
                " now() - interval '1 minute' AND account_id = (SELECT id"
                " FROM csam_accounts WHERE username = $1)",
                c.username);
    assert_int_equal(moved, 0);
    assert_int_equal(csam_engine_session_check(ctx.engine, b.cookie, 1, &info),
                     CSAM_OK);
    moved = sql("SELECT count(*) FROM csam_sessions WHERE last_seen_at >"
                " now() - interval '1 minute' AND account_id = (SELECT id"
                " FROM csam_accounts WHERE username = $1)",
                c.username);
    assert_int_equal(moved, 1);
    {
        long long now = sql("SELECT extract(epoch FROM now())::bigint", NULL);

        assert_true(info.idle_expires_at >= now + 1790
                    && info.idle_expires_at <= now + 1801);
    }
    /* absolute: however recently used */
    assert_int_equal(sql("UPDATE csam_sessions SET created_at = now() -"
                         " interval '13 hours', expires_at = now() -"
                         " interval '1 hour', last_seen_at = now()"
                         " WHERE id = (SELECT max(id) FROM csam_sessions"
                         " WHERE account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1))",
                         c.username),
                     1);
    assert_int_equal(csam_engine_session_check(ctx.engine, e.cookie, 1, &info),
                     CSAM_ERR_EXPIRED);
    /* logout: dead for every node at once, and twice is fine */
    assert_int_equal(
        csam_engine_session_end(ctx.engine, "192.0.2.80", d.cookie), CSAM_OK);
    assert_int_equal(csam_engine_session_check(ctx.engine, d.cookie, 1, &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_session_end(ctx.engine, NULL, d.cookie),
                     CSAM_OK);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit WHERE action ="
                         " 'session.ended' AND actor = $1",
                         c.username),
                     1);
    assert_int_equal(csam_engine_session_end(ctx.engine, NULL, "junk"),
                     CSAM_OK);
    /* a forged or damaged cookie */
    assert_int_equal(csam_engine_session_check(ctx.engine, "junk", 1, &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_session_check(ctx.engine, NULL, 1, &info),
                     CSAM_ERR_EXPIRED);
    saved = b.cookie[10];
    b.cookie[10] = saved == 'A' ? 'B' : 'A';
    assert_int_equal(csam_engine_session_check(ctx.engine, b.cookie, 1, &info),
                     CSAM_ERR_EXPIRED);
    b.cookie[10] = saved;
    /* an account no longer active ends its sessions */
    assert_int_equal(csam_engine_session_check(ctx.engine, b.cookie, 1, &info),
                     CSAM_OK);
    assert_int_equal(sql("UPDATE csam_accounts SET status = 'disabled'"
                         " WHERE username = $1",
                         c.username),
                     1);
    assert_int_equal(csam_engine_session_check(ctx.engine, b.cookie, 1, &info),
                     CSAM_ERR_EXPIRED);
}

/* ---- one code, two verifications at once ------------------------------- */

struct racer {
    struct csam_test_ctx *ctx;
    const char *handle;
    const char *code;
    pthread_barrier_t *barrier;
    csam_result res;
};

static void *racer_run(void *arg)
{
    struct racer *r = arg;
    struct csam_session_ticket t;
    struct csam_attempts att;

    pthread_barrier_wait(r->barrier);
    r->res = csam_engine_login_verify(r->ctx->engine, NULL, r->handle, r->code,
                                      &t, &att);
    return NULL;
}

static void test_concurrent_verify(void **state)
{
    struct csam_test_ctx second;
    struct csam_test_citizen c;
    char handle[CSAM_TOKEN_SIZE], code[16];
    pthread_barrier_t barrier;
    struct racer a, b;
    pthread_t ta, tb;
    long long before;
    int round;

    (void)state;
    csam_test_ctx_open(&second, 0);
    second.config.resend_cooldown = 0;
    active_citizen(&c, "lrace");
    for (round = 0; round < 5; round++) {
        csam_test_login_to_code(&ctx, &c, NULL, handle, code, sizeof(code));
        before = sql("SELECT count(*) FROM csam_sessions", NULL);
        pthread_barrier_init(&barrier, NULL, 2);
        a = (struct racer){&ctx, handle, code, &barrier, CSAM_ERR_DB};
        b = (struct racer){&second, handle, code, &barrier, CSAM_ERR_DB};
        assert_int_equal(pthread_create(&ta, NULL, racer_run, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, racer_run, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&barrier);
        assert_true((a.res == CSAM_OK) != (b.res == CSAM_OK));
        assert_int_equal(a.res == CSAM_OK ? b.res : a.res, CSAM_ERR_EXPIRED);
        assert_int_equal(sql("SELECT count(*) FROM csam_sessions", NULL),
                         before + 1);
    }
    csam_test_ctx_close(&second);
}

/* A configuration for the services: the test's secret and data. */
static void services_config(struct csam_config *cfg, const char *secret,
                            const char *reserved)
{
    char err[CSAM_CONFIG_ERRLEN];

    assert_int_equal(csam_config_init(cfg), CSAM_OK);
    assert_int_equal(
        csam_config_set(cfg, "secret_file", secret, err, sizeof(err)), CSAM_OK);
    assert_int_equal(csam_config_set(cfg, "data_dir", ctx.config.data_dir, err,
                                     sizeof(err)),
                     CSAM_OK);
    if (reserved != NULL)
        assert_int_equal(csam_config_set(cfg, "reserved_usernames", reserved,
                                         err, sizeof(err)),
                         CSAM_OK);
}

/* A protected request's check needs the services and a store only: the
 * same answer as the engine's, in one round trip, and a cookie of the
 * wrong shape costs none.  The services name the part they cannot load. */
static void test_session_check_without_engine(void **state)
{
    struct csam_services_error err;
    struct csam_session_info mine, engines;
    struct csam_session_ticket t;
    struct csam_test_citizen c;
    struct csam_config cfg;
    csam_services *sv = NULL;
    unsigned long trips;

    (void)state;
    services_config(&cfg, ctx.env.secret_file, NULL);
    assert_int_equal(csam_services_open(&cfg, CSAM_SERVICES_LISTS, &sv, &err),
                     CSAM_OK);
    assert_int_equal(csam_services_offered(sv) & CSAM_KEY_SMS, 0);
    active_citizen(&c, "bare");
    login(&c, &t);
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_session_check(sv, ctx.store, t.cookie, 0, &mine),
                     CSAM_OK);
    assert_int_equal(csam_store_round_trips(ctx.store), trips + 1);
    assert_int_equal(
        csam_engine_session_check(ctx.engine, t.cookie, 0, &engines), CSAM_OK);
    assert_string_equal(mine.username, c.username);
    assert_string_equal(mine.username, engines.username);
    assert_int_equal(mine.key_type, engines.key_type);
    assert_int_equal(mine.auth_time, engines.auth_time);
    assert_int_equal(mine.expires_at, engines.expires_at);
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_session_check(sv, ctx.store, "not a token", 1, &mine),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_store_round_trips(ctx.store), trips);
    assert_int_equal(csam_engine_session_end(ctx.engine, NULL, t.cookie),
                     CSAM_OK);
    assert_int_equal(csam_session_check(sv, ctx.store, t.cookie, 1, &mine),
                     CSAM_ERR_EXPIRED);
    csam_services_free(sv);
    csam_config_free(&cfg);

    /* A missing secret is named as such, and so is a missing list. */
    services_config(&cfg, "/nonexistent/csam-secret", NULL);
    assert_int_not_equal(csam_services_open(&cfg, 0, &sv, &err), CSAM_OK);
    assert_null(sv);
    assert_int_equal(err.part, CSAM_SERVICES_SECRET);
    csam_config_free(&cfg);

    /* So is a previous secret that cannot serve: missing, or the current
     * one again; a good one is attached to the current one. */
    services_config(&cfg, ctx.env.secret_file, NULL);
    cfg.previous_secret_file = strdup("/nonexistent/csam-secret.previous");
    assert_int_equal(csam_services_open(&cfg, 0, &sv, &err), CSAM_ERR_IO);
    assert_null(sv);
    assert_int_equal(err.part, CSAM_SERVICES_PREVIOUS_SECRET);
    assert_string_equal(err.path, "/nonexistent/csam-secret.previous");
    free(cfg.previous_secret_file);
    cfg.previous_secret_file = strdup(ctx.env.secret_file);
    assert_int_equal(csam_services_open(&cfg, 0, &sv, &err), CSAM_ERR_CONFIG);
    assert_null(sv);
    assert_int_equal(err.part, CSAM_SERVICES_PREVIOUS_SECRET);
    assert_non_null(strstr(err.msg, "same secret"));
    csam_config_free(&cfg);
    services_config(&cfg, ctx.env.secret_file, "/nonexistent/reserved.txt");
    assert_int_not_equal(
        csam_services_open(&cfg, CSAM_SERVICES_LISTS, &sv, &err), CSAM_OK);
    assert_null(sv);
    assert_int_equal(err.part, CSAM_SERVICES_RESERVED_OWN);
    assert_string_equal(err.path, "/nonexistent/reserved.txt");
    csam_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_concurrent_verify),
        cmocka_unit_test(test_session_check_without_engine),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
