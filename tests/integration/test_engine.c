/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registration and activation through the engine, against a real
 * PostgreSQL and SMTP server (run-with-services): the codes and links are
 * read from the mails the server stored, and the database is checked with
 * direct queries.
 */
#define _POSIX_C_SOURCE 200809L

#define CSAM_SUITE_SERIAL 100
#include "engine_suite.h"

static long long sql_count(const char *text, const char *param)
{
    return sql(text, param);
}

static void citizen(struct csam_test_citizen *c, const char *tag)
{
    csam_test_citizen_init(c, tag, serial++);
}

static void open_with_code(struct csam_test_citizen *c)
{
    struct csam_attempts att;
    unsigned types = 0;

    assert_int_equal(csam_engine_activation_open(
                         ctx.engine, "198.51.100.1", c->token,
                         c->receipt.activation_code, c->handle, &types, &att),
                     CSAM_OK);
    /* No SMS gateway in this context: e-mail and the app only. */
    assert_int_equal(types, CSAM_KEY_EMAIL | CSAM_KEY_TOTP);
    assert_true(csam_token_valid(c->handle));
}

static void to_credentials(struct csam_test_citizen *c)
{
    assert_int_equal(csam_test_register(&ctx, c), CSAM_OK);
    open_with_code(c);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c->handle,
                                                CSAM_KEY_EMAIL, 1, NULL,
                                                "2024-01"),
                     CSAM_OK);
}

static void credentials(struct csam_test_citizen *c)
{
    struct csam_credentials_outcome out;

    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c->handle, c->username, c->password,
                         c->password, &out),
                     CSAM_OK);
    assert_int_equal(out.next, CSAM_STEP_CONFIRM);
    assert_null(out.otpauth_uri);
    csam_credentials_outcome_free(&out);
}

