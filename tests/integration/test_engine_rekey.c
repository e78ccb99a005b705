/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replacing the secret (ROLLOVER, csam-admin secret rekey) through the
 * engine against a real PostgreSQL: people, a pending registration and
 * TOTP keys made under secret A; A replaced by B (B current, A previous);
 * the rekey refused without a previous secret, run in batches of 2,
 * stopped after one and run again (it resumes); then an engine with B
 * alone opens every sealed number and TOTP secret, finds every person by
 * number, and every account's CSAM_SUBJECT is the one it had under A,
 * also in the window before the rekey.  secret check says PREVIOUS before
 * and SAME after.
 *
 * The rekey runs as the schema's owner (it reads and writes sealed
 * values, which csam_admin may not); logins and session checks as the
 * web's role.
 *
 * test_rekey_timing re-keys CSAM_REKEY_ACCOUNTS accounts (200 by default;
 * 2000 for the figure in the report) made with SQL, and prints the time.
 */
#define _POSIX_C_SOURCE 200809L

#define CSAM_SUITE_SERIAL 800
#include "engine_suite.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_internal.h"
#include "person.h"
#include "totp_key.h"

#define PEOPLE 5

/* B's file, next to A's (the test's secret): made once, kept for the
 * program's tests (the database records B's fingerprint after a rekey). */
static char b_path[4096];

static void write_secret_b(void)
{
    unsigned char bytes[48];
    int fd;

    if (b_path[0] != '\0')
        return;
    snprintf(b_path, sizeof(b_path), "%s/secret-b.key", ctx.env.tmpdir);
    assert_int_equal(csam_random_bytes(bytes, sizeof(bytes)), CSAM_OK);
    fd = open(b_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, sizeof(bytes)), (ssize_t)sizeof(bytes));
    close(fd);
}

/* A context like ctx (conninfo: NULL the web's role) with secret B and,
 * when with_a, A as the previous one. */
static void open_with_b(struct csam_test_ctx *c, const char *conninfo,
                        int with_a)
{
    char err[256];

    csam_test_ctx_open_as(c, 0, conninfo);
    csam_secret_free(c->secret);
    c->secret = NULL;
    assert_int_equal(csam_secret_load(b_path, &c->secret, err, sizeof(err)),
                     CSAM_OK);
    if (with_a) {
        csam_secret *a = NULL;

        assert_int_equal(csam_secret_load(c->env.secret_file, &a, err,
                                          sizeof(err)),
                         CSAM_OK);
        assert_int_equal(csam_secret_attach_previous(c->secret, a), CSAM_OK);
    }
    assert_true((csam_secret_previous(c->secret) != NULL) == with_a);
    csam_test_ctx_reengine(c);
}

