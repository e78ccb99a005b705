/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The app (TOTP) and SMS keys through the engine, against a real
 * PostgreSQL, SMTP server and SMS gateway (run-with-services): TOTP codes
 * are computed by oathtool from the secret the engine returned, SMS codes
 * read from what the gateway received.
 */
#define _POSIX_C_SOURCE 200809L

#include <time.h>
#include <unistd.h>

#define CSAM_SUITE_SERIAL 600
#include "engine_suite.h"

#include "totp_key.h"

/* The current 30-second step, waited for so that the next few seconds of
 * the test stay inside it (the engine and oathtool read one clock). */
static long long stable_step(void)
{
    time_t t = time(NULL);

    if (t % 30 > 24) {
        sleep((unsigned)(31 - t % 30));
        t = time(NULL);
    }
    return (long long)t / 30;
}

static void code_at(const char *secret, long long step, char code[8])
{
    assert_int_equal(csam_test_totp(secret, step * 30 + 1, code), 0);
}

/* A wrong code: one of no step near now (a chance collision is 3e-6). */
static void wrong_code(const char *secret, long long step, char code[8])
{
    code_at(secret, step + 1000, code);
}

/* Registration up to the key choice; types as activation_open gave them. */
static void open_activation(struct csam_test_citizen *c, const char *tag,
                            unsigned *types)
{
    struct csam_attempts att;

    csam_test_citizen_init(c, tag, serial++);
    assert_int_equal(csam_test_register(&ctx, c), CSAM_OK);
    assert_int_equal(csam_engine_activation_open(
                         ctx.engine, "198.51.100.7", c->token,
                         c->receipt.activation_code, c->handle, types, &att),
                     CSAM_OK);
}

/* Activation with the app's key up to the confirm step: the secret in
 * secret (base32). */
static void totp_to_confirm(struct csam_test_citizen *c, const char *tag,
                            char secret[CSAM_TOTP_KEY_B32_SIZE])
{
    struct csam_credentials_outcome out;
    unsigned types = 0;

    open_activation(c, tag, &types);
    assert_int_equal(types, CSAM_KEY_EMAIL | CSAM_KEY_TOTP);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c->handle,
                                                CSAM_KEY_TOTP, 1, NULL,
                                                "2024-01"),
                     CSAM_OK);
    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c->handle, c->username, c->password,
                         c->password, &out),
                     CSAM_OK);
    assert_int_equal(out.next, CSAM_STEP_CONFIRM);
    assert_non_null(out.totp_secret);
    assert_non_null(out.otpauth_uri);
    assert_int_equal(strlen(out.totp_secret), CSAM_TOTP_KEY_B32_LEN);
    assert_true(strncmp(out.otpauth_uri, "otpauth://totp/CSAM:", 20) == 0);
    assert_non_null(strstr(out.otpauth_uri, out.totp_secret));
    snprintf(secret, CSAM_TOTP_KEY_B32_SIZE, "%s", out.totp_secret);
    csam_credentials_outcome_free(&out);
    /* nothing is sent for the app's key */
    assert_int_equal(csam_test_mail_count(&ctx.env, c->email), 0);
}

/* A complete TOTP activation confirmed with the code of `step`. */
static void totp_active(struct csam_test_citizen *c, const char *tag,
                        char secret[CSAM_TOTP_KEY_B32_SIZE], long long step)
{
    struct csam_attempts att;
    struct csam_activated done;
    char code[8];

    totp_to_confirm(c, tag, secret);
    code_at(secret, step, code);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c->handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_int_equal(done.key_type, CSAM_KEY_TOTP);
    free(csam_test_mail_take(&ctx.env, c->email)); /* the notice */
}

static csam_result login_with(const struct csam_test_citizen *c,
                              const char *code, struct csam_attempts *att)
{
    char handle[CSAM_TOKEN_SIZE];
    struct csam_session_ticket t;
    unsigned types = 0;
    csam_result res;

    assert_int_equal(csam_engine_login_password(ctx.engine, "203.0.113.9",
                                                c->username, c->password,
                                                handle, &types, att),
                     CSAM_OK);
    assert_true((types & CSAM_KEY_TOTP) != 0);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, "203.0.113.9",
                                                 handle, CSAM_KEY_TOTP, att),
                     CSAM_OK);
    res = csam_engine_login_verify(ctx.engine, "203.0.113.9", handle, code, &t,
                                   att);
    if (res == CSAM_OK) {
        assert_string_equal(t.info.username, c->username);
        assert_int_equal(t.info.key_type, CSAM_KEY_TOTP);
    }
    return res;
}

