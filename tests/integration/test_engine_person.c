/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One account per person, the online procedure and recovery (DESIGN
 * 2.6, 2.7) through the engine, against a real PostgreSQL and the SMTP
 * sink: a new person online (the e-mail key, and the app's key with the
 * address verified first), an existing person online (a recovery that
 * keeps the other keys), a recovery at the desk (other keys and sessions
 * dead, notices to the old and the new address), a number that fails mod
 * 97, and two procedures of one person racing.
 */
#define _POSIX_C_SOURCE 200809L

#define CSAM_SUITE_SERIAL 700

#include <sys/wait.h>
#include <unistd.h>

#include "engine_suite.h"
#include "person.h"
#include "validate.h"

#define SRC "192.0.2.70"
#define IDENTITY_SOURCE "ssl-client-cert"

/* An identity as the source gives it, for citizen c. */
static struct csam_identity identity_of(const struct csam_test_citizen *c)
{
    struct csam_identity who;

    memset(&who, 0, sizeof(who));
    who.national_number = c->nrn;
    who.first_name = "Am\xc3\xa9lie";
    who.last_name = "Dupont";
    who.source_name = IDENTITY_SOURCE;
    who.subject = "C=BE, CN=Am\xc3\xa9lie Dupont (Authentication)";
    return who;
}

static long long count_live_accounts(const char *username_like)
{
    return sql("SELECT count(*) FROM csam_accounts WHERE status <> 'disabled'"
               " AND nrn_hash = (SELECT nrn_hash FROM csam_accounts"
               " WHERE username = $1)",
               username_like);
}

static long long key_count(const char *username, const char *type,
                           const char *status)
{
    char q[512];

    snprintf(q, sizeof(q),
             "SELECT count(*) FROM csam_keys k JOIN csam_accounts a"
             " ON a.id = k.account_id WHERE a.username = $1"
             " AND k.type = '%s' AND k.status = '%s'",
             type, status);
    return sql(q, username);
}

/* The sealed number of the account opens, under the test secret, to the
 * citizen's number. */
static void assert_sealed_number(const struct csam_test_citizen *c)
{
    const char *params[1] = {c->username};
    unsigned char hash[CSAM_HASH_LEN], sealed[CSAM_PERSON_SEALED_LEN];
    char nrn[CSAM_NRN_SIZE];
    size_t n;
    PGresult *r;

    r = PQexecParams(pg,
                     "SELECT nrn_hash, nrn_sealed FROM csam_accounts"
                     " WHERE username = $1",
                     1, NULL, params, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    assert_false(PQgetisnull(r, 0, 1));
    assert_int_equal(PQgetlength(r, 0, 0), CSAM_HASH_LEN);
    n = (size_t)PQgetlength(r, 0, 1);
    assert_int_equal(n, CSAM_PERSON_SEALED_LEN);
    memcpy(hash, PQgetvalue(r, 0, 0), CSAM_HASH_LEN);
    memcpy(sealed, PQgetvalue(r, 0, 1), n);
    PQclear(r);
    assert_int_equal(csam_person_open(ctx.secret, sealed, n, hash, nrn),
                     CSAM_OK);
    assert_string_equal(nrn, c->nrn);
}

/* A new person online up to credentials: identified, the key chosen. */
static void online_to_credentials(struct csam_test_citizen *c,
                                  enum csam_key_type type)
{
    struct csam_identity who = identity_of(c);
    struct csam_procedure proc;
    struct csam_activation_state st;

    assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who, c->handle,
                                             &proc),
                     CSAM_OK);
    assert_false(proc.existing);
    assert_string_equal(proc.username, "");
    assert_string_equal(proc.language, "fr");
    assert_true(proc.key_types & CSAM_KEY_EMAIL);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c->handle, &st),
                     CSAM_OK);
    assert_int_equal(st.step, CSAM_STEP_KEY);
    assert_true(st.online);
    assert_false(st.existing);
    assert_int_equal(csam_engine_activation_key(ctx.engine, SRC, c->handle,
                                                type, 1, NULL, "2024-01"),
                     CSAM_OK);
}

