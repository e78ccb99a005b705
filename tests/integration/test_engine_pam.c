/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PAM second factor and the code rules shared with the web, through
 * the engine against a real PostgreSQL and SMTP server: begin / reuse /
 * verify, purpose binding, lockout that ends, two concurrent verifications
 * of one code, a PostgreSQL restart between two calls and a stopped
 * server.
 */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#define CSAM_SUITE_SERIAL 500
#define CSAM_SUITE_PAM /* ctx is pam_csam, as csam_pam; web is mod_csam */
#include "engine_suite.h"

#include "engine_internal.h"

static void begin_fresh(const struct csam_test_citizen *c, char *code,
                        size_t size)
{
    struct csam_pam_challenge ch;
    struct csam_attempts att;

    assert_int_equal(csam_engine_pam_begin(ctx.engine, c->username,
                                           CSAM_KEY_ALL, "203.0.113.5", &ch,
                                           &att),
                     CSAM_OK);
    assert_int_equal(ch.key_type, CSAM_KEY_EMAIL);
    assert_int_equal(ch.reused, 0);
    assert_string_equal(ch.language, "fr");
    csam_test_take_code(&ctx, c->email, code, size);
}

static void wrong_of(const char *code, char *wrong)
{
    strcpy(wrong, code);
    wrong[5] = (char)(wrong[5] == '9' ? '0' : wrong[5] + 1);
}

static void test_begin_reuse_verify(void **state)
{
    unsigned long trips;
    struct csam_test_citizen c;
    struct csam_pam_challenge ch;
    struct csam_attempts att;
    char code[16], wrong[16];

    (void)state;
    active_citizen(&c, "pam");
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_EMAIL, &att),
                     CSAM_OK);
    begin_fresh(&c, code, sizeof(code));
    /* a second conversation within the cooldown reuses it: no mail */
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username,
                                           CSAM_KEY_EMAIL, NULL, &ch, &att),
                     CSAM_OK);
    assert_int_equal(ch.reused, 1);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);

    wrong_of(code, wrong);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, wrong, NULL, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.attempts_left, 4);
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     1);
    /* one round trip verifies (the statement is prepared by now) */
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, "203.0.113.5",
                                            &att),
                     CSAM_OK);
    assert_int_equal(csam_store_round_trips(ctx.store) - trips, 1);
    /* a success resets the account's failures */
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     0);
    /* single use */
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_ERR_EXPIRED);
    assert_false(csam_test_log_contains(code));
    assert_false(csam_test_log_contains(wrong));
    /* a used code is not reused: the next login mails a fresh one */
    begin_fresh(&c, code, sizeof(code));
    assert_false(csam_test_log_contains(code));
    assert_int_equal(sql("SELECT count(*) FROM csam_audit a JOIN"
                         " csam_accounts u ON u.id = a.account_id"
                         " WHERE u.username = $1"
                         " AND a.action = 'challenge.passed'"
                         " AND a.source = '203.0.113.5'",
                         c.username),
                     1);
}

static void test_unknown_and_unsupported(void **state)
{
    struct csam_test_citizen c, pending;
    struct csam_pam_challenge ch;
    struct csam_attempts att;

    (void)state;
    assert_int_equal(csam_engine_pam_begin(ctx.engine, "nobody", CSAM_KEY_ALL,
                                           NULL, &ch, &att),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_pam_begin(ctx.engine,
                                           "x'; DROP TABLE"
                                           " csam_accounts; --",
                                           CSAM_KEY_ALL, NULL, &ch, &att),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_pam_begin(ctx.engine, "$(reboot)",
                                           CSAM_KEY_ALL, NULL, &ch, &att),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_pam_begin(ctx.engine, NULL, CSAM_KEY_ALL, NULL,
                                           &ch, &att),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_account_check(ctx.engine, "nobody",
                                               CSAM_KEY_ALL, &att),
                     CSAM_ERR_NOT_FOUND);

    /* an account still being activated has no second factor yet */
    csam_test_citizen_init(&pending, "pampending", serial++);
    assert_int_equal(csam_test_register(&web, &pending), CSAM_OK);
    {
        unsigned types;
        struct csam_credentials_outcome out;

        assert_int_equal(
            csam_engine_activation_open(web.engine, NULL, pending.token,
                                        pending.receipt.activation_code,
                                        pending.handle, &types, &att),
            CSAM_OK);
        assert_int_equal(
            csam_engine_activation_key(web.engine, NULL, pending.handle,
                                       CSAM_KEY_EMAIL, 1, NULL, NULL),
            CSAM_OK);
        memset(&out, 0, sizeof(out));
        assert_int_equal(csam_engine_activation_credentials(
                             web.engine, NULL, pending.handle, pending.username,
                             pending.password, pending.password, &out),
                         CSAM_OK);
    }
    assert_int_equal(csam_engine_pam_begin(ctx.engine, pending.username,
                                           CSAM_KEY_ALL, NULL, &ch, &att),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_account_check(ctx.engine, pending.username,
                                               CSAM_KEY_ALL, &att),
                     CSAM_ERR_NOT_FOUND);

    /* an account whose active keys are all of types the service does not
     * allow exists: CSAM_ERR_STATE, never "not found" (nullok would skip
     * its second factor) */
    active_citizen(&c, "pamtotp");
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username,
                                           CSAM_KEY_TOTP | CSAM_KEY_SMS, NULL,
                                           &ch, &att),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_TOTP, &att),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_TOTP, "123456", NULL,
                                            &att),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, "123456", NULL,
                                            &att),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
}

