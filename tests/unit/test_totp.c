/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HOTP / TOTP against the RFC test vectors, the verification window and
 * replay rule, and base32.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "totp.h"

static const unsigned char csam_test_seed20[] = "12345678901234567890";
static const unsigned char csam_test_seed32[] =
    "12345678901234567890123456789012";
static const unsigned char csam_test_seed64[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

/* RFC 4226 appendix D. */
static void test_hotp_rfc4226(void **state)
{
    static const char *const expected[10] = {
        "755224", "287082", "359152", "969429", "338314",
        "254676", "287922", "162583", "399871", "520489"};
    char out[9];
    uint64_t c;

    (void)state;
    for (c = 0; c < 10; c++) {
        assert_int_equal(csam_hotp(CSAM_TOTP_SHA1, csam_test_seed20, 20, c, 6,
                                   out, sizeof(out)),
                         CSAM_OK);
        assert_string_equal(out, expected[c]);
    }
}

static void test_hotp_bad_arguments(void **state)
{
    char out[9];

    (void)state;
    assert_int_equal(csam_hotp(CSAM_TOTP_SHA1, csam_test_seed20, 20, 0, 5, out,
                               sizeof(out)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_hotp(CSAM_TOTP_SHA1, csam_test_seed20, 20, 0, 9, out,
                               sizeof(out)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_hotp(CSAM_TOTP_SHA1, csam_test_seed20, 0, 0, 6, out,
                               sizeof(out)),
                     CSAM_ERR_INVALID);
    /* Room for the digits but not the NUL. */
    assert_int_equal(csam_hotp(CSAM_TOTP_SHA1, csam_test_seed20, 20, 0, 8, out,
                               8),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_hotp((enum csam_totp_alg)7, csam_test_seed20, 20, 0,
                               6, out, sizeof(out)),
                     CSAM_ERR_INVALID);
}

/* RFC 6238 appendix B: the reference implementation's seeds are 20, 32
 * and 64 bytes for SHA-1, SHA-256 and SHA-512, 8 digits, 30 s steps. */
struct csam_test_rfc6238 {
    int64_t time;
    const char *sha1, *sha256, *sha512;
};

static const struct csam_test_rfc6238 csam_test_rfc6238_vectors[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

static void test_totp_rfc6238(void **state)
{
    const struct csam_test_rfc6238 *v;
    char out[9];
    int64_t step;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(csam_test_rfc6238_vectors)
                        / sizeof(csam_test_rfc6238_vectors[0]);
         i++) {
        v = &csam_test_rfc6238_vectors[i];
        assert_int_equal(csam_hotp(CSAM_TOTP_SHA1, csam_test_seed20, 20,
                                   (uint64_t)(v->time / 30), 8, out,
                                   sizeof(out)),
                         CSAM_OK);
        assert_string_equal(out, v->sha1);
        assert_int_equal(csam_hotp(CSAM_TOTP_SHA256, csam_test_seed32, 32,
                                   (uint64_t)(v->time / 30), 8, out,
                                   sizeof(out)),
                         CSAM_OK);
        assert_string_equal(out, v->sha256);
        assert_int_equal(csam_hotp(CSAM_TOTP_SHA512, csam_test_seed64, 64,
                                   (uint64_t)(v->time / 30), 8, out,
                                   sizeof(out)),
                         CSAM_OK);
        assert_string_equal(out, v->sha512);

        /* The same vectors through csam_totp_verify, window 0. */
        step = -2;
        assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20,
                                          v->time, 30, 8, 0, -1, v->sha1,
                                          &step),
                         CSAM_OK);
        assert_int_equal(step, v->time / 30);
        assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA256, csam_test_seed32,
                                          32, v->time, 30, 8, 0, -1, v->sha256,
                                          &step),
                         CSAM_OK);
        assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA512, csam_test_seed64,
                                          64, v->time, 30, 8, 0, -1, v->sha512,
                                          &step),
                         CSAM_OK);
        /* A SHA-1 code is not a SHA-256 code. */
        assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA256, csam_test_seed32,
                                          32, v->time, 30, 8, 0, -1, v->sha1,
                                          &step),
                         CSAM_ERR_BAD_CODE);
    }
}

/* The code for a given step, computed through HOTP. */
static void csam_test_code_at(int64_t step, char out[7])
{
    assert_int_equal(csam_hotp(CSAM_TOTP_SHA1, csam_test_seed20, 20,
                               (uint64_t)step, 6, out, 7),
                     CSAM_OK);
}

static void test_totp_window(void **state)
{
    const int64_t now = 1700000015; /* step 56666667, mid-step */
    const int64_t step = now / 30;
    char code[7];
    int64_t matched;
    int64_t delta;

    (void)state;
    for (delta = -3; delta <= 3; delta++) {
        csam_test_code_at(step + delta, code);
        matched = -5;
        if (delta >= -1 && delta <= 1) {
            assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20,
                                              20, now, 30, 6, 1, -1, code,
                                              &matched),
                             CSAM_OK);
            assert_int_equal(matched, step + delta);
        } else {
            assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20,
                                              20, now, 30, 6, 1, -1, code,
                                              &matched),
                             CSAM_ERR_BAD_CODE);
            assert_int_equal(matched, -5);
        }
    }
    /* Window 2 takes step - 2. */
    csam_test_code_at(step - 2, code);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 2, -1, code, &matched),
                     CSAM_OK);
    assert_int_equal(matched, step - 2);
}

