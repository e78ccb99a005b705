/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Web login and sessions through the engine, against a real PostgreSQL
 * and SMTP server: password then code then session; every failure; the
 * same answer and time for an unknown name and a wrong password; growing
 * delays, a lock that ends and is told only after the right password;
 * many guesses at once; purpose binding; the statements each step costs.
 * Sessions: test_engine_session.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#define CSAM_SUITE_SERIAL 100
#include "engine_suite.h"

#include "engine_internal.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void wrong_of(const char *code, char *wrong)
{
    strcpy(wrong, code);
    wrong[5] = (char)(wrong[5] == '9' ? '0' : wrong[5] + 1);
}

static void login_to_code(const struct csam_test_citizen *c, const char *src,
                          char handle[CSAM_TOKEN_SIZE], char *code, size_t size)
{
    csam_test_login_to_code(&ctx, c, src, handle, code, size);
}

/* The code cooldown is per account: tests that log in twice skip it. */
static void no_cooldown(void)
{
    ctx.config.resend_cooldown = 0;
}

/* The cooldown holds back a second code while the first is unused (a
 * script with the password cannot flood the mailbox), not a fresh login
 * after a successful one; asking again takes the code sent over. */
static void test_cooldown_after_login(void **state)
{
    char handle[CSAM_TOKEN_SIZE], code[16];
    struct csam_session_ticket t;
    struct csam_test_citizen c;
    struct csam_attempts att;
    long saved = ctx.config.resend_cooldown;

    (void)state;
    active_citizen(&c, "cooldown");
    ctx.config.resend_cooldown = 300;
    login_to_code(&c, NULL, handle, code, sizeof(code));
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, code,
                                              &t, &att),
                     CSAM_OK);
    /* right away, a new login: its code is sent */
    login_to_code(&c, NULL, handle, code, sizeof(code));
    /* asking again while that code is unused: nothing sent, it stands */
    {
        struct csam_login_code sent;

        assert_int_equal(csam_engine_login_code(ctx.engine, NULL, handle,
                                                CSAM_KEY_EMAIL, &sent, &att),
                         CSAM_OK);
        assert_int_equal(sent.reused, 1);
        assert_true(sent.resend_after > 0 && sent.resend_after <= 300);
        assert_true(sent.sent_at > 0);
    }
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    /* and the handle still has its key and its code */
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, code,
                                              &t, &att),
                     CSAM_OK);
    ctx.config.resend_cooldown = saved;
}

