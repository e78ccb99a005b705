/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who a session's holder is (DESIGN 3.3), through the engine against a
 * real PostgreSQL: the subject of every session check, the same for every
 * login of one person and another for another person; the national
 * number only when asked for, "" for an account without a sealed number
 * (made before schema 4), refused when the sealed number belongs to
 * another row; one round trip whatever is asked.
 *
 * No flow writes nrn_sealed yet on this branch: the tests seal the number
 * themselves (csam_person_seal) and store it with SQL, as the engine's
 * account creation does.
 */
#define _POSIX_C_SOURCE 200809L

#define CSAM_SUITE_SERIAL 700
#include "engine_suite.h"

#include "person.h"

static void login(const struct csam_test_citizen *c,
                  struct csam_session_ticket *t)
{
    csam_test_login(&ctx, c, "192.0.2.70", t);
}

/* The account's nrn_hash, read back from the database. */
static void account_hash(const char *username,
                         unsigned char hash[CSAM_HASH_LEN])
{
    const char *params[1] = {username};
    PGresult *res = PQexecParams(pg,
                                 "SELECT encode(nrn_hash, 'hex')"
                                 " FROM csam_accounts WHERE username = $1",
                                 1, NULL, params, NULL, NULL, 0);
    const char *hex;
    size_t i;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    hex = PQgetvalue(res, 0, 0);
    assert_int_equal(strlen(hex), 2 * CSAM_HASH_LEN);
    for (i = 0; i < CSAM_HASH_LEN; i++) {
        unsigned int byte;

        assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
        hash[i] = (unsigned char)byte;
    }
    PQclear(res);
}

/* Store sealed (len bytes; NULL: SQL NULL) as the account's nrn_sealed. */
static void store_sealed(const char *username, const unsigned char *sealed,
                         size_t len)
{
    const char *params[2] = {(const char *)sealed, username};
    int lengths[2] = {(int)len, 0};
    int formats[2] = {1, 0};
    PGresult *res = PQexecParams(pg,
                                 "UPDATE csam_accounts SET nrn_sealed = $1"
                                 " WHERE username = $2",
                                 2, NULL, params, lengths, formats, 0);

    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    assert_string_equal(PQcmdTuples(res), "1");
    PQclear(res);
}

/* Seal the citizen's own number for its own account, as account creation
 * does. */
static void seal_own(const struct csam_test_citizen *c)
{
    unsigned char hash[CSAM_HASH_LEN];
    unsigned char sealed[CSAM_PERSON_SEALED_LEN];

    account_hash(c->username, hash);
    assert_int_equal(csam_person_seal(ctx.secret, c->nrn, hash, sealed),
                     CSAM_OK);
    store_sealed(c->username, sealed, sizeof(sealed));
}