/* The whole path, step by step, with what each step leaves behind. */
static void test_full_path(void **state)
{
    struct csam_test_citizen c;
    struct csam_activation_state st;
    struct csam_attempts att;
    struct csam_activated done;
    char lang[3], code[16], idtext[32], *mail, *text;
    char handle[CSAM_TOKEN_SIZE];
    unsigned types = 0;

    (void)state;
    citizen(&c, "full");
    c.reg.language = "nl";
    assert_int_equal(csam_engine_register(ctx.engine, "officer.test",
                                          "192.0.2.10", &c.reg, &c.receipt),
                     CSAM_OK);
    assert_true(c.receipt.registration_id > 0);
    /* K7QF-M2XD-9RTA and 2026-12-31T10:00:00Z shapes */
    assert_int_equal(strlen(c.receipt.activation_code), 14);
    assert_int_equal(c.receipt.activation_code[4], '-');
    assert_int_equal(strlen(c.receipt.expires_at), 20);
    assert_int_equal(c.receipt.expires_at[10], 'T');
    assert_int_equal(c.receipt.expires_at[19], 'Z');
    mail = csam_test_mail_take(&ctx.env, c.email);
    assert_non_null(mail);
    assert_int_equal(csam_test_mail_token(mail, c.token), 0);
    assert_non_null(strstr(mail, "https://portal.example.be/csam/activate?t="));
    /* the paper code is never in the mail */
    assert_null(strstr(mail, c.receipt.activation_code));
    free(mail);

    /* only keyed hashes are stored */
    snprintf(idtext, sizeof(idtext), "%lld",
             (long long)c.receipt.registration_id);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                               " WHERE id = $1::bigint AND language = 'nl'"
                               " AND created_by = 'officer.test'",
                               idtext),
                     1);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations r"
                               " WHERE position(convert_to($1, 'UTF8')"
                               " IN r.nrn_hash) > 0 OR r::text LIKE"
                               " '%' || $1 || '%'",
                               c.nrn),
                     0);

    assert_int_equal(csam_engine_link_language(ctx.engine, c.token, lang),
                     CSAM_OK);
    assert_string_equal(lang, "nl");

    /* wrong paper code: counted */
    assert_int_equal(csam_engine_activation_open(ctx.engine, "198.51.100.1",
                                                 c.token, "AAAA-BBBB-CCCC",
                                                 c.handle, &types, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(att.attempts_left, 4);
    /* typed in lower case with spaces: the same code */
    {
        char typed[32];
        size_t i, n = 0;

        for (i = 0; c.receipt.activation_code[i] != '\0'; i++)
            typed[n++] = (char)(c.receipt.activation_code[i] == '-'
                                    ? ' '
                                    : c.receipt.activation_code[i] | 0x20);
        typed[n] = '\0';
        assert_int_equal(csam_engine_activation_open(ctx.engine, "198.51.100.1",
                                                     c.token, typed, c.handle,
                                                     &types, &att),
                         CSAM_OK);
    }
    /* No SMS gateway in this context: e-mail and the app only. */
    assert_int_equal(types, CSAM_KEY_EMAIL | CSAM_KEY_TOTP);

    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_OK);
    assert_int_equal(st.step, CSAM_STEP_KEY);
    memcpy(handle, c.handle, sizeof(handle));
    assert_string_equal(st.language, "nl");

    /* key step errors, then the choice */
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_EMAIL, 0, NULL,
                                                "2024-01"),
                     CSAM_ERR_TERMS);
    /* SMS without a gateway: not offered */
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_SMS, 1, "0470123456",
                                                "2024-01"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_EMAIL, 1, NULL,
                                                "2024-01"),
                     CSAM_OK);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_OK);
    assert_int_equal(st.step, CSAM_STEP_CREDENTIALS);
    assert_int_equal(st.key_type, CSAM_KEY_EMAIL);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_flows"
                               " WHERE registration_id = $1::bigint"
                               " AND terms_version = '2024-01'"
                               " AND terms_accepted_at IS NOT NULL",
                               idtext),
                     1);

    credentials(&c);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_OK);
    assert_int_equal(st.step, CSAM_STEP_CONFIRM);
    assert_string_equal(st.username, c.username);
    mail = csam_test_mail_take(&ctx.env, c.email);
    assert_non_null(mail);
    assert_int_equal(csam_test_mail_code(mail, code, sizeof(code)), 0);
    assert_int_equal(strlen(code), 6);
    text = csam_test_mail_text(mail);
    assert_non_null(text);
    free(text);
    free(mail);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_accounts"
                               " WHERE username = $1 AND status = 'pending'"
                               " AND password_hash LIKE '$argon2id$%'",
                               c.username),
                     1);

    /* a wrong code counts, the right one activates */
    {
        char wrong[16];

        memcpy(wrong, code, sizeof(wrong));
        wrong[0] = (char)(wrong[0] == '9' ? '0' : wrong[0] + 1);
        assert_int_equal(csam_engine_activation_confirm(
                             ctx.engine, NULL, c.handle, wrong, &done, &att),
                         CSAM_ERR_BAD_CODE);
    }
    assert_int_equal(att.attempts_left, 4);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_string_equal(done.username, c.username);
    assert_int_equal(done.key_type, CSAM_KEY_EMAIL);
    mail = csam_test_mail_take(&ctx.env, c.email);
    assert_non_null(mail);
    assert_non_null(strstr(mail, c.username));
    free(mail);

    assert_int_equal(sql_count("SELECT count(*) FROM csam_accounts a"
                               " JOIN csam_keys k ON k.account_id = a.id"
                               " WHERE a.username = $1"
                               " AND a.status = 'active'"
                               " AND k.status = 'active' AND k.type = 'email'"
                               " AND k.terms_version = '2024-01'",
                               c.username),
                     1);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                               " WHERE id = $1::bigint"
                               " AND used_at IS NOT NULL",
                               idtext),
                     1);

    /* used up: the handle reads as done, every step refuses it, and the
     * link is as dead as an unknown one */
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_OK);
    assert_int_equal(st.step, CSAM_STEP_DONE);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_EMAIL, 1, NULL, NULL),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                 c.receipt.activation_code,
                                                 c.handle, &types, &att),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_link_language(ctx.engine, c.token, lang),
                     CSAM_ERR_EXPIRED);

    /* the audit trail has every step and no secret */
    assert_true(sql_count("SELECT count(*) FROM csam_audit"
                          " WHERE registration_id = $1::bigint",
                          idtext)
                >= 6);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_audit"
                               " WHERE detail::text LIKE '%' || $1 || '%'",
                               code),
                     0);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_audit a"
                               " WHERE a::text LIKE '%' || $1 || '%'",
                               c.receipt.activation_code),
                     0);
    /* and none in the log, which did get messages */
    assert_true(csam_test_log_length() > 0);
    assert_false(csam_test_log_contains(code));
    assert_false(csam_test_log_contains(c.receipt.activation_code));
    assert_false(csam_test_log_contains(c.token));
    assert_int_equal(strlen(handle), CSAM_TOKEN_LEN);
    assert_false(csam_test_log_contains(handle));
    assert_false(csam_test_log_contains(c.password));
    assert_false(csam_test_log_contains(c.nrn));
}

