/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Password policy, NFKC normalisation, Argon2id and the common-password
 * list (the shipped one included).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "password.h"

/* Small parameters keep the suite fast; one test uses the defaults. */
static const struct csam_argon2_params csam_test_fast = {1, 256, 1};
static const struct csam_argon2_params csam_test_default = {2, 19456, 1};

/* The shipped list, from the source tree ($CSAM_SRCDIR under make check,
 * else found next to this file). */
static csam_wordlist *csam_test_shipped_list(void)
{
    const char *srcdir = getenv("CSAM_SRCDIR");
    csam_wordlist *list = NULL;
    char path[4096], *slash;

    if (srcdir != NULL) {
        snprintf(path, sizeof(path), "%s/conf/common-passwords.txt", srcdir);
    } else {
        /* __FILE__ is <srcdir>/tests/unit/test_password.c */
        snprintf(path, sizeof(path), "%s", __FILE__);
        slash = strrchr(path, '/');
        if (slash != NULL)
            *slash = '\0';
        else
            strcpy(path, ".");
        strncat(path, "/../../conf/common-passwords.txt",
                sizeof(path) - strlen(path) - 1);
    }
    assert_int_equal(csam_wordlist_load(path, &list), CSAM_OK);
    assert_non_null(list);
    return list;
}

static char *csam_test_repeat(const char *unit, size_t times)
{
    size_t len = strlen(unit), i;
    char *s = malloc(len * times + 1);

    assert_non_null(s);
    for (i = 0; i < times; i++)
        memcpy(s + i * len, unit, len);
    s[len * times] = '\0';
    return s;
}

/* -------------------------------------------------------- normalisation */

static void test_normalize_nfkc(void **state)
{
    char *norm = NULL;

    (void)state;
    /* Fullwidth letters, as an East Asian keyboard types them. */
    assert_int_equal(csam_password_normalize("ｐａｓｓｗｏｒｄ１２３", &norm),
                     CSAM_OK);
    assert_string_equal(norm, "password123");
    csam_password_release(norm);
    /* Decomposed é (e + U+0301) composes; the ligature ﬃ opens up. */
    assert_int_equal(csam_password_normalize("caf\x65\xcc\x81 \xef\xac\x83",
                                             &norm),
                     CSAM_OK);
    assert_string_equal(norm, "caf\xc3\xa9 ffi");
    csam_password_release(norm);
    csam_password_release(NULL);
}

static void test_normalize_refuses(void **state)
{
    static const char *const bad[] = {
        "pass\tword",   "pass\nword",       "\x01password",
        "password\x7f", "pass\xc2\x85word", "pass\xc2\x9fword",
        "\xff\xfe",     "abc\xc3",          "\xc0\xaf",
        "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    char *norm = (char *)"untouched";
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(csam_password_normalize(bad[i], &norm),
                         CSAM_ERR_INVALID);
        assert_null(norm);
    }
}

/* --------------------------------------------------------------- policy */