static void test_login_success(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket t, t2;
    struct csam_session_info info;
    char handle[CSAM_TOKEN_SIZE], code[16];
    struct csam_attempts att;
    unsigned long trips;
    long long now;

    (void)state;
    no_cooldown();
    active_citizen(&c, "login");
    login_to_code(&c, "192.0.2.50", handle, code, sizeof(code));
    assert_int_equal(sql("SELECT count(*) FROM csam_flows WHERE kind = 'login'"
                         " AND step = 'confirm' AND key_type = 'email'"
                         " AND account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1)",
                         c.username),
                     1);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.50", handle,
                                              code, &t, &att),
                     CSAM_OK);
    assert_true(csam_token_valid(t.cookie));
    assert_string_equal(t.info.username, c.username);
    assert_int_equal(t.info.key_type, CSAM_KEY_EMAIL);
    now = sql("SELECT extract(epoch FROM now())::bigint", NULL);
    assert_true(t.info.auth_time >= now - 5 && t.info.auth_time <= now + 1);
    assert_true(t.info.expires_at - t.info.auth_time >= 43199
                && t.info.expires_at - t.info.auth_time <= 43201);
    assert_true(t.info.idle_expires_at - t.info.auth_time >= 1799
                && t.info.idle_expires_at - t.info.auth_time <= 1801);
    /* the database keeps the cookie's keyed hash only */
    assert_int_equal(sql("SELECT count(*) FROM csam_sessions"
                         " WHERE session_hash = convert_to($1, 'UTF8')",
                         t.cookie),
                     0);
    /* a right password leaves no failure row behind */
    assert_int_equal(sql("SELECT count(*) FROM csam_password_failures", NULL),
                     0);
    /* the handle is used up; the code too */
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, code,
                                              &t2, &att),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_ERR_EXPIRED);

    /* a protected request: one statement (once prepared on the
     * connection: the first use also prepares it) */
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 1, &info),
                     CSAM_OK);
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 1, &info),
                     CSAM_OK);
    print_message("statements per session_check: %lu\n",
                  csam_store_round_trips(ctx.store) - trips);
    assert_int_equal(csam_store_round_trips(ctx.store) - trips, 1);
    assert_string_equal(info.username, c.username);
    assert_int_equal(info.key_type, CSAM_KEY_EMAIL);
    assert_int_equal(info.auth_time, t.info.auth_time);
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 0, &info),
                     CSAM_OK);
    assert_int_equal(csam_store_round_trips(ctx.store) - trips, 1);

    /* the password step: two statements, right or wrong: the try is
     * counted on the name and the source in one
     * (each counted once its statements are prepared) */
    {
        unsigned types;
        char h2[CSAM_TOKEN_SIZE];

        assert_int_equal(csam_engine_login_password(ctx.engine, "192.0.2.50",
                                                    c.username, "Wrong-pw-1",
                                                    h2, &types, &att),
                         CSAM_ERR_BAD_CREDENTIALS);
        trips = csam_store_round_trips(ctx.store);
        assert_int_equal(csam_engine_login_password(ctx.engine, "192.0.2.50",
                                                    c.username, "Wrong-pw-2",
                                                    h2, &types, &att),
                         CSAM_ERR_BAD_CREDENTIALS);
        assert_int_equal(csam_store_round_trips(ctx.store) - trips, 2);
        trips = csam_store_round_trips(ctx.store);
        assert_int_equal(csam_engine_login_password(ctx.engine, "192.0.2.50",
                                                    c.username, c.password, h2,
                                                    &types, &att),
                         CSAM_OK);
        print_message("statements per login_password: %lu\n",
                      csam_store_round_trips(ctx.store) - trips);
        assert_int_equal(csam_store_round_trips(ctx.store) - trips, 2);
    }
    /* a second login: a new session id, and its verification costs one
     * statement now that it is prepared */
    login_to_code(&c, "192.0.2.50", handle, code, sizeof(code));
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.50", handle,
                                              code, &t2, &att),
                     CSAM_OK);
    print_message("statements per login_verify: %lu\n",
                  csam_store_round_trips(ctx.store) - trips);
    assert_int_equal(csam_store_round_trips(ctx.store) - trips, 1);
    assert_string_not_equal(t.cookie, t2.cookie);
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 0, &info),
                     CSAM_OK);

    /* the audit trail, and no secret in any log */
    assert_int_equal(sql("SELECT count(DISTINCT action) FROM csam_audit"
                         " WHERE account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1) AND action IN"
                         " ('login.password_accepted', 'challenge.issued',"
                         " 'challenge.passed', 'session.created')",
                         c.username),
                     4);
    assert_false(csam_test_log_contains(c.password));
    assert_false(csam_test_log_contains(code));
    assert_false(csam_test_log_contains(t.cookie));
    assert_false(csam_test_log_contains(handle));
    csam_wipe(t.cookie, sizeof(t.cookie));
    csam_wipe(t2.cookie, sizeof(t2.cookie));
}