static void test_register_refusals(void **state)
{
    struct csam_test_citizen c;
    struct csam_registration_receipt r;
    char bad[12];
    char longname[200];

    (void)state;
    citizen(&c, "refused");
    /* wrong checksum */
    memcpy(bad, c.nrn, sizeof(bad));
    bad[10] = (char)(bad[10] == '9' ? '0' : bad[10] + 1);
    c.reg.national_number = bad;
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_NATIONAL_NUMBER);
    c.reg.national_number = NULL;
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_NATIONAL_NUMBER);
    /* a birth date that does not match the number */
    c.reg.national_number = c.nrn;
    c.reg.birth_date = "1955-02-03";
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_NATIONAL_NUMBER);
    c.reg.birth_date = "1960-13-40";
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_INVALID);
    c.reg.birth_date = c.birth;
    /* header injection in the address */
    c.reg.email = "victim@example.be\r\nBcc: all@example.be";
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_EMAIL);
    c.reg.email = c.email;
    c.reg.first_name = "Jean\nBcc: x";
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_INVALID);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    c.reg.first_name = longname;
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_INVALID);
    c.reg.first_name = "Jean";
    c.reg.document_type = "library_card";
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_INVALID);
    c.reg.document_type = "passport";
    c.reg.document_number = "";
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_INVALID);
    c.reg.document_number = "EH123456";
    c.reg.language = "es";
    assert_int_equal(csam_engine_register(ctx.engine, "officer", NULL, &c.reg,
                                          &r),
                     CSAM_ERR_INVALID);
    c.reg.language = NULL;
    assert_int_equal(csam_engine_register(ctx.engine, NULL, NULL, &c.reg, &r),
                     CSAM_ERR_INVALID);
    /* nothing was written, no mail went out */
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                               " WHERE email = $1",
                               c.email),
                     0);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    /* the same data, valid: defaults to fr */
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                               " WHERE email = $1 AND language = 'fr'",
                               c.email),
                     1);
}

static void test_mail_down_leaves_nothing(void **state)
{
    struct csam_test_ctx dead;
    struct csam_test_citizen c, d;

    (void)state;
    csam_test_ctx_open(&dead, 1);
    citizen(&c, "maildown");
    assert_int_equal(csam_engine_register(dead.engine, "officer", NULL, &c.reg,
                                          &c.receipt),
                     CSAM_ERR_MAIL);
    assert_string_equal(c.receipt.activation_code, "");
    assert_int_equal(c.receipt.registration_id, 0);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                               " WHERE email = $1",
                               c.email),
                     0);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_audit"
                               " WHERE actor = 'officer'"
                               " AND action = 'registration.created'"
                               " AND registration_id NOT IN"
                               " (SELECT id FROM csam_registrations)",
                               NULL),
                     0);

    /* the credentials step: no account, the flow stays where it was */
    citizen(&d, "maildown");
    to_credentials(&d);
    {
        struct csam_credentials_outcome out;
        struct csam_activation_state st;

        memset(&out, 0, sizeof(out));
        assert_int_equal(csam_engine_activation_credentials(
                             dead.engine, NULL, d.handle, d.username,
                             d.password, d.password, &out),
                         CSAM_ERR_MAIL);
        assert_int_equal(sql_count("SELECT count(*) FROM csam_accounts"
                                   " WHERE username = $1",
                                   d.username),
                         0);
        assert_int_equal(
            csam_engine_activation_state(ctx.engine, d.handle, &st), CSAM_OK);
        assert_int_equal(st.step, CSAM_STEP_CREDENTIALS);
        /* and with the relay back, it goes through */
        credentials(&d);
    }
    csam_test_ctx_close(&dead);
}

