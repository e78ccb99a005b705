/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replacing the secret, against a real PostgreSQL and SMTP server: what
 * was made under secret A (the test secret file) still works for an
 * engine whose secret is B with A attached as the previous one: sessions,
 * known devices, a login's handle and mailed code, a PAM code, the link
 * token and paper code of a registration, an activation handle, a name's
 * lock, the person's account; sessions and devices found that way move to
 * B, and an engine with B alone still finds them but nothing else of A's.
 */
#define _POSIX_C_SOURCE 200809L

#define CSAM_SUITE_SERIAL 900
/* every test logs in more than once a minute */
#define CSAM_SUITE_NO_COOLDOWN
#include "engine_suite.h"

static const unsigned char secret_b[40] =
    "the replacing secret, B, forty bytes!!!";

/* ctx.secret as the suite opened it (A). */
static csam_secret *secret_a;

enum which { SECRET_A, SECRET_B_WITH_A, SECRET_B };

/* Remake ctx's engine on the secret(s) asked for. */
static void use_secret(enum which w)
{
    csam_secret *b = NULL, *a = NULL;
    char err[256];

    if (secret_a == NULL)
        secret_a = ctx.secret;
    if (ctx.secret != secret_a)
        csam_secret_free(ctx.secret);
    ctx.secret = secret_a;
    if (w != SECRET_A) {
        assert_int_equal(csam_secret_from_bytes(secret_b, sizeof(secret_b), &b),
                         CSAM_OK);
        if (w == SECRET_B_WITH_A) {
            assert_int_equal(csam_secret_load(ctx.env.secret_file, &a, err,
                                              sizeof(err)),
                             CSAM_OK);
            assert_int_equal(csam_secret_attach_previous(b, a), CSAM_OK);
        }
        ctx.secret = b;
    }
    csam_test_ctx_reengine(&ctx);
}

static int rollover_teardown(void **state)
{
    use_secret(SECRET_A);
    return teardown(state);
}

/* The stored hash of a session cookie under secret, in hex. */
static void session_hash_hex(const csam_secret *secret, const char *cookie,
                             char hex[2 * CSAM_HASH_LEN + 1])
{
    /* label and owner, each ended by a NUL, then the cookie */
    static const unsigned char head[10] = {'s', 'e', 's', 's', 'i',
                                           'o', 'n', 0,   '0', 0};
    unsigned char buf[128], mac[CSAM_HASH_LEN];
    size_t n = strlen(cookie), i;

    assert_true(n < sizeof(buf) - sizeof(head));
    memcpy(buf, head, sizeof(head));
    memcpy(buf + sizeof(head), cookie, n + 1); /* its NUL is not hashed */
    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_SESSION, buf,
                                     sizeof(head) + n, mac),
                     CSAM_OK);
    for (i = 0; i < CSAM_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

static long long sessions_under(const csam_secret *secret, const char *cookie)
{
    char hex[2 * CSAM_HASH_LEN + 1];

    session_hash_hex(secret, cookie, hex);
    return sql("SELECT count(*) FROM csam_sessions"
               " WHERE session_hash = decode($1, 'hex')",
               hex);
}

/* ---- what lives long: sessions and known devices ----------------------- */

static void test_sessions_and_devices_move(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket s1, s2;
    struct csam_session_info info;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE];
    unsigned types = 0;
    long long devices_before;
    long threshold;
    int i;

    (void)state;
    use_secret(SECRET_A);
    active_citizen(&c, "rollsess");
    csam_test_login(&ctx, &c, "192.0.2.61", &s1);
    csam_test_login(&ctx, &c, "192.0.2.61", &s2);
    assert_true(s1.device[0] != '\0');
    assert_int_equal(sessions_under(secret_a, s1.cookie), 1);

    use_secret(SECRET_B_WITH_A);
    /* found under A, and moved to B by the check itself */
    assert_int_equal(csam_engine_session_check(ctx.engine, s1.cookie, 1, &info),
                     CSAM_OK);
    assert_string_equal(info.username, c.username);
    assert_int_equal(sessions_under(secret_a, s1.cookie), 0);
    assert_int_equal(sessions_under(ctx.secret, s1.cookie), 1);
    /* checked again: found at once under B */
    assert_int_equal(csam_engine_session_check(ctx.engine, s1.cookie, 0, &info),
                     CSAM_OK);

    /* The name is locked by wrong passwords; the device A made still
     * counts on its own, so the right password passes from it. */
    threshold = ctx.config.lockout_threshold;
    ctx.config.lockout_threshold = 2; /* no delays: locks only */
    for (i = 0; i < 2; i++)
        (void)csam_engine_login_password(ctx.engine, "192.0.2.62", c.username,
                                         "wrong password 1", handle, &types,
                                         &att);
    assert_int_equal(csam_engine_login_password(ctx.engine, "192.0.2.62",
                                                c.username, c.password, handle,
                                                &types, &att),
                     CSAM_ERR_LOCKED);
    devices_before = sql("SELECT count(*) FROM csam_login_devices d"
                         " JOIN csam_accounts a ON a.id = d.account_id"
                         " WHERE a.username = $1",
                         c.username);
    assert_int_equal(csam_engine_login_password_device(
                         ctx.engine, "192.0.2.62", s1.device, c.username,
                         c.password, handle, &types, &att),
                     CSAM_OK);

    /* B alone: the moved session and device are B's; the session never
     * checked under B+A is not found. */
    use_secret(SECRET_B);
    assert_int_equal(csam_engine_session_check(ctx.engine, s1.cookie, 1, &info),
                     CSAM_OK);
    assert_int_equal(csam_engine_session_check(ctx.engine, s2.cookie, 1, &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_login_password_device(
                         ctx.engine, "192.0.2.62", s1.device, c.username,
                         c.password, handle, &types, &att),
                     CSAM_OK);
    assert_int_equal(sql("SELECT count(*) FROM csam_login_devices d"
                         " JOIN csam_accounts a ON a.id = d.account_id"
                         " WHERE a.username = $1",
                         c.username),
                     devices_before);
    ctx.config.lockout_threshold = threshold;
    /* a logout under B+A ends a session still stored under A */
    use_secret(SECRET_B_WITH_A);
    assert_int_equal(csam_engine_session_end(ctx.engine, NULL, s2.cookie),
                     CSAM_OK);
    use_secret(SECRET_A);
    assert_int_equal(csam_engine_session_check(ctx.engine, s2.cookie, 1, &info),
                     CSAM_ERR_EXPIRED);
}

/* ---- what lives short: looked up, never moved -------------------------- */

static void test_login_code_and_lock(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket t;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE], code[16];
    unsigned types = 0;
    long threshold;
    int i;

    (void)state;
    use_secret(SECRET_A);
    active_citizen(&c, "rollcode");
    /* a login waiting for its mailed code, made under A */
    csam_test_login_to_code(&ctx, &c, "192.0.2.63", handle, code, sizeof(code));
    use_secret(SECRET_B);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.63", handle,
                                              code, &t, &att),
                     CSAM_ERR_EXPIRED);
    use_secret(SECRET_B_WITH_A);
    assert_int_equal(csam_engine_login_verify(ctx.engine, "192.0.2.63", handle,
                                              code, &t, &att),
                     CSAM_OK);
    assert_int_equal(sessions_under(ctx.secret, t.cookie), 1);

    /* A name locked under A stays locked under B+A. */
    use_secret(SECRET_A);
    threshold = ctx.config.lockout_threshold;
    ctx.config.lockout_threshold = 2; /* no delays: locks only */
    for (i = 0; i < 2; i++)
        (void)csam_engine_login_password(ctx.engine, NULL, c.username,
                                         "wrong password 2", handle, &types,
                                         &att);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_LOCKED);
    use_secret(SECRET_B_WITH_A);
    assert_int_equal(csam_engine_login_password(ctx.engine, NULL, c.username,
                                                c.password, handle, &types,
                                                &att),
                     CSAM_ERR_LOCKED);
    assert_true(att.retry_after > 0);
    ctx.config.lockout_threshold = threshold;
}