static void test_login_failures(void **state)
{
    struct csam_test_citizen c, other;
    struct csam_session_ticket t;
    char handle[CSAM_TOKEN_SIZE], handle2[CSAM_TOKEN_SIZE];
    char code[16], wrong[16], longname[100];
    struct csam_attempts att;
    unsigned types;

    (void)state;
    no_cooldown();
    active_citizen(&c, "lfail");
    active_citizen(&other, "lother");
    /* wrong password, unknown name: one answer */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                "not-the-password-1", handle,
                                                &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(att.retry_after, 0);
    assert_string_equal(handle, "");
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, "nobody.here",
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    /* another's password; a name that cannot be an account */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                other.password, handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, "Bad Name!",
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, "bad\xff\xfe",
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, longname,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, NULL,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_INVALID);
    /* a disabled account does not log in */
    assert_int_equal(sql("UPDATE csam_accounts SET status = 'disabled'"
                         " WHERE username = $1",
                         other.username),
                     1);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL,
                                                other.username, other.password,
                                                handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    /* the wrong failures named the account in the audit trail, the
     * unknown names did not */
    assert_int_equal(sql("SELECT count(*) FROM csam_audit"
                         " WHERE action = 'login.password_failed'"
                         " AND actor = $1",
                         c.username),
                     2);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit"
                         " WHERE actor IN ('nobody.here', 'Bad Name!')",
                         NULL),
                     0);

    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    /* no key chosen yet; keys the account does not have; bad handles */
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle,
                                              "123456", &t, &att),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_TOTP, &att),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_NONE, &att),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, "x",
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, NULL, "1", &t,
                                              &att),
                     CSAM_ERR_EXPIRED);
    /* an activation handle is no login handle */
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, c.handle,
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_ERR_EXPIRED);

    /* a resend inside the cooldown sends nothing; the code sent stays
     * good */
    ctx.config.resend_cooldown = 60;
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_OK);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    /* a code mailed for this login is worth nothing in another one that
     * did not take it over */
    no_cooldown();
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle2, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(sql("UPDATE csam_flows SET key_type = 'email',"
                         " step = 'confirm' WHERE kind = 'login'"
                         " AND step = 'key' AND account_id = (SELECT id FROM"
                         " csam_accounts WHERE username = $1)",
                         c.username),
                     1);
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle2, code,
                                              &t, &att),
                     CSAM_ERR_EXPIRED);
    /* wrong codes count on the code and the account */
    wrong_of(code, wrong);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.60", handle,
                                              wrong, &t, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.attempts_left, 4);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.60", handle,
                                              "12ab", &t, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.attempts_left, 3);
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     2);
    assert_int_equal(sql("SELECT failures FROM csam_source_failures"
                         " WHERE source = '192.0.2.60'",
                         NULL),
                     2);
    /* and the right one, typed with a space, still works */
    memmove(code + 4, code + 3, strlen(code + 3) + 1);
    code[3] = ' ';
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, code,
                                              &t, &att),
                     CSAM_OK);
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     0);
    csam_wipe(t.cookie, sizeof(t.cookie));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

#define TIMING_RUNS 21

/* An unknown name and a wrong password: the same answer in the same time
 * (medians within 20%); and what a right password costs. */