static void test_reregistration_supersedes(void **state)
{
    struct csam_test_citizen first, second;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE];
    unsigned types;

    (void)state;
    citizen(&first, "again");
    to_credentials(&first);
    credentials(&first);
    second = first;
    /* same person, new registration: the old link, handle and pending
     * account are gone, the username is free again */
    assert_int_equal(csam_test_register(&ctx, &second), CSAM_OK);
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, first.token,
                                                 first.receipt.activation_code,
                                                 handle, &types, &att),
                     CSAM_ERR_EXPIRED);
    {
        struct csam_activation_state st;

        assert_int_equal(csam_engine_activation_state(ctx.engine, first.handle,
                                                      &st),
                         CSAM_ERR_EXPIRED);
    }
    assert_int_equal(sql_count("SELECT count(*) FROM csam_accounts"
                               " WHERE username = $1",
                               first.username),
                     0);
    /* the old paper code is worth nothing on the new link */
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, second.token,
                                                 first.receipt.activation_code,
                                                 handle, &types, &att),
                     CSAM_ERR_BAD_CODE);
    open_with_code(&second);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, second.handle,
                                                CSAM_KEY_EMAIL, 1, NULL, NULL),
                     CSAM_OK);
    credentials(&second);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                               " WHERE email = $1 AND superseded_at IS NULL",
                               first.email),
                     1);
}

static void test_paper_code_exhausted(void **state)
{
    struct csam_test_citizen c;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE], lang[3];
    unsigned types;
    int i;

    (void)state;
    citizen(&c, "exhaust");
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    for (i = 4; i >= 1; i--) {
        assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                     "not a code", handle,
                                                     &types, &att),
                         CSAM_ERR_BAD_CODE);
        assert_int_equal(att.attempts_left, i);
    }
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                 "ZZZZ-ZZZZ-ZZZZ", handle,
                                                 &types, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(att.attempts_left, 0);
    /* locked until the desk reissues: even the right code */
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                 c.receipt.activation_code,
                                                 handle, &types, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(csam_engine_link_language(ctx.engine, c.token, lang),
                     CSAM_ERR_LOCKED);
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    open_with_code(&c);
}

static void test_expired_link_and_handle(void **state)
{
    struct csam_test_citizen c;
    struct csam_activation_state st;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE], lang[3];
    unsigned types;

    (void)state;
    citizen(&c, "expired");
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    open_with_code(&c);
    /* the handle ages out */
    assert_int_equal(sql_count("UPDATE csam_flows SET"
                               " created_at = now() - interval '2 hours',"
                               " expires_at = now() - interval '1 second'"
                               " WHERE registration_id = (SELECT id FROM"
                               " csam_registrations WHERE email = $1)",
                               c.email),
                     1);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_EMAIL, 1, NULL, NULL),
                     CSAM_ERR_EXPIRED);
    /* the link ages out */
    assert_int_equal(sql_count("UPDATE csam_registrations SET"
                               " created_at = now() - interval '40 days',"
                               " expires_at = now() - interval '1 day'"
                               " WHERE email = $1",
                               c.email),
                     1);
    assert_int_equal(csam_engine_link_language(ctx.engine, c.token, lang),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                 c.receipt.activation_code,
                                                 handle, &types, &att),
                     CSAM_ERR_EXPIRED);
    /* unknown and malformed tokens and handles: the same answer */
    assert_int_equal(csam_engine_link_language(
                         ctx.engine,
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", lang),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_link_language(ctx.engine, "x' OR 1=1 --",
                                               lang),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_activation_state(ctx.engine, NULL, &st),
                     CSAM_ERR_EXPIRED);
}