static void test_policy_length(void **state)
{
    struct csam_password_policy policy = {12, 128, NULL};
    char *s;

    (void)state;
    assert_int_equal(csam_password_check(&policy, "jdupont", "Zq8#vLm2pXw"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont", "Zq8#vLm2pXw7"),
                     CSAM_OK);

    s = csam_test_repeat("Zq8#", 32);
    assert_int_equal(strlen(s), 128);
    assert_int_equal(csam_password_check(&policy, "jdupont", s), CSAM_OK);
    free(s);
    s = csam_test_repeat("Zq8#vLm2pXw7G", 10); /* 130 */
    s[129] = '\0';
    assert_int_equal(csam_password_check(&policy, "jdupont", s),
                     CSAM_ERR_WEAK_PASSWORD);
    free(s);

    /* A 4-byte emoji is one character: 11 + 1 = 12. */
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "Zq8#vLm2pXw\xf0\x9f\x98\x80"),
                     CSAM_OK);
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "Zq8#vLm2pX\xf0\x9f\x98\x80"),
                     CSAM_ERR_WEAK_PASSWORD);
    /* 128 emoji (512 bytes) pass, 129 do not. */
    s = csam_test_repeat("\xf0\x9f\x98\x80", 128);
    assert_int_equal(csam_password_check(&policy, "jdupont", s), CSAM_OK);
    free(s);
    s = csam_test_repeat("\xf0\x9f\x98\x80", 129);
    assert_int_equal(csam_password_check(&policy, "jdupont", s),
                     CSAM_ERR_WEAK_PASSWORD);
    free(s);

    /* Counted after NFKC: 10 + "ﬃ" (one code point typed, three after
     * normalisation) = 13. */
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "Zq8#vLm2pX\xef\xac\x83"),
                     CSAM_OK);

    /* Never below 8, whatever the policy says. */
    policy.min_length = 4;
    assert_int_equal(csam_password_check(&policy, NULL, "Zq8#vLm"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, NULL, "Zq8#vLm2"), CSAM_OK);

    /* A megabyte is refused as weak (too long), not choked on. */
    policy.max_length = 1024;
    s = csam_test_repeat("x", 1 << 20);
    assert_int_equal(csam_password_check(&policy, NULL, s),
                     CSAM_ERR_WEAK_PASSWORD);
    free(s);
}

static void test_policy_username(void **state)
{
    struct csam_password_policy policy = {12, 128, NULL};

    (void)state;
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "my-jdupont-secret"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "My-JDuPont-Secret"),
                     CSAM_ERR_WEAK_PASSWORD);
    /* Fullwidth spelling normalises to the name. */
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "ＪＤＵＰＯＮＴ-winter-sky"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "j.dupont-2",
                                         "xx-J.DUPONT-2-yy"),
                     CSAM_ERR_WEAK_PASSWORD);
    /* Pieces of the name are fine. */
    assert_int_equal(
        csam_password_check(&policy, "jdupont", "j-dupon-t-secret"), CSAM_OK);
    assert_int_equal(csam_password_check(&policy, NULL, "my-jdupont-secret"),
                     CSAM_OK);
}

static void test_policy_common_shipped(void **state)
{
    csam_wordlist *list = csam_test_shipped_list();
    struct csam_password_policy policy = {12, 128, NULL};

    (void)state;
    policy.common = list;
    assert_int_equal(csam_password_check(&policy, "jdupont", "qwertyuiop123"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont", "QwertyUiop123"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "ｑｗｅｒｔｙｕｉｏｐ１２３"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont", "123456789012"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont", "MotDePasse123"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont", "wachtwoord2024"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont", "AZERTYUIOP12"),
                     CSAM_ERR_WEAK_PASSWORD);
    assert_int_equal(csam_password_check(&policy, "jdupont", "anderlecht2024"),
                     CSAM_ERR_WEAK_PASSWORD);
    /* The same without the list passes: the list is what refused it. */
    policy.common = NULL;
    assert_int_equal(csam_password_check(&policy, "jdupont", "MotDePasse123"),
                     CSAM_OK);
    policy.common = list;
    assert_int_equal(csam_password_check(&policy, "jdupont", "Zq8#vLm2pXw7"),
                     CSAM_OK);
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "purple tram under the moon"),
                     CSAM_OK);
    csam_wordlist_free(list);
}