static void test_online_new_person_email_key(void **state)
{
    struct csam_test_citizen c;
    struct csam_credentials in = {NULL, NULL, NULL, NULL};
    struct csam_credentials_outcome out;
    struct csam_activated done;
    struct csam_attempts att;
    char code[16];
    char *mail;

    (void)state;
    csam_test_citizen_init(&c, "onl", serial++);
    online_to_credentials(&c, CSAM_KEY_EMAIL);
    in.username = c.username;
    in.password = c.password;
    in.password_repeat = c.password;
    /* the address is the new person's to give, and must be one */
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_ERR_EMAIL);
    in.email = "not an address";
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_ERR_EMAIL);
    /* the desk's wrapper gives none: refused the same way */
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, SRC, c.handle, c.username, c.password,
                         c.password, &out),
                     CSAM_ERR_EMAIL);
    in.email = c.email;
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_OK);
    assert_int_equal(out.next, CSAM_STEP_CONFIRM);
    csam_credentials_outcome_free(&out);
    /* the key's code verifies the address */
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_int_equal(done.next, CSAM_STEP_DONE);
    assert_false(done.recovered);
    assert_string_equal(done.username, c.username);
    mail = csam_test_mail_take(&ctx.env, c.email);
    assert_non_null(mail); /* key_activated */
    free(mail);

    assert_int_equal(sql("SELECT count(*) FROM csam_accounts a"
                         " JOIN csam_registrations r"
                         " ON r.id = a.registration_id"
                         " WHERE a.username = $1 AND a.status = 'active'"
                         " AND r.procedure = 'online'"
                         " AND r.identity_source = 'ssl-client-cert'"
                         " AND r.created_by = 'ssl-client-cert'"
                         " AND r.token_hash IS NULL AND r.code_hash IS NULL"
                         " AND r.used_at IS NOT NULL"
                         " AND a.email = r.email AND a.nrn_hash = r.nrn_hash",
                         c.username),
                     1);
    assert_sealed_number(&c);
    /* the audit names the source, never the number or the subject */
    assert_int_equal(sql("SELECT count(*) FROM csam_audit au"
                         " JOIN csam_accounts a"
                         " ON a.registration_id = au.registration_id"
                         " WHERE a.username = $1"
                         " AND au.action = 'online.identified'"
                         " AND au.detail = '{\"source\": \"ssl-client-cert\"}'",
                         c.username),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit"
                         " WHERE detail::text LIKE '%' || $1 || '%'"
                         " OR detail::text LIKE '%Authentication%'",
                         c.nrn),
                     0);
}

static void test_online_new_person_totp_address_first(void **state)
{
    struct csam_test_citizen c;
    struct csam_credentials in = {NULL, NULL, NULL, NULL};
    struct csam_credentials_outcome out;
    struct csam_activation_state st;
    struct csam_activated done;
    struct csam_attempts att;
    char code[16], totp[8];
    long cooldown = ctx.config.resend_cooldown;

    (void)state;
    ctx.config.resend_cooldown = 0;
    csam_test_citizen_init(&c, "onltotp", serial++);
    online_to_credentials(&c, CSAM_KEY_TOTP);
    in.username = c.username;
    in.password = c.password;
    in.password_repeat = c.password;
    in.email = c.email;
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_OK);
    assert_int_equal(out.next, CSAM_STEP_EMAIL);
    assert_non_null(out.totp_secret);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_OK);
    assert_int_equal(st.step, CSAM_STEP_EMAIL);
    assert_string_equal(csam_step_name(st.step), "confirm");
    /* the address code, resent: the first one is superseded */
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_activation_resend(ctx.engine, SRC, c.handle,
                                                   &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    code, &done, &att),
                     CSAM_ERR_BAD_CODE);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    /* the app's code does not verify the address */
    assert_int_equal(csam_test_totp(out.totp_secret, 0, totp), 0);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    totp, &done, &att),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_int_equal(done.next, CSAM_STEP_CONFIRM);
    assert_int_equal(key_count(c.username, "totp", "pending"), 1);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE username = $1 AND status = 'pending'",
                         c.username),
                     1);
    /* then the app's code: active */
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    totp, &done, &att),
                     CSAM_OK);
    assert_int_equal(done.next, CSAM_STEP_DONE);
    assert_int_equal(key_count(c.username, "totp", "active"), 1);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit a"
                         " JOIN csam_accounts c ON c.id = a.account_id"
                         " WHERE c.username = $1"
                         " AND a.action = 'email.verified'",
                         c.username),
                     1);
    free(csam_test_mail_take(&ctx.env, c.email)); /* key_activated */
    csam_credentials_outcome_free(&out);
    ctx.config.resend_cooldown = cooldown;
}