/* Activation, then web logins: replay refused, +-1 step accepted, +-2
 * refused, every failure counted. */
static void test_totp_activation_and_login(void **state)
{
    char secret[CSAM_TOTP_KEY_B32_SIZE], code[8];
    struct csam_test_citizen c;
    struct csam_attempts att;
    struct csam_activated done;
    long long step;

    (void)state;
    totp_to_confirm(&c, "totpact", secret);
    assert_int_equal(sql("SELECT count(*) FROM csam_keys k JOIN csam_accounts a"
                         " ON a.id = k.account_id WHERE a.username = $1"
                         " AND k.type = 'totp' AND k.status = 'pending'"
                         " AND octet_length(k.totp_secret) = 48"
                         " AND k.totp_last_step IS NULL",
                         c.username),
                     1);
    /* the secret is stored sealed, never as typed */
    assert_int_equal(sql("SELECT count(*) FROM csam_keys WHERE position("
                         "convert_to($1, 'UTF8') IN totp_secret) > 0",
                         secret),
                     0);
    /* the e-mail resend has nothing to resend */
    assert_int_equal(csam_engine_activation_resend(ctx.engine, NULL, c.handle,
                                                   &att),
                     CSAM_ERR_STATE);

    step = stable_step();
    wrong_code(secret, step, code);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.attempts_left, ctx.config.code_attempts - 1);
    code_at(secret, step, code);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_int_equal(
        sql("SELECT totp_last_step FROM csam_keys k JOIN csam_accounts a"
            " ON a.id = k.account_id WHERE a.username = $1"
            " AND k.status = 'active'",
            c.username),
        step);
    free(csam_test_mail_take(&ctx.env, c.email));

    /* the code that confirmed the key cannot log in */
    assert_int_equal(login_with(&c, code, &att), CSAM_ERR_BAD_CODE);
    /* two steps away, either side: refused */
    code_at(secret, step + 2, code);
    assert_int_equal(login_with(&c, code, &att), CSAM_ERR_BAD_CODE);
    code_at(secret, step - 2, code);
    assert_int_equal(login_with(&c, code, &att), CSAM_ERR_BAD_CODE);
    /* the next step: accepted once */
    code_at(secret, step + 1, code);
    assert_int_equal(login_with(&c, code, &att), CSAM_OK);
    assert_int_equal(login_with(&c, code, &att), CSAM_ERR_BAD_CODE);
    /* and the current one, now older than the last used: refused */
    code_at(secret, step, code);
    assert_int_equal(login_with(&c, code, &att), CSAM_ERR_BAD_CODE);
    /* each refusal was counted on the account (it resets on success) */
    assert_int_equal(sql("SELECT failures FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     2);
    /* a TOTP login sends nothing */
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
}

/* One login's TOTP attempts are bounded like a sent code's. */
static void test_totp_attempts(void **state)
{
    char secret[CSAM_TOTP_KEY_B32_SIZE], code[8], right[8];
    char handle[CSAM_TOKEN_SIZE];
    struct csam_session_ticket t;
    struct csam_test_citizen c;
    struct csam_attempts att;
    unsigned types = 0;
    long long step;
    long i;

    (void)state;
    step = stable_step();
    totp_active(&c, "totpatt", secret, step - 1); /* -1 step accepted */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(types, CSAM_KEY_TOTP);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_TOTP, &att),
                     CSAM_OK);
    wrong_code(secret, step, code);
    for (i = 1; i < ctx.config.code_attempts; i++) {
        assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle,
                                                  code, &t, &att),
                         CSAM_ERR_BAD_CODE);
        assert_int_equal(att.attempts_left, ctx.config.code_attempts - i);
    }
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, code,
                                              &t, &att),
                     CSAM_ERR_LOCKED);
    /* even the right code is refused now, and its step is not spent */
    code_at(secret, step, right);
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, right,
                                              &t, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(sql("SELECT totp_last_step FROM csam_keys k"
                         " JOIN csam_accounts a ON a.id = k.account_id"
                         " WHERE a.username = $1",
                         c.username),
                     step - 1);
}

