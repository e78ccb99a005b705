/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helpdesk through the engine (DESIGN 2.8), against a real PostgreSQL
 * and SMTP server: a search shows registrations, account, keys and lock
 * and never a secret; a new link kills the old one and opens with the
 * same paper code (a relay that refuses it changes nothing); a revoked
 * registration's link and code are dead and its pending account gone; a
 * lifted lock lets the citizen in again; every action is audited and
 * logged with the officer's name, and another officer sees it.
 */
#define _POSIX_C_SOURCE 200809L

#define CSAM_SUITE_SERIAL 700
#define CSAM_SUITE_NO_COOLDOWN
#include "engine_suite.h"

#define OFFICER_A "desk.anna"
#define OFFICER_B "desk.bruno"
#define SOURCE_A "192.0.2.71"

static struct csam_helpdesk_person person;

/* How many audit rows of action name the officer as actor, from source. */
static long long audited(const char *action, const char *officer)
{
    char q[256];

    snprintf(q, sizeof(q),
             "SELECT count(*) FROM csam_audit WHERE action = $1"
             " AND actor = '%s' AND source = '" SOURCE_A "'",
             officer);
    return sql(q, action);
}

/* 1 if the history of the last search has action by officer. */
static int in_history(const char *action, const char *officer)
{
    size_t i;

    for (i = 0; i < person.n_history; i++)
        if (strcmp(person.history[i].action, action) == 0
            && strcmp(person.history[i].officer, officer) == 0
            && person.history[i].at[0] != '\0')
            return 1;
    return 0;
}

static csam_result open_link(const struct csam_test_citizen *c,
                             const char *token, char handle[CSAM_TOKEN_SIZE])
{
    struct csam_attempts att;
    unsigned types = 0;

    return csam_engine_activation_open(ctx.engine, "192.0.2.20", token,
                                       c->receipt.activation_code, handle,
                                       &types, &att);
}

static void test_find_shows_no_secret(void **state)
{
    struct csam_test_citizen c, d;
    const unsigned char *bytes;
    size_t i;

    (void)state;
    /* A person the database does not know: nothing, but audited. */
    csam_test_citizen_init(&c, "hdnone", serial++);
    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_A, SOURCE_A,
                                               c.nrn, &person),
                     CSAM_OK);
    assert_int_equal(person.n_registrations, 0);
    assert_false(person.has_account);

    active_citizen(&c, "hdfind");
    csam_test_citizen_init(&d, "hdpend", serial++);
    assert_int_equal(csam_test_register(&ctx, &d), CSAM_OK);

    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_A, SOURCE_A,
                                               c.nrn, &person),
                     CSAM_OK);
    assert_int_equal(person.n_registrations, 1);
    assert_string_equal(person.registrations[0].status, "used");
    assert_string_equal(person.registrations[0].procedure, "desk");
    assert_string_equal(person.registrations[0].officer, "officer.test");
    assert_true(person.has_account);
    assert_string_equal(person.username, c.username);
    assert_string_equal(person.status, "active");
    assert_int_equal(person.n_keys, 1);
    assert_int_equal(person.keys[0].type, CSAM_KEY_EMAIL);
    assert_string_equal(person.keys[0].status, "active");
    assert_string_equal(person.locked_until, "");
    /* The desk's own registration is in the history. */
    assert_true(in_history("registration.created", "officer.test"));

    /* Formatted as on the card, the pending one. */
    {
        char formatted[32];

        snprintf(formatted, sizeof(formatted), "%.2s.%.2s.%.2s-%.3s.%.2s",
                 d.nrn, d.nrn + 2, d.nrn + 4, d.nrn + 6, d.nrn + 9);
        assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_A,
                                                   SOURCE_A, formatted,
                                                   &person),
                         CSAM_OK);
    }
    assert_int_equal(person.n_registrations, 1);
    assert_string_equal(person.registrations[0].status, "pending");
    assert_int_equal(person.registrations[0].id, d.receipt.registration_id);
    assert_true(person.registrations[0].expires_at[0] != '\0');
    assert_false(person.has_account);

    /* No code, token or number anywhere in what the desk gets. */
    bytes = (const unsigned char *)&person;
    for (i = 0; i + 16 <= sizeof(person); i++)
        assert_false(memcmp(bytes + i, d.receipt.activation_code,
                            strlen(d.receipt.activation_code))
                         == 0
                     || memcmp(bytes + i, d.token, 16) == 0
                     || memcmp(bytes + i, d.nrn, 11) == 0);

    /* Audited with the officer and the source, logged without the number. */
    assert_true(audited("helpdesk.search", OFFICER_A) >= 3);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit WHERE action ="
                         " 'helpdesk.search' AND detail::text LIKE '%' || $1"
                         " || '%'",
                         d.nrn),
                     0);
    assert_true(csam_test_log_contains("helpdesk: officer " OFFICER_A
                                       ": helpdesk.search from " SOURCE_A));
    assert_false(csam_test_log_contains(d.nrn));
    assert_false(csam_test_log_contains(c.nrn));

    /* Refusals: a number failing mod 97, none, an officer name that
     * cannot be recorded. */
    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_A, SOURCE_A,
                                               "85073003329", &person),
                     CSAM_ERR_NATIONAL_NUMBER);
    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_A, SOURCE_A,
                                               NULL, &person),
                     CSAM_ERR_NATIONAL_NUMBER);
    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, "desk\nanna",
                                               SOURCE_A, d.nrn, &person),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, "", SOURCE_A, d.nrn,
                                               &person),
                     CSAM_ERR_INVALID);
}

