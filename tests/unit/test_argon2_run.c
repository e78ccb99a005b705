/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Argon2id runs in kept buffers and the PHC decoder (common/base/
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

/* The kept buffers give libargon2's answers, right and wrong, for one
 * lane and several. */
static void test_verify_matches_libargon2(void **state)
{
    static const uint32_t lanes[] = {1, 3};
    char phc[256];
    struct csam_phc d;
    size_t i;

    (void)state;
    csam_argon2_keep(2);
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
    csam_argon2_keep(0);
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

static void *run_once(void *arg)
{
    unsigned char out[32];
    static const unsigned char salt[16] = {1};

    (void)arg;
    if (csam_argon2_run(2, 1024, 1, PW, strlen(PW), salt, sizeof(salt), out,
                        sizeof(out))
        != ARGON2_OK)
        return arg;
    return NULL;
}

static void test_keep(void **state)
{
    static int ka, kb; /* what a failed run returns */
    pthread_t a, b;
    void *ra, *rb;

    (void)state;
    csam_argon2_keep(0);
    assert_null(run_once(&ka));
    assert_int_equal(csam_argon2_kept(), 0);

    /* One run after another uses, and keeps, one buffer. */
    csam_argon2_keep(2);
    assert_null(run_once(&ka));
    assert_int_equal(csam_argon2_kept(), 1);
    assert_null(run_once(&ka));
    assert_int_equal(csam_argon2_kept(), 1);

    /* Two at once: two buffers, both kept. */
    assert_int_equal(pthread_create(&a, NULL, run_once, &ka), 0);
    assert_int_equal(pthread_create(&b, NULL, run_once, &kb), 0);
    assert_int_equal(pthread_join(a, &ra), 0);
    assert_int_equal(pthread_join(b, &rb), 0);
    assert_null(ra);
    assert_null(rb);
    assert_in_range(csam_argon2_kept(), 1, 2);

    /* Other parameters: the kept buffer of another size is replaced. */
    {
        unsigned char out[32];
        static const unsigned char salt[16] = {2};

        assert_int_equal(csam_argon2_run(1, 512, 1, PW, strlen(PW), salt,
                                         sizeof(salt), out, sizeof(out)),
                         ARGON2_OK);
        assert_in_range(csam_argon2_kept(), 1, 2);
    }

    /* Fewer kept: the surplus is freed at once. */
    csam_argon2_keep(1);
    assert_int_equal(csam_argon2_kept(), 1);
    csam_argon2_keep(0);
    assert_int_equal(csam_argon2_kept(), 0);
}

/* The burn of an unknown name runs in the same buffers as a check. */
static void test_burn_kept(void **state)
{
    static const struct csam_argon2_params p = {1, 256, 1};

    (void)state;
    csam_argon2_keep(1);
    csam_password_burn(&p, PW);
    assert_int_equal(csam_argon2_kept(), 1);
    csam_argon2_keep(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_libargon2),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_verify_matches_libargon2),
        cmocka_unit_test(test_verify_other_version),
        cmocka_unit_test(test_keep),
        cmocka_unit_test(test_burn_kept),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