static int all_zero(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* The subject: CSAM_SUBJECT of the account's hash, stable across logins,
 * different for another person, never the number. */
static void test_subject(void **state)
{
    struct csam_test_citizen a, b;
    struct csam_session_ticket a1, a2, b1;
    struct csam_session_info info;
    unsigned char hash[CSAM_HASH_LEN];
    char expected[CSAM_SUBJECT_SIZE];
    char first[CSAM_SUBJECT_BUFSIZE];
    unsigned long trips;

    (void)state;
    active_citizen(&a, "subj");
    active_citizen(&b, "subj");
    login(&a, &a1);
    login(&a, &a2);
    login(&b, &b1);

    /* The first check prepares the statement (a round trip of its own,
     * once per connection); the next ones cost one each. */
    assert_int_equal(csam_engine_session_check(ctx.engine, a1.cookie, 1, &info),
                     CSAM_OK);
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(csam_engine_session_check(ctx.engine, a1.cookie, 1, &info),
                     CSAM_OK);
    assert_int_equal(csam_store_round_trips(ctx.store), trips + 1);
    assert_string_equal(info.username, a.username);
    account_hash(a.username, hash);
    assert_int_equal(csam_person_subject(ctx.secret, hash, expected), CSAM_OK);
    assert_string_equal(info.subject, expected);
    assert_int_equal(strlen(info.subject), 43);
    assert_null(strstr(info.subject, a.nrn));
    /* Without the flag, never a number, even one that is stored. */
    assert_string_equal(info.national_number, "");
    memcpy(first, info.subject, sizeof(first));

    /* Another login of the same person: the same subject. */
    assert_int_equal(csam_engine_session_check(ctx.engine, a2.cookie, 0, &info),
                     CSAM_OK);
    assert_string_equal(info.subject, first);
    /* Another person: another subject. */
    assert_int_equal(csam_engine_session_check(ctx.engine, b1.cookie, 0, &info),
                     CSAM_OK);
    assert_string_equal(info.username, b.username);
    assert_string_not_equal(info.subject, first);
    assert_int_equal(strlen(info.subject), 43);

    /* A dead session tells nothing of its holder. */
    assert_int_equal(csam_engine_session_end(ctx.engine, NULL, a2.cookie),
                     CSAM_OK);
    memset(&info, 'x', sizeof(info));
    assert_int_equal(csam_engine_session_check(ctx.engine, a2.cookie, 0, &info),
                     CSAM_ERR_EXPIRED);
    assert_string_equal(info.subject, "");
    assert_string_equal(info.username, "");
}

/* The national number: only with CSAM_SESSION_NATIONAL_NUMBER, "" while
 * none is stored, the person's own once sealed; one round trip. */
static void test_national_number(void **state)
{
    struct csam_test_citizen c;
    struct csam_session_ticket t;
    struct csam_session_info info;
    unsigned long trips;

    (void)state;
    active_citizen(&c, "nrn");
    login(&c, &t);
    /* An account from before schema 4: nothing sealed (accounts made
     * since are sealed at their activation). */
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts WHERE username"
                         " = $1 AND nrn_sealed IS NOT NULL",
                         c.username),
                     1);
    assert_int_equal(sql("WITH u AS (UPDATE csam_accounts SET nrn_sealed ="
                         " NULL WHERE username = $1 RETURNING 1)"
                         " SELECT count(*) FROM u",
                         c.username),
                     1);
    assert_int_equal(csam_engine_session_check_flags(
                         ctx.engine, t.cookie,
                         CSAM_SESSION_TOUCH | CSAM_SESSION_NATIONAL_NUMBER,
                         &info),
                     CSAM_OK);
    assert_string_equal(info.username, c.username);
    assert_int_equal(strlen(info.subject), 43);
    assert_true(all_zero(info.national_number, sizeof(info.national_number)));

    seal_own(&c);
    trips = csam_store_round_trips(ctx.store);
    assert_int_equal(
        csam_engine_session_check_flags(ctx.engine, t.cookie,
                                        CSAM_SESSION_NATIONAL_NUMBER, &info),
        CSAM_OK);
    assert_int_equal(csam_store_round_trips(ctx.store), trips + 1);
    assert_string_equal(info.national_number, c.nrn);
    assert_int_equal(strlen(info.national_number), 11);
    /* Not asked: not given, though stored. */
    assert_int_equal(csam_engine_session_check_flags(ctx.engine, t.cookie,
                                                     CSAM_SESSION_TOUCH, &info),
                     CSAM_OK);
    assert_true(all_zero(info.national_number, sizeof(info.national_number)));
    assert_int_equal(csam_engine_session_check(ctx.engine, t.cookie, 1, &info),
                     CSAM_OK);
    assert_true(all_zero(info.national_number, sizeof(info.national_number)));
    /* An unknown flag is a caller's mistake, not a session. */
    assert_int_equal(csam_engine_session_check_flags(ctx.engine, t.cookie,
                                                     1U << 7, &info),
                     CSAM_ERR_INVALID);
    assert_string_equal(info.username, "");
}

/* A sealed number copied from another person's account (or altered) does
 * not open there: the check that asks for it fails closed, and names no
 * number; a check that does not ask is unaffected. */