static void test_totp_pam(void **state)
{
    char secret[CSAM_TOTP_KEY_B32_SIZE], code[8];
    struct csam_test_citizen c;
    struct csam_pam_challenge ch;
    struct csam_attempts att;
    long long step;

    (void)state;
    step = stable_step();
    totp_active(&c, "totppam", secret, step - 1);
    assert_int_equal(csam_engine_account_check(ctx.engine, c.username,
                                               CSAM_KEY_TOTP, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username, CSAM_KEY_ALL,
                                           NULL, &ch, &att),
                     CSAM_OK);
    assert_int_equal(ch.key_type, CSAM_KEY_TOTP);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    wrong_code(secret, step, code);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_TOTP, code, NULL, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.attempts_left, ctx.config.code_attempts - 1);
    /* a code the app shows, as it shows it ("123 456") */
    code_at(secret, step, code);
    memmove(code + 4, code + 3, 4);
    code[3] = ' ';
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_TOTP, code, NULL, &att),
                     CSAM_OK);
    /* replayed: a new conversation, the same code */
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username,
                                           CSAM_KEY_TOTP, NULL, &ch, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_TOTP, code, NULL, &att),
                     CSAM_ERR_BAD_CODE);
    code_at(secret, step + 1, code);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_TOTP, code, NULL, &att),
                     CSAM_OK);
}

struct racer {
    struct csam_test_ctx *ctx;
    const struct csam_test_citizen *c;
    const char *handle; /* NULL: PAM */
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
    if (r->handle != NULL)
        r->res = csam_engine_login_verify(r->ctx->engine, NULL, r->handle,
                                          r->code, &t, &att);
    else
        r->res = csam_engine_pam_verify(r->ctx->engine, r->c->username,
                                        CSAM_KEY_TOTP, r->code, NULL, &att);
    return NULL;
}

/* One code submitted at once to a web login and to PAM (two challenges,
 * two connections): only the key's last step stands between them, and
 * exactly one wins. */
static void test_totp_race(void **state)
{
    char secret[CSAM_TOTP_KEY_B32_SIZE], code[8];
    char handle[CSAM_TOKEN_SIZE];
    struct csam_test_ctx second;
    struct csam_test_citizen c;
    struct csam_pam_challenge ch;
    struct csam_attempts att;
    pthread_barrier_t barrier;
    struct racer a, b;
    pthread_t ta, tb;
    unsigned types;
    long long step;
    int round;

    (void)state;
    csam_test_ctx_open(&second, 0);
    step = stable_step();
    totp_active(&c, "totprace", secret, step - 1);
    for (round = 0; round < 2; round++) {
        assert_int_equal(csam_engine_login_password(ctx.engine, NULL,
                                                    c.username, c.password,
                                                    handle, &types, &att),
                         CSAM_OK);
        assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                     CSAM_KEY_TOTP, &att),
                         CSAM_OK);
        assert_int_equal(csam_engine_pam_begin(second.engine, c.username,
                                               CSAM_KEY_TOTP, NULL, &ch, &att),
                         CSAM_OK);
        code_at(secret, step + round, code);
        assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
        a = (struct racer){&ctx, &c, handle, code, &barrier, CSAM_ERR_DB};
        b = (struct racer){&second, &c, NULL, code, &barrier, CSAM_ERR_DB};
        assert_int_equal(pthread_create(&ta, NULL, racer_run, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, racer_run, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&barrier);
        assert_int_equal((a.res == CSAM_OK) + (b.res == CSAM_OK), 1);
        assert_true(a.res == CSAM_ERR_BAD_CODE || b.res == CSAM_ERR_BAD_CODE);
    }
    csam_test_ctx_close(&second);
}