/* An active citizen (desk, e-mail key) identified online: a recovery. */
static void online_recovery_open(struct csam_test_citizen *c,
                                 enum csam_key_type type)
{
    struct csam_identity who = identity_of(c);
    struct csam_procedure proc;
    struct csam_activation_state st;

    assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who, c->handle,
                                             &proc),
                     CSAM_OK);
    assert_true(proc.existing);
    assert_string_equal(proc.username, c->username);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c->handle, &st),
                     CSAM_OK);
    assert_true(st.online);
    assert_true(st.existing);
    assert_string_equal(st.username, c->username);
    assert_int_equal(csam_engine_activation_key(ctx.engine, SRC, c->handle,
                                                type, 1, NULL, "2024-01"),
                     CSAM_OK);
}

static void test_online_recovery_keeps_keys(void **state)
{
    struct csam_test_citizen c;
    struct csam_credentials in = {NULL, NULL, NULL, NULL};
    struct csam_credentials_outcome out;
    struct csam_session_ticket t;
    struct csam_session_info info;
    struct csam_activated done;
    struct csam_attempts att;
    char totp[8], login[CSAM_TOKEN_SIZE];
    unsigned types = 0;
    char *mail;

    (void)state;
    active_citizen(&c, "onlrec");
    csam_test_login(&ctx, &c, SRC, &t);
    /* an account from before schema 4: no sealed number yet */
    sql("UPDATE csam_accounts SET nrn_sealed = NULL WHERE username = $1",
        c.username);
    online_recovery_open(&c, CSAM_KEY_TOTP);
    /* the username is kept; no address is asked */
    in.username = "someone.else";
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_ERR_USERNAME_KEPT);
    in.username = c.username;
    in.email = "other@citizen.example.be";
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_ERR_INVALID);
    /* online, the password may stay */
    in.email = NULL;
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_OK);
    assert_int_equal(out.next, CSAM_STEP_CONFIRM);
    assert_non_null(out.totp_secret);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE nrn_hash = (SELECT nrn_hash FROM csam_accounts"
                         " WHERE username = $1)",
                         c.username),
                     1);
    assert_int_equal(csam_test_totp(out.totp_secret, 0, totp), 0);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    totp, &done, &att),
                     CSAM_OK);
    assert_true(done.recovered);
    assert_string_equal(done.username, c.username);
    csam_credentials_outcome_free(&out);

    /* the other key stays, and so does the session: no new password */
    assert_int_equal(key_count(c.username, "email", "active"), 1);
    assert_int_equal(key_count(c.username, "totp", "active"), 1);
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 0, &info),
                     CSAM_OK);
    assert_int_equal(csam_engine_login_password(ctx.engine, SRC, c.username,
                                                c.password, login, &types,
                                                &att),
                     CSAM_OK);
    assert_int_equal(types, CSAM_KEY_EMAIL | CSAM_KEY_TOTP);
    assert_sealed_number(&c);
    assert_int_equal(count_live_accounts(c.username), 1);
    mail = csam_test_mail_take(&ctx.env, c.email);
    assert_non_null(mail);
    assert_non_null(strstr(mail, c.username));
    assert_int_equal(csam_test_mail_code(mail, totp, sizeof(totp)), -1);
    free(mail);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit a"
                         " JOIN csam_accounts c ON c.id = a.account_id"
                         " WHERE c.username = $1"
                         " AND a.action = 'account.recovered'"
                         " AND a.detail->>'procedure' = 'online'"
                         " AND a.detail->>'key_type' = 'totp'",
                         c.username),
                     1);
}