static void test_resend_kills_the_old_link(void **state)
{
    struct csam_test_ctx dead;
    struct csam_test_citizen c;
    char token2[CSAM_TOKEN_SIZE], handle[CSAM_TOKEN_SIZE];
    char *mail;

    (void)state;
    csam_test_citizen_init(&c, "hdresend", serial++);
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);

    /* A relay that refuses: nothing changed, the old link still opens. */
    csam_test_ctx_open(&dead, 1);
    assert_int_equal(csam_engine_helpdesk_resend(dead.engine, OFFICER_A,
                                                 SOURCE_A,
                                                 c.receipt.registration_id),
                     CSAM_ERR_MAIL);
    csam_test_ctx_close(&dead);
    assert_int_equal(audited("registration.link_resent", OFFICER_A), 0);

    assert_int_equal(csam_engine_helpdesk_resend(ctx.engine, OFFICER_A,
                                                 SOURCE_A,
                                                 c.receipt.registration_id),
                     CSAM_OK);
    mail = csam_test_mail_take(&ctx.env, c.email);
    assert_non_null(mail);
    assert_int_equal(csam_test_mail_token(mail, token2), 0);
    assert_non_null(strstr(mail, "Dupont"));
    free(mail);
    assert_string_not_equal(token2, c.token);
    assert_int_equal(audited("registration.link_resent", OFFICER_A), 1);
    assert_true(csam_test_log_contains("helpdesk: officer " OFFICER_A
                                       ": registration.link_resent"));
    assert_false(csam_test_log_contains(token2));

    /* The old link is dead, the new one opens with the same paper code. */
    assert_int_equal(open_link(&c, c.token, handle), CSAM_ERR_EXPIRED);
    assert_int_equal(open_link(&c, token2, handle), CSAM_OK);

    /* Another officer sees who did it. */
    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_B,
                                               "192.0.2.72", c.nrn, &person),
                     CSAM_OK);
    assert_true(in_history("registration.link_resent", OFFICER_A));
    assert_string_equal(person.registrations[0].status, "pending");

    /* Nothing to resend: unknown, or no longer live. */
    assert_int_equal(csam_engine_helpdesk_resend(ctx.engine, OFFICER_A,
                                                 SOURCE_A, 999999999),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_helpdesk_resend(ctx.engine, OFFICER_A,
                                                 SOURCE_A, 0),
                     CSAM_ERR_INVALID);
}

static void test_revoke_kills_link_code_and_pending_account(void **state)
{
    struct csam_credentials_outcome outcome;
    struct csam_activated done;
    struct csam_attempts att;
    struct csam_test_citizen c;
    char code[16];

    (void)state;
    csam_test_citizen_init(&c, "hdrevoke", serial++);
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
    /* Half-way: the pending account holds the username. */
    assert_int_equal(open_link(&c, c.token, c.handle), CSAM_OK);
    assert_int_equal(csam_engine_activation_key(ctx.engine, "192.0.2.20",
                                                c.handle, CSAM_KEY_EMAIL, 1,
                                                NULL, "2024-01"),
                     CSAM_OK);
    memset(&outcome, 0, sizeof(outcome));
    assert_int_equal(csam_engine_activation_credentials(
                         ctx.engine, "192.0.2.20", c.handle, c.username,
                         c.password, c.password, &outcome),
                     CSAM_OK);
    csam_credentials_outcome_free(&outcome);
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts WHERE username"
                         " = $1",
                         c.username),
                     1);

    assert_int_equal(csam_engine_helpdesk_revoke(ctx.engine, OFFICER_A,
                                                 SOURCE_A,
                                                 c.receipt.registration_id),
                     CSAM_OK);
    /* The pending account is gone, the flow and the code with it. */
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts WHERE username"
                         " = $1",
                         c.username),
                     0);
    assert_int_not_equal(csam_engine_activation_confirm(ctx.engine,
                                                        "192.0.2.20", c.handle,
                                                        code, &done, &att),
                         CSAM_OK);
    /* Link and paper code are dead. */
    assert_int_equal(open_link(&c, c.token, c.handle), CSAM_ERR_EXPIRED);
    assert_int_equal(sql("SELECT count(*) FROM csam_registrations WHERE"
                         " revoked_by = $1 AND superseded_at IS NOT NULL",
                         OFFICER_A),
                     1);
    assert_int_equal(audited("registration.revoked", OFFICER_A), 1);
    assert_true(csam_test_log_contains("helpdesk: officer " OFFICER_A
                                       ": registration.revoked"));

    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_B,
                                               "192.0.2.72", c.nrn, &person),
                     CSAM_OK);
    assert_string_equal(person.registrations[0].status, "revoked");
    assert_false(person.has_account);
    assert_true(in_history("registration.revoked", OFFICER_A));

    /* Revoked once only; a resend of it finds nothing live. */
    assert_int_equal(csam_engine_helpdesk_revoke(ctx.engine, OFFICER_A,
                                                 SOURCE_A,
                                                 c.receipt.registration_id),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_helpdesk_resend(ctx.engine, OFFICER_A,
                                                 SOURCE_A,
                                                 c.receipt.registration_id),
                     CSAM_ERR_NOT_FOUND);
    /* The person may be registered again. */
    c.reg.national_number = c.nrn;
    assert_int_equal(csam_test_register(&ctx, &c), CSAM_OK);
}

