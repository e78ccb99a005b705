/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The person's pseudonym and sealed number (common/engine/person.c):
 * CSAM_SUBJECT is stable for one person under one secret and tells two
 * people and two installations apart; a sealed number opens only for its
 * row, untouched, under its secret, and never as anything else (nor
 * anything else as a number).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "crypto.h"
#include "person.h"

struct csam_person_fixture {
    csam_secret *one;
    csam_secret *two;
    unsigned char hash_a[CSAM_HASH_LEN];
    unsigned char hash_b[CSAM_HASH_LEN];
};

static int csam_person_setup(void **state)
{
    static struct csam_person_fixture f;
    unsigned char raw[CSAM_SECRET_MIN];

    memset(raw, 0x41, sizeof(raw));
    assert_int_equal(csam_secret_from_bytes(raw, sizeof(raw), &f.one), CSAM_OK);
    raw[0] ^= 1; /* one bit apart */
    assert_int_equal(csam_secret_from_bytes(raw, sizeof(raw), &f.two), CSAM_OK);
    /* Two people's hashes as the engine makes them. */
    assert_int_equal(csam_keyed_hash(f.one, CSAM_PURPOSE_NATIONAL_NUMBER,
                                     "85073003328", 11, f.hash_a),
                     CSAM_OK);
    assert_int_equal(csam_keyed_hash(f.one, CSAM_PURPOSE_NATIONAL_NUMBER,
                                     "90022512345", 11, f.hash_b),
                     CSAM_OK);
    *state = &f;
    return 0;
}

static int csam_person_teardown(void **state)
{
    struct csam_person_fixture *f = *state;

    csam_secret_free(f->one);
    csam_secret_free(f->two);
    return 0;
}

