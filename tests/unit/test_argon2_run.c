/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Argon2id runs in lent buffers and the PHC decoder (common/base/
 * argon2_run.c), against libargon2's own encoder and verifier.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <argon2.h>

#include "argon2_run.h"
#include "password.h"

#define PW "Zq8#vLm2pXw7"

/* libargon2's PHC string of PW with a salt of salt_len bytes (counting
 * up from 1) and a hash of hash_len, under version. */
static void encode(uint32_t t, uint32_t m, uint32_t p, size_t salt_len,
                   size_t hash_len, uint32_t version, char *out, size_t len)
{
    unsigned char salt[CSAM_PHC_BYTES_MAX];
    size_t i;

    for (i = 0; i < salt_len; i++)
        salt[i] = (unsigned char)(i + 1);
    assert_int_equal(argon2_hash(t, m, p, PW, strlen(PW), salt, salt_len, NULL,
                                 hash_len, out, len, Argon2_id, version),
                     ARGON2_OK);
}

static void test_parse_libargon2(void **state)
{
    static const size_t shapes[][2] = {{16, 32}, {8, 4}, {64, 64}, {9, 33}};
    char phc[256];
    struct csam_phc d;
    unsigned char raw[CSAM_PHC_BYTES_MAX], salt[CSAM_PHC_BYTES_MAX];
    size_t s, i;

    (void)state;
    for (s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        encode(1, 64, 2, shapes[s][0], shapes[s][1], ARGON2_VERSION_13, phc,
               sizeof(phc));
        assert_int_equal(csam_phc_parse(phc, &d), CSAM_OK);
        assert_int_equal(d.m_cost, 64);
        assert_int_equal(d.t_cost, 1);
        assert_int_equal(d.lanes, 2);
        assert_int_equal(d.salt_len, shapes[s][0]);
        assert_int_equal(d.hash_len, shapes[s][1]);
        for (i = 0; i < d.salt_len; i++)
            salt[i] = (unsigned char)(i + 1);
        assert_memory_equal(d.salt, salt, d.salt_len);
        /* The decoded hash is libargon2's raw output. */
        assert_int_equal(argon2id_hash_raw(1, 64, 2, PW, strlen(PW), salt,
                                           d.salt_len, raw, d.hash_len),
                         ARGON2_OK);
        assert_memory_equal(d.hash, raw, d.hash_len);
    }
}

static void test_parse_refuses(void **state)
{
    /* Each a change to a valid string (first line). */
    static const char *const bad[] = {
        "$argon2i$v=19$m=64,t=1,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=16$m=64,t=1,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$m=64,t=1,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=19$m=064,t=1,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=19$m=4294967296,t=1,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=19$m=12345678901,t=1,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=19$m=,t=1,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=19$m=64,p=1$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=19$m=64,t=1,p=1,x=2$AQIDBAUGBwg$AQIDBA",
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwg=$AQIDBA",
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBw*$AQIDBA",
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBw$AQIDBA",    /* salt 7 */
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwg$AQID",     /* hash 3 */
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwh$AQIDBA",   /* low bits */
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwgAA$AQIDBA", /* 4n+1 */
        "$argon2id$v=19$m=64,t=1,p=1$$AQIDBA",
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwg$AQIDBA$",
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwg$",
        "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwg",
        "",
    };
    struct csam_phc d;
    char hash65[256];
    size_t i;

    (void)state;
    assert_int_equal(
        csam_phc_parse("$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwg$AQIDBA", &d),
        CSAM_OK);
    assert_int_equal(d.salt_len, 8);
    assert_int_equal(d.hash_len, 4);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (csam_phc_parse(bad[i], &d) != CSAM_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
    }
    /* 65 bytes of hash: 87 characters. */
    snprintf(hash65, sizeof(hash65),
             "$argon2id$v=19$m=64,t=1,p=1$AQIDBAUGBwg$%s",
             "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8w"
             "MTIzNDU2Nzg5Ojs8PT4/QEE");
    assert_int_equal(csam_phc_parse(hash65, &d), CSAM_ERR_INVALID);
    assert_int_equal(csam_phc_parse(NULL, &d), CSAM_ERR_INVALID);
}

/* Runs in a lent buffer give libargon2's answers, right and wrong, for
 * one lane and several. */