/* A TOTP key added to an e-mail account, then used to log in. */
static void test_totp_key_add(void **state)
{
    struct csam_credentials_outcome out;
    struct csam_key_info keys[CSAM_KEYS_MAX];
    struct csam_test_citizen c;
    struct csam_attempts att;
    char secret[64], code[8];
    long long step;
    size_t n = 0, i;
    int seen = 0;

    (void)state;
    csam_test_citizen_init(&c, "totpadd", serial++);
    csam_test_activate(&ctx, &c);
    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_TOTP, 1, NULL, "2024-01",
                                         &out),
                     CSAM_OK);
    assert_non_null(out.otpauth_uri);
    assert_non_null(out.totp_secret);
    snprintf(secret, sizeof(secret), "%s", out.totp_secret);
    csam_credentials_outcome_free(&out);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    step = stable_step();
    wrong_code(secret, step, code);
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_TOTP, code, &att),
                     CSAM_ERR_BAD_CODE);
    code_at(secret, step, code);
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_TOTP, code, &att),
                     CSAM_OK);
    free(csam_test_mail_take(&ctx.env, c.email)); /* the notice */
    assert_int_equal(csam_engine_keys_list(ctx.engine, c.username, keys,
                                           CSAM_KEYS_MAX, &n),
                     CSAM_OK);
    for (i = 0; i < n; i++)
        if (keys[i].type == CSAM_KEY_TOTP
            && strcmp(keys[i].status, "active") == 0)
            seen = 1;
    assert_true(seen);
    code_at(secret, step + 1, code);
    assert_int_equal(login_with(&c, code, &att), CSAM_OK);
}

/* The SMS key: offered with a gateway only, the phone stored in E.164,
 * activation and login with the code the gateway received. */
static void test_sms_key(void **state)
{
    struct csam_credentials_outcome out;
    struct csam_session_ticket t;
    struct csam_test_citizen c;
    struct csam_activated done;
    struct csam_attempts att;
    char phone[16], e164[20], code[16], handle[CSAM_TOKEN_SIZE];
    unsigned types = 0;
    int sent;

    (void)state;
    csam_test_ctx_sms(&ctx, "");
    open_activation(&c, "smskey", &types);
    assert_int_equal(types, CSAM_KEY_EMAIL | CSAM_KEY_TOTP | CSAM_KEY_SMS);
    snprintf(phone, sizeof(phone), "0470 %06d", serial);
    snprintf(e164, sizeof(e164), "+32470%06d", serial);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_SMS, 1, "12",
                                                "2024-01"),
                     CSAM_ERR_PHONE);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_SMS, 1, phone,
                                                "2024-01"),
                     CSAM_OK);
    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_OK);
    assert_null(out.otpauth_uri);
    csam_credentials_outcome_free(&out);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    assert_int_equal(csam_test_sms_code(&ctx.env, e164, code, sizeof(code)), 0);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_int_equal(done.key_type, CSAM_KEY_SMS);
    free(csam_test_mail_take(&ctx.env, c.email));
    assert_int_equal(sql("SELECT count(*) FROM csam_keys k JOIN csam_accounts"
                         " a ON a.id = k.account_id WHERE k.type = 'sms'"
                         " AND k.status = 'active' AND k.phone = $1",
                         e164),
                     1);

    /* a web login with it */
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(types, CSAM_KEY_SMS);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_SMS, &att),
                     CSAM_OK);
    assert_int_equal(csam_test_sms_code(&ctx.env, e164, code, sizeof(code)), 0);
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle, code,
                                              &t, &att),
                     CSAM_OK);
    assert_int_equal(t.info.key_type, CSAM_KEY_SMS);

    /* PAM with it: the code by SMS, never by mail */
    {
        struct csam_pam_challenge ch;

        assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username,
                                               CSAM_KEY_ALL, NULL, &ch, &att),
                         CSAM_OK);
        assert_int_equal(ch.key_type, CSAM_KEY_SMS);
        assert_int_equal(csam_test_sms_code(&ctx.env, e164, code, sizeof(code)),
                         0);
        assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                                CSAM_KEY_SMS, code, NULL, &att),
                         CSAM_OK);
        assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    }

    /* the gateway down at login: CSAM_ERR_MAIL, the handle unchanged */
    csam_test_ctx_sms(&ctx, "/status/503");
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_SMS, &att),
                     CSAM_ERR_MAIL);
    assert_int_equal(csam_engine_login_verify(ctx.engine, NULL, handle,
                                              "123456", &t, &att),
                     CSAM_ERR_STATE);

    /* SMS not configured: not offered, at activation or at login (the
     * refused POST above was recorded by the gateway: count from here) */
    sent = csam_test_sms_count(&ctx.env, e164);
    csam_test_ctx_sms(&ctx, NULL);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(types, 0);
    assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                 CSAM_KEY_SMS, &att),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_test_sms_count(&ctx.env, e164), sent);
}

