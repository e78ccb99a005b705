/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mobile-app key: secrets, the otpauth:// URI and its encoding, sealing
 * bound to the key id, and verification against an independent TOTP
 * implementation (Debian's oathtool) at fixed times, with the window
 * edges and the replay rule.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "totp.h"
#include "totp_key.h"

#define CSAM_TEST_OATHTOOL "/usr/bin/oathtool"

/* 2026-01-01 00:00:15 UTC: mid-step, so +-15 s stays in the same step */
#define CSAM_TEST_NOW INT64_C(1767225615)

static void test_new_and_base32(void **state)
{
    unsigned char a[CSAM_TOTP_KEY_LEN], b[CSAM_TOTP_KEY_LEN];
    unsigned char back[CSAM_TOTP_KEY_LEN + 4];
    char b32[CSAM_TOTP_KEY_B32_SIZE];
    size_t len = 0, i;

    (void)state;
    assert_int_equal(csam_totp_key_new(a), CSAM_OK);
    assert_int_equal(csam_totp_key_new(b), CSAM_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(csam_totp_key_new(NULL), CSAM_ERR_INVALID);

    assert_int_equal(csam_totp_key_base32(a, b32), CSAM_OK);
    assert_int_equal(strlen(b32), CSAM_TOTP_KEY_B32_LEN);
    for (i = 0; b32[i] != '\0'; i++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b32[i]));
    assert_int_equal(csam_base32_decode(b32, back, sizeof(back), &len),
                     CSAM_OK);
    assert_int_equal(len, CSAM_TOTP_KEY_LEN);
    assert_memory_equal(back, a, CSAM_TOTP_KEY_LEN);

    /* RFC 4648's example, stretched to 20 bytes */
    /* A 20-byte key, not a string.
     * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(a, "12345678901234567890", 20);
    assert_int_equal(csam_totp_key_base32(a, b32), CSAM_OK);
    assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

static void test_uri(void **state)
{
    unsigned char key[CSAM_TOTP_KEY_LEN];
    char *uri = NULL;

    (void)state;
    /* A 20-byte key, not a string.
     * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(key, "12345678901234567890", 20);
    assert_int_equal(csam_totp_key_uri("CSAM", "jan.peeters", key, &uri),
                     CSAM_OK);
    assert_string_equal(uri, "otpauth://totp/CSAM:jan.peeters"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                             "&issuer=CSAM&algorithm=SHA1&digits=6&period=30");
    free(uri);

    /* spaces, '&', '#', '?', '%', '/', '+', '@', '=' and UTF-8 are
     * percent-encoded: none can end the label or start a parameter */
    assert_int_equal(csam_totp_key_uri("Mes clés & co/#?%", "a b+c@d=e", key,
                                       &uri),
                     CSAM_OK);
    assert_string_equal(uri, "otpauth://totp/"
                             "Mes%20cl%C3%A9s%20%26%20co%2F%23%3F%25:"
                             "a%20b%2Bc%40d%3De"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                             "&issuer=Mes%20cl%C3%A9s%20%26%20co%2F%23%3F%25"
                             "&algorithm=SHA1&digits=6&period=30");
    free(uri);
    assert_int_equal(csam_totp_key_uri("CSAM", "x~y_z-1.2", key, &uri),
                     CSAM_OK);
    assert_non_null(strstr(uri, "/CSAM:x~y_z-1.2?"));
    free(uri);

    /* a ':' would split the label wherever an app looks for it */
    uri = (char *)1;
    assert_int_equal(csam_totp_key_uri("CS:AM", "jan", key, &uri),
                     CSAM_ERR_INVALID);
    assert_null(uri);
    assert_int_equal(csam_totp_key_uri("CSAM", "ja:n", key, &uri),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri("", "jan", key, &uri), CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri("CSAM", "", key, &uri),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri("CS\nAM", "jan", key, &uri),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri("CSAM", "j\tan", key, &uri),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri("CSAM", "\xc3\x28", key, &uri),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri(NULL, "jan", key, &uri),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri("CSAM", "jan", NULL, &uri),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_uri("CSAM", "jan", key, NULL),
                     CSAM_ERR_INVALID);
    assert_null(uri);
}

static void test_issuer_ok(void **state)
{
    char long_issuer[CSAM_TOTP_KEY_ISSUER_MAX + 2];

    (void)state;
    assert_true(csam_totp_key_issuer_ok("CSAM"));
    assert_true(csam_totp_key_issuer_ok("Mes clés numériques"));
    assert_false(csam_totp_key_issuer_ok("CSAM: portail"));
    assert_false(csam_totp_key_issuer_ok(""));
    assert_false(csam_totp_key_issuer_ok(NULL));
    memset(long_issuer, 'a', sizeof(long_issuer) - 1);
    long_issuer[CSAM_TOTP_KEY_ISSUER_MAX] = '\0';
    assert_true(csam_totp_key_issuer_ok(long_issuer));
    long_issuer[CSAM_TOTP_KEY_ISSUER_MAX] = 'a';
    long_issuer[CSAM_TOTP_KEY_ISSUER_MAX + 1] = '\0';
    assert_false(csam_totp_key_issuer_ok(long_issuer));
}

static csam_secret *csam_test_secret(unsigned char fill)
{
    unsigned char bytes[48];
    csam_secret *secret = NULL;

    memset(bytes, fill, sizeof(bytes));
    assert_int_equal(csam_secret_from_bytes(bytes, sizeof(bytes), &secret),
                     CSAM_OK);
    return secret;
}

static void test_seal_open(void **state)
{
    csam_secret *secret = csam_test_secret(0x5a);
    csam_secret *other = csam_test_secret(0xa5);
    unsigned char key[CSAM_TOTP_KEY_LEN], back[CSAM_TOTP_KEY_LEN];
    unsigned char sealed[CSAM_TOTP_KEY_SEALED_LEN], again[sizeof(sealed)];
    static const unsigned char zero[CSAM_TOTP_KEY_LEN];

    (void)state;
    /* what csam_keys.totp_secret accepts: 29..4124 bytes */
    assert_true(CSAM_TOTP_KEY_SEALED_LEN >= 29
                && CSAM_TOTP_KEY_SEALED_LEN <= 4124);
    assert_int_equal(csam_totp_key_new(key), CSAM_OK);
    assert_int_equal(csam_totp_key_seal(secret, 42, key, sealed), CSAM_OK);
    /* the plain secret is not in the sealed form */
    {
        size_t i;

        for (i = 0; i + 8 <= sizeof(sealed); i++)
            assert_memory_not_equal(sealed + i, key, 8);
    }
    /* a fresh nonce each time */
    assert_int_equal(csam_totp_key_seal(secret, 42, key, again), CSAM_OK);
    assert_memory_not_equal(sealed, again, sizeof(sealed));

    assert_int_equal(
        csam_totp_key_open(secret, 42, sealed, sizeof(sealed), back), CSAM_OK);
    assert_memory_equal(back, key, sizeof(key));

    /* another row's id, another secret file, one bit flipped: refused,
     * and nothing usable left in the output */
    assert_int_equal(csam_totp_key_open(secret, 43, sealed, sizeof(sealed),
                                        back),
                     CSAM_ERR_CRYPTO);
    assert_memory_equal(back, zero, sizeof(zero));
    assert_int_equal(csam_totp_key_open(other, 42, sealed, sizeof(sealed),
                                        back),
                     CSAM_ERR_CRYPTO);
    sealed[20] ^= 0x01;
    assert_int_equal(csam_totp_key_open(secret, 42, sealed, sizeof(sealed),
                                        back),
                     CSAM_ERR_CRYPTO);
    sealed[20] ^= 0x01;
    assert_int_equal(csam_totp_key_open(secret, 42, sealed, sizeof(sealed) - 1,
                                        back),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_seal(secret, 0, key, again),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_open(secret, -1, sealed, sizeof(sealed),
                                        back),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_seal(NULL, 42, key, again),
                     CSAM_ERR_INVALID);
    assert_int_equal(
        csam_totp_key_open(secret, 42, sealed, sizeof(sealed), back), CSAM_OK);
    csam_secret_free(secret);
    csam_secret_free(other);
}

/* While the secret is replaced: a key sealed under the previous secret
 * opens with the current one that has it attached, not without it. */
static void test_open_previous(void **state)
{
    csam_secret *a = csam_test_secret(0x5a);
    csam_secret *b = csam_test_secret(0xa5);
    csam_secret *b_alone = csam_test_secret(0xa5);
    unsigned char key[CSAM_TOTP_KEY_LEN], back[CSAM_TOTP_KEY_LEN];
    unsigned char sealed[CSAM_TOTP_KEY_SEALED_LEN];

    (void)state;
    assert_int_equal(csam_totp_key_new(key), CSAM_OK);
    assert_int_equal(csam_totp_key_seal(a, 7, key, sealed), CSAM_OK);
    assert_int_equal(csam_secret_attach_previous(b, a), CSAM_OK);
    assert_int_equal(csam_totp_key_open(b, 7, sealed, sizeof(sealed), back),
                     CSAM_OK);
    assert_memory_equal(back, key, sizeof(key));
    assert_int_equal(csam_totp_key_open(b_alone, 7, sealed, sizeof(sealed),
                                        back),
                     CSAM_ERR_CRYPTO);
    /* what is sealed now is the current secret's */
    assert_int_equal(csam_totp_key_seal(b, 7, key, sealed), CSAM_OK);
    assert_int_equal(
        csam_totp_key_open(b_alone, 7, sealed, sizeof(sealed), back), CSAM_OK);
    csam_secret_free(b);
    csam_secret_free(b_alone);
}

/* What oathtool computes for secret (base32) at unix time t. */
static void csam_test_oathtool(const char *b32, int64_t t, char out[8])
{
    char cmd[256];
    FILE *p;
    size_t n;

    if (access(CSAM_TEST_OATHTOOL, X_OK) != 0)
        fail_msg("%s not found (Debian package oathtool)", CSAM_TEST_OATHTOOL);
    snprintf(cmd, sizeof(cmd),
             CSAM_TEST_OATHTOOL " --totp -b '%s' --now '@%" PRId64 "'", b32, t);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, 8, p));
    assert_int_equal(pclose(p), 0);
    n = strlen(out);
    if (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    assert_int_equal(n, CSAM_TOTP_KEY_DIGITS);
}