static void test_totp_replay(void **state)
{
    const int64_t now = 1700000015;
    const int64_t step = now / 30;
    char code[7], prev[7];
    int64_t matched = -1;

    (void)state;
    csam_test_code_at(step, code);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, -1, code, &matched),
                     CSAM_OK);
    assert_int_equal(matched, step);
    /* Same code again, with last_step stored: refused. */
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, matched, code, &matched),
                     CSAM_ERR_BAD_CODE);
    /* An older code still inside the window: refused too. */
    csam_test_code_at(step - 1, prev);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, step, prev, &matched),
                     CSAM_ERR_BAD_CODE);
    /* The next step's code is fine. */
    csam_test_code_at(step + 1, code);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20,
                                      now + 30, 30, 6, 1, step, code, &matched),
                     CSAM_OK);
    assert_int_equal(matched, step + 1);
}

static void test_totp_malformed_codes(void **state)
{
    const int64_t now = 1700000015;
    char code[7], longer[8];
    int64_t matched;

    (void)state;
    csam_test_code_at(now / 30, code);
    memcpy(longer, code, 6);
    longer[6] = '0';
    longer[7] = '\0';
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, -1, longer, &matched),
                     CSAM_ERR_BAD_CODE);
    code[5] = '\0';
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, -1, code, &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, -1, "12a456", &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, -1, "", &matched),
                     CSAM_ERR_BAD_CODE);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      0, 6, 1, -1, "123456", &matched),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, -1,
                                      30, 6, 1, -1, "123456", &matched),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1, -1, NULL, &matched),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, now,
                                      30, 6, 1000, -1, "123456", &matched),
                     CSAM_ERR_INVALID);
}

/* Near the epoch the window must not reach negative steps. */
static void test_totp_epoch(void **state)
{
    char code[7];
    int64_t matched = -1;

    (void)state;
    csam_test_code_at(0, code);
    assert_int_equal(csam_totp_verify(CSAM_TOTP_SHA1, csam_test_seed20, 20, 5,
                                      30, 6, 1, -1, code, &matched),
                     CSAM_OK);
    assert_int_equal(matched, 0);
}

/* RFC 4648 section 10. */
static void test_base32_rfc4648(void **state)
{
    static const struct {
        const char *plain, *encoded;
    } v[] = {
        {"", ""},
        {"f", "MY"},
        {"fo", "MZXQ"},
        {"foo", "MZXW6"},
        {"foob", "MZXW6YQ"},
        {"fooba", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI"},
    };
    static const char *const padded[] = {
        "",         "MY======", "MZXQ====",        "MZXW6===",
        "MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"};
    unsigned char bin[16];
    char text[32];
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        n = csam_base32_encode((const unsigned char *)v[i].plain,
                               strlen(v[i].plain), text);
        assert_int_equal(n, strlen(v[i].encoded));
        assert_string_equal(text, v[i].encoded);

        assert_int_equal(csam_base32_decode(padded[i], bin, sizeof(bin), &n),
                         CSAM_OK);
        assert_int_equal(n, strlen(v[i].plain));
        assert_memory_equal(bin, v[i].plain, n);
    }
    /* Lower case and spaces, as people type a secret off a screen. */
    assert_int_equal(csam_base32_decode("mzxw 6ytb oi", bin, sizeof(bin), &n),
                     CSAM_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(bin, "foobar", 6);
}

static void test_base32_round_trip(void **state)
{
    unsigned char data[64], back[64];
    char text[8 * 13 + 1];
    size_t len, n, i;

    (void)state;
    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (len = 0; len <= sizeof(data); len++) {
        n = csam_base32_encode(data, len, text);
        assert_int_equal(n, strlen(text));
        assert_true(n <= 8 * ((len + 4) / 5));
        assert_int_equal(csam_base32_decode(text, back, sizeof(back), &n),
                         CSAM_OK);
        assert_int_equal(n, len);
        assert_memory_equal(back, data, len);
    }
}

static void test_base32_bad(void **state)
{
    unsigned char bin[4];
    size_t n = 99;

    (void)state;
    assert_int_equal(csam_base32_decode("MZXW1", bin, sizeof(bin), &n),
                     CSAM_ERR_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(csam_base32_decode("MZ-XW", bin, sizeof(bin), &n),
                     CSAM_ERR_INVALID);
    /* "foobar" needs 6 bytes. */
    assert_int_equal(csam_base32_decode("MZXW6YTBOI", bin, sizeof(bin), &n),
                     CSAM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotp_rfc4226),
        cmocka_unit_test(test_hotp_bad_arguments),
        cmocka_unit_test(test_totp_rfc6238),
        cmocka_unit_test(test_totp_window),
        cmocka_unit_test(test_totp_replay),
        cmocka_unit_test(test_totp_malformed_codes),
        cmocka_unit_test(test_totp_epoch),
        cmocka_unit_test(test_base32_rfc4648),
        cmocka_unit_test(test_base32_round_trip),
        cmocka_unit_test(test_base32_bad),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