static void test_credentials_refusals(void **state)
{
    struct csam_test_citizen c, other;
    struct csam_credentials_outcome out;
    struct csam_activated done;
    struct csam_attempts att;

    (void)state;
    citizen(&c, "creds");
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    open_with_code(&c);
    memset(&out, 0, sizeof(out));
    /* out of order */
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    "123456", &done, &att),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_activation_resend(ctx.engine, NULL, c.handle,
                                                   &att),
                     CSAM_ERR_STATE);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_EMAIL, 1, NULL, NULL),
                     CSAM_OK);
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, "Upper.Case", c.password,
                         c.password, &out),
                     CSAM_ERR_USERNAME);
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, "a'; DROP TABLE x;--",
                         c.password, c.password, &out),
                     CSAM_ERR_USERNAME);
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         "Zq8-vintage-Lantern-0", &out),
                     CSAM_ERR_PASSWORD_MISMATCH);
    assert_int_equal(csam_engine_activation_credentials(ctx.engine, NULL,
                                                        c.handle, c.username,
                                                        "short", "short", &out),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, "password1234",
                         "password1234", &out),
                     CSAM_ERR_WEAK_PASSWORD);
    /* the username inside the password */
    {
        char pw[128];

        snprintf(pw, sizeof(pw), "xx-%s-long-enough", c.username);
        assert_int_equal(
            csam_engine_activation_credentials(ctx.engine, NULL, c.handle,
                                               c.username, pw, pw, &out),
            CSAM_ERR_WEAK_PASSWORD);
    }
    assert_int_equal(csam_engine_activation_credentials(ctx.engine, NULL,
                                                        c.handle, c.username,
                                                        NULL, NULL, &out),
                     CSAM_ERR_INVALID);

    /* a name an active account holds */
    citizen(&other, "creds");
    csam_test_activate(&ctx, &other);
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, other.username, c.password,
                         c.password, &out),
                     CSAM_ERR_USERNAME_TAKEN);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    credentials(&c);
}

/* Reserved names (any case, the shipped list) are refused as taken, and
 * every refused name costs one of the registration's attempts, as a wrong
 * paper code does: the last one locks the activation. */
static void test_refused_names_count(void **state)
{
    static const char *const names[] = {"root", "Root", "www-data", "postgres"};
    struct csam_test_citizen c, other;
    struct csam_credentials_outcome out;
    struct csam_activation_state st;
    char handle[CSAM_TOKEN_SIZE];
    struct csam_attempts att;
    unsigned types;
    int i;

    (void)state;
    citizen(&other, "names");
    csam_test_activate(&ctx, &other);
    citizen(&c, "names");
    to_credentials(&c);
    for (i = 0; i < 4; i++) {
        memset(&out, 0, sizeof(out));
        assert_int_equal(csam_engine_activation_credentials(
                             ctx.engine, "198.51.100.7", c.handle, names[i],
                             c.password, c.password, &out),
                         CSAM_ERR_USERNAME_TAKEN);
        assert_int_equal(out.attempts.attempts_left, 4 - i);
    }
    assert_int_equal(sql_count("SELECT count(*) FROM csam_accounts WHERE"
                               " lower(username) IN ('root', 'www-data',"
                               " 'postgres') OR username = $1",
                               c.username),
                     0);
    /* the fifth: a name an account holds */
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, "198.51.100.7", c.handle, other.username,
                         c.password, c.password, &out),
                     CSAM_ERR_LOCKED);
    assert_int_equal(out.attempts.attempts_left, 0);
    /* then nothing goes on: a free name, the state, the link again */
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_ERR_LOCKED);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_ERR_LOCKED);
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                 c.receipt.activation_code,
                                                 handle, &types, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_audit WHERE action"
                               " = 'activation.username_refused' AND"
                               " source = $1",
                               "198.51.100.7"),
                     5);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
}