/* The first column of the first row, hash as $1 (binary), as a number. */
static long long sql_hash(const char *text, const unsigned char *hash)
{
    const char *params[1] = {(const char *)hash};
    int lengths[1] = {CSAM_HASH_LEN};
    int formats[1] = {1};
    PGresult *res = PQexecParams(pg, text, 1, NULL, params, lengths, formats,
                                 0);
    long long v;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    v = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* bytea column 0 of row 0 of text ($1 a text parameter) into out. */
static size_t sql_bytes(const char *text, const char *param, unsigned char *out,
                        size_t max)
{
    const char *params[1] = {param};
    PGresult *res = PQexecParams(pg, text, 1, NULL, params, NULL, NULL, 1);
    size_t len;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    len = (size_t)PQgetlength(res, 0, 0);
    assert_true(len <= max);
    memcpy(out, PQgetvalue(res, 0, 0), len);
    PQclear(res);
    return len;
}

static void subject_of(struct csam_test_ctx *c,
                       const struct csam_test_citizen *who,
                       char out[CSAM_SUBJECT_BUFSIZE])
{
    struct csam_session_ticket t;
    struct csam_session_info info;

    csam_test_login(c, who, "192.0.2.80", &t);
    assert_int_equal(csam_engine_session_check(c->engine, t.cookie, 0, &info),
                     CSAM_OK);
    assert_string_equal(info.username, who->username);
    memcpy(out, info.subject, CSAM_SUBJECT_BUFSIZE);
}

/* Stop after the first batch. */
static int stop_at_once(void *arg, const char *table,
                        const struct csam_admin_rekey *sofar)
{
    (void)table;
    (void)sofar;
    ++*(int *)arg;
    return 1;
}

static int count_batches(void *arg, const char *table,
                         const struct csam_admin_rekey *sofar)
{
    (void)table;
    (void)sofar;
    ++*(int *)arg;
    return 0;
}

static enum csam_admin_secret_verdict verdict(struct csam_test_ctx *c,
                                              struct csam_admin_secret *s)
{
    assert_int_equal(csam_engine_admin_secret_check(c->engine, "test:rekey", s),
                     CSAM_OK);
    return s->verdict;
}

static void test_rekey(void **state)
{
    struct csam_test_citizen people[PEOPLE], pending, old;
    char subjects[PEOPLE + 1][CSAM_SUBJECT_BUFSIZE];
    char subject[CSAM_SUBJECT_BUFSIZE];
    char totp[2][CSAM_TOTP_KEY_B32_SIZE];
    struct csam_test_ctx ba_owner, ba_web, b_web, b_owner;
    struct csam_credentials_outcome outcome;
    struct csam_admin_secret check;
    struct csam_admin_rekey run;
    char id[32];
    unsigned char hash[CSAM_HASH_LEN];
    unsigned char sealed[64];
    unsigned char key[CSAM_TOTP_KEY_LEN];
    char nrn[CSAM_NRN_SIZE], b32[CSAM_TOTP_KEY_B32_SIZE];
    int calls = 0, i;
    size_t len;

    (void)state;
    /* ---- under A: people (two with a pending TOTP key), a person still
     * to activate, an account from before sealed numbers */
    for (i = 0; i < PEOPLE; i++) {
        active_citizen(&people[i], "rekey");
        subject_of(&ctx, &people[i], subjects[i]);
    }
    for (i = 0; i < 2; i++) {
        memset(&outcome, 0, sizeof(outcome));
        assert_int_equal(csam_engine_key_add(ctx.engine, NULL,
                                             people[i].username, CSAM_KEY_TOTP,
                                             1, NULL, "2024-01", &outcome),
                         CSAM_OK);
        snprintf(totp[i], sizeof(totp[i]), "%s", outcome.totp_secret);
        csam_credentials_outcome_free(&outcome);
    }
    csam_test_citizen_init(&pending, "rekeyp", serial++);
    assert_int_equal(csam_test_register(&ctx, &pending), CSAM_OK);
    active_citizen(&old, "rekeyo");
    /* (its registration, as old, sealed nothing either) */
    assert_int_equal(sql("WITH u AS (UPDATE csam_accounts SET nrn_sealed ="
                         " NULL WHERE username = $1"
                         " RETURNING registration_id),"
                         " r AS (UPDATE csam_registrations SET nrn_sealed ="
                         " NULL WHERE id IN (SELECT * FROM u) RETURNING 1)"
                         " SELECT count(*) FROM r",
                         old.username),
                     1);
    subject_of(&ctx, &old, subjects[PEOPLE]);
    /* the first registration recorded A's fingerprint */
    assert_int_equal(sql("SELECT count(*) FROM csam_installation", NULL), 1);

    /* ---- B replaces A */
    write_secret_b();
    open_with_b(&ba_owner, ctx.env.pg, 1);
    open_with_b(&ba_web, NULL, 1);
    open_with_b(&b_web, NULL, 0);
    open_with_b(&b_owner, ctx.env.pg, 0);
    assert_int_equal(verdict(&ba_owner, &check), CSAM_ADMIN_SECRET_PREVIOUS);
    assert_true(check.has_previous);
    assert_string_not_equal(check.previous_needed_until, "");
    assert_string_equal(check.rekey_started_at, "");
    assert_int_equal(verdict(&b_owner, &check), CSAM_ADMIN_SECRET_OTHER);

    /* In the window, a login under B: the subject A gave, computed under
     * the secret that opens the sealed number (or stored: none yet). */
    subject_of(&ba_web, &people[0], subject);
    assert_string_equal(subject, subjects[0]);
    subject_of(&ba_web, &old, subject);
    assert_string_equal(subject, subjects[PEOPLE]);

    /* Without a previous secret there is nothing to re-key from. */
    assert_int_equal(csam_engine_admin_secret_rekey(
                         b_owner.engine, "test:rekey", 2, NULL, NULL, &run),
                     CSAM_ERR_CONFIG);
    assert_int_equal(csam_engine_admin_secret_rekey(
                         ba_owner.engine, "test:rekey", 0, NULL, NULL, &run),
                     CSAM_ERR_INVALID);

    /* ---- one batch of 2, stopped */
    assert_int_equal(csam_engine_admin_secret_rekey(ba_owner.engine,
                                                    "test:rekey", 2,
                                                    stop_at_once, &calls, &run),
                     CSAM_OK);
    assert_int_equal(calls, 1);
    assert_true(run.stopped);
    assert_false(run.complete);
    assert_int_equal(run.accounts, 2);
    assert_int_equal(run.done, 0);
    assert_int_equal(run.subjects, 2);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE subject IS NOT NULL",
                         NULL),
                     2);
    assert_int_equal(verdict(&ba_owner, &check), CSAM_ADMIN_SECRET_PREVIOUS);
    assert_string_not_equal(check.rekey_started_at, "");
    assert_string_equal(check.rekeyed_at, "");

    /* ---- run again: it resumes */
    calls = 0;
    assert_int_equal(
        csam_engine_admin_secret_rekey(ba_owner.engine, "test:rekey", 2,
                                       count_batches, &calls, &run),
        CSAM_OK);
    assert_true(run.complete);
    assert_false(run.stopped);
    assert_int_equal(run.left, 0);
    /* 7 accounts (the first 2 done), the old one unsealed */
    assert_int_equal(run.accounts, PEOPLE + 1 - 2 - 1);
    assert_int_equal(run.unsealed, 1);
    assert_int_equal(run.keys, 2);
    assert_true(run.registrations >= PEOPLE - 2);
    assert_true(run.done >= 2);
    assert_int_equal(run.batches, calls);
    assert_true(calls >= 4);
    assert_int_equal(sql("SELECT count(*) FROM csam_accounts"
                         " WHERE subject IS NULL",
                         NULL),
                     0);
    assert_int_equal(verdict(&ba_owner, &check), CSAM_ADMIN_SECRET_SAME);
    assert_string_not_equal(check.rekeyed_at, "");
    assert_int_equal(sql("SELECT count(*) FROM csam_audit"
                         " WHERE action = 'secret.rekeyed'",
                         NULL),
                     1);
    assert_int_equal(verdict(&b_owner, &check), CSAM_ADMIN_SECRET_SAME);
    assert_false(check.has_previous);

    /* A third run finds everything done. */
    assert_int_equal(csam_engine_admin_secret_rekey(
                         ba_owner.engine, "test:rekey", 1000, NULL, NULL, &run),
                     CSAM_OK);
    assert_true(run.complete);
    assert_int_equal(run.accounts + run.keys + run.registrations, 0);
    assert_true(run.done >= PEOPLE + 2 + 1);

    /* ---- B alone: every seal opens, every person is found by number,
     * every subject is the one A gave */
    for (i = 0; i < PEOPLE; i++) {
        assert_int_equal(
            csam_engine_hash(b_web.engine, CSAM_PURPOSE_NATIONAL_NUMBER,
                             "national_number", 0, people[i].nrn, hash),
            CSAM_OK);
        assert_int_equal(sql_hash("SELECT count(*) FROM csam_accounts"
                                  " WHERE nrn_hash = $1 AND status = 'active'",
                                  hash),
                         1);
        assert_int_equal(sql_hash("SELECT count(*) FROM csam_registrations"
                                  " WHERE nrn_hash = $1",
                                  hash),
                         1);
        len = sql_bytes("SELECT nrn_sealed FROM csam_accounts"
                        " WHERE username = $1",
                        people[i].username, sealed, sizeof(sealed));
        assert_int_equal(csam_person_open(b_web.secret, sealed, len, hash, nrn),
                         CSAM_OK);
        assert_string_equal(nrn, people[i].nrn);
        subject_of(&b_web, &people[i], subject);
        assert_string_equal(subject, subjects[i]);
    }
    subject_of(&b_web, &old, subject);
    assert_string_equal(subject, subjects[PEOPLE]);
    for (i = 0; i < 2; i++) {
        int64_t key_id = sql("SELECT k.id FROM csam_keys k JOIN csam_accounts a"
                             " ON a.id = k.account_id WHERE a.username = $1"
                             " AND k.type = 'totp'",
                             people[i].username);

        snprintf(id, sizeof(id), "%lld", (long long)key_id);
        len = sql_bytes("SELECT totp_secret FROM csam_keys WHERE id = $1", id,
                        sealed, sizeof(sealed));
        assert_int_equal(csam_totp_key_open(b_web.secret, key_id, sealed, len,
                                            key),
                         CSAM_OK);
        assert_int_equal(csam_totp_key_base32(key, b32), CSAM_OK);
        assert_string_equal(b32, totp[i]);
    }
    assert_int_equal(csam_engine_hash(b_web.engine,
                                      CSAM_PURPOSE_NATIONAL_NUMBER,
                                      "national_number", 0, pending.nrn, hash),
                     CSAM_OK);
    assert_int_equal(sql_hash("SELECT count(*) FROM csam_registrations"
                              " WHERE nrn_hash = $1 AND used_at IS NULL"
                              " AND superseded_at IS NULL",
                              hash),
                     1);
    /* every sealed number of a registration opens under B */
    for (i = 0; i < PEOPLE + 1; i++) {
        const struct csam_test_citizen *c = i < PEOPLE ? &people[i] : &pending;

        assert_int_equal(csam_engine_hash(b_web.engine,
                                          CSAM_PURPOSE_NATIONAL_NUMBER,
                                          "national_number", 0, c->nrn, hash),
                         CSAM_OK);
        len = sql_bytes("SELECT nrn_sealed FROM csam_registrations"
                        " WHERE email = $1",
                        c->email, sealed, sizeof(sealed));
        assert_int_equal(csam_person_open(b_web.secret, sealed, len, hash, nrn),
                         CSAM_OK);
        assert_string_equal(nrn, c->nrn);
    }
    assert_int_equal(sql("SELECT count(*) FROM csam_registrations"
                         " WHERE nrn_sealed IS NOT NULL",
                         NULL),
                     PEOPLE + 1);

    csam_test_ctx_close(&b_owner);
    csam_test_ctx_close(&b_web);
    csam_test_ctx_close(&ba_web);
    csam_test_ctx_close(&ba_owner);
}