static void test_login_timing(void **state)
{
    double known[TIMING_RUNS] = {0}, unknown[TIMING_RUNS] = {0};
    double right[TIMING_RUNS];
    double pairs[TIMING_RUNS];
    struct csam_test_citizen c;
    char handle[CSAM_TOKEN_SIZE], name[32];
    struct csam_attempts att;
    unsigned types;
    double t0, ratio;
    int i;

    (void)state;
    ctx.config.lockout_threshold = 1000; /* no delay between the tries */
    active_citizen(&c, "timing");
    for (i = 0; i < TIMING_RUNS; i++) {
        int j;

        /* the two in turn, each first every other time */
        for (j = 0; j < 2; j++) {
            if ((i + j) % 2 == 0) {
                snprintf(name, sizeof(name), "nobody%d", i);
                t0 = now_ms();
                assert_int_equal(csam_engine_login_password(
                                     ctx.engine, "192.0.2.70", name, c.password,
                                     handle, &types, &att),
                                 CSAM_ERR_BAD_CREDENTIALS);
                unknown[i] = now_ms() - t0;
            } else {
                t0 = now_ms();
                assert_int_equal(csam_engine_login_password(
                                     ctx.engine, "192.0.2.70", c.username,
                                     "Wrong-password-42", handle, &types, &att),
                                 CSAM_ERR_BAD_CREDENTIALS);
                known[i] = now_ms() - t0;
            }
        }
        t0 = now_ms();
        assert_int_equal(csam_engine_login_password(ctx.engine, NULL,
                                                    c.username, c.password,
                                                    handle, &types, &att),
                         CSAM_OK);
        right[i] = now_ms() - t0;
    }
    /* Each pair ran back to back, under the same load: the median of
     * their ratios is what the assertion uses, as a busy machine (make
     * check -j) moves both medians but hardly a pair's ratio. */
    for (i = 0; i < TIMING_RUNS; i++)
        pairs[i] = unknown[i] / known[i];
    qsort(pairs, TIMING_RUNS, sizeof(double), cmp_double);
    qsort(known, TIMING_RUNS, sizeof(double), cmp_double);
    qsort(unknown, TIMING_RUNS, sizeof(double), cmp_double);
    qsort(right, TIMING_RUNS, sizeof(double), cmp_double);
    ratio = unknown[TIMING_RUNS / 2] / known[TIMING_RUNS / 2];
    print_message("login_password medians of %d: wrong password %.1f ms, "
                  "unknown name %.1f ms (ratio of medians %.3f, median of "
                  "pair ratios %.3f), right password %.1f ms (Argon2id "
                  "m=%ld t=%ld p=%ld)\n",
                  TIMING_RUNS, known[TIMING_RUNS / 2], unknown[TIMING_RUNS / 2],
                  ratio, pairs[TIMING_RUNS / 2], right[TIMING_RUNS / 2],
                  ctx.config.argon2_m_cost, ctx.config.argon2_t_cost,
                  ctx.config.argon2_parallelism);
    assert_true(pairs[TIMING_RUNS / 2] > 0.8 && pairs[TIMING_RUNS / 2] < 1.2);
    ctx.config.lockout_threshold = 10;
}

/* Wrong passwords: plain failures, then growing delays (a try inside one
 * is refused unchecked, even with the right password), then a lock that
 * only a right password reveals, and that ends.  An unknown name goes
 * through the very same steps. */
static void lockout_steps(const char *name, const char *right, int known)
{
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;
    const char *try_right = right != NULL ? right : "Some-guess-0001";

    /* threshold 4: failures 1, 2 plain; 3 sets a delay of 1 s */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, name, "w1",
                                                handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(att.retry_after, 0);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, name, "w2",
                                                handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(att.retry_after, 0);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, name, "w3",
                                                handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(att.retry_after, 1);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, name,
                                                try_right, handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_true(att.retry_after >= 1);
    sleep_ms(1100);
    /* the 4th failure locks the name */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, name, "w4",
                                                handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(att.retry_after, 0);
    /* while it is locked, a wrong and a right password get the same
     * answer, known name or not, and neither is counted */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, name, "w5",
                                                handle, &types, &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 100 && att.retry_after <= 120);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, name,
                                                try_right, handle, &types,
                                                &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 100 && att.retry_after <= 120);
    (void)known;
}

static void test_password_lockout(void **state)
{
    struct csam_test_citizen c;
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;
    long long stale;

    (void)state;
    ctx.config.lockout_threshold = 4;
    ctx.config.lockout_duration = 120;
    active_citizen(&c, "plock");
    lockout_steps(c.username, c.password, 1);
    lockout_steps("no.such.name", NULL, 0);
    /* still locked after the right password said so */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_LOCKED);
    /* no Argon2id ran for a try on a locked name: no audit row of a
     * checked password since the lock */
    assert_int_equal(sql("SELECT count(*) FROM csam_audit"
                         " WHERE action = 'login.password_failed'"
                         " AND actor = $1",
                         c.username),
                     4);
    /* never permanent: aged past its end, the lock is gone */
    assert_int_equal(sql("UPDATE csam_password_failures SET locked_until ="
                         " now() - interval '1 second'"
                         " WHERE locked_until > now()",
                         NULL),
                     2);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    /* rows of names nobody tried for long are purged by later tries, a
     * few at a time */
    stale = sql("UPDATE csam_password_failures SET last_failure_at ="
                " now() - interval '1 day', locked_until = NULL",
                NULL);
    assert_true(stale >= 4);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, "fresh.name",
                                                "guess", handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(sql("SELECT count(*) FROM csam_password_failures"
                         " WHERE last_failure_at < now() - interval '1 hour'",
                         NULL),
                     stale - 4);
    /* wrong passwords never touched the code-failure counter */
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     0);
    ctx.config.lockout_threshold = 10;
    ctx.config.lockout_duration = 900;
}