static void test_online_recovery_new_password(void **state)
{
    struct csam_test_citizen c;
    struct csam_credentials in = {NULL, NULL, NULL, NULL};
    struct csam_credentials_outcome out;
    struct csam_session_ticket t;
    struct csam_session_info info;
    struct csam_activated done;
    struct csam_attempts att;
    char code[16], login[CSAM_TOKEN_SIZE];
    const char *fresh = "Mq4-harbour-Velvet-Kite";
    long cooldown = ctx.config.resend_cooldown;
    unsigned types = 0;

    (void)state;
    /* the activation's code went out moments ago */
    ctx.config.resend_cooldown = 0;
    active_citizen(&c, "onlpwd");
    csam_test_login(&ctx, &c, SRC, &t);
    online_recovery_open(&c, CSAM_KEY_EMAIL);
    in.password = fresh;
    in.password_repeat = fresh;
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_OK);
    /* nothing changes before the code */
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 0, &info),
                     CSAM_OK);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    code, &done, &att),
                     CSAM_OK);
    assert_true(done.recovered);
    /* the e-mail key replaced by the new one of its type, the session of
     * the old password ended */
    assert_int_equal(key_count(c.username, "email", "active"), 1);
    assert_int_equal(key_count(c.username, "email", "inactive"), 1);
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 0, &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(csam_engine_login_password(ctx.engine, SRC, c.username,
                                                fresh, login, &types, &att),
                     CSAM_OK);
    assert_int_equal(sql("SELECT count(*) FROM csam_flows"
                         " WHERE password_hash IS NOT NULL",
                         NULL),
                     0);
    free(csam_test_mail_take(&ctx.env, c.email)); /* account_recovered */
    ctx.config.resend_cooldown = cooldown;
}

