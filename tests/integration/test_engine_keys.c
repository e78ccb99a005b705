/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Self-management through the engine, against a real PostgreSQL and SMTP
 * server: the key list, adding and confirming a key, deactivating one but
 * never the last (also when two deactivations race), and the password
 * change that ends every other session; each with its audit row and its
 * notice.
 */
#define _POSIX_C_SOURCE 200809L

#include <time.h>

#define CSAM_SUITE_SERIAL 300
#define CSAM_SUITE_NO_COOLDOWN
#include "engine_suite.h"

#include "engine_internal.h"

/* An active TOTP key planted beside the e-mail key (TOTP activation comes
 * with its own issue; deactivation only needs a second key). */
static void plant_totp(const struct csam_test_citizen *c)
{
    assert_int_equal(sql("INSERT INTO csam_keys (account_id, type, status,"
                         " totp_secret, activated_at)"
                         " SELECT id, 'totp', 'active',"
                         " decode(repeat('00', 48), 'hex'), now()"
                         " FROM csam_accounts WHERE username = $1",
                         c->username),
                     1);
}

static long long active_keys(const struct csam_test_citizen *c)
{
    return sql("SELECT count(*) FROM csam_keys k JOIN csam_accounts a"
               " ON a.id = k.account_id WHERE a.username = $1"
               " AND k.status = 'active'",
               c->username);
}

/* The newest mail to the citizen is of this kind (its subject or text
 * says so), and carries no run of digits that could be a code. */
static void expect_notice(const struct csam_test_citizen *c, const char *needle)
{
    char *mail = csam_test_mail_take(&ctx.env, c->email);
    char code[16];

    assert_non_null(mail);
    assert_non_null(strstr(mail, needle));
    assert_int_equal(csam_test_mail_code(mail, code, sizeof(code)), -1);
    free(mail);
}

static void login(const struct csam_test_citizen *c, const char *password,
                  struct csam_session_ticket *t)
{
    char handle[CSAM_TOKEN_SIZE], code[16];
    struct csam_attempts att;
    unsigned types;

    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c->username,
                                                password, handle, &types, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c->email, code, sizeof(code));
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, code, t,
                                              &att),
                     CSAM_OK);
}

static void test_keys_list(void **state)
{
    struct csam_key_info keys[CSAM_KEYS_MAX];
    struct csam_test_citizen c;
    size_t n = 99;

    (void)state;
    active_citizen(&c, "list");
    assert_int_equal(csam_engine_keys_list(ctx.engine, c.username, keys,
                                           CSAM_KEYS_MAX, &n),
                     CSAM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(keys[0].type, CSAM_KEY_EMAIL);
    assert_string_equal(keys[0].status, "active");
    /* RFC 3339 UTC: 2026-12-01T13:52:11Z */
    assert_int_equal(strlen(keys[0].activated_at), 20);
    assert_int_equal(keys[0].activated_at[10], 'T');
    assert_int_equal(keys[0].activated_at[19], 'Z');
    plant_totp(&c);
    assert_int_equal(csam_engine_keys_list(ctx.engine, c.username, keys,
                                           CSAM_KEYS_MAX, &n),
                     CSAM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(keys[1].type, CSAM_KEY_TOTP);
    /* max bounds what is written */
    assert_int_equal(csam_engine_keys_list(ctx.engine, c.username, keys, 1, &n),
                     CSAM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(csam_engine_keys_list(ctx.engine, "no.such.user", keys,
                                           CSAM_KEYS_MAX, &n),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_keys_list(ctx.engine, "Bad Name", keys,
                                           CSAM_KEYS_MAX, &n),
                     CSAM_ERR_NOT_FOUND);
}

static void test_deactivate_last(void **state)
{
    struct csam_test_citizen c;

    (void)state;
    active_citizen(&c, "last");
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_EMAIL),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_TOTP),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_NONE),
                     CSAM_ERR_INVALID);
    assert_int_equal(active_keys(&c), 1);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit"
                         " WHERE action = 'key.deactivated' AND actor = $1",
                         c.username),
                     0);
}

struct racer {
    struct csam_test_ctx *ctx;
    const char *username;
    enum csam_key_type type;
    pthread_barrier_t *barrier;
    csam_result res;
};

static void *racer_run(void *arg)
{
    struct racer *r = arg;

    pthread_barrier_wait(r->barrier);
    r->res = csam_engine_key_deactivate(r->ctx->engine, "192.0.2.90",
                                        r->username, r->type);
    return NULL;
}