/* The growing delay stops at delay_max: a name far past half the
 * threshold waits delay_max seconds, not 2^(failures - half). */
static void test_password_delay_max(void **state)
{
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;

    (void)state;
    ctx.config.lockout_threshold = 40; /* delays after 20 failures */
    ctx.config.delay_max = 3;
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, "delay.max",
                                                "guess-1", handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(att.retry_after, 0);
    /* 30 failures so far: the next one would wait 2^10 s uncapped */
    assert_int_equal(sql("UPDATE csam_password_failures SET failures = 30"
                         " WHERE name_hash = (SELECT name_hash"
                         " FROM csam_password_failures"
                         " ORDER BY last_failure_at DESC LIMIT 1)",
                         NULL),
                     1);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, "delay.max",
                                                "guess-2", handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(att.retry_after, 3);
    /* and so is the delay a try inside it is told */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, "delay.max",
                                                "guess-3", handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_true(att.retry_after >= 1 && att.retry_after <= 3);
    ctx.config.lockout_threshold = 10;
    ctx.config.delay_max = 60;
}

/* Many guesses at once: each is counted before Argon2id runs, so they
 * cannot outrun the delays. */
struct guesser {
    struct csam_test_ctx ctx;
    const char *name;
    pthread_barrier_t *barrier;
    int refused_unchecked;
};

static void *guesser_run(void *arg)
{
    struct guesser *g = arg;
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;
    int i;

    pthread_barrier_wait(g->barrier);
    for (i = 0; i < 4; i++) {
        if (csam_engine_login_password(g->ctx.engine, NULL, g->name,
                                       "parallel-guess", handle, &types, &att)
                == CSAM_ERR_BAD_CREDENTIALS
            && att.retry_after > 0)
            g->refused_unchecked++;
    }
    return NULL;
}

static void test_parallel_guesses(void **state)
{
    struct guesser g[4];
    pthread_barrier_t barrier;
    pthread_t th[4];
    long long counted;
    int i, refused = 0;

    (void)state;
    pthread_barrier_init(&barrier, NULL, 4);
    for (i = 0; i < 4; i++) {
        csam_test_ctx_open(&g[i].ctx, 0);
        g[i].ctx.config.lockout_threshold = 100; /* delays after 50 */
        g[i].name = "parallel.target";
        g[i].barrier = &barrier;
        g[i].refused_unchecked = 0;
        assert_int_equal(pthread_create(&th[i], NULL, guesser_run, &g[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        refused += g[i].refused_unchecked;
        csam_test_ctx_close(&g[i].ctx);
    }
    pthread_barrier_destroy(&barrier);
    /* every one of the 16 tries was counted, none lost to a race */
    counted = sql("SELECT sum(failures) FROM csam_password_failures f"
                  " WHERE failures = 16",
                  NULL);
    assert_int_equal(counted, 16);
    assert_int_equal(refused, 0);
}

/* A right password leaves the code failures as they are; a lock from
 * wrong codes (PAM's or the web's) answers a right and a wrong password
 * alike, before any Argon2id run. */
static void test_code_failures_kept(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket t;
    char handle[CSAM_TOKEN_SIZE], code[16];
    struct csam_attempts att;
    unsigned types;

    (void)state;
    no_cooldown();
    active_citizen(&c, "keep");
    login_to_code(&c, NULL, handle, code, sizeof(code));
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle,
                                              "000000", &t, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle,
                                              "000001", &t, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     2);
    assert_int_equal(sql("UPDATE csam_accounts SET locked_until ="
                         " now() + interval '300 seconds' WHERE username = $1",
                         c.username),
                     1);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                "Wrong-password-42", handle,
                                                &types, &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 290 && att.retry_after <= 300);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 290 && att.retry_after <= 300);
    assert_string_equal(handle, "");
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     2);
}