static void test_desk_recovery(void **state)
{
    struct csam_test_citizen c;
    struct csam_credentials in = {NULL, NULL, NULL, NULL};
    struct csam_credentials_outcome out;
    struct csam_activation_state st;
    struct csam_session_ticket t;
    struct csam_session_info info;
    struct csam_activated done;
    struct csam_attempts att;
    char old_email[128], totp[8], login[CSAM_TOKEN_SIZE];
    const char *fresh = "Pw7-orchard-Silent-Drum";
    unsigned types = 0;
    char *mail;

    (void)state;
    active_citizen(&c, "deskrec");
    csam_test_login(&ctx, &c, SRC, &t);
    /* wrong codes left a lock behind */
    sql("UPDATE csam_accounts SET failures = 3,"
        " locked_until = now() + interval '1 hour' WHERE username = $1",
        c.username);
    /* the person lost access and comes to a desk with a new address */
    snprintf(old_email, sizeof(old_email), "%s", c.email);
    snprintf(c.email, sizeof(c.email), "new.%.100s", old_email);
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    assert_true(c.receipt.existing);
    assert_int_equal(count_live_accounts(c.username), 1);
    assert_int_equal(csam_engine_activation_open(ctx.engine, SRC, c.token,
                                                 c.receipt.activation_code,
                                                 c.handle, &types, &att),
                     CSAM_OK);
    assert_int_equal(csam_engine_activation_state(ctx.engine, c.handle, &st),
                     CSAM_OK);
    assert_true(st.existing);
    assert_false(st.online);
    assert_string_equal(st.username, c.username);
    assert_int_equal(csam_engine_activation_key(ctx.engine, SRC, c.handle,
                                                CSAM_KEY_TOTP, 1, NULL,
                                                "2024-01"),
                     CSAM_OK);
    /* another username is refused; the desk's recovery sets a password */
    in.username = "deskrec.two";
    in.password = fresh;
    in.password_repeat = fresh;
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_ERR_USERNAME_KEPT);
    in.username = c.username;
    in.password = "";
    in.password_repeat = "";
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_ERR_WEAK_PASSWORD);
    in.username = NULL;
    in.password = fresh;
    in.password_repeat = fresh;
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_OK);
    assert_int_equal(csam_test_totp(out.totp_secret, 0, totp), 0);
    assert_int_equal(csam_engine_activation_confirm(ctx.engine, SRC, c.handle,
                                                    totp, &done, &att),
                     CSAM_OK);
    assert_true(done.recovered);
    assert_string_equal(done.username, c.username);
    csam_credentials_outcome_free(&out);

    /* every other key and every session dead, the lock lifted, the new
     * address and password the account's */
    assert_int_equal(key_count(c.username, "email", "active"), 0);
    assert_int_equal(key_count(c.username, "totp", "active"), 1);
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 0, &info),
                     CSAM_ERR_EXPIRED);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE username = $1 AND failures = 0"
                         " AND locked_until IS NULL"
                         " AND password_changed_at > now() - interval '1 min'"
                         " AND email LIKE 'new.%'",
                         c.username),
                     1);
    assert_int_equal(csam_engine_login_password(ctx.engine, SRC, c.username,
                                                fresh, login, &types, &att),
                     CSAM_OK);
    assert_int_equal(types, CSAM_KEY_TOTP);
    assert_int_equal(count_live_accounts(c.username), 1);
    /* the notice, to the old address and to the new one */
    mail = csam_test_mail_take(&ctx.env, old_email);
    assert_non_null(mail);
    assert_non_null(strstr(mail, c.username));
    free(mail);
    mail = csam_test_mail_take(&ctx.env, c.email);
    assert_non_null(mail);
    free(mail);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit a"
                         " JOIN csam_accounts c ON c.id = a.account_id"
                         " WHERE c.username = $1"
                         " AND a.action = 'account.recovered'"
                         " AND a.detail->>'procedure' = 'desk'",
                         c.username),
                     1);
}

static void test_invalid_number_writes_nothing(void **state)
{
    struct csam_test_citizen c;
    struct csam_identity who;
    struct csam_procedure proc;
    char handle[CSAM_TOKEN_SIZE];
    long long regs, audit;

    (void)state;
    csam_test_citizen_init(&c, "badnrn", serial++);
    c.nrn[10] = "1234567890"[c.nrn[10] - '0']; /* the last digit + 1 */
    who = identity_of(&c);
    regs = sql("SELECT count(*) FROM csam_registrations", NULL);
    audit = sql("SELECT count(*) FROM csam_audit", NULL);
    assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who, handle,
                                             &proc),
                     CSAM_ERR_NATIONAL_NUMBER);
    assert_string_equal(handle, "");
    who.national_number = NULL;
    assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who, handle,
                                             &proc),
                     CSAM_ERR_NATIONAL_NUMBER);
    who.national_number = "not a number";
    assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who, handle,
                                             &proc),
                     CSAM_ERR_NATIONAL_NUMBER);
    /* no source, no procedure */
    csam_test_citizen_init(&c, "badnrn", serial++);
    who = identity_of(&c);
    who.source_name = NULL;
    assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who, handle,
                                             &proc),
                     CSAM_ERR_INVALID);
    assert_int_equal(sql("SELECT count(*) FROM csam_registrations", NULL),
                     regs);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit", NULL), audit);
}