static void test_code_exhausted_and_expired(void **state)
{
    struct csam_test_citizen c;
    struct csam_attempts att;
    char code[16];
    int i;

    (void)state;
    active_citizen(&c, "pamexh");
    begin_fresh(&c, code, sizeof(code));
    for (i = 4; i >= 1; i--) {
        assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                                CSAM_KEY_EMAIL, "12 34 5", NULL,
                                                &att),
                         CSAM_ERR_BAD_CODE);
        assert_int_equal(att.attempts_left, i);
    }
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, "99999999", NULL,
                                            &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(att.attempts_left, 0);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_ERR_LOCKED);
    /* an exhausted code is not reused: a new one is mailed */
    begin_fresh(&c, code, sizeof(code));
    /* an expired one neither, and it is refused */
    assert_int_equal(sql("UPDATE csam_challenges SET"
                         " created_at = now() - interval '1 hour',"
                         " expires_at = now() - interval '1 second'"
                         " WHERE used_at IS NULL AND superseded_at IS NULL"
                         " AND account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1)",
                         c.username),
                     1);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_ERR_EXPIRED);
    begin_fresh(&c, code, sizeof(code));
    /* spaces typed in the code are fine */
    {
        char spaced[32];

        snprintf(spaced, sizeof(spaced), "%.3s %s", code, code + 3);
        assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                                CSAM_KEY_EMAIL, spaced, NULL,
                                                &att),
                         CSAM_OK);
    }
    /* an old pending code (past the cooldown) is replaced, not reused */
    begin_fresh(&c, code, sizeof(code));
    assert_int_equal(sql("UPDATE csam_challenges SET"
                         " created_at = created_at - interval '5 minutes'"
                         " WHERE used_at IS NULL AND superseded_at IS NULL"
                         " AND account_id = (SELECT id FROM csam_accounts"
                         " WHERE username = $1)",
                         c.username),
                     1);
    {
        char code2[16];

        begin_fresh(&c, code2, sizeof(code2));
        if (strcmp(code, code2) != 0)
            assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                                    CSAM_KEY_EMAIL, code, NULL,
                                                    &att),
                             CSAM_ERR_BAD_CODE);
        assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                                CSAM_KEY_EMAIL, code2, NULL,
                                                &att),
                         CSAM_OK);
    }
}

/* A code issued for one purpose is refused for every other, even when
 * its hash is copied into the other purpose's row. */
static void test_purpose_binding(void **state)
{
    struct csam_test_citizen c;
    struct csam_attempts att;
    char pam_code[16], key_code[CSAM_ENGINE_CODE_SIZE];
    struct csam_challenge_owner owner;
    long long account;
    char acc[32];

    (void)state;
    active_citizen(&c, "purpose");
    account = sql("SELECT id FROM csam_accounts WHERE username = $1",
                  c.username);
    snprintf(acc, sizeof(acc), "%lld", account);
    begin_fresh(&c, pam_code, sizeof(pam_code));
    memset(&owner, 0, sizeof(owner));
    owner.account_id = account;
    owner.username = c.username;
    owner.handle = c.handle; /* web login codes are bound to a handle */
    assert_int_equal(csam_challenge_issue(web.engine, &owner, 0,
                                          CSAM_CHALLENGE_KEY_CONFIRM,
                                          CSAM_KEY_EMAIL, NULL, key_code),
                     CSAM_OK);
    /* the PAM code for key confirmation, the key code for PAM */
    if (strcmp(pam_code, key_code) != 0) {
        assert_int_equal(csam_challenge_verify(
                             web.engine, &owner, CSAM_CHALLENGE_KEY_CONFIRM,
                             CSAM_KEY_EMAIL, pam_code, NULL, 0, &att),
                         CSAM_ERR_BAD_CODE);
        assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                                CSAM_KEY_EMAIL, key_code, NULL,
                                                &att),
                         CSAM_ERR_BAD_CODE);
    }
    /* the PAM code's very hash planted in a web-login row: still refused,
     * the hash is bound to its purpose */
    assert_int_equal(sql("INSERT INTO csam_challenges (account_id, purpose,"
                         " key_type, code_hash, max_attempts, expires_at)"
                         " SELECT account_id, 'web_login', key_type,"
                         " code_hash, 5, now() + interval '10 minutes'"
                         " FROM csam_challenges WHERE account_id = $1::bigint"
                         " AND purpose = 'pam_login' AND used_at IS NULL"
                         " AND superseded_at IS NULL",
                         acc),
                     1);
    assert_int_equal(
        csam_challenge_verify(web.engine, &owner, CSAM_CHALLENGE_WEB_LOGIN,
                              CSAM_KEY_EMAIL, pam_code, NULL, 1, &att),
        CSAM_ERR_BAD_CODE);
    /* each works for its own purpose */
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, pam_code, NULL,
                                            &att),
                     CSAM_OK);
    assert_int_equal(
        csam_challenge_verify(web.engine, &owner, CSAM_CHALLENGE_KEY_CONFIRM,
                              CSAM_KEY_EMAIL, key_code, NULL, 0, &att),
        CSAM_OK);
    csam_wipe(key_code, sizeof(key_code));
}