/* Two deactivations of an account's last two keys at once: one wins, the
 * other is refused, one key stays active. */
static void test_deactivate_race(void **state)
{
    struct csam_test_ctx second;
    struct csam_test_citizen c;
    pthread_barrier_t barrier;
    struct racer a, b;
    pthread_t ta, tb;
    int round;

    (void)state;
    csam_test_ctx_open(&second, 0);
    for (round = 0; round < 4; round++) {
        active_citizen(&c, "drace");
        plant_totp(&c);
        pthread_barrier_init(&barrier, NULL, 2);
        a = (struct racer){&ctx, c.username, CSAM_KEY_EMAIL, &barrier,
                           CSAM_ERR_DB};
        b = (struct racer){&second, c.username, CSAM_KEY_TOTP, &barrier,
                           CSAM_ERR_DB};
        assert_int_equal(pthread_create(&ta, NULL, racer_run, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, racer_run, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&barrier);
        assert_true((a.res == CSAM_OK) != (b.res == CSAM_OK));
        assert_int_equal(a.res == CSAM_OK ? b.res : a.res, CSAM_ERR_STATE);
        assert_int_equal(active_keys(&c), 1);
        assert_int_equal(sql("SELECT count(*) FROM csam_audit WHERE action ="
                             " 'key.deactivated' AND actor = $1",
                             c.username),
                         1);
        expect_notice(&c, "sactiv"); /* "désactivée", "deactivated" */
    }
    csam_test_ctx_close(&second);
}

/* The e-mail key given up for the app, then taken back through the
 * confirm step. */
static void test_key_add_confirm(void **state)
{
    struct csam_credentials_outcome out;
    struct csam_key_info keys[CSAM_KEYS_MAX];
    struct csam_test_citizen c;
    struct csam_attempts att;
    char code[16], wrong[16];
    size_t n;

    (void)state;
    active_citizen(&c, "add");
    /* an active type cannot be added again; SMS is not offered without a
     * gateway */
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_EMAIL, 1, NULL, "2024-01",
                                         &out),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_SMS, 1, "+32470123456",
                                         "2024-01", &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_EMAIL, "123456", &att),
                     CSAM_ERR_STATE);
    plant_totp(&c);
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_EMAIL),
                     CSAM_OK);
    expect_notice(&c, "sactiv");
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_EMAIL, 0, NULL, "2024-01",
                                         &out),
                     CSAM_ERR_TERMS);
    assert_int_equal(csam_engine_key_add(ctx.engine, "192.0.2.91", c.username,
                                         CSAM_KEY_EMAIL, 1, NULL, "2024-01",
                                         &out),
                     CSAM_OK);
    assert_int_equal(out.next, CSAM_STEP_CONFIRM);
    csam_credentials_outcome_free(&out);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_keys_list(ctx.engine, c.username, keys,
                                           CSAM_KEYS_MAX, &n),
                     CSAM_OK);
    assert_int_equal(keys[0].type, CSAM_KEY_EMAIL);
    assert_string_equal(keys[0].status, "pending");
    assert_string_equal(keys[0].activated_at, "");
    /* the code is for this key: not for a web login, and wrong ones count */
    strcpy(wrong, code);
    wrong[0] = (char)(wrong[0] == '9' ? '0' : wrong[0] + 1);
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_EMAIL, wrong, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.attempts_left, 4);
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_EMAIL, code, &att),
                     CSAM_OK);
    expect_notice(&c, "activ");
    assert_int_equal(csam_engine_keys_list(ctx.engine, c.username, keys,
                                           CSAM_KEYS_MAX, &n),
                     CSAM_OK);
    assert_string_equal(keys[0].status, "active");
    assert_int_equal(active_keys(&c), 2);
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_EMAIL, code, &att),
                     CSAM_ERR_STATE);
    assert_int_equal(sql("SELECT count(DISTINCT action) FROM csam_audit"
                         " WHERE actor = $1 AND action IN ('key.added',"
                         " 'key.activated', 'key.deactivated')",
                         c.username),
                     3);
    assert_false(csam_test_log_contains(code));
}