/* An account for the person made behind the flow's back (by anything but
 * this flow): the credentials step answers CSAM_ERR_STATE, never a second
 * account. */
static void test_person_account_made_meanwhile(void **state)
{
    struct csam_test_citizen c, other;
    struct csam_credentials in = {NULL, NULL, NULL, NULL};
    struct csam_credentials_outcome out;

    (void)state;
    active_citizen(&other, "holder");
    csam_test_citizen_init(&c, "meanwhile", serial++);
    online_to_credentials(&c, CSAM_KEY_EMAIL);
    /* the other citizen's account takes this person's number */
    assert_int_equal(sql("WITH p AS (SELECT r.nrn_hash FROM csam_flows f"
                         " JOIN csam_registrations r"
                         " ON r.id = f.registration_id"
                         " WHERE r.procedure = 'online'"
                         " ORDER BY f.id DESC LIMIT 1)"
                         " UPDATE csam_accounts SET nrn_hash = p.nrn_hash"
                         " FROM p WHERE username = $1 RETURNING 1",
                         other.username),
                     1);
    in.username = c.username;
    in.password = c.password;
    in.password_repeat = c.password;
    in.email = c.email;
    assert_int_equal(csam_engine_activation_set_credentials(
                         ctx.engine, SRC, c.handle, &in, &out),
                     CSAM_ERR_STATE);
    assert_int_equal(count_live_accounts(other.username), 1);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE username = $1",
                         c.username),
                     0);
}

/* ---- two procedures of one person racing -------------------------------- */

#define RACERS 4
#define RACER_RECOVERY 100

/* One racer, in its own process with its own connection: the whole online
 * procedure for the person of nrn.  Exits with the first result that was
 * not CSAM_OK (or 0). */
static void racer(const char *nrn, int i)
{
    struct csam_test_ctx mine;
    struct csam_identity who;
    struct csam_procedure proc;
    struct csam_credentials in;
    struct csam_credentials_outcome out;
    struct csam_activated done;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE], username[32], email[64], code[16];
    char *mail;
    csam_result res;

    csam_test_ctx_open(&mine, 0);
    memset(&who, 0, sizeof(who));
    who.national_number = nrn;
    who.source_name = "env:OIDC_CLAIM_national_number";
    snprintf(username, sizeof(username), "racer%d", i);
    snprintf(email, sizeof(email), "racer%d@citizen.example.be", i);
    res = csam_engine_online_open(mine.engine, SRC, &who, handle, &proc);
    if (res == CSAM_OK)
        res = csam_engine_activation_key(mine.engine, SRC, handle,
                                         CSAM_KEY_EMAIL, 1, NULL, "2024-01");
    in.username = proc.existing ? NULL : username;
    in.password = "Rc5-meadow-Copper-Lamp";
    in.password_repeat = in.password;
    in.email = proc.existing ? NULL : email;
    if (res == CSAM_OK)
        res = csam_engine_activation_set_credentials(mine.engine, SRC, handle,
                                                     &in, &out);
    /* Another racer's account came first: this is a recovery of it, its
     * code gone to that racer's address. */
    if (res == CSAM_OK && proc.existing) {
        csam_credentials_outcome_free(&out);
        _exit(RACER_RECOVERY);
    }
    if (res == CSAM_OK) {
        csam_credentials_outcome_free(&out);
        mail = csam_test_mail_take(&mine.env, email);
        res = mail != NULL && csam_test_mail_code(mail, code, sizeof(code)) == 0
                  ? CSAM_OK
                  : CSAM_ERR_MAIL;
        free(mail);
    }
    if (res == CSAM_OK)
        res = csam_engine_activation_confirm(mine.engine, SRC, handle, code,
                                             &done, &att);
    _exit((int)res);
}

