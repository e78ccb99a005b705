/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lookup cost at 10 thousand and at 10 million registrations (DESIGN 5:
 * flat, indexes, no scans).  Not part of make check: run
 * tests/bench/lookup.sh (it builds nothing; `make tests/bench/lookup`
 * first), which runs this under run-with-services.
 *
 * At each size it times, through the engine and a real store, the lookups
 * a citizen's requests make: the link token (csam_engine_link_language),
 * an unknown token (the same index, no row), a PAM account lookup
 * (csam_engine_account_check) and a protected web request's session check
 * (csam_engine_session_check, with touch; every tenth registration has an
 * active account with a live session).  It prints, for each, the best median of
 * a few rounds of many calls at each size, the ratio large / small, and
 * the plans (on stderr).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "test_env.h"

#define CSAM_BENCH_CALLS 2000
#define CSAM_BENCH_ROUNDS 5

static double csam_bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int csam_bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double csam_bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), csam_bench_cmp);
    return v[n / 2];
}

/* Add registrations from..to (and an active account for one in ten) with
 * generate_series; hashes are distinct SHA-256 values, as keyed hashes
 * would be. */
static void csam_bench_fill(PGconn *pg, long from, long to)
{
    char sql[2048];
    double t0 = csam_bench_now();
    long step = 500000, a, b;

    for (a = from; a <= to; a = b + 1) {
        b = a + step - 1 < to ? a + step - 1 : to;
        snprintf(sql, sizeof(sql),
                 "WITH r AS (INSERT INTO csam_registrations (nrn_hash,"
                 " first_name, last_name, birth_date, document_type,"
                 " document_number, email, language, token_hash, code_hash,"
                 " max_attempts, expires_at, created_by)"
                 " SELECT sha256(int8send(i)), 'Bench', 'Citizen',"
                 " '1980-01-01', 'eid', 'B' || i, 'b' || i || '@example.be',"
                 " 'fr', sha256(int8send(-i)), sha256(int8send(i + %ld)), 5,"
                 " now() + interval '30 days', 'bench'"
                 " FROM generate_series(%ld::bigint, %ld::bigint) i"
                 " RETURNING id, email),"
                 " a AS (INSERT INTO csam_accounts (username, password_hash,"
                 " registration_id, status, language, email, activated_at)"
                 " SELECT 'bench' || r.id, '$argon2id$x', r.id, 'active',"
                 " 'fr', r.email, now() FROM r WHERE r.id %% 10 = 0"
                 " RETURNING id)"
                 " INSERT INTO csam_sessions (session_hash, account_id,"
                 " key_type, idle_timeout, expires_at)"
                 " SELECT sha256(int8send(a.id + %ld)), a.id, 'email',"
                 " interval '30 minutes', now() + interval '12 hours' FROM a",
                 4000000000L, a, b, 8000000000L);
        if (csam_test_pg_value(pg, sql, NULL) < 0) {
            fprintf(stderr, "fill failed\n");
            exit(1);
        }
    }
    csam_test_pg_value(pg, "VACUUM ANALYZE csam_registrations", NULL);
    csam_test_pg_value(pg, "VACUUM ANALYZE csam_accounts", NULL);
    csam_test_pg_value(pg, "VACUUM ANALYZE csam_sessions", NULL);
    fprintf(stderr, "filled %ld rows in %.1f s\n", to - from + 1,
            csam_bench_now() - t0);
}

#define CSAM_BENCH_KINDS 4

struct csam_bench_result {
    double v[CSAM_BENCH_KINDS]; /* token, unknown token, account, session */
};

/* The cookie of the bench citizen's live session. */
static char csam_bench_cookie[CSAM_TOKEN_SIZE];

/* live: registered, link not yet used; c: an active account. */
/* The median time of CSAM_BENCH_CALLS calls of one lookup.  kind: 0 the
 * live link token, 1 an unknown token, 2 the active account, 3 the
 * session. */
static double csam_bench_time(struct csam_test_ctx *ctx,
                              const struct csam_test_citizen *live,
                              const struct csam_test_citizen *c, int kind)
{
    static double t[CSAM_BENCH_CALLS];
    const char *unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    struct csam_session_info info;
    struct csam_attempts att;
    csam_result res, want;
    char lang[3];
    double t0;
    size_t i;

    for (i = 0; i < CSAM_BENCH_CALLS; i++) {
        t0 = csam_bench_now();
        if (kind == 0) {
            res = csam_engine_link_language(ctx->engine, live->token, lang);
            want = CSAM_OK;
        } else if (kind == 1) {
            res = csam_engine_link_language(ctx->engine, unknown, lang);
            want = CSAM_ERR_EXPIRED;
        } else if (kind == 2) {
            res = csam_engine_account_check(ctx->engine, c->username,
                                            CSAM_KEY_ALL, &att);
            want = CSAM_OK;
        } else {
            res = csam_engine_session_check(ctx->engine, csam_bench_cookie, 1,
                                            &info);
            want = CSAM_OK;
        }
        t[i] = csam_bench_now() - t0;
        if (res != want) {
            fprintf(stderr, "lookup %d answered %s\n", kind,
                    csam_result_name(res));
            exit(1);
        }
    }
    return csam_bench_median(t, CSAM_BENCH_CALLS);
}