static void test_password_change(void **state)
{
    struct csam_session_ticket mine, other;
    struct csam_session_info info;
    struct csam_test_citizen c;
    const char *fresh = "Brand-new-Harbour-77";
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;

    (void)state;
    active_citizen(&c, "pwd");
    login(&c, c.password, &mine);
    login(&c, c.password, &other);
    /* refusals change nothing */
    assert_int_equal(
        csam_engine_password_change(ctx.engine, NULL, c.username, c.password,
                                    fresh, "Brand-new-Harbour-78", mine.cookie),
        CSAM_ERR_PASSWORD_MISMATCH);
    assert_int_equal(csam_engine_password_change(ctx.engine, NULL, c.username,
                                                 c.password, "short", "short",
                                                 mine.cookie),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_engine_password_change(ctx.engine, NULL, c.username,
                                                 "Not-my-password-1", fresh,
                                                 fresh, mine.cookie),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_engine_password_change(ctx.engine, NULL, c.username,
                                                 NULL, fresh, fresh,
                                                 mine.cookie),
                     CSAM_ERR_INVALID);
    assert_int_equal(
        csam_engine_session_check(ctx.engine, other.cookie, 0, &info), CSAM_OK);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);

    /* a login half-way, opened with the old password */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_password_change(ctx.engine, "192.0.2.92",
                                                 c.username, c.password, fresh,
                                                 fresh, mine.cookie),
                     CSAM_OK);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_ERR_EXPIRED);
    expect_notice(&c, c.username);
    /* the caller's session lives on, every other one ended */
    assert_int_equal(
        csam_engine_session_check(ctx.engine, mine.cookie, 0, &info), CSAM_OK);
    assert_int_equal(csam_engine_session_check(ctx.engine, other.cookie, 0,
                                               &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(sql("SELECT (detail->>'sessions_ended')::int FROM"
                         " csam_audit WHERE action = 'password.changed'"
                         " AND actor = $1",
                         c.username),
                     1);
    /* the old password is gone, the new one logs in */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                fresh, handle, &types, &att),
                     CSAM_OK);
    /* without a session to keep, all of them end */
    assert_int_equal(csam_engine_password_change(ctx.engine, NULL, c.username,
                                                 fresh, c.password, c.password,
                                                 NULL),
                     CSAM_OK);
    expect_notice(&c, c.username);
    assert_int_equal(csam_engine_session_check(ctx.engine, mine.cookie, 0,
                                               &info),
                     CSAM_ERR_EXPIRED);
    assert_false(csam_test_log_contains(fresh));
    assert_false(csam_test_log_contains(c.password));
}

/* A relay that refuses the notice: the change is not made. */
/* Every key-confirmation message waits resend_cooldown after the
 * previous one; the app's key, which sends nothing, does not wait. */
static void test_key_add_cooldown(void **state)
{
    struct csam_credentials_outcome out;
    struct csam_test_citizen c;
    char code[16];

    (void)state;
    active_citizen(&c, "cool");
    plant_totp(&c);
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_EMAIL),
                     CSAM_OK);
    expect_notice(&c, "sactiv");
    ctx.config.resend_cooldown = 60;
    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_EMAIL, 1, NULL, NULL, &out),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_EMAIL, 1, NULL, NULL, &out),
                     CSAM_ERR_TOO_SOON);
    assert_true(out.attempts.retry_after > 0 && out.attempts.retry_after <= 60);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    /* the refused attempt left the pending key and its code alone */
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_EMAIL, code, NULL),
                     CSAM_OK);
    expect_notice(&c, "activ");
    /* once the cooldown is over, a message may go again */
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_EMAIL),
                     CSAM_OK);
    expect_notice(&c, "sactiv");
    assert_int_equal(sql("UPDATE csam_challenges SET created_at = created_at"
                         " - interval '61 seconds' WHERE purpose ="
                         " 'key_confirm' AND account_id ="
                         " (SELECT id FROM csam_accounts WHERE username = $1)",
                         c.username),
                     1);
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_EMAIL, 1, NULL, NULL, &out),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    ctx.config.resend_cooldown = 0;
}