static void test_race_one_account(void **state)
{
    struct csam_test_citizen c;
    pid_t pids[RACERS];
    int i, status, ok = 0;

    (void)state;
    csam_test_citizen_init(&c, "race", serial++);
    fflush(NULL);
    for (i = 0; i < RACERS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            racer(c.nrn, i);
    }
    for (i = 0; i < RACERS; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        /* each one finished, or found the person's procedure moved on */
        if (WEXITSTATUS(status) == CSAM_OK)
            ok++;
        else
            assert_true(WEXITSTATUS(status) == CSAM_ERR_EXPIRED
                        || WEXITSTATUS(status) == CSAM_ERR_STATE
                        || WEXITSTATUS(status) == RACER_RECOVERY
                        || WEXITSTATUS(status) == CSAM_ERR_MAIL);
    }
    assert_true(ok >= 1);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE username LIKE 'racer%'"
                         " AND status <> 'disabled'",
                         NULL),
                     1);
}

/* ---- what it costs ---------------------------------------------------------
 */

/* The database round trips of the online start and of a recovery's
 * confirmation, statements already prepared (the second of each). */
static void test_statement_counts(void **state)
{
    struct csam_test_citizen c;
    struct csam_identity who;
    struct csam_procedure proc;
    struct csam_credentials in = {NULL, NULL, NULL, NULL};
    struct csam_credentials_outcome out;
    struct csam_activated done;
    struct csam_attempts att;
    char code[16];
    unsigned long before, open_new, open_existing, confirm;
    long cooldown = ctx.config.resend_cooldown;
    int round;

    (void)state;
    ctx.config.resend_cooldown = 0;
    active_citizen(&c, "cost");
    who = identity_of(&c);
    for (round = 0; round < 2; round++) {
        before = csam_store_round_trips(ctx.store);
        assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who,
                                                 c.handle, &proc),
                         CSAM_OK);
        open_existing = csam_store_round_trips(ctx.store) - before;
        assert_int_equal(csam_engine_activation_key(ctx.engine, SRC, c.handle,
                                                    CSAM_KEY_EMAIL, 1, NULL,
                                                    "2024-01"),
                         CSAM_OK);
        assert_int_equal(csam_engine_activation_set_credentials(
                             ctx.engine, SRC, c.handle, &in, &out),
                         CSAM_OK);
        csam_test_take_code(&ctx, c.email, code, sizeof(code));
        before = csam_store_round_trips(ctx.store);
        assert_int_equal(csam_engine_activation_confirm(
                             ctx.engine, SRC, c.handle, code, &done, &att),
                         CSAM_OK);
        confirm = csam_store_round_trips(ctx.store) - before;
        free(csam_test_mail_take(&ctx.env, c.email));
    }
    csam_test_citizen_init(&c, "costnew", serial++);
    who = identity_of(&c);
    before = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_engine_online_open(ctx.engine, SRC, &who, c.handle,
                                             &proc),
                     CSAM_OK);
    open_new = csam_store_round_trips(ctx.store) - before;
    print_message("online_open (new person): %lu round trips\n", open_new);
    print_message("online_open (existing person): %lu round trips\n",
                  open_existing);
    print_message("recovery confirm (online, e-mail key): %lu round trips\n",
                  confirm);
    /* BEGIN, lock, account, drop pending, supersede, registration and
     * flow, audit, COMMIT */
    assert_true(open_new <= 8);
    assert_true(open_existing <= 9);
    assert_true(confirm <= 12);
    ctx.config.resend_cooldown = cooldown;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_online_new_person_email_key),
        cmocka_unit_test(test_online_new_person_totp_address_first),
        cmocka_unit_test(test_online_recovery_keeps_keys),
        cmocka_unit_test(test_online_recovery_new_password),
        cmocka_unit_test(test_desk_recovery),
        cmocka_unit_test(test_invalid_number_writes_nothing),
        cmocka_unit_test(test_person_account_made_meanwhile),
        cmocka_unit_test(test_race_one_account),
        cmocka_unit_test(test_statement_counts),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