/* The best of CSAM_BENCH_ROUNDS interleaved rounds for each lookup, so a
 * burst of load elsewhere on the machine does not decide the ratio. */
static void csam_bench_measure(struct csam_test_ctx *ctx,
                               const struct csam_test_citizen *live,
                               const struct csam_test_citizen *c,
                               struct csam_bench_result *out)
{
    double v;
    int round, kind;

    for (kind = 0; kind < CSAM_BENCH_KINDS; kind++) {
        (void)csam_bench_time(ctx, live, c, kind); /* warm up */
        out->v[kind] = 1e9;
    }
    for (round = 0; round < CSAM_BENCH_ROUNDS; round++)
        for (kind = 0; kind < CSAM_BENCH_KINDS; kind++) {
            v = csam_bench_time(ctx, live, c, kind);
            if (v < out->v[kind])
                out->v[kind] = v;
        }
}

/* The plans, so a ratio that is not flat can be explained. */
static void csam_bench_explain(PGconn *pg, const char *username)
{
    static const char *const queries[] = {
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF)"
        " SELECT id, language FROM csam_registrations"
        " WHERE token_hash = sha256('unknown'::bytea)"
        " AND used_at IS NULL AND superseded_at IS NULL"
        " AND expires_at > now()",
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF)"
        " SELECT a.id, r.first_name FROM csam_accounts a"
        " JOIN csam_registrations r ON r.id = a.registration_id"
        " WHERE a.username = $1",
        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF)"
        " SELECT s.id, a.username FROM csam_sessions s"
        " JOIN csam_accounts a ON a.id = s.account_id"
        " WHERE s.session_hash = sha256('unknown'::bytea)"
        " AND s.revoked_at IS NULL AND s.expires_at > now()"};
    const char *values[1] = {username};
    size_t q;
    int i;

    for (q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        int named = q == 1;
        PGresult *res = PQexecParams(pg, queries[q], named, NULL,
                                     named ? values : NULL, NULL, NULL, 0);

        for (i = 0; i < PQntuples(res); i++)
            fprintf(stderr, "  %s\n", PQgetvalue(res, i, 0));
        PQclear(res);
    }
}

int main(int argc, char **argv)
{
    long small = 10000, large = argc > 1 ? atol(argv[1]) : 10000000L;
    struct csam_bench_result r1, r2;
    static const char *const names[CSAM_BENCH_KINDS] = {
        "link token (us)   ", "unknown token (us)", "account (us)      ",
        "session (us)      "};
    struct csam_test_citizen c, live;
    struct csam_session_ticket ticket;
    char handle[CSAM_TOKEN_SIZE], code[16];
    struct csam_attempts att;
    struct csam_test_ctx ctx;
    unsigned types;
    PGconn *pg;
    int kind;

    csam_test_ctx_open(&ctx, 0);
    pg = csam_test_pg_connect(&ctx.env);
    csam_test_citizen_init(&c, "bench", 1);
    csam_test_activate(&ctx, &c);
    if (csam_engine_login_password(ctx.engine, NULL, c.username, c.password,
                                   handle, &types, &att)
            != CSAM_OK
        || csam_engine_login_challenge(ctx.engine, NULL, handle, CSAM_KEY_EMAIL,
                                       &att)
               != CSAM_OK) {
        fprintf(stderr, "login failed\n");
        return 1;
    }
    csam_test_take_code(&ctx, c.email, code, sizeof(code));
    if (csam_engine_login_verify(ctx.engine, NULL, handle, code, &ticket, &att)
        != CSAM_OK) {
        fprintf(stderr, "login failed\n");
        return 1;
    }
    memcpy(csam_bench_cookie, ticket.cookie, sizeof(csam_bench_cookie));
    csam_test_citizen_init(&live, "live", 2);
    if (csam_test_register(&ctx, &live) != CSAM_OK) {
        fprintf(stderr, "registration failed\n");
        return 1;
    }

    csam_bench_fill(pg, 1, small);
    csam_bench_measure(&ctx, &live, &c, &r1);
    csam_bench_explain(pg, c.username);
    csam_bench_fill(pg, small + 1, large);
    csam_bench_measure(&ctx, &live, &c, &r2);
    csam_bench_explain(pg, c.username);

    printf("registrations      %12ld %12ld  ratio\n", small, large);
    for (kind = 0; kind < CSAM_BENCH_KINDS; kind++)
        printf("%s %12.1f %12.1f  %.2f\n", names[kind], r1.v[kind] * 1e6,
               r2.v[kind] * 1e6, r2.v[kind] / r1.v[kind]);
    PQfinish(pg);
    csam_test_ctx_close(&ctx);
    return 0;
}