/* Deactivating a key ends the sessions it opened, and only those. */
static void test_deactivate_ends_its_sessions(void **state)
{
    struct csam_session_ticket one, two, other;
    struct csam_session_info info;
    struct csam_test_citizen c;
    unsigned char hash[CSAM_HASH_LEN];
    char hex[2 * CSAM_HASH_LEN + 1];
    size_t i;

    (void)state;
    active_citizen(&c, "ends");
    plant_totp(&c);
    login(&c, c.password, &one);
    login(&c, c.password, &two);
    login(&c, c.password, &other);
    /* as if `other` had been opened with the app */
    assert_int_equal(csam_engine_hash(ctx.engine, CSAM_PURPOSE_SESSION,
                                      "session", 0, other.cookie, hash),
                     CSAM_OK);
    for (i = 0; i < sizeof(hash); i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    assert_int_equal(sql("UPDATE csam_sessions SET key_type = 'totp'"
                         " WHERE session_hash = decode($1, 'hex')",
                         hex),
                     1);
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_EMAIL),
                     CSAM_OK);
    expect_notice(&c, "sactiv");
    assert_int_equal(csam_engine_session_check(ctx.engine, one.cookie, 0,
                                               &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_session_check(ctx.engine, two.cookie, 0,
                                               &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(
        csam_engine_session_check(ctx.engine, other.cookie, 0, &info), CSAM_OK);
    assert_int_equal(info.key_type, CSAM_KEY_TOTP);
    assert_int_equal(sql("SELECT (detail->>'sessions_ended')::bigint FROM"
                         " csam_audit WHERE action = 'key.deactivated' AND"
                         " actor = $1",
                         c.username),
                     2);
    /* a refused deactivation (the last key) ends nothing */
    assert_int_equal(csam_engine_key_deactivate(ctx.engine, NULL, c.username,
                                                CSAM_KEY_TOTP),
                     CSAM_ERR_STATE);
    assert_int_equal(
        csam_engine_session_check(ctx.engine, other.cookie, 0, &info), CSAM_OK);
    csam_wipe(one.cookie, sizeof(one.cookie));
    csam_wipe(two.cookie, sizeof(two.cookie));
    csam_wipe(other.cookie, sizeof(other.cookie));
}

/* Adding a key in an older session asks for the password again. */
static void test_reauth(void **state)
{
    struct csam_session_ticket t;
    struct csam_session_info info;
    struct csam_test_citizen c;
    struct csam_attempts att;

    (void)state;
    active_citizen(&c, "reauth");
    login(&c, c.password, &t);
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 0, &info),
                     CSAM_OK);
    /* young enough (the default, 300 s) */
    assert_int_equal(ctx.config.reauth_after, 300);
    assert_false(csam_engine_session_reauth_needed(ctx.engine, &info));
    assert_int_equal(csam_engine_session_reauth(ctx.engine, NULL, &info, NULL,
                                                &att),
                     CSAM_OK);
    /* too old: opened ten minutes ago */
    info.auth_time -= 600;
    assert_true(csam_engine_session_reauth_needed(ctx.engine, &info));
    assert_int_equal(csam_engine_session_reauth(ctx.engine, NULL, &info, NULL,
                                                &att),
                     CSAM_ERR_REAUTH);
    assert_int_equal(csam_engine_session_reauth(ctx.engine, NULL, &info, "",
                                                &att),
                     CSAM_ERR_REAUTH);
    assert_int_equal(csam_engine_session_reauth(ctx.engine, NULL, &info,
                                                "Wrong-horse-battery-9", &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(sql("DELETE FROM csam_password_failures", NULL) >= 0, 1);
    assert_int_equal(csam_engine_session_reauth(ctx.engine, NULL, &info,
                                                c.password, &att),
                     CSAM_OK);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit WHERE action ="
                         " 'password.reconfirmed' AND actor = $1",
                         c.username),
                     1);
    /* 0: always */
    info.auth_time += 600;
    ctx.config.reauth_after = 0;
    assert_true(csam_engine_session_reauth_needed(ctx.engine, &info));
    ctx.config.reauth_after = 300;
    csam_wipe(t.cookie, sizeof(t.cookie));
}

static void test_notice_fails_closed(void **state)
{
    struct csam_test_ctx dead;
    struct csam_test_citizen c;
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;

    (void)state;
    active_citizen(&c, "dead");
    plant_totp(&c);
    csam_test_ctx_open(&dead, 1);
    assert_int_equal(csam_engine_key_deactivate(dead.engine, NULL, c.username,
                                                CSAM_KEY_EMAIL),
                     CSAM_ERR_MAIL);
    assert_int_equal(active_keys(&c), 2);
    assert_int_equal(csam_engine_password_change(
                         dead.engine, NULL, c.username, c.password,
                         "Brand-new-Harbour-77", "Brand-new-Harbour-77", NULL),
                     CSAM_ERR_MAIL);
    csam_test_ctx_close(&dead);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_list),
        cmocka_unit_test(test_deactivate_last),
        cmocka_unit_test(test_deactivate_race),
        cmocka_unit_test(test_key_add_confirm),
        cmocka_unit_test(test_password_change),
        cmocka_unit_test(test_notice_fails_closed),
        cmocka_unit_test(test_key_add_cooldown),
        cmocka_unit_test(test_deactivate_ends_its_sessions),
        cmocka_unit_test(test_reauth),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