static void test_sealed_number_of_another_row(void **state)
{
    struct csam_test_citizen a, b;
    struct csam_session_ticket ta;
    struct csam_session_info info;
    unsigned char hash_b[CSAM_HASH_LEN];
    unsigned char sealed[CSAM_PERSON_SEALED_LEN];
    size_t logged;

    (void)state;
    active_citizen(&a, "copy");
    active_citizen(&b, "copy");
    login(&a, &ta);
    account_hash(b.username, hash_b);
    assert_int_equal(csam_person_seal(ctx.secret, b.nrn, hash_b, sealed),
                     CSAM_OK);
    store_sealed(a.username, sealed, sizeof(sealed));

    logged = csam_test_log_length();
    memset(&info, 'x', sizeof(info));
    assert_int_equal(
        csam_engine_session_check_flags(ctx.engine, ta.cookie,
                                        CSAM_SESSION_NATIONAL_NUMBER, &info),
        CSAM_ERR_CRYPTO);
    assert_true(all_zero((const char *)&info, sizeof(info)));
    assert_true(csam_test_log_length() > logged);
    assert_true(csam_test_log_contains("sealed national number"));
    assert_false(csam_test_log_contains(b.nrn));
    assert_false(csam_test_log_contains(a.nrn));
    assert_int_equal(csam_engine_session_check(ctx.engine, ta.cookie, 0, &info),
                     CSAM_OK);
    assert_string_equal(info.username, a.username);

    /* Its own number, one bit altered. */
    {
        unsigned char hash_a[CSAM_HASH_LEN];

        account_hash(a.username, hash_a);
        assert_int_equal(csam_person_seal(ctx.secret, a.nrn, hash_a, sealed),
                         CSAM_OK);
        sealed[20] ^= 0x04;
        store_sealed(a.username, sealed, sizeof(sealed));
        assert_int_equal(csam_engine_session_check_flags(
                             ctx.engine, ta.cookie,
                             CSAM_SESSION_NATIONAL_NUMBER, &info),
                         CSAM_ERR_CRYPTO);
    }
}

/* The check a protected request makes (services and a store, no engine)
 * gives the same person as the engine's. */
static void test_check_without_engine(void **state)
{
    struct csam_services_error err;
    struct csam_session_info mine, engines;
    struct csam_session_ticket t;
    struct csam_test_citizen c;
    struct csam_config cfg;
    char errbuf[CSAM_CONFIG_ERRLEN];
    csam_services *sv = NULL;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_int_equal(csam_config_set(&cfg, "secret_file", ctx.env.secret_file,
                                     errbuf, sizeof(errbuf)),
                     CSAM_OK);
    assert_int_equal(csam_config_set(&cfg, "data_dir", ctx.config.data_dir,
                                     errbuf, sizeof(errbuf)),
                     CSAM_OK);
    assert_int_equal(csam_services_open(&cfg, 0, &sv, &err), CSAM_OK);
    active_citizen(&c, "bare");
    login(&c, &t);
    seal_own(&c);
    assert_int_equal(csam_session_check_flags(sv, ctx.store, t.cookie,
                                              CSAM_SESSION_NATIONAL_NUMBER,
                                              &mine),
                     CSAM_OK);
    assert_int_equal(
        csam_engine_session_check(ctx.engine, t.cookie, 0, &engines), CSAM_OK);
    assert_string_equal(mine.subject, engines.subject);
    assert_string_equal(mine.national_number, c.nrn);
    assert_string_equal(engines.national_number, "");
    assert_int_equal(csam_session_check(sv, ctx.store, t.cookie, 1, &mine),
                     CSAM_OK);
    assert_string_equal(mine.subject, engines.subject);
    assert_string_equal(mine.national_number, "");
    assert_int_equal(csam_session_check_flags(NULL, ctx.store, t.cookie, 0,
                                              &mine),
                     CSAM_ERR_INVALID);
    csam_services_free(sv);
    csam_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject),
        cmocka_unit_test(test_national_number),
        cmocka_unit_test(test_sealed_number_of_another_row),
        cmocka_unit_test(test_check_without_engine),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