/* An SMS key added to an e-mail account: the code goes to the new phone. */
static void test_sms_key_add(void **state)
{
    struct csam_credentials_outcome out;
    struct csam_test_citizen c;
    struct csam_attempts att;
    char phone[20], e164[20], code[16];

    (void)state;
    csam_test_citizen_init(&c, "smsadd", serial++);
    csam_test_activate(&ctx, &c);
    csam_test_ctx_sms(&ctx, "");
    snprintf(phone, sizeof(phone), "+32 471 %06d", serial);
    snprintf(e164, sizeof(e164), "+32471%06d", serial);
    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_SMS, 1, "not a phone",
                                         "2024-01", &out),
                     CSAM_ERR_PHONE);
    assert_int_equal(csam_engine_key_add(ctx.engine, NULL, c.username,
                                         CSAM_KEY_SMS, 1, phone, "2024-01",
                                         &out),
                     CSAM_OK);
    assert_null(out.otpauth_uri);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    assert_int_equal(csam_test_sms_code(&ctx.env, e164, code, sizeof(code)), 0);
    assert_int_equal(csam_engine_key_confirm(ctx.engine, NULL, c.username,
                                             CSAM_KEY_SMS, code, &att),
                     CSAM_OK);
    free(csam_test_mail_take(&ctx.env, c.email)); /* the notice */
    assert_int_equal(sql("SELECT count(*) FROM csam_keys WHERE type = 'sms'"
                         " AND status = 'active' AND phone = $1",
                         e164),
                     1);

    /* a web login's e-mailed code holds the SMS back for the cooldown:
     * asking for the other key at once is "too soon", never "locked" */
    {
        long cooldown = ctx.config.resend_cooldown;
        char handle[CSAM_TOKEN_SIZE];
        unsigned types;
        int sent = csam_test_sms_count(&ctx.env, e164);

        ctx.config.resend_cooldown = 60;
        assert_int_equal(csam_engine_login_password(ctx.engine, NULL,
                                                    c.username, c.password,
                                                    handle, &types, &att),
                         CSAM_OK);
        assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                     CSAM_KEY_EMAIL, &att),
                         CSAM_OK);
        free(csam_test_mail_take(&ctx.env, c.email));
        assert_int_equal(csam_engine_login_challenge(ctx.engine, NULL, handle,
                                                     CSAM_KEY_SMS, &att),
                         CSAM_ERR_TOO_SOON);
        assert_true(att.retry_after > 50 && att.retry_after <= 60);
        assert_int_equal(csam_test_sms_count(&ctx.env, e164), sent);
        ctx.config.resend_cooldown = cooldown;
    }
    csam_test_ctx_sms(&ctx, NULL);
}

/* A gateway that refuses: CSAM_ERR_MAIL, and nothing half-written (no
 * account, the flow still waiting for the credentials). */
static void test_sms_gateway_down(void **state)
{
    struct csam_credentials_outcome out;
    struct csam_activation_state st;
    struct csam_test_citizen c;
    unsigned types = 0;

    (void)state;
    csam_test_ctx_sms(&ctx, "/status/503");
    open_activation(&c, "smsdown", &types);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_SMS, 1, "+32470999001",
                                                "2024-01"),
                     CSAM_OK);
    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_ERR_MAIL);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     0);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_OK);
    assert_int_equal(st.step, CSAM_STEP_CREDENTIALS);
    assert_int_equal(st.key_type, CSAM_KEY_SMS);
    /* the gateway back: the same step now goes through */
    csam_test_ctx_sms(&ctx, "");
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_OK);
    csam_credentials_outcome_free(&out);
    csam_test_ctx_sms(&ctx, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totp_activation_and_login),
        cmocka_unit_test(test_totp_attempts),
        cmocka_unit_test(test_totp_pam),
        cmocka_unit_test(test_totp_key_add),
        cmocka_unit_test(test_totp_race),
        cmocka_unit_test(test_sms_key),
        cmocka_unit_test(test_sms_key_add),
        cmocka_unit_test(test_sms_gateway_down),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
