/*
 * Lookup cost at 10 thousand and at 10 million registrations (DESIGN 5:
 * flat, indexes, no scans).  Not part of make check: run
 * tests/bench/lookup.sh (it builds nothing; `make tests/bench/lookup`
 * first), which runs this under run-with-services.
 *
 * At each size it times, through the engine and a real store, the lookups
 * a citizen's requests make: the link token (csam_engine_link_language),
 * an unknown token (the same index, no row), and a PAM account lookup
 * (csam_engine_account_check).  It prints the median of many calls at
 * each size and the ratio large / small.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "test_env.h"

#define CSAM_BENCH_CALLS 3000

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
                 " RETURNING id, email)"
                 " INSERT INTO csam_accounts (username, password_hash,"
                 " registration_id, status, language, email, activated_at)"
                 " SELECT 'bench' || r.id, '$argon2id$x', r.id, 'active',"
                 " 'fr', r.email, now() FROM r WHERE r.id %% 10 = 0",
                 4000000000L, a, b);
        if (csam_test_pg_value(pg, sql, NULL) < 0) {
            fprintf(stderr, "fill failed\n");
            exit(1);
        }
    }
    csam_test_pg_value(pg, "VACUUM ANALYZE csam_registrations", NULL);
    csam_test_pg_value(pg, "VACUUM ANALYZE csam_accounts", NULL);
    fprintf(stderr, "filled %ld rows in %.1f s\n", to - from + 1,
            csam_bench_now() - t0);
}

struct csam_bench_result {
    double token, unknown, account;
};

/* live: registered, link not yet used; c: an active account. */
static void csam_bench_measure(struct csam_test_ctx *ctx,
                               const struct csam_test_citizen *live,
                               const struct csam_test_citizen *c,
                               struct csam_bench_result *out)
{
    static double t[CSAM_BENCH_CALLS];
    const char *unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    struct csam_attempts att;
    char lang[3];
    double t0;
    size_t i;

    /* warm the statement cache and the buffers */
    for (i = 0; i < 200; i++) {
        csam_engine_link_language(ctx->engine, live->token, lang);
        csam_engine_account_check(ctx->engine, c->username, CSAM_KEY_ALL, &att);
    }
    for (i = 0; i < CSAM_BENCH_CALLS; i++) {
        t0 = csam_bench_now();
        if (csam_engine_link_language(ctx->engine, live->token, lang) !=
            CSAM_OK) {
            fprintf(stderr, "lookup failed\n");
            exit(1);
        }
        t[i] = csam_bench_now() - t0;
    }
    out->token = csam_bench_median(t, CSAM_BENCH_CALLS);
    for (i = 0; i < CSAM_BENCH_CALLS; i++) {
        t0 = csam_bench_now();
        if (csam_engine_link_language(ctx->engine, unknown, lang) !=
            CSAM_ERR_EXPIRED) {
            fprintf(stderr, "unknown token found\n");
            exit(1);
        }
        t[i] = csam_bench_now() - t0;
    }
    out->unknown = csam_bench_median(t, CSAM_BENCH_CALLS);
    for (i = 0; i < CSAM_BENCH_CALLS; i++) {
        t0 = csam_bench_now();
        if (csam_engine_account_check(ctx->engine, c->username, CSAM_KEY_ALL,
                                      &att) != CSAM_OK) {
            fprintf(stderr, "account lookup failed\n");
            exit(1);
        }
        t[i] = csam_bench_now() - t0;
    }
    out->account = csam_bench_median(t, CSAM_BENCH_CALLS);
}

int main(int argc, char **argv)
{
    long small = 10000, large = argc > 1 ? atol(argv[1]) : 10000000L;
    struct csam_bench_result r1, r2;
    struct csam_test_citizen c, live;
    struct csam_test_ctx ctx;
    PGconn *pg;

    csam_test_ctx_open(&ctx, 0);
    pg = csam_test_pg_connect(&ctx.env);
    csam_test_citizen_init(&c, "bench", 1);
    csam_test_activate(&ctx, &c);
    csam_test_citizen_init(&live, "live", 2);
    if (csam_test_register(&ctx, &live) != CSAM_OK) {
        fprintf(stderr, "registration failed\n");
        return 1;
    }

    csam_bench_fill(pg, 1, small);
    csam_bench_measure(&ctx, &live, &c, &r1);
    csam_bench_fill(pg, small + 1, large);
    csam_bench_measure(&ctx, &live, &c, &r2);

    printf("registrations      %12ld %12ld  ratio\n", small, large);
    printf("link token (us)    %12.1f %12.1f  %.2f\n", r1.token * 1e6,
           r2.token * 1e6, r2.token / r1.token);
    printf("unknown token (us) %12.1f %12.1f  %.2f\n", r1.unknown * 1e6,
           r2.unknown * 1e6, r2.unknown / r1.unknown);
    printf("account (us)       %12.1f %12.1f  %.2f\n", r1.account * 1e6,
           r2.account * 1e6, r2.account / r1.account);
    PQfinish(pg);
    csam_test_ctx_close(&ctx);
    return 0;
}