static void test_verify_matches_libargon2(void **state)
{
    static const uint32_t lanes[] = {1, 3};
    static unsigned char loan[256 * 1024];
    char phc[256];
    struct csam_phc d;
    size_t i;

    (void)state;
    csam_argon2_lend(loan, sizeof(loan));
    for (i = 0; i < sizeof(lanes) / sizeof(lanes[0]); i++) {
        encode(2, 256, lanes[i], 16, 32, ARGON2_VERSION_13, phc, sizeof(phc));
        assert_int_equal(csam_phc_parse(phc, &d), CSAM_OK);
        assert_int_equal(argon2id_verify(phc, PW, strlen(PW)), ARGON2_OK);
        assert_int_equal(csam_argon2_verify(&d, PW, strlen(PW)), ARGON2_OK);
        assert_int_equal(argon2id_verify(phc, "zq8#vLm2pXw7", 12),
                         ARGON2_VERIFY_MISMATCH);
        assert_int_equal(csam_argon2_verify(&d, "zq8#vLm2pXw7", 12),
                         ARGON2_VERIFY_MISMATCH);
        assert_int_equal(csam_password_verify(phc, PW), CSAM_OK);
        assert_int_equal(csam_password_verify(phc, "zq8#vLm2pXw7"),
                         CSAM_ERR_BAD_CREDENTIALS);
    }
    /* Parameters libargon2 refuses are its error, not a match. */
    d.lanes = 0;
    assert_int_not_equal(csam_argon2_verify(&d, PW, strlen(PW)), ARGON2_OK);
    csam_argon2_lend(NULL, 0);
}

/* A string this decoder leaves to libargon2 (version 16) still verifies. */
static void test_verify_other_version(void **state)
{
    char phc[256];
    struct csam_phc d;

    (void)state;
    encode(2, 256, 1, 16, 32, ARGON2_VERSION_10, phc, sizeof(phc));
    assert_int_equal(csam_phc_parse(phc, &d), CSAM_ERR_INVALID);
    assert_int_equal(csam_password_verify(phc, PW), CSAM_OK);
    assert_int_equal(csam_password_verify(phc, "zq8#vLm2pXw7"),
                     CSAM_ERR_BAD_CREDENTIALS);
}

#define LENT_M_COST 1024 /* KiB */

static unsigned char lent[LENT_M_COST * 1024];

/* libargon2 wipes the memory of a run before it gives it back: a lent
 * buffer that held a pattern holds zeros once a run has used it. */
static void mark(void)
{
    memset(lent, 0xA5, sizeof(lent));
}

/* Whether every byte of the lent buffer is byte. */
static int holds(unsigned char byte)
{
    size_t i;

    for (i = 0; i < sizeof(lent); i++) {
        if (lent[i] != byte)
            return 0;
    }
    return 1;
}

/* A run of m_cost KiB: 0 when it gives libargon2's own answer. */
static int run_matches(uint32_t m_cost)
{
    static const unsigned char salt[16] = {1};
    unsigned char out[32], want[32];

    if (argon2id_hash_raw(2, m_cost, 1, PW, strlen(PW), salt, sizeof(salt),
                          want, sizeof(want))
        != ARGON2_OK)
        return -1;
    if (csam_argon2_run(2, m_cost, 1, PW, strlen(PW), salt, sizeof(salt), out,
                        sizeof(out))
        != ARGON2_OK)
        return -1;
    return memcmp(out, want, sizeof(out)) == 0 ? 0 : -1;
}

static void *run_in_thread(void *arg)
{
    return run_matches(LENT_M_COST) == 0 ? NULL : arg;
}

static void test_lend(void **state)
{
    static int failed;
    pthread_t other;
    void *r;

    (void)state;
    assert_int_equal(csam_argon2_memory(LENT_M_COST, 1), sizeof(lent));

    /* Lent: the run takes the buffer, and gives libargon2's answer. */
    mark();
    csam_argon2_lend(lent, sizeof(lent));
    assert_int_equal(run_matches(LENT_M_COST), 0);
    assert_true(holds(0));
    /* The loan lasts for the next runs: a smaller one fits too. */
    mark();
    assert_int_equal(run_matches(LENT_M_COST / 2), 0);
    assert_false(holds(0xA5));
    /* A run that needs more than the loan takes its own memory. */
    mark();
    assert_int_equal(run_matches(LENT_M_COST * 2), 0);
    assert_true(holds(0xA5));
    /* The loan is this thread's: another thread's run leaves it alone. */
    assert_int_equal(pthread_create(&other, NULL, run_in_thread, &failed), 0);
    assert_int_equal(pthread_join(other, &r), 0);
    assert_null(r);
    assert_true(holds(0xA5));
    /* Ended: runs allocate their own again. */
    csam_argon2_lend(NULL, 0);
    assert_int_equal(run_matches(LENT_M_COST), 0);
    assert_true(holds(0xA5));
}

/* The burn of an unknown name runs in the lent buffer, as a check does. */
static void test_burn_lent(void **state)
{
    static const struct csam_argon2_params p = {1, LENT_M_COST, 1};

    (void)state;
    mark();
    csam_argon2_lend(lent, sizeof(lent));
    csam_password_burn(&p, PW);
    csam_argon2_lend(NULL, 0);
    assert_true(holds(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_libargon2),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_verify_matches_libargon2),
        cmocka_unit_test(test_verify_other_version),
        cmocka_unit_test(test_lend),
        cmocka_unit_test(test_burn_lent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