static int csam_person_base64url(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
              || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* 1 if the n bytes at p contain the string s. */
static int csam_person_holds(const unsigned char *p, size_t n, const char *s)
{
    size_t len = strlen(s), i;

    for (i = 0; i + len <= n; i++)
        if (memcmp(p + i, s, len) == 0)
            return 1;
    return 0;
}

static void test_subject(void **state)
{
    struct csam_person_fixture *f = *state;
    char a1[CSAM_SUBJECT_SIZE], a2[CSAM_SUBJECT_SIZE];
    char b[CSAM_SUBJECT_SIZE], other[CSAM_SUBJECT_SIZE];

    assert_int_equal(csam_person_subject(f->one, f->hash_a, a1), CSAM_OK);
    assert_int_equal(strlen(a1), CSAM_SUBJECT_LEN);
    assert_int_equal(CSAM_SUBJECT_LEN, 43);
    assert_true(csam_person_base64url(a1));
    /* Stable: the same person under the same secret, every time. */
    assert_int_equal(csam_person_subject(f->one, f->hash_a, a2), CSAM_OK);
    assert_string_equal(a1, a2);
    /* Another person, another subject. */
    assert_int_equal(csam_person_subject(f->one, f->hash_b, b), CSAM_OK);
    assert_string_not_equal(a1, b);
    /* Another installation, another subject for the same person. */
    assert_int_equal(csam_person_subject(f->two, f->hash_a, other), CSAM_OK);
    assert_string_not_equal(a1, other);
    /* Not the hash itself in another spelling: the subject is keyed again,
     * so a database reader cannot link it to csam_accounts.nrn_hash. */
    {
        char plain[CSAM_SUBJECT_SIZE];

        csam_base64url_encode(f->hash_a, CSAM_HASH_LEN, plain);
        assert_string_not_equal(a1, plain);
    }
    /* Bad arguments leave "" behind. */
    assert_int_equal(csam_person_subject(NULL, f->hash_a, a2),
                     CSAM_ERR_INVALID);
    assert_string_equal(a2, "");
    assert_int_equal(csam_person_subject(f->one, NULL, a2), CSAM_ERR_INVALID);
    assert_int_equal(csam_person_subject(f->one, f->hash_a, NULL),
                     CSAM_ERR_INVALID);
}

static void test_seal_round_trip(void **state)
{
    struct csam_person_fixture *f = *state;
    unsigned char sealed[CSAM_PERSON_SEALED_LEN];
    unsigned char again[CSAM_PERSON_SEALED_LEN];
    char out[CSAM_NRN_SIZE];

    assert_int_equal(CSAM_PERSON_SEALED_LEN, 39); /* the schema's CHECK */
    assert_int_equal(csam_person_seal(f->one, "85073003328", f->hash_a, sealed),
                     CSAM_OK);
    /* The digits do not show in the sealed form. */
    assert_false(csam_person_holds(sealed, sizeof(sealed), "85073003328"));
    assert_int_equal(csam_person_open(f->one, sealed, sizeof(sealed), f->hash_a,
                                      out),
                     CSAM_OK);
    assert_string_equal(out, "85073003328");
    /* A fresh nonce each time: two seals of one number differ. */
    assert_int_equal(csam_person_seal(f->one, "85073003328", f->hash_a, again),
                     CSAM_OK);
    assert_memory_not_equal(sealed, again, sizeof(sealed));
    /* Only 11 digits are sealed. */
    {
        const char ten[CSAM_NRN_SIZE] = "8507300332";

        assert_int_equal(csam_person_seal(f->one, ten, f->hash_a, again),
                         CSAM_ERR_INVALID);
    }
    assert_int_equal(csam_person_seal(f->one, "8507300332x", f->hash_a, again),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_person_seal(f->one, "85.07.30-033.28", f->hash_a,
                                      again),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_person_seal(NULL, "85073003328", f->hash_a, again),
                     CSAM_ERR_INVALID);
}

static void test_open_refuses(void **state)
{
    struct csam_person_fixture *f = *state;
    unsigned char sealed[CSAM_PERSON_SEALED_LEN];
    unsigned char bad[CSAM_PERSON_SEALED_LEN];
    unsigned char totp[CSAM_PERSON_SEALED_LEN];
    size_t len = 0, i;
    char out[CSAM_NRN_SIZE];

    assert_int_equal(csam_person_seal(f->one, "85073003328", f->hash_a, sealed),
                     CSAM_OK);
    /* Copied to another person's row: refused, and out wiped. */
    memset(out, 'x', sizeof(out));
    assert_int_equal(csam_person_open(f->one, sealed, sizeof(sealed), f->hash_b,
                                      out),
                     CSAM_ERR_CRYPTO);
    for (i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0);
    /* Any byte altered: nonce, ciphertext, tag. */
    for (i = 0; i < sizeof(sealed); i++) {
        memcpy(bad, sealed, sizeof(bad));
        bad[i] ^= 0x01;
        assert_int_equal(csam_person_open(f->one, bad, sizeof(bad), f->hash_a,
                                          out),
                         CSAM_ERR_CRYPTO);
        assert_string_equal(out, "");
    }
    /* Another installation's secret. */
    assert_int_equal(csam_person_open(f->two, sealed, sizeof(sealed), f->hash_a,
                                      out),
                     CSAM_ERR_CRYPTO);
    /* Cut short or too long. */
    assert_int_equal(csam_person_open(f->one, sealed, sizeof(sealed) - 1,
                                      f->hash_a, out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_person_open(f->one, NULL, sizeof(sealed), f->hash_a,
                                      out),
                     CSAM_ERR_INVALID);
    /* Purpose separation: 11 digits sealed as a TOTP secret (csam_seal),
     * even with the number's own associated data, never open as a
     * number ... */
    {
        unsigned char aad[16 + CSAM_HASH_LEN];

        memcpy(aad, "csam/v1/nrn-row", 16);
        memcpy(aad + 16, f->hash_a, CSAM_HASH_LEN);
        assert_int_equal(csam_seal(f->one, aad, sizeof(aad), "85073003328", 11,
                                   totp, sizeof(totp), &len),
                         CSAM_OK);
        assert_int_equal(len, CSAM_PERSON_SEALED_LEN);
        assert_int_equal(csam_person_open(f->one, totp, len, f->hash_a, out),
                         CSAM_ERR_CRYPTO);
        /* ... and a sealed number never opens as a TOTP secret. */
        {
            unsigned char plain[64];
            size_t n = 0;

            assert_int_equal(csam_open(f->one, aad, sizeof(aad), sealed,
                                       sizeof(sealed), plain, sizeof(plain),
                                       &n),
                             CSAM_ERR_CRYPTO);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject),
        cmocka_unit_test(test_seal_round_trip),
        cmocka_unit_test(test_open_refuses),
    };

    return cmocka_run_group_tests(tests, csam_person_setup,
                                  csam_person_teardown);
}