/* A second credentials step, from the link opened again, makes a new
 * pending account: the cooldown still counts the first one's code. */
static void test_credentials_cooldown(void **state)
{
    struct csam_credentials_outcome out;
    struct csam_test_citizen c;
    struct csam_attempts att;
    char code[16];
    unsigned types;

    (void)state;
    citizen(&c, "cool");
    to_credentials(&c);
    credentials(&c);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_activation_open(ctx.engine, NULL, c.token,
                                                 c.receipt.activation_code,
                                                 c.handle, &types, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_EMAIL, 1, NULL, NULL),
                     CSAM_OK);
    memset(&out, 0, sizeof(out));
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_ERR_TOO_SOON);
    assert_true(out.attempts.retry_after > 0
                && out.attempts.retry_after <= ctx.config.resend_cooldown);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);
    /* the app's key sends nothing and waits for nothing */
    assert_int_equal(csam_engine_activation_key(ctx.engine, NULL, c.handle,
                                                CSAM_KEY_TOTP, 1, NULL, NULL),
                     CSAM_OK);
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, NULL, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_OK);
    csam_credentials_outcome_free(&out);
}

static void test_confirm_codes(void **state)
{
    struct csam_test_citizen c;
    struct csam_activated done;
    struct csam_attempts att;
    char code[16], code2[16];
    int i;

    (void)state;
    citizen(&c, "confirm");
    to_credentials(&c);
    credentials(&c);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));

    /* a resend within the cooldown is refused with the wait */
    assert_int_equal(csam_engine_activation_resend(ctx.engine, NULL, c.handle,
                                                   &att),
                     CSAM_ERR_TOO_SOON);
    assert_true(att.retry_after > 0
                && att.retry_after <= ctx.config.resend_cooldown);
    assert_int_equal(csam_test_mail_count(&ctx.env, c.email), 0);

    /* an expired code */
    assert_int_equal(sql_count("UPDATE csam_challenges SET"
                               " created_at = now() - interval '1 hour',"
                               " expires_at = now() - interval '1 second'"
                               " WHERE account_id = (SELECT id FROM"
                               " csam_accounts WHERE username = $1)",
                               c.username),
                     1);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_ERR_EXPIRED);
    /* a fresh one; the old one no longer works even when not expired */
    assert_int_equal(csam_engine_activation_resend(ctx.engine, NULL, c.handle,
                                                   &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code2, sizeof(code2));
    if (strcmp(code, code2) != 0)
        assert_int_equal(csam_engine_activation_confirm(
                             ctx.engine, NULL, c.handle, code, &done, &att),
                         CSAM_ERR_BAD_CODE);
    else
        assert_int_equal(csam_engine_activation_confirm(
                             ctx.engine, NULL, c.handle, "abc", &done, &att),
                         CSAM_ERR_BAD_CODE);
    /* exhausted: the last try locks the code, then even the right one is
     * refused */
    for (i = 3; i >= 1; i--) {
        assert_int_equal(csam_engine_activation_confirm(
                             ctx.engine, NULL, c.handle, "12345x", &done, &att),
                         CSAM_ERR_BAD_CODE);
        assert_int_equal(att.attempts_left, i);
    }
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    "", &done, &att),
                     CSAM_ERR_LOCKED);
    assert_int_equal(att.attempts_left, 0);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code2, &done, &att),
                     CSAM_ERR_LOCKED);
    /* a new code after the cooldown, and it works */
    assert_int_equal(sql_count("UPDATE csam_challenges SET"
                               " created_at = created_at - interval '2 hours',"
                               " expires_at = expires_at - interval '1 hour'"
                               " WHERE account_id = (SELECT id FROM"
                               " csam_accounts WHERE username = $1)",
                               c.username),
                     2);
    assert_int_equal(csam_engine_activation_resend(ctx.engine, NULL, c.handle,
                                                   &att),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(sql_count("SELECT failures FROM csam_accounts"
                               " WHERE username = $1",
                               c.username),
                     0);
}