/* Codes are bound to their purpose: a PAM code or a key-confirmation code
 * is refused for a web login, even with its hash planted there. */
static void test_purpose_binding(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket t;
    struct csam_pam_challenge ch;
    struct csam_challenge_owner owner;
    char handle[CSAM_TOKEN_SIZE], web[16], pam[16];
    char key[CSAM_ENGINE_CODE_SIZE];
    struct csam_attempts att;
    char acc[32];

    (void)state;
    no_cooldown();
    active_citizen(&c, "bind");
    snprintf(acc, sizeof(acc), "%lld",
             sql("SELECT id FROM csam_accounts WHERE username = $1",
                 c.username));
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username,
                                           CSAM_KEY_EMAIL, NULL, &ch, &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, pam, sizeof(pam));
    login_to_code(&c, NULL, handle, web, sizeof(web));
    memset(&owner, 0, sizeof(owner));
    owner.account_id = atoll(acc);
    owner.username = c.username;
    assert_int_equal(csam_challenge_issue(ctx.engine, &owner, 0,
                                          CSAM_CHALLENGE_KEY_CONFIRM,
                                          CSAM_KEY_EMAIL, NULL, key),
                     CSAM_OK);
    /* the PAM code's and the key code's hashes planted as web codes */
    assert_int_equal(sql("INSERT INTO csam_challenges (account_id, purpose,"
                         " key_type, code_hash, max_attempts, expires_at)"
                         " SELECT account_id, 'web_login', key_type,"
                         " code_hash, 5, now() + interval '10 minutes'"
                         " FROM csam_challenges WHERE account_id = $1::bigint"
                         " AND purpose IN ('pam_login', 'key_confirm')"
                         " AND used_at IS NULL AND superseded_at IS NULL"
                         " ORDER BY purpose = 'pam_login'",
                         acc),
                     2);
    if (strcmp(pam, web) != 0)
        assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, pam,
                                                  &t, &att),
                         CSAM_ERR_BAD_CODE);
    /* the newest planted row is the PAM code's; supersede it and try the
     * key code's */
    assert_int_equal(sql("UPDATE csam_challenges SET superseded_at = now()"
                         " WHERE id = (SELECT max(id) FROM csam_challenges"
                         " WHERE account_id = $1::bigint"
                         " AND purpose = 'web_login')",
                         acc),
                     1);
    if (strcmp(key, web) != 0)
        assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, key,
                                                  &t, &att),
                         CSAM_ERR_BAD_CODE);
    csam_wipe(key, sizeof(key));
}

/* A new login while the code of an abandoned one is pending takes that
 * code over: no second message, the old login is superseded, the mailed
 * code logs the new one in (DESIGN 4). */
static void test_pending_code_reused(void **state)
{
    char first[CSAM_TOKEN_SIZE], second[CSAM_TOKEN_SIZE], code[16];
    struct csam_session_ticket t;
    struct csam_test_citizen c;
    struct csam_login_code sent;
    struct csam_attempts att;
    unsigned types;

    (void)state;
    ctx.config.resend_cooldown = 60;
    active_citizen(&c, "reuse");
    login_to_code(&c, NULL, first, code, sizeof(code));
    /* the citizen gives up and logs in again at once */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, second, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_login_code(ctx.engine, NULL, second,
                                            CSAM_KEY_EMAIL, &sent, &att),
                     CSAM_OK);
    assert_int_equal(sent.reused, 1);
    assert_true(sent.resend_after > 50 && sent.resend_after <= 60);
    assert_true(sent.sent_at >= sql("SELECT extract(epoch FROM now())::bigint"
                                    " - 10",
                                    NULL));
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    /* the first login is gone, the mailed code opens the second */
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, first, code, &t,
                                              &att),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, second, code,
                                              &t, &att),
                     CSAM_OK);
    assert_string_equal(t.info.username, c.username);
    csam_wipe(t.cookie, sizeof(t.cookie));
    no_cooldown();
}