static void sleep_s(long s)
{
    struct timespec ts = {s, 100 * 1000 * 1000};

    nanosleep(&ts, NULL);
}

/* Failures from every code count on the account; a growing delay, then a
 * temporary lock, which ends. */
static void test_account_lockout(void **state)
{
    struct csam_test_citizen c;
    struct csam_pam_challenge ch;
    struct csam_attempts att;
    char code[16];
    long long n;

    (void)state;
    ctx.config.lockout_threshold = 4;
    ctx.config.lockout_duration = 120;
    active_citizen(&c, "lockout");
    begin_fresh(&c, code, sizeof(code));
    /* 1st, 2nd: plain failures; 3rd: past half the threshold, a delay */
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, "000000x", NULL,
                                            &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.retry_after, 0);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, "000000x", NULL,
                                            &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.retry_after, 0);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, "000000x", NULL,
                                            &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.retry_after, 1);
    /* during the delay even the right code waits, uncounted */
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after >= 1);
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_EMAIL, &att),
                     CSAM_ERR_LOCKED);
    sleep_s(1);
    /* the threshold: a temporary lock of lockout_duration */
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, "000000x", NULL,
                                            &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 100 && att.retry_after <= 120);
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username, CSAM_KEY_ALL,
                                           NULL, &ch, &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 100);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_EMAIL, &att),
                     CSAM_ERR_LOCKED);
    /* never permanent: once the lock has run out the right code works */
    n = sql("UPDATE csam_accounts SET locked_until = now() - interval '1s'"
            " WHERE username = $1",
            c.username);
    assert_int_equal(n, 1);
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_EMAIL, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_OK);
    ctx.config.lockout_threshold = 10;
    ctx.config.lockout_duration = 900;
}

/* Wrong codes wait at most delay_max: an account far past half the
 * threshold waits delay_max seconds, not 2^(failures - half). */
static void test_code_delay_max(void **state)
{
    struct csam_test_citizen c;
    struct csam_attempts att;
    char code[16];

    (void)state;
    ctx.config.lockout_threshold = 40; /* delays after 20 failures */
    ctx.config.delay_max = 5;
    active_citizen(&c, "delaymax");
    begin_fresh(&c, code, sizeof(code));
    /* 30 failures so far: the next one would wait 2^10 s uncapped */
    assert_int_equal(sql("UPDATE csam_accounts SET failures = 30"
                         " WHERE username = $1",
                         c.username),
                     1);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, "000000x", NULL,
                                            &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.retry_after, 5);
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_EMAIL, &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after >= 1 && att.retry_after <= 5);
    ctx.config.lockout_threshold = 10;
    ctx.config.delay_max = 60;
}

/* Failures per source address on the web. */
static void test_source_lockout(void **state)
{
    struct csam_test_citizen c;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE];
    unsigned types;
    int i;

    (void)state;
    web.config.lockout_threshold = 1; /* source threshold: 5 */
    csam_test_citizen_init(&c, "source", serial++);
    assert_int_equal(csam_test_register(&web, &c), CSAM_OK);
    for (i = 0; i < 4; i++)
        assert_int_equal(
            csam_engine_activation_open(web.engine, "198.51.100.77", c.token,
                                        "nope", handle, &types, &att),
            CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_test_register(&web, &c), CSAM_OK);
    assert_int_equal(csam_engine_activation_open(web.engine, "198.51.100.77",
                                                 c.token, "nope", handle,
                                                 &types, &att),
                     CSAM_ERR_BAD_CODE);
    /* that address is now locked out, even with the right code; another
     * address is not */
    assert_int_equal(csam_engine_activation_open(
                         web.engine, "198.51.100.77", c.token,
                         c.receipt.activation_code, handle, &types, &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 0);
    assert_int_equal(csam_engine_activation_open(
                         web.engine, "198.51.100.78", c.token,
                         c.receipt.activation_code, handle, &types, &att),
                     CSAM_OK);
    web.config.lockout_threshold = 10;
}