static void test_confirm_notice_mail_down(void **state)
{
    struct csam_test_ctx dead;
    struct csam_test_citizen c;
    struct csam_activated done;
    struct csam_attempts att;
    char code[16];

    (void)state;
    citizen(&c, "notice");
    to_credentials(&c);
    credentials(&c);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    csam_test_ctx_open(&dead, 1);
    /* the notice cannot go out: nothing is activated, the code stays */
    assert_int_equal(csam_engine_activation_confirm(dead.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_ERR_MAIL);
    csam_test_ctx_close(&dead);
    assert_int_equal(sql_count("SELECT count(*) FROM csam_accounts"
                               " WHERE username = $1 AND status = 'pending'",
                               c.username),
                     1);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, NULL, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
}

/* Two desks registering one person at the same moment: both succeed, the
 * later supersedes the earlier, one registration stays live. */
struct desk {
    struct csam_test_ctx *ctx;
    const struct csam_registration *reg;
    pthread_barrier_t *barrier;
    struct csam_registration_receipt receipt;
    csam_result res;
};

static void *desk_run(void *arg)
{
    struct desk *d = arg;

    pthread_barrier_wait(d->barrier);
    d->res = csam_engine_register(d->ctx->engine, "officer.race", NULL, d->reg,
                                  &d->receipt);
    return NULL;
}

static void test_concurrent_registrations(void **state)
{
    struct csam_test_ctx second;
    struct csam_test_citizen c;
    pthread_barrier_t barrier;
    struct desk a, b;
    pthread_t ta, tb;
    int round;

    (void)state;
    csam_test_ctx_open(&second, 0);
    citizen(&c, "twodesks");
    for (round = 0; round < 5; round++) {
        assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        a.ctx = &ctx;
        b.ctx = &second;
        a.reg = b.reg = &c.reg;
        a.barrier = b.barrier = &barrier;
        assert_int_equal(pthread_create(&ta, NULL, desk_run, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, desk_run, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&barrier);
        assert_int_equal(a.res, CSAM_OK);
        assert_int_equal(b.res, CSAM_OK);
        assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                                   " WHERE email = $1 AND used_at IS NULL"
                                   " AND superseded_at IS NULL",
                                   c.email),
                         1);
    }
    assert_int_equal(sql_count("SELECT count(*) FROM csam_registrations"
                               " WHERE email = $1",
                               c.email),
                     10);
    while (csam_test_mail_count(&ctx.env, c.email) > 0)
        free(csam_test_mail_take(&ctx.env, c.email));
    csam_test_ctx_close(&second);
}

/* The captured log keeps everything: a secret logged early is still found
 * after far more than any fixed buffer would hold. */
static void test_captured_log_is_whole(void **state)
{
    struct csam_logger logger = csam_test_logger();
    char filler[128];
    size_t before = csam_test_log_length();
    int i;

    (void)state;
    csam_log(&logger, CSAM_LOG_DEBUG, "early marker 7f3a9c");
    memset(filler, 'x', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    for (i = 0; i < 8192; i++)
        csam_log(&logger, CSAM_LOG_DEBUG, "%s", filler);
    assert_true(csam_test_log_length() - before > 1024 * 1024);
    assert_true(csam_test_log_contains("early marker 7f3a9c"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_path),
        cmocka_unit_test(test_register_refusals),
        cmocka_unit_test(test_mail_down_leaves_nothing),
        cmocka_unit_test(test_reregistration_supersedes),
        cmocka_unit_test(test_paper_code_exhausted),
        cmocka_unit_test(test_expired_link_and_handle),
        cmocka_unit_test(test_credentials_refusals),
        cmocka_unit_test(test_refused_names_count),
        cmocka_unit_test(test_credentials_cooldown),
        cmocka_unit_test(test_confirm_codes),
        cmocka_unit_test(test_confirm_notice_mail_down),
        cmocka_unit_test(test_concurrent_registrations),
        cmocka_unit_test(test_captured_log_is_whole),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