static void test_unlock_lets_the_citizen_in(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket t;
    struct csam_attempts att;
    char handle[CSAM_TOKEN_SIZE];
    unsigned types = 0;

    (void)state;
    active_citizen(&c, "hdunlock");
    /* A wrong password makes the name's row; then both locks, as many
     * wrong passwords and wrong codes would leave them. */
    assert_int_equal(csam_engine_login_password(ctx.engine, "192.0.2.30",
                                                c.username, "wrong password 1",
                                                handle, &types, &att),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(sql("UPDATE csam_password_failures SET failures = 9,"
                         " locks = 2, locked_until = now() + interval '1 hour'"
                         " WHERE last_failure_at = (SELECT max(last_failure_at)"
                         " FROM csam_password_failures)",
                         NULL),
                     1);
    assert_int_equal(sql("UPDATE csam_accounts SET failures = 5, locked_until"
                         " = now() + interval '30 minutes' WHERE username = $1",
                         c.username),
                     1);
    assert_int_equal(csam_engine_login_password(ctx.engine, "192.0.2.30",
                                                c.username, c.password, handle,
                                                &types, &att),
                     CSAM_ERR_LOCKED);

    /* The desk sees the later of the two locks. */
    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_A, SOURCE_A,
                                               c.nrn, &person),
                     CSAM_OK);
    assert_true(person.locked_until[0] != '\0');
    assert_int_equal(sql("SELECT count(*) FROM csam_password_failures WHERE"
                         " to_char(locked_until AT TIME ZONE 'UTC',"
                         " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') = $1",
                         person.locked_until),
                     1);

    assert_int_equal(csam_engine_helpdesk_unlock(ctx.engine, OFFICER_A,
                                                 SOURCE_A, c.username),
                     CSAM_OK);
    csam_test_login(&ctx, &c, "192.0.2.30", &t);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts WHERE username"
                         " = $1 AND failures = 0 AND locked_until IS NULL",
                         c.username),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM csam_password_failures WHERE"
                         " locks = 2 OR locked_until > now()",
                         NULL),
                     0);
    assert_int_equal(audited("account.unlocked", OFFICER_A), 1);
    assert_int_equal(sql("SELECT count(*) FROM csam_audit WHERE action ="
                         " 'account.unlocked' AND detail @>"
                         " '{\"account_locked\": true, \"name_locked\": true}'",
                         NULL),
                     1);
    assert_true(csam_test_log_contains("helpdesk: officer " OFFICER_A
                                       ": account.unlocked account"));

    assert_int_equal(csam_engine_helpdesk_find(ctx.engine, OFFICER_B,
                                               "192.0.2.72", c.nrn, &person),
                     CSAM_OK);
    assert_string_equal(person.locked_until, "");
    assert_true(in_history("account.unlocked", OFFICER_A));
    assert_true(in_history("helpdesk.search", OFFICER_A));

    /* An unlocked account unlocks again; no such account is not found. */
    assert_int_equal(csam_engine_helpdesk_unlock(ctx.engine, OFFICER_A,
                                                 SOURCE_A, c.username),
                     CSAM_OK);
    assert_int_equal(csam_engine_helpdesk_unlock(ctx.engine, OFFICER_A,
                                                 SOURCE_A, "nobody.here"),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_helpdesk_unlock(ctx.engine, OFFICER_A,
                                                 SOURCE_A, "Not A Name"),
                     CSAM_ERR_NOT_FOUND);
    assert_int_equal(csam_engine_helpdesk_unlock(ctx.engine, OFFICER_A,
                                                 SOURCE_A, NULL),
                     CSAM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_shows_no_secret),
        cmocka_unit_test(test_resend_kills_the_old_link),
        cmocka_unit_test(test_revoke_kills_link_code_and_pending_account),
        cmocka_unit_test(test_unlock_lets_the_citizen_in),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