/* ---- the figure: N accounts made under A with SQL, re-keyed under B+A */

static void test_rekey_timing(void **state)
{
    const char *env = getenv("CSAM_REKEY_ACCOUNTS");
    long n = env != NULL ? atol(env) : 200, i;
    struct csam_test_ctx ba_owner;
    struct csam_admin_rekey run;
    struct timespec t0, t1;

    (void)state;
    assert_true(n > 0 && n <= 1000000);
    for (i = 0; i < n; i++) {
        char nrn[CSAM_NRN_SIZE], birth[16], name[64];
        unsigned char hash[CSAM_HASH_LEN];
        unsigned char sealed[CSAM_PERSON_SEALED_LEN];
        const char *params[3];
        int lengths[3] = {CSAM_HASH_LEN, CSAM_PERSON_SEALED_LEN, 0};
        int formats[3] = {1, 1, 0};
        PGresult *res;

        csam_test_nrn(60 + (int)(i / 900) % 30, 1 + (int)(i / 30) % 12,
                      1 + (int)i % 28, 1 + (int)(i % 400), nrn, birth);
        assert_int_equal(csam_engine_hash(ctx.engine,
                                          CSAM_PURPOSE_NATIONAL_NUMBER,
                                          "national_number", 0, nrn, hash),
                         CSAM_OK);
        assert_int_equal(csam_person_seal(ctx.secret, nrn, hash, sealed),
                         CSAM_OK);
        snprintf(name, sizeof(name), "bulk%06ld", i);
        params[0] = (const char *)hash;
        params[1] = (const char *)sealed;
        params[2] = name;
        res = PQexecParams(
            pg,
            "WITH r AS (INSERT INTO csam_registrations (nrn_hash, nrn_sealed,"
            " first_name, last_name, birth_date, document_type,"
            " document_number, email, language, token_hash, code_hash,"
            " max_attempts, expires_at, created_by, used_at)"
            " VALUES ($1, $2, 'Bulk', 'Person', '1970-01-01', 'eid', $3,"
            " $3 || '@example.test', 'fr', sha256($3::bytea || 't'),"
            " sha256($3::bytea || 'c'), 5, now() + interval '1 day', 'test',"
            " now()) RETURNING id)"
            " INSERT INTO csam_accounts (username, password_hash,"
            " registration_id, status, activated_at, language, email,"
            " nrn_hash, nrn_sealed)"
            " SELECT $3, '$argon2id$bulk', id, 'active', now(), 'fr',"
            " $3 || '@example.test', $1, $2 FROM r",
            3, NULL, params, lengths, formats, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fail_msg("%s", PQerrorMessage(pg));
        PQclear(res);
    }
    write_secret_b();
    open_with_b(&ba_owner, ctx.env.pg, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(csam_engine_admin_secret_rekey(
                         ba_owner.engine, "test:rekey", 1000, NULL, NULL, &run),
                     CSAM_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(run.accounts >= n);
    assert_int_equal(run.left, 0);
    printf("rekey: %ld accounts made under A re-keyed under B+A in %.2f s"
           " (%lld accounts, %lld registrations moved, %ld batches)\n",
           n,
           (double)(t1.tv_sec - t0.tv_sec)
               + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           (long long)run.accounts, (long long)run.registrations, run.batches);
    csam_test_ctx_close(&ba_owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_rekey_timing),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