/* While a name is locked its locks grow: the next one, after the first
 * ended, lasts twice as long, so guessing never starts afresh. */
static void test_lock_grows(void **state)
{
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;
    int round, i;

    (void)state;
    ctx.config.lockout_threshold = 2; /* no delays: locks only */
    ctx.config.lockout_duration = 100;
    for (round = 0; round < 3; round++) {
        for (i = 0; i < 2; i++)
            assert_int_equal(csam_engine_login_password(ctx.engine, NULL,
                                                        "grow.target", "guess",
                                                        handle, &types, &att),
                             CSAM_ERR_BAD_CREDENTIALS);
        assert_int_equal(csam_engine_login_password(ctx.engine, NULL,
                                                    "grow.target", "guess",
                                                    handle, &types, &att),
                         CSAM_ERR_LOCKED);
        print_message("lock %d: %ld s\n", round + 1, att.retry_after);
        assert_true(att.retry_after > (100L << round) - 5
                    && att.retry_after <= (100L << round));
        /* the lock ends */
        assert_int_equal(sql("UPDATE csam_password_failures SET locked_until"
                             " = now() - interval '1 second'"
                             " WHERE locked_until > now()",
                             NULL),
                         1);
    }
    ctx.config.lockout_threshold = 10;
    ctx.config.lockout_duration = 900;
}

/* A known device (OWASP device cookies) keeps its own budget: a name
 * locked by guesses from elsewhere and an account locked by wrong PAM
 * codes hold back every other browser, not the one that completed a
 * login; and its own wrong codes do not lock PAM. */
static void test_known_device(void **state)
{
    char handle[CSAM_TOKEN_SIZE], code[16], wrong[16];
    char device[CSAM_TOKEN_SIZE];
    struct csam_session_ticket t;
    struct csam_pam_challenge ch;
    struct csam_test_citizen c;
    struct csam_attempts att;
    unsigned types;
    int i;

    (void)state;
    no_cooldown();
    ctx.config.lockout_threshold = 4;
    active_citizen(&c, "device");
    login_to_code(&c, "192.0.2.80", handle, code, sizeof(code));
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.80", handle,
                                              code, &t, &att),
                     CSAM_OK);
    assert_true(csam_token_valid(t.device));
    strcpy(device, t.device);
    /* only its keyed hash is kept */
    assert_int_equal(sql("SELECT count(*) FROM csam_login_devices"
                         " WHERE account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1)",
                         c.username),
                     1);
    assert_false(csam_test_log_contains(device));

    /* an attacker locks the name from elsewhere */
    for (i = 0; i < 4; i++) {
        sql("UPDATE csam_password_failures SET delay_until = NULL", NULL);
        assert_int_equal(csam_engine_login_password(ctx.engine, "198.51.100.1",
                                                    c.username, "guess-guess",
                                                    handle, &types, &att),
                         CSAM_ERR_BAD_CREDENTIALS);
    }
    assert_int_equal(csam_engine_login_password(ctx.engine, "198.51.100.2",
                                                c.username, c.password, handle,
                                                &types, &att),
                     CSAM_ERR_LOCKED);
    /* and wrong PAM codes lock the account */
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username,
                                           CSAM_KEY_EMAIL, NULL, &ch, &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    wrong_of(code, wrong);
    for (i = 0; i < 4; i++) {
        /* the growing delays are skipped: the lock is what matters */
        sql("UPDATE csam_accounts SET locked_until = NULL"
            " WHERE username = $1 AND failures > 0",
            c.username);
        assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                                CSAM_KEY_EMAIL, wrong, NULL,
                                                &att),
                         i < 3 ? CSAM_ERR_BAD_CODE : CSAM_ERR_LOCKED);
    }
    assert_true(sql("SELECT count(*) FROM csam_accounts WHERE username = $1"
                    " AND failures = 0 AND locked_until > now()"
                    " + interval '100 seconds'",
                    c.username)
                == 1);
    /* another browser: locked, a token of another account is no help */
    assert_int_equal(csam_engine_login_password_device(
                         ctx.engine, "198.51.100.2",
                         "A"
                         "AAAAAAAAAAAAAAAAAAAA"
                         "AAAAAAAAAAAAAAAAAAAAAA",
                         c.username, c.password, handle, &types, &att),
                     CSAM_ERR_LOCKED);
    /* the known browser: a wrong password counts on it alone, the right
     * one and the code log it in */
    assert_int_equal(csam_engine_login_password_device(
                         ctx.engine, "192.0.2.80", device, c.username,
                         "typo-typo-typo", handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_engine_login_password_device(
                         ctx.engine, "192.0.2.80", device, c.username,
                         c.password, handle, &types, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, "192.0.2.80",
                                                 handle, CSAM_KEY_EMAIL, &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    /* a wrong code counts on the device, not on the account */
    wrong_of(code, wrong);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.80", handle,
                                              wrong, &t, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(sql("SELECT failures FROM csam_login_devices"
                         " WHERE account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1)",
                         c.username),
                     2);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE username = $1 AND failures = 0"
                         " AND locked_until > now()",
                         c.username),
                     1);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.80", handle,
                                              code, &t, &att),
                     CSAM_OK);
    /* a long-lived device is not made again */
    assert_string_equal(t.device, "");
    csam_wipe(t.cookie, sizeof(t.cookie));
    /* both factors from the citizen's own browser: the account's count
     * and lock are cleared, PAM counts from zero */
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     0);
    ctx.config.lockout_threshold = 10;
}