static void test_policy_bad_input(void **state)
{
    struct csam_password_policy policy = {12, 128, NULL};

    (void)state;
    assert_int_equal(csam_password_check(&policy, "jdupont", "Zq8#vLm2\npXw7"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "Zq8#vLm2\x1bpXw7"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "Zq8#vLm2\xffpXw7"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_check(&policy, "jdupont",
                                         "Zq8#vLm2\xc3pXw7"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_check(&policy, "jdupont", NULL),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_check(NULL, "jdupont", "Zq8#vLm2pXw7"),
                     CSAM_ERR_INVALID);
}

/* ------------------------------------------------------------- wordlist */

static void test_wordlist_file(void **state)
{
    char path[] = "/tmp/csam-test-wordlist-XXXXXX";
    csam_wordlist *list = NULL;
    FILE *fp;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    fputs("# a comment: notaword\n"
          "\n"
          "Hunter2Hunter2\r\n"
          "straße2024!\n"
          "ＦＵＬＬＷＩＤＴＨ\n"
          "zebra\n"
          "zebra\n"
          "not\xffutf8\n"
          "# trailing comment",
          fp);
    assert_int_equal(fclose(fp), 0);

    assert_int_equal(csam_wordlist_load(path, &list), CSAM_OK);
    assert_true(csam_wordlist_contains(list, "hunter2hunter2"));
    assert_true(csam_wordlist_contains(list, "HUNTER2HUNTER2"));
    /* Full case folding: ß and SS are one. */
    assert_true(csam_wordlist_contains(list, "STRASSE2024!"));
    assert_true(csam_wordlist_contains(list, "strasse2024!"));
    assert_true(csam_wordlist_contains(list, "fullwidth"));
    assert_true(csam_wordlist_contains(list, "zebra"));
    assert_false(csam_wordlist_contains(list, "zebr"));
    assert_false(csam_wordlist_contains(list, "zebras"));
    assert_false(csam_wordlist_contains(list, "notaword"));
    assert_false(csam_wordlist_contains(list, "# a comment: notaword"));
    assert_false(csam_wordlist_contains(list, ""));
    assert_false(csam_wordlist_contains(list, "hunter2hunter2\r"));
    assert_false(csam_wordlist_contains(list, NULL));
    csam_wordlist_free(list);
    unlink(path);

    assert_false(csam_wordlist_contains(NULL, "zebra"));
    list = (csam_wordlist *)(void *)path;
    assert_int_equal(csam_wordlist_load(path, &list), CSAM_ERR_IO);
    assert_null(list);
    csam_wordlist_free(NULL);
}

/* The shipped file: long enough to matter, and only entries the length
 * rule does not already refuse. */
static void test_wordlist_shipped(void **state)
{
    csam_wordlist *list = csam_test_shipped_list();

    (void)state;
    assert_true(csam_wordlist_contains(list, "password"));
    assert_true(csam_wordlist_contains(list, "azertyuiop"));
    assert_true(csam_wordlist_contains(list, "Passwort1"));
    assert_true(csam_wordlist_contains(list, "1qaz2wsx"));
    assert_false(csam_wordlist_contains(list, "Zq8#vLm2pXw7"));
    csam_wordlist_free(list);
}

/* -------------------------------------------------------------- Argon2id */

static void test_hash_verify(void **state)
{
    char *a = NULL, *b = NULL;

    (void)state;
    assert_int_equal(csam_password_hash(&csam_test_fast, "Zq8#vLm2pXw7", &a),
                     CSAM_OK);
    assert_non_null(a);
    assert_int_equal(strncmp(a, "$argon2id$v=19$m=256,t=1,p=1$", 29), 0);
    assert_int_equal(csam_password_verify(a, "Zq8#vLm2pXw7"), CSAM_OK);
    assert_int_equal(csam_password_verify(a, "Zq8#vLm2pXw8"),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_password_verify(a, "zq8#vLm2pXw7"),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_password_verify(a, "Zq8#vLm2pXw7 "),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_password_verify(a, ""), CSAM_ERR_BAD_CREDENTIALS);
    /* Never truncated: a longer password with the same start differs. */
    assert_int_equal(csam_password_verify(a, "Zq8#vLm2pXw7Zq8#vLm2pXw7"),
                     CSAM_ERR_BAD_CREDENTIALS);
    /* Passwords that do not normalise cannot match, and are not an
     * error of the stored hash. */
    assert_int_equal(csam_password_verify(a, "Zq8#vLm2\npXw7"),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_int_equal(csam_password_verify(a, "Zq8#vLm2\xffpXw7"),
                     CSAM_ERR_BAD_CREDENTIALS);

    /* A fresh salt each time. */
    assert_int_equal(csam_password_hash(&csam_test_fast, "Zq8#vLm2pXw7", &b),
                     CSAM_OK);
    assert_string_not_equal(a, b);
    assert_int_equal(csam_password_verify(b, "Zq8#vLm2pXw7"), CSAM_OK);
    free(a);
    free(b);
}

static void test_hash_normalised(void **state)
{
    char *phc = NULL;

    (void)state;
    assert_int_equal(csam_password_hash(&csam_test_fast,
                                        "ｐａｓｓｗｏｒｄ－ｍｏｏｎ", &phc),
                     CSAM_OK);
    assert_int_equal(csam_password_verify(phc, "password-moon"), CSAM_OK);
    free(phc);
    assert_int_equal(
        csam_password_hash(&csam_test_fast, "caf\xc3\xa9-moon", &phc), CSAM_OK);
    assert_int_equal(csam_password_verify(phc, "cafe\xcc\x81-moon"), CSAM_OK);
    free(phc);
    phc = (char *)"untouched";
    assert_int_equal(csam_password_hash(&csam_test_fast, "bad\x01", &phc),
                     CSAM_ERR_INVALID);
    assert_null(phc);
}

static void test_hash_default_params(void **state)
{
    char *phc = NULL;

    (void)state;
    assert_int_equal(
        csam_password_hash(&csam_test_default, "Zq8#vLm2pXw7", &phc), CSAM_OK);
    assert_int_equal(strncmp(phc, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_int_equal(csam_password_verify(phc, "Zq8#vLm2pXw7"), CSAM_OK);
    free(phc);
}

/* Verification takes its parameters from the stored string, so raising
 * the cost later does not lock out older hashes. */
static void test_verify_other_params(void **state)
{
    const struct csam_argon2_params other = {3, 512, 2};
    char *phc = NULL;

    (void)state;
    assert_int_equal(csam_password_hash(&other, "Zq8#vLm2pXw7", &phc), CSAM_OK);
    assert_int_equal(strncmp(phc, "$argon2id$v=19$m=512,t=3,p=2$", 29), 0);
    assert_int_equal(csam_password_verify(phc, "Zq8#vLm2pXw7"), CSAM_OK);
    assert_int_equal(csam_password_verify(phc, "Zq8#vLm2pXw"),
                     CSAM_ERR_BAD_CREDENTIALS);
    free(phc);
}

static void test_verify_malformed(void **state)
{
    char *phc = NULL, *broken;
    size_t len;

    (void)state;
    assert_int_equal(csam_password_hash(&csam_test_fast, "Zq8#vLm2pXw7", &phc),
                     CSAM_OK);
    len = strlen(phc);
    broken = strdup(phc);
    assert_non_null(broken);

    /* Cut before the hash. */
    broken[strrchr(phc, '$') - phc + 1] = '\0';
    assert_int_equal(csam_password_verify(broken, "Zq8#vLm2pXw7"),
                     CSAM_ERR_INVALID);
    /* Another variant's prefix. */
    memcpy(broken, phc, len + 1);
    memcpy(broken, "$argon2i$", 9);
    assert_int_equal(csam_password_verify(broken, "Zq8#vLm2pXw7"),
                     CSAM_ERR_INVALID);
    /* A character outside base64 in the salt. */
    memcpy(broken, phc, len + 1);
    broken[strlen("$argon2id$v=19$m=256,t=1,p=1$") + 2] = '*';
    assert_int_equal(csam_password_verify(broken, "Zq8#vLm2pXw7"),
                     CSAM_ERR_INVALID);
    free(broken);

    assert_int_equal(csam_password_verify("", "Zq8#vLm2pXw7"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_verify("not a hash", "Zq8#vLm2pXw7"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_verify("$argon2id$v=19$m=256,t=1,p=1$",
                                          "Zq8#vLm2pXw7"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_verify("$argon2id$", "x"), CSAM_ERR_INVALID);
    assert_int_equal(csam_password_verify(NULL, "x"), CSAM_ERR_INVALID);
    assert_int_equal(csam_password_verify(phc, NULL), CSAM_ERR_INVALID);
    free(phc);
}

static void test_hash_bad_params(void **state)
{
    const struct csam_argon2_params zero_t = {0, 256, 1};
    const struct csam_argon2_params tiny_m = {1, 1, 1};
    const struct csam_argon2_params zero_p = {1, 256, 0};
    char *phc = NULL;

    (void)state;
    assert_int_equal(csam_password_hash(&zero_t, "Zq8#vLm2pXw7", &phc),
                     CSAM_ERR_INVALID);
    assert_null(phc);
    assert_int_equal(csam_password_hash(&tiny_m, "Zq8#vLm2pXw7", &phc),
                     CSAM_ERR_INVALID);
    assert_null(phc);
    assert_int_equal(csam_password_hash(&zero_p, "Zq8#vLm2pXw7", &phc),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_password_hash(NULL, "Zq8#vLm2pXw7", &phc),
                     CSAM_ERR_INVALID);
}

static double csam_test_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The cheapest Argon2id run, warmed up, best of three. */
static double csam_test_cheap_time(void)
{
    const struct csam_argon2_params cheap = {1, 8, 1};
    double t0, t, best = 1e9;
    int i;

    csam_password_burn(&cheap, "Zq8#vLm2pXw7");
    for (i = 0; i < 3; i++) {
        t0 = csam_test_seconds();
        csam_password_burn(&cheap, "Zq8#vLm2pXw7");
        t = csam_test_seconds() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

/* burn does the Argon2id work: its cost follows the parameters the way
 * a verification's does. */
static void test_burn(void **state)
{
    double cheap_time = csam_test_cheap_time(), t0;

    (void)state;
    t0 = csam_test_seconds();
    csam_password_burn(&csam_test_default, "Zq8#vLm2pXw7");
    assert_true(csam_test_seconds() - t0 > 10 * cheap_time);
    /* Unusable input costs the same work instead of failing fast. */
    t0 = csam_test_seconds();
    csam_password_burn(&csam_test_default, "bad\xff");
    assert_true(csam_test_seconds() - t0 > 10 * cheap_time);
    csam_password_burn(NULL, "x");
    csam_password_burn(&csam_test_default, NULL);
}

/* A password that cannot be normalised is still run through Argon2id,
 * so its answer takes as long as a wrong password's. */
static void test_verify_unusable_takes_time(void **state)
{
    double cheap_time = csam_test_cheap_time(), t0;
    char *phc = NULL;

    (void)state;
    assert_int_equal(
        csam_password_hash(&csam_test_default, "Zq8#vLm2pXw7", &phc), CSAM_OK);
    t0 = csam_test_seconds();
    assert_int_equal(csam_password_verify(phc, "bad\x01password"),
                     CSAM_ERR_BAD_CREDENTIALS);
    assert_true(csam_test_seconds() - t0 > 10 * cheap_time);
    free(phc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_nfkc),
        cmocka_unit_test(test_normalize_refuses),
        cmocka_unit_test(test_policy_length),
        cmocka_unit_test(test_policy_username),
        cmocka_unit_test(test_policy_common_shipped),
        cmocka_unit_test(test_policy_bad_input),
        cmocka_unit_test(test_wordlist_file),
        cmocka_unit_test(test_wordlist_shipped),
        cmocka_unit_test(test_hash_verify),
        cmocka_unit_test(test_hash_normalised),
        cmocka_unit_test(test_hash_default_params),
        cmocka_unit_test(test_verify_other_params),
        cmocka_unit_test(test_verify_malformed),
        cmocka_unit_test(test_hash_bad_params),
        cmocka_unit_test(test_burn),
        cmocka_unit_test(test_verify_unusable_takes_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