/* ---- two verifications of one code at once ---------------------------- */

struct racer {
    struct csam_test_ctx *ctx;
    const char *username;
    const char *code;
    pthread_barrier_t *barrier;
    csam_result res;
};

static void *racer_run(void *arg)
{
    struct racer *r = arg;
    struct csam_attempts att;

    pthread_barrier_wait(r->barrier);
    r->res = csam_engine_pam_verify(r->ctx->engine, r->username, CSAM_KEY_EMAIL,
                                    r->code, NULL, &att);
    return NULL;
}

static void test_concurrent_verify(void **state)
{
    struct csam_test_ctx second;
    struct csam_test_citizen c;
    pthread_barrier_t barrier;
    struct racer a, b;
    pthread_t ta, tb;
    char code[16];
    int round;

    (void)state;
    csam_test_ctx_open_as(&second, 0, ctx.env.pg_pam);
    active_citizen(&c, "race");
    for (round = 0; round < 20; round++) {
        begin_fresh(&c, code, sizeof(code));
        assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
        a.ctx = &ctx;
        b.ctx = &second;
        a.username = b.username = c.username;
        a.code = b.code = code;
        a.barrier = b.barrier = &barrier;
        assert_int_equal(pthread_create(&ta, NULL, racer_run, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, racer_run, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&barrier);
        /* exactly one wins; the other finds the code used */
        assert_int_equal((a.res == CSAM_OK) + (b.res == CSAM_OK), 1);
        assert_true(a.res == CSAM_ERR_EXPIRED || b.res == CSAM_ERR_EXPIRED);
    }
    csam_test_ctx_close(&second);
}

/* A disabled account is locked, not unknown: with nullok, "unknown" would
 * let it in on the password alone. */
static void test_disabled_account(void **state)
{
    struct csam_test_citizen c;
    struct csam_pam_challenge ch;
    struct csam_attempts att;

    (void)state;
    active_citizen(&c, "pamdis");
    assert_int_equal(sql("UPDATE csam_accounts SET status = 'disabled'"
                         " WHERE username = $1",
                         c.username),
                     1);
    att.retry_after = 99;
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username, CSAM_KEY_ALL,
                                           NULL, &ch, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(att.retry_after, 0);
    att.retry_after = 99;
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_ALL, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(att.retry_after, 0);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
}

/* ---- the database going away ----------------------------------------- */

static void test_restart_between_calls(void **state)
{
    struct csam_test_citizen c;
    struct csam_attempts att;
    char code[16];

    (void)state;
    active_citizen(&c, "restart");
    begin_fresh(&c, code, sizeof(code));
    assert_int_equal(csam_test_pg_ctl(&ctx.env, "restart"), 0);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_OK);
    assert_true(csam_store_resets(ctx.store) >= 1);
    /* and a step that starts with a transaction */
    assert_int_equal(csam_test_pg_ctl(&ctx.env, "restart"), 0);
    begin_fresh(&c, code, sizeof(code));
    PQreset(pg);
}

static void test_server_stopped(void **state)
{
    struct csam_test_citizen c, d;
    struct csam_pam_challenge ch;
    struct csam_attempts att;
    char code[16];

    (void)state;
    active_citizen(&c, "stopped");
    begin_fresh(&c, code, sizeof(code));
    csam_test_citizen_init(&d, "stopped", serial++);
    assert_int_equal(csam_test_pg_ctl(&ctx.env, "stop"), 0);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_ERR_DB);
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username, CSAM_KEY_ALL,
                                           NULL, &ch, &att),
                     CSAM_ERR_DB);
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_ALL, &att),
                     CSAM_ERR_DB);
    assert_int_equal(csam_engine_register(web.engine, "officer", NULL, &d.reg,
                                          &d.receipt),
                     CSAM_ERR_DB);
    assert_int_equal(csam_test_mail_count(&ctx.env, d.email), 0);
    assert_int_equal(csam_test_pg_ctl(&ctx.env, "start"), 0);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_OK);
    PQreset(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin_reuse_verify),
        cmocka_unit_test(test_unknown_and_unsupported),
        cmocka_unit_test(test_code_exhausted_and_expired),
        cmocka_unit_test(test_purpose_binding),
        cmocka_unit_test(test_account_lockout),
        cmocka_unit_test(test_code_delay_max),
        cmocka_unit_test(test_source_lockout),
        cmocka_unit_test(test_concurrent_verify),
        cmocka_unit_test(test_disabled_account),
        cmocka_unit_test(test_restart_between_calls),
        cmocka_unit_test(test_server_stopped),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