/* The per-source counter is charged before Argon2id, atomically: many
 * guesses at once from one address run Argon2id no more often than the
 * source's threshold (each run leaves one audit row). */
struct sprayer {
    struct csam_test_ctx ctx;
    pthread_barrier_t *barrier;
    int id;
};

static void *sprayer_run(void *arg)
{
    struct sprayer *g = arg;
    char handle[CSAM_TOKEN_SIZE], name[32];
    struct csam_attempts att;
    unsigned types;
    int i;

    pthread_barrier_wait(g->barrier);
    for (i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "spray%d.%d", g->id, i);
        csam_engine_login_password(g->ctx.engine, "203.0.113.77", name,
                                   "sprayed-guess", handle, &types, &att);
    }
    return NULL;
}

static void test_source_counted_first(void **state)
{
    struct sprayer g[6];
    pthread_barrier_t barrier;
    pthread_t th[6];
    long long runs;
    int i;

    (void)state;
    pthread_barrier_init(&barrier, NULL, 6);
    for (i = 0; i < 6; i++) {
        csam_test_ctx_open(&g[i].ctx, 0);
        g[i].ctx.config.lockout_threshold = 2; /* a source: 10 */
        g[i].barrier = &barrier;
        g[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, sprayer_run, &g[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        csam_test_ctx_close(&g[i].ctx);
    }
    pthread_barrier_destroy(&barrier);
    runs = sql("SELECT count(*) FROM csam_audit WHERE source = '203.0.113.77'"
               " AND action = 'login.password_failed'",
               NULL);
    print_message("36 guesses at once from one source: %lld Argon2id runs "
                  "(source threshold 10)\n",
                  runs);
    assert_int_equal(runs, 10);
    assert_int_equal(sql("SELECT count(*) FROM csam_source_failures"
                         " WHERE source = '203.0.113.77'"
                         " AND locked_until > now()",
                         NULL),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_success),
        cmocka_unit_test(test_cooldown_after_login),
        cmocka_unit_test(test_login_failures),
        cmocka_unit_test(test_login_timing),
        cmocka_unit_test(test_password_lockout),
        cmocka_unit_test(test_password_delay_max),
        cmocka_unit_test(test_parallel_guesses),
        cmocka_unit_test(test_code_failures_kept),
        cmocka_unit_test(test_purpose_binding),
        cmocka_unit_test(test_pending_code_reused),
        cmocka_unit_test(test_lock_grows),
        cmocka_unit_test(test_known_device),
        cmocka_unit_test(test_source_counted_first),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