static void test_pam_code(void **state)
{
    struct csam_test_citizen c;
    struct csam_pam_challenge ch;
    struct csam_attempts att;
    char code[16];

    (void)state;
    use_secret(SECRET_A);
    active_citizen(&c, "rollpam");
    memset(&ch, 0, sizeof(ch));
    assert_int_equal(csam_engine_pam_begin(ctx.engine, c.username,
                                           CSAM_KEY_EMAIL, NULL, &ch, &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    use_secret(SECRET_B);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_ERR_BAD_CODE);
    use_secret(SECRET_B_WITH_A);
    assert_int_equal(csam_engine_pam_verify(ctx.engine, c.username,
                                            CSAM_KEY_EMAIL, code, NULL, &att),
                     CSAM_OK);
}

static void test_registration(void **state)
{
    struct csam_test_citizen c, d, again;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE];
    unsigned types = 0;

    (void)state;
    use_secret(SECRET_A);
    csam_test_citizen_init(&c, "rollreg", serial++);
    csam_test_citizen_init(&d, "rollreg", serial++);
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    assert_int_equal(csam_test_register(&ctx, &d), CSAM_OK);

    /* B alone knows neither A's link nor its paper code */
    use_secret(SECRET_B);
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, d.token,
                                                 d.receipt.activation_code,
                                                 handle, &types, &att),
                     CSAM_ERR_EXPIRED);
    /* B+A: the link and the paper code of the letter A printed */
    use_secret(SECRET_B_WITH_A);
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                 c.receipt.activation_code,
                                                 c.handle, &types, &att),
                     CSAM_OK);
    /* An activation handle A made, used under B+A. */
    use_secret(SECRET_A);
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, d.token,
                                                 d.receipt.activation_code,
                                                 d.handle, &types, &att),
                     CSAM_OK);
    use_secret(SECRET_B_WITH_A);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, d.handle,
                                                CSAM_KEY_EMAIL, 1, NULL,
                                                "2024-01"),
                     CSAM_OK);
    use_secret(SECRET_B);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, d.handle,
                                                CSAM_KEY_EMAIL, 1, NULL,
                                                "2024-01"),
                     CSAM_ERR_EXPIRED);

    /* A person with an account made under A, registered again under B+A,
     * gets that account back (a recovery), never a second one. */
    use_secret(SECRET_A);
    active_citizen(&again, "rollagain");
    use_secret(SECRET_B_WITH_A);
    assert_int_equal(csam_test_register(&ctx, &again), CSAM_OK);
    assert_int_equal(again.receipt.existing, 1);
    assert_int_equal(sql("SELECT count(*) FROM csam_registrations r"
                         " JOIN csam_accounts a ON a.id = r.account_id"
                         " WHERE a.username = $1 AND r.superseded_at IS NULL"
                         " AND r.used_at IS NULL",
                         again.username),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions_and_devices_move),
        cmocka_unit_test(test_login_code_and_lock),
        cmocka_unit_test(test_pam_code),
        cmocka_unit_test(test_registration),
    };

    return cmocka_run_group_tests(tests, setup, rollover_teardown);
}