/* The secret= parameter of a provisioning URI. */
static void csam_test_uri_secret(const char *uri, char out[64])
{
    const char *p = strstr(uri, "?secret=");
    size_t n;

    assert_non_null(p);
    p += 8;
    n = strcspn(p, "&");
    assert_true(n < 64);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* The code oathtool gives for now + offset (two steps away) is refused at
 * now, unless it happens to equal a code of the window (a 6-digit
 * collision, about 3 rounds in 10^6): then there is nothing to assert. */
static void csam_test_two_steps_away(const unsigned char *key, const char *b32,
                                     int64_t offset)
{
    char code[8], near[8];
    int64_t matched = -1, d;

    csam_test_oathtool(b32, CSAM_TEST_NOW + offset, code);
    for (d = -30; d <= 30; d += 30) {
        csam_test_oathtool(b32, CSAM_TEST_NOW + d, near);
        if (strcmp(near, code) == 0)
            return;
    }
    assert_int_equal(csam_totp_key_verify(key, CSAM_TEST_NOW, -1, code,
                                          &matched),
                     CSAM_ERR_BAD_CODE);
}

static void test_oathtool_interop(void **state)
{
    csam_secret *secret = csam_test_secret(0x33);
    unsigned char key[CSAM_TOTP_KEY_LEN];
    unsigned char sealed[CSAM_TOTP_KEY_SEALED_LEN];
    char b32[64], code[8], spaced[16];
    char *uri = NULL;
    int64_t step = CSAM_TEST_NOW / 30, matched = -1;
    int round;

    (void)state;
    for (round = 0; round < 5; round++) {
        assert_int_equal(csam_totp_key_new(key), CSAM_OK);
        assert_int_equal(csam_totp_key_uri("CSAM", "jan", key, &uri), CSAM_OK);
        csam_test_uri_secret(uri, b32);
        free(uri);

        /* now, and one step either side: accepted */
        csam_test_oathtool(b32, CSAM_TEST_NOW, code);
        assert_int_equal(csam_totp_key_verify(key, CSAM_TEST_NOW, -1, code,
                                              &matched),
                         CSAM_OK);
        assert_int_equal(matched, step);
        /* the same code again: refused (replay) */
        assert_int_equal(csam_totp_key_verify(key, CSAM_TEST_NOW, matched, code,
                                              &matched),
                         CSAM_ERR_BAD_CODE);
        /* as apps show it, "123 456" */
        snprintf(spaced, sizeof(spaced), "%.3s %s", code, code + 3);
        assert_int_equal(csam_totp_key_verify(key, CSAM_TEST_NOW + 14, -1,
                                              spaced, &matched),
                         CSAM_OK);

        csam_test_oathtool(b32, CSAM_TEST_NOW - 30, code);
        assert_int_equal(csam_totp_key_verify(key, CSAM_TEST_NOW, -1, code,
                                              &matched),
                         CSAM_OK);
        assert_int_equal(matched, step - 1);
        /* an earlier step after a later one was used: refused */
        assert_int_equal(csam_totp_key_verify(key, CSAM_TEST_NOW, step, code,
                                              &matched),
                         CSAM_ERR_BAD_CODE);

        csam_test_oathtool(b32, CSAM_TEST_NOW + 30, code);
        assert_int_equal(csam_totp_key_verify(key, CSAM_TEST_NOW, -1, code,
                                              &matched),
                         CSAM_OK);
        assert_int_equal(matched, step + 1);

        /* two steps away: refused */
        csam_test_two_steps_away(key, b32, -60);
        csam_test_two_steps_away(key, b32, +60);

        /* through the sealed form, as the engine will call it */
        assert_int_equal(csam_totp_key_seal(secret, 7 + round, key, sealed),
                         CSAM_OK);
        csam_test_oathtool(b32, CSAM_TEST_NOW, code);
        assert_int_equal(csam_totp_key_verify_sealed(
                             secret, 7 + round, sealed, sizeof(sealed),
                             CSAM_TEST_NOW, -1, code, &matched),
                         CSAM_OK);
        assert_int_equal(csam_totp_key_verify_sealed(
                             secret, 8 + round, sealed, sizeof(sealed),
                             CSAM_TEST_NOW, -1, code, &matched),
                         CSAM_ERR_CRYPTO);
    }
    csam_secret_free(secret);
}

static void test_verify_edges(void **state)
{
    unsigned char key[CSAM_TOTP_KEY_LEN];
    int64_t matched = -1;

    (void)state;
    /* RFC 6238 appendix B, SHA-1 at T = 59: 94287082, whose last six
     * digits are the 6-digit code */
    /* A 20-byte key, not a string.
     * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(key, "12345678901234567890", 20);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "287082", &matched),
                     CSAM_OK);
    assert_int_equal(matched, 1);
    /* at T = 59, step 1; steps 0..2 are in the window: step 0 (T = 0..29)
     * is "755224" by RFC 4226's HOTP(0) */
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "755224", &matched),
                     CSAM_OK);
    assert_int_equal(matched, 0);
    assert_int_equal(csam_totp_key_verify(key, 59, 1, "287082", &matched),
                     CSAM_ERR_BAD_CODE);
    /* not codes */
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "28708", &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "2870820", &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "28708a", &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "287-082", &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "", &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "2 8 7 0 8 2          ",
                                          &matched),
                     CSAM_ERR_BAD_CODE); /* longer than 16 bytes typed */
    assert_int_equal(csam_totp_key_verify(key, 59, -1, " 287 082 ", &matched),
                     CSAM_OK);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, NULL, &matched),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_verify(key, 59, -1, "287082", NULL),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_key_verify(key, -1, -1, "287082", &matched),
                     CSAM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_base32),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_issuer_ok),
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_open_previous),
        cmocka_unit_test(test_oathtool_interop),
        cmocka_unit_test(test_verify_edges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
