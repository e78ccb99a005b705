/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation at the edge: national register and BIS numbers, dates,
 * e-mail addresses, usernames, free text, languages, phone numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "validate.h"

/* ------------------------------------------------ national register */

/* Builds a number from its parts with the modulo-97 rule, computed here
 * independently of the code under test. */
static void csam_test_nrn(char out[CSAM_NRN_SIZE], int yy, int mm, int dd,
                          int seq, int born_2000s)
{
    unsigned long long base;

    base = (unsigned long long)yy * 10000000ULL
           + (unsigned long long)mm * 100000ULL
           + (unsigned long long)dd * 1000ULL + (unsigned long long)seq;
    if (born_2000s)
        base += 2000000000ULL;
    snprintf(out, CSAM_NRN_SIZE, "%02d%02d%02d%03d%02d", yy, mm, dd, seq,
             (int)(97 - base % 97));
}

static void csam_test_nrn_ok(const char *in, const char *digits, int year,
                             int month, int day)
{
    char out[CSAM_NRN_SIZE];
    struct csam_date birth = {-1, -1, -1};

    assert_int_equal(csam_nrn_parse(in, out, &birth), CSAM_OK);
    assert_string_equal(out, digits);
    assert_int_equal(birth.year, year);
    assert_int_equal(birth.month, month);
    assert_int_equal(birth.day, day);
}

static void csam_test_nrn_bad(const char *in)
{
    char out[CSAM_NRN_SIZE] = "xxxxxxxxxxx";
    struct csam_date birth = {9, 9, 9};

    assert_int_equal(csam_nrn_parse(in, out, &birth), CSAM_ERR_NATIONAL_NUMBER);
    assert_string_equal(out, "");
    assert_int_equal(birth.year, 0);
}

/* Checked by hand: 850730033 mod 97 = 69, 97 - 69 = 28. */
static void test_nrn_known_examples(void **state)
{
    (void)state;
    csam_test_nrn_ok("85073003328", "85073003328", 1985, 7, 30);
    csam_test_nrn_ok("85.07.30-033.28", "85073003328", 1985, 7, 30);
    csam_test_nrn_ok("85 07 30 033 28", "85073003328", 1985, 7, 30);
    csam_test_nrn_ok("850730-033-28", "85073003328", 1985, 7, 30);
    csam_test_nrn_ok("85.07.30 - 033.28", "85073003328", 1985, 7, 30);
    /* 2000000000 + 10203001 = 2010203001, mod 97 = 27: check 70. */
    csam_test_nrn_ok("01.02.03-001.70", "01020300170", 2001, 2, 3);
    /* 2000 is a leap year: 2000000000 + 229123 mod 97 = 77, check 20. */
    csam_test_nrn_ok("00022912320", "00022912320", 2000, 2, 29);
    /* The pre-2000 check (97 - 9 = 88) would mean 1900-02-29, which
     * never was. */
    csam_test_nrn_bad("00022912388");
    /* The NULL birth pointer is allowed. */
    {
        char out[CSAM_NRN_SIZE];

        assert_int_equal(csam_nrn_parse("85073003328", out, NULL), CSAM_OK);
    }
}

static void test_nrn_computed(void **state)
{
    static const int days[] = {1, 9, 15, 28};
    char nrn[CSAM_NRN_SIZE];
    int yy, mm, i, century;

    (void)state;
    for (century = 0; century <= 1; century++)
        for (yy = 0; yy < 100; yy += 7)
            for (mm = 1; mm <= 12; mm++)
                for (i = 0; i < 4; i++) {
                    csam_test_nrn(nrn, yy, mm, days[i], 1 + yy + mm * i,
                                  century);
                    csam_test_nrn_ok(nrn, nrn, (century ? 2000 : 1900) + yy, mm,
                                     days[i]);
                }
}

static void test_nrn_wrong_checksum(void **state)
{
    char nrn[CSAM_NRN_SIZE];
    unsigned delta;

    (void)state;
    csam_test_nrn_bad("85073003329");
    csam_test_nrn_bad("85073003327");
    csam_test_nrn_bad("85073003300");
    csam_test_nrn_bad("85073003397");
    /* The same body read as born in 2085 has check 57 (2850730033 mod 97
     * = 40); any other check digits fail. */
    csam_test_nrn_ok("85073003357", "85073003357", 2085, 7, 30);
    for (delta = 0; delta <= 99; delta++) {
        if (delta == 28 || delta == 57)
            continue;
        snprintf(nrn, sizeof(nrn), "850730033%02u", delta % 100);
        csam_test_nrn_bad(nrn);
    }
    /* A swapped pair of digits. */
    csam_test_nrn_bad("58073003328");
}

static void test_nrn_shape(void **state)
{
    (void)state;
    csam_test_nrn_bad("8507300332");
    csam_test_nrn_bad("850730033280");
    csam_test_nrn_bad("85.07.30-033.280");
    csam_test_nrn_bad("");
    csam_test_nrn_bad("85O73003328");
    csam_test_nrn_bad("85073003328a");
    csam_test_nrn_bad("BE85073003328");
    csam_test_nrn_bad(".85073003328");
    csam_test_nrn_bad("85073003328.");
    csam_test_nrn_bad(" 85073003328");
    csam_test_nrn_bad("85073003328 ");
    csam_test_nrn_bad("-85.07.30-033.28");
    csam_test_nrn_bad("85/07/30-033.28");
    csam_test_nrn_bad("85_07_30_033_28");
    csam_test_nrn_bad("85\t07\t30\t033\t28");
    csam_test_nrn_bad("85073003328\n");
    csam_test_nrn_bad("８５０７３００３３２８"); /* fullwidth digits */
    csam_test_nrn_bad("85 . 07 . 30 . 033 . 28 . . . . . . . . .");
    {
        char out[CSAM_NRN_SIZE];

        assert_int_equal(csam_nrn_parse(NULL, out, NULL),
                         CSAM_ERR_NATIONAL_NUMBER);
        assert_int_equal(csam_nrn_parse("85073003328", NULL, NULL),
                         CSAM_ERR_NATIONAL_NUMBER);
    }
}

static void test_nrn_impossible_dates(void **state)
{
    char nrn[CSAM_NRN_SIZE];

    (void)state;
    csam_test_nrn(nrn, 85, 13, 1, 33, 0);
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 85, 2, 30, 33, 0);
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 85, 4, 31, 33, 0);
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 85, 1, 32, 33, 0);
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 23, 2, 29, 33, 1); /* 2023 is not a leap year */
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 24, 2, 29, 33, 1); /* 2024 is */
    csam_test_nrn_ok(nrn, nrn, 2024, 2, 29);
    csam_test_nrn(nrn, 85, 19, 1, 33, 0);
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 85, 60, 1, 33, 0);
    csam_test_nrn_bad(nrn);
    /* Unknown month and day (00) are legitimate. */
    csam_test_nrn(nrn, 85, 0, 0, 33, 0);
    csam_test_nrn_ok(nrn, nrn, 1985, 0, 0);
    csam_test_nrn(nrn, 85, 7, 0, 33, 0);
    csam_test_nrn_ok(nrn, nrn, 1985, 7, 0);
}

static void test_nrn_bis(void **state)
{
    char nrn[CSAM_NRN_SIZE];

    (void)state;
    /* Hand-checked: 852730033 mod 97 = 26 -> 71; 854730033 mod 97 = 80
     * -> 17; 2052730033 mod 97 = 28 -> 69. */
    csam_test_nrn_ok("85.27.30-033.71", "85273003371", 1985, 7, 30);
    csam_test_nrn_ok("85.47.30-033.17", "85473003317", 1985, 7, 30);
    csam_test_nrn_ok("05.27.30-033.69", "05273003369", 2005, 7, 30);

    csam_test_nrn(nrn, 90, 20 + 12, 31, 5, 0);
    csam_test_nrn_ok(nrn, nrn, 1990, 12, 31);
    csam_test_nrn(nrn, 90, 40 + 2, 29, 5, 0); /* 1990-02-29: no */
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 90, 20 + 13, 1, 5, 0);
    csam_test_nrn_bad(nrn);
    csam_test_nrn(nrn, 90, 40 + 13, 1, 5, 0);
    csam_test_nrn_bad(nrn);
    /* Month unknown: 20 or 40 alone. */
    csam_test_nrn(nrn, 90, 20, 0, 5, 0);
    csam_test_nrn_ok(nrn, nrn, 1990, 0, 0);
    csam_test_nrn(nrn, 12, 40, 0, 5, 1);
    csam_test_nrn_ok(nrn, nrn, 2012, 0, 0);
}

static void test_nrn_matches_birth(void **state)
{
    struct csam_date encoded, birth;
    char out[CSAM_NRN_SIZE], nrn[CSAM_NRN_SIZE];

    (void)state;
    assert_int_equal(csam_nrn_parse("85.07.30-033.28", out, &encoded), CSAM_OK);
    assert_int_equal(csam_date_parse("1985-07-30", &birth), CSAM_OK);
    assert_true(csam_nrn_matches_birth(&encoded, &birth));
    assert_int_equal(csam_date_parse("1985-07-31", &birth), CSAM_OK);
    assert_false(csam_nrn_matches_birth(&encoded, &birth));
    assert_int_equal(csam_date_parse("1985-08-30", &birth), CSAM_OK);
    assert_false(csam_nrn_matches_birth(&encoded, &birth));
    assert_int_equal(csam_date_parse("2085-07-30", &birth), CSAM_OK);
    assert_false(csam_nrn_matches_birth(&encoded, &birth));

    /* Unknown month and day match any date of that year. */
    csam_test_nrn(nrn, 90, 40, 0, 5, 0);
    assert_int_equal(csam_nrn_parse(nrn, out, &encoded), CSAM_OK);
    assert_int_equal(csam_date_parse("1990-11-17", &birth), CSAM_OK);
    assert_true(csam_nrn_matches_birth(&encoded, &birth));
    assert_int_equal(csam_date_parse("1991-11-17", &birth), CSAM_OK);
    assert_false(csam_nrn_matches_birth(&encoded, &birth));

    assert_false(csam_nrn_matches_birth(NULL, &birth));
    assert_false(csam_nrn_matches_birth(&encoded, NULL));
}

/* ------------------------------------------------------------- dates */

static void test_date_parse(void **state)
{
    /* clang-format off */
    static const char *const bad[] = {
        "1900-02-29", "2023-02-29", "2100-02-29", "2023-13-01",
        "2023-00-10", "2023-04-31", "2023-01-00", "2023-01-32",
        "1899-12-31", "2200-01-01", "2023-1-01",  "2023-01-1",
        "2023-01-01x", "2023/01/01", "20230101",  "",
        " 2023-01-01", "2023-01-01 ", "+023-01-01", "2023-0a-01",
        "2023-01-01T00:00:00Z"};
    /* clang-format on */
    struct csam_date d;
    size_t i;

    (void)state;
    assert_int_equal(csam_date_parse("2000-02-29", &d), CSAM_OK);
    assert_int_equal(d.year, 2000);
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 29);
    assert_int_equal(csam_date_parse("2024-02-29", &d), CSAM_OK);
    assert_int_equal(csam_date_parse("1900-01-01", &d), CSAM_OK);
    assert_int_equal(csam_date_parse("2199-12-31", &d), CSAM_OK);
    assert_int_equal(csam_date_parse("1985-07-30", &d), CSAM_OK);
    assert_int_equal(d.month, 7);
    assert_int_equal(d.day, 30);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d.year = 1;
        assert_int_equal(csam_date_parse(bad[i], &d), CSAM_ERR_INVALID);
        assert_int_equal(d.year, 0);
    }
    assert_int_equal(csam_date_parse(NULL, &d), CSAM_ERR_INVALID);
}

/* ------------------------------------------------------------ e-mail */

static void test_email_valid(void **state)
{
    static const char *const good[] = {"jean.dupont@example.be",
                                       "a+b@sub.example.co.uk",
                                       "o'brien@example.ie",
                                       "x@x-y.be",
                                       "Jan.Peeters@Example.BE",
                                       "1234@123.example.com",
                                       "a!#$%&'*+/=?^_`{|}~-z@example.org"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(csam_email_check(good[i]), CSAM_OK);
}

static void test_email_invalid(void **state)
{
    static const char *const bad[] = {"a@b.be\r\nBcc: x@evil.example",
                                      "a@b.be\n",
                                      "a@b.be\r",
                                      "\ra@b.be",
                                      "a b@c.be",
                                      "a@b .be",
                                      " a@b.be",
                                      "a@b.be ",
                                      "a@@b.be",
                                      "a@b@c.be",
                                      "ab.be",
                                      "a@localhost",
                                      "a@-x.be",
                                      "a@x-.be",
                                      "a@x.-be",
                                      ".a@b.be",
                                      "a.@b.be",
                                      "a..b@c.be",
                                      "@b.be",
                                      "a@",
                                      "a@b..be",
                                      "a@.b.be",
                                      "a@b.be.",
                                      "a@1.2.3.4",
                                      "a@[1.2.3.4]",
                                      "\"a b\"@c.be",
                                      "a\t@b.be",
                                      "é@b.be",
                                      "a@b_c.be",
                                      "a(comment)@b.be",
                                      "a\\@b.be",
                                      "",
                                      "a@b.be\x7f"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(csam_email_check(bad[i]), CSAM_ERR_EMAIL);
    assert_int_equal(csam_email_check(NULL), CSAM_ERR_EMAIL);
}

/* A domain typed in Unicode is accepted and sent in its A-label form
 * (IDNA2008, UTS #46 non-transitional), the local part as it is. */
static void test_email_idn(void **state)
{
    static const char *const cases[][2] = {
        {"citoyen@exemple-été.be", "citoyen@xn--exemple-t-i4ab.be"},
        /* mapped to lower case, NFC first (e + U+0301 is é) */
        {"Citoyen@EXEMPLE-ÉTÉ.be", "Citoyen@xn--exemple-t-i4ab.be"},
        {"citoyen@exemple-e\xcc\x81te\xcc\x81.be",
         "citoyen@xn--exemple-t-i4ab.be"},
        /* non-transitional: ß stays itself, not "ss" */
        {"a@straße.de", "a@xn--strae-oqa.de"},
        {"jan@bücher.gemeente.example", "jan@xn--bcher-kva.gemeente.example"},
        /* ASCII addresses and A-labels are kept as they are */
        {"Jan.Peeters@Example.BE", "Jan.Peeters@Example.BE"},
        {"a@xn--bcher-kva.example", "a@xn--bcher-kva.example"},
    };
    /* no SMTPUTF8: the local part is ASCII even with an IDN domain; an
     * IDN domain still has two labels, a TLD not all digits, valid UTF-8
     * without controls and labels IDNA2008 allows */
    static const char *const bad[] = {
        "citoyén@exemple-été.be",
        "a@exemple-été",
        "a@été.123",
        "a@ex\xc3.be",
        "a@été\xc2\x85.be",
        "a@\xe2\x80\xa8été.be",
        "a@été .be",
        "a@-été.be",
        "a@été..be",
        "a@\xe2\x98\x83.be",
    };
    char out[CSAM_EMAIL_MAX + 1], small[8];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(csam_email_check(bad[i]), CSAM_ERR_EMAIL);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(csam_email_check(cases[i][0]), CSAM_OK);
        assert_int_equal(csam_email_ascii(cases[i][0], out, sizeof(out)),
                         CSAM_OK);
        assert_string_equal(out, cases[i][1]);
    }
    /* refused where csam_email_check refuses, out emptied */
    assert_int_equal(csam_email_ascii("citoyén@exemple.be", out, sizeof(out)),
                     CSAM_ERR_EMAIL);
    assert_string_equal(out, "");
    assert_int_equal(csam_email_ascii(NULL, out, sizeof(out)), CSAM_ERR_EMAIL);
    /* an out too small is an error, never a cut address */
    assert_int_equal(csam_email_ascii("a@exemple-été.be", small, sizeof(small)),
                     CSAM_ERR_EMAIL);
    assert_string_equal(small, "");
    assert_int_equal(csam_email_ascii("a@b.example", small, sizeof(small)),
                     CSAM_ERR_EMAIL);
}

/* The A-label form is what goes on the wire, so it is the one held to 254
 * bytes, as well as the address typed. */
static void test_email_idn_lengths(void **state)
{
    char email[400], out[CSAM_EMAIL_MAX + 1], run[80];
    size_t i;

    (void)state;
    /* A label's A-label form is at most 63 bytes: 56 'a' and one 'é'
     * encode as xn--<56 a>-<3 bytes>, 64 bytes, one too many; 55, 63 */
    memset(run, 'a', 56);
    run[56] = '\0';
    snprintf(email, sizeof(email), "a@%sé.be", run);
    assert_int_equal(csam_email_check(email), CSAM_ERR_EMAIL);
    run[55] = '\0';
    snprintf(email, sizeof(email), "a@%sé.be", run);
    assert_int_equal(csam_email_check(email), CSAM_OK);
    assert_int_equal(csam_email_ascii(email, out, sizeof(out)), CSAM_OK);
    assert_int_equal(strlen(out), strlen("a@") + 63 + strlen(".be"));

    /* Typed within 254 bytes (235), but longer in A-label form (283):
     * each label of 20 bytes is 26 in A-label form. */
    assert_int_equal(csam_email_ascii("a@âįüħċŷĩųşô.be", out, sizeof(out)),
                     CSAM_OK);
    assert_string_equal(out, "a@xn--2ca0bxa4duhna2b24a3fnb.be");
    memset(run, 'l', 64);
    run[64] = '\0';
    snprintf(email, sizeof(email), "%s@", run);
    for (i = 0; i < 8; i++)
        strcat(email, "âįüħċŷĩųşô.");
    strcat(email, "be");
    assert_int_equal(strlen(email), 235);
    assert_int_equal(csam_email_check(email), CSAM_ERR_EMAIL);
    /* 7 labels: 256 bytes in A-label form, refused; 6: 229, accepted */
    snprintf(email, sizeof(email), "%s@", run);
    for (i = 0; i < 7; i++)
        strcat(email, "âįüħċŷĩųşô.");
    strcat(email, "be");
    assert_int_equal(csam_email_check(email), CSAM_ERR_EMAIL);
    snprintf(email, sizeof(email), "%s@", run);
    for (i = 0; i < 6; i++)
        strcat(email, "âįüħċŷĩųşô.");
    strcat(email, "be");
    assert_int_equal(csam_email_ascii(email, out, sizeof(out)), CSAM_OK);
    assert_int_equal(strlen(out), 229);
}

static void test_email_lengths(void **state)
{
    char email[300], label[70];
    size_t n;

    (void)state;
    /* Local part: 64 bytes fine, 65 not. */
    memset(email, 'l', 64);
    strcpy(email + 64, "@example.be");
    assert_int_equal(csam_email_check(email), CSAM_OK);
    memset(email, 'l', 65);
    strcpy(email + 65, "@example.be");
    assert_int_equal(csam_email_check(email), CSAM_ERR_EMAIL);

    /* Labels: 63 fine, 64 not. */
    memset(label, 'd', 63);
    label[63] = '\0';
    snprintf(email, sizeof(email), "a@%s.be", label);
    assert_int_equal(csam_email_check(email), CSAM_OK);
    snprintf(email, sizeof(email), "a@%sd.be", label);
    assert_int_equal(csam_email_check(email), CSAM_ERR_EMAIL);

    /* Whole address: 254 bytes fine, 255 not.  64 + 1 + 63 + 1 + 63 + 1 +
     * 61 = 254. */
    memset(email, 'l', 64);
    n = 64;
    email[n++] = '@';
    memset(email + n, 'a', 63);
    n += 63;
    email[n++] = '.';
    memset(email + n, 'b', 63);
    n += 63;
    email[n++] = '.';
    memset(email + n, 'c', 61);
    n += 61;
    email[n] = '\0';
    assert_int_equal(strlen(email), 254);
    assert_int_equal(csam_email_check(email), CSAM_OK);
    email[n++] = 'c';
    email[n] = '\0';
    assert_int_equal(strlen(email), 255);
    assert_int_equal(csam_email_check(email), CSAM_ERR_EMAIL);
}

/* ----------------------------------------------------- username, text */

static void test_username(void **state)
{
    static const char *const good[] = {"jdupont", "j.dupont-2",  "abc",
                                       "1abc",    "jan_peeters", "a..b"};
    static const char *const bad[] = {
        "ab",   "JDupont", ".abc",  "-abc",    "_abc", "ab c",   "abé",
        "ab@c", "",        "abc\n", "abc/def", "ab:c", "abc\x7f"};
    char name[70];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(csam_username_check(good[i]), CSAM_OK);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(csam_username_check(bad[i]), CSAM_ERR_USERNAME);
    assert_int_equal(csam_username_check(NULL), CSAM_ERR_USERNAME);
    memset(name, 'u', 64);
    name[64] = '\0';
    assert_int_equal(csam_username_check(name), CSAM_OK);
    name[64] = 'u';
    name[65] = '\0';
    assert_int_equal(csam_username_check(name), CSAM_ERR_USERNAME);
}

static void test_text(void **state)
{
    static const char *const good[] = {
        "Dupont",         "Van der Berg",      "Ségolène",
        "O'Brien-Müller", "Ðặng Thị Ngọc Hân", "Ελένη",
        "EM123456"};
    static const char *const bad[] = {
        "", "a\nb", "a\rb", "a\tb", "a\x7f", "a\x1b[31m", "a\xc2\x85",
        "\xc2\x9f", "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80",
        /* \x62 is "b": a letter after a hex escape would extend it */
        "\xf4\x90\x80\x80", "a\xe2\x80\xa8\x62", "a\xe2\x80\xa9\x62"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(csam_text_check(good[i], CSAM_NAME_MAX), CSAM_OK);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(csam_text_check(bad[i], CSAM_NAME_MAX),
                         CSAM_ERR_INVALID);
    assert_int_equal(csam_text_check("abcd", 4), CSAM_OK);
    assert_int_equal(csam_text_check("abcde", 4), CSAM_ERR_INVALID);
    /* The limit is in bytes: "é" is two. */
    assert_int_equal(csam_text_check("abcé", 4), CSAM_ERR_INVALID);
    assert_int_equal(csam_text_check(NULL, 4), CSAM_ERR_INVALID);
}

static void test_language_and_document(void **state)
{
    (void)state;
    assert_int_equal(csam_language_check("fr"), CSAM_OK);
    assert_int_equal(csam_language_check("nl"), CSAM_OK);
    assert_int_equal(csam_language_check("de"), CSAM_OK);
    assert_int_equal(csam_language_check("en"), CSAM_OK);
    assert_int_equal(csam_language_check("FR"), CSAM_ERR_INVALID);
    assert_int_equal(csam_language_check("fr "), CSAM_ERR_INVALID);
    assert_int_equal(csam_language_check("es"), CSAM_ERR_INVALID);
    assert_int_equal(csam_language_check("fr-BE"), CSAM_ERR_INVALID);
    assert_int_equal(csam_language_check(""), CSAM_ERR_INVALID);
    assert_int_equal(csam_language_check(NULL), CSAM_ERR_INVALID);

    assert_int_equal(csam_document_type_check("eid"), CSAM_OK);
    assert_int_equal(csam_document_type_check("passport"), CSAM_OK);
    assert_int_equal(csam_document_type_check("residence_card"), CSAM_OK);
    assert_int_equal(csam_document_type_check("foreign_id"), CSAM_OK);
    assert_int_equal(csam_document_type_check("EID"), CSAM_ERR_INVALID);
    assert_int_equal(csam_document_type_check("driving_licence"),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_document_type_check(""), CSAM_ERR_INVALID);
    assert_int_equal(csam_document_type_check(NULL), CSAM_ERR_INVALID);
}

/* ------------------------------------------------------------- phone */

static void csam_test_phone(const char *in, const char *expected)
{
    char out[CSAM_PHONE_SIZE];

    assert_int_equal(csam_phone_normalize(in, out), CSAM_OK);
    assert_string_equal(out, expected);
}

static void test_phone_valid(void **state)
{
    (void)state;
    csam_test_phone("0470 12 34 56", "+32470123456");
    csam_test_phone("0470/12.34.56", "+32470123456");
    csam_test_phone("+32 470 12 34 56", "+32470123456");
    csam_test_phone("0032 470 12 34 56", "+32470123456");
    csam_test_phone("+32 (0)470 12 34 56", "+32470123456");
    csam_test_phone("+32 2 740 79 92", "+3227407992");
    csam_test_phone("02/740.79.92", "+3227407992");
    csam_test_phone("(02) 740 79 92", "+3227407992");
    csam_test_phone("04 222 11 11", "+3242221111"); /* Liège fixed line */
    csam_test_phone("+33 6 12 34 56 78", "+33612345678");
    csam_test_phone("0033612345678", "+33612345678");
    csam_test_phone("+31-20-123-4567", "+31201234567");
    csam_test_phone("+123456789012345", "+123456789012345");
}

static void test_phone_invalid(void **state)
{
    static const char *const bad[] = {
        "470123456",         /* no trunk or country prefix */
        "+32 0470 12 34 56", /* trunk 0 after the country code */
        "0470 12 34 567",    /* too long for Belgium */
        "+32 470 12 34 567",
        "02 740 79 9",       /* too short */
        "+32 2 740 79 921",  /* 9 digits but not a mobile */
        "+1234567",          /* 7 digits */
        "+1234567890123456", /* 16 digits */
        "+0470123456",
        "+32 470 12 3a 56",
        "++32470123456",
        "32+470123456",
        "0470 12 34 56 ext 2",
        "0470\n123456",
        "",
        "+",
        "0",
        "00",
        "０４７０１２３４５６", /* fullwidth digits */
        "0470_12_34_56"};
    char out[CSAM_PHONE_SIZE];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(out, "junk");
        assert_int_equal(csam_phone_normalize(bad[i], out), CSAM_ERR_PHONE);
        assert_string_equal(out, "");
    }
    assert_int_equal(csam_phone_normalize(NULL, out), CSAM_ERR_PHONE);
}

static int authority(const char *s, size_t *hostlen)
{
    return csam_authority_check(s, strlen(s), hostlen);
}

static void test_authority(void **state)
{
    size_t hostlen = 0;

    (void)state;
    assert_true(authority("portal.example.be", &hostlen));
    assert_int_equal(hostlen, 17);
    assert_true(authority("127.0.0.1:8080", &hostlen));
    assert_int_equal(hostlen, 9);
    assert_true(authority("[::1]:25", &hostlen));
    assert_int_equal(hostlen, 5);
    assert_true(authority("h:1", NULL));
    assert_true(authority("h:65535", NULL));
    assert_false(authority("", NULL));
    assert_false(authority(":80", NULL));
    assert_false(authority("h:", NULL));
    assert_false(authority("h:0", NULL));
    assert_false(authority("h:65536", NULL));
    assert_false(authority("h:000080", NULL));
    assert_false(authority("h:8o", NULL));
    assert_false(authority("user@h", NULL));
    assert_false(authority("h_x", NULL));
    assert_false(authority("[::1", NULL));
    assert_false(authority("[]", NULL));
    assert_false(authority("[::1]x", NULL));
    assert_false(csam_authority_check(NULL, 3, NULL));
}

/* The default list: exactly the 27 EU members, Iceland, Liechtenstein
 * and Norway, each by one of its numbers; nothing else. */
static void test_phone_countries_default(void **state)
{
    static const char *const eea[] = {
        "+43 660 1234567",   /* Austria */
        "+32 470 12 34 56",  /* Belgium */
        "+359 88 123 4567",  /* Bulgaria */
        "+385 91 123 4567",  /* Croatia */
        "+357 96 123456",    /* Cyprus */
        "+420 601 123 456",  /* Czechia */
        "+45 20 12 34 56",   /* Denmark */
        "+372 5123 4567",    /* Estonia */
        "+358 40 123 4567",  /* Finland */
        "+33 6 12 34 56 78", /* France */
        "+49 151 23456789",  /* Germany */
        "+30 691 234 5678",  /* Greece */
        "+36 20 123 4567",   /* Hungary */
        "+353 85 123 4567",  /* Ireland */
        "+39 312 345 6789",  /* Italy */
        "+371 2123 4567",    /* Latvia */
        "+370 612 34567",    /* Lithuania */
        "+352 621 123 456",  /* Luxembourg */
        "+356 9912 3456",    /* Malta */
        "+31 6 12345678",    /* Netherlands */
        "+48 512 345 678",   /* Poland */
        "+351 912 345 678",  /* Portugal */
        "+40 712 345 678",   /* Romania */
        "+421 912 123 456",  /* Slovakia */
        "+386 31 234 567",   /* Slovenia */
        "+34 612 34 56 78",  /* Spain */
        "+46 70 123 45 67",  /* Sweden */
        "+354 611 1234",     /* Iceland */
        "+423 660 1234",     /* Liechtenstein */
        "+47 412 34 567",    /* Norway */
        "0470 12 34 56",     /* Belgian national format */
        "0032 2 740 79 92",
    };
    static const char *const other[] = {
        "+44 7700 900123", /* United Kingdom */
        "+1 900 555 0123", /* premium rate, North America */
        "+1 202 555 0123",    "+7 912 345 67 89", /* Russia */
        "+41 79 123 45 67",                       /* Switzerland */
        "+882 1234 5678",                         /* international networks */
        "+883 1234 5678",     "+881 6 1234 5678", /* satellite */
        "+960 712 3456",                          /* Maldives */
        "+350 5712 3456",     /* Gibraltar, beside Portugal's 351 */
        "+355 69 123 4567",   /* Albania */
        "+373 621 23456",     /* Moldova, beside Latvia's 371 */
        "+374 77 123456",     /* Armenia */
        "+375 29 123 4567",   /* Belarus */
        "+376 312 345",       /* Andorra: 6 digits, and not in the list */
        "+377 6 12 34 56 78", /* Monaco */
        "+378 66 66 12 12",   /* San Marino */
        "+380 50 123 4567",   /* Ukraine */
        "+381 60 1234567",    /* Serbia */
        "+387 61 123 456",    /* Bosnia and Herzegovina */
        "+389 70 123 456",    /* North Macedonia */
        "+90 532 123 4567",   /* Turkey */
        "+20 100 123 4567",   /* Egypt */
        "+262 692 12 34 56",  /* Réunion: EU, but its own code; not listed */
    };
    char out[CSAM_PHONE_SIZE];
    size_t i, codes = 0;
    const char *p;

    (void)state;
    for (i = 0; i < sizeof(eea) / sizeof(eea[0]); i++)
        if (csam_phone_check(eea[i], NULL, out) != CSAM_OK)
            fail_msg("'%s' refused", eea[i]);
    for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        if (csam_phone_check(other[i], NULL, out) != CSAM_ERR_PHONE)
            fail_msg("'%s' accepted as %s", other[i], out);
        assert_string_equal(out, "");
    }
    /* the explicit default list is the NULL one */
    assert_true(csam_phone_countries_ok(CSAM_PHONE_COUNTRIES_DEFAULT));
    assert_int_equal(csam_phone_check("+371 2123 4567",
                                      CSAM_PHONE_COUNTRIES_DEFAULT, out),
                     CSAM_OK);
    assert_string_equal(out, "+37121234567");
    for (p = CSAM_PHONE_COUNTRIES_DEFAULT; *p != '\0'; p++)
        if (*p != ' ' && (p[1] == ' ' || p[1] == '\0'))
            codes++;
    assert_int_equal(codes, 30);
}

static void test_phone_countries_list(void **state)
{
    char out[CSAM_PHONE_SIZE];

    (void)state;
    /* a configured list replaces the default */
    assert_int_equal(csam_phone_check("+32 470 12 34 56", "33", out),
                     CSAM_ERR_PHONE);
    assert_int_equal(csam_phone_check("+33 6 12 34 56 78", "33", out), CSAM_OK);
    assert_int_equal(csam_phone_check("0470 12 34 56", "+33 +32", out),
                     CSAM_OK);
    assert_string_equal(out, "+32470123456");
    /* whole codes only: 44 is not a prefix of 441... numbers' codes, and
     * 1 lets in all of North America, premium rates included: the
     * administrator's choice, spelt out */
    assert_int_equal(csam_phone_check("+44 7700 900123", "44", out), CSAM_OK);
    assert_int_equal(csam_phone_check("+1 900 555 0123", "1", out), CSAM_OK);
    assert_int_equal(csam_phone_check("+1 900 555 0123", "32 33", out),
                     CSAM_ERR_PHONE);
    /* a malformed list allows nothing, even its good codes */
    assert_false(csam_phone_country_allowed("+32470123456", "32 35"));
    assert_false(csam_phone_country_allowed("+32470123456", ""));
    assert_false(csam_phone_country_allowed("+32470123456", "3"));
    assert_false(csam_phone_country_allowed("32470123456", "32"));
    assert_false(csam_phone_country_allowed(NULL, "32"));
    assert_true(csam_phone_country_allowed("+32470123456", "32"));
    /* not a number at all stays CSAM_ERR_PHONE */
    assert_int_equal(csam_phone_check("abc", "32", out), CSAM_ERR_PHONE);
    assert_int_equal(csam_phone_check(NULL, "32", out), CSAM_ERR_PHONE);

    assert_true(csam_phone_countries_ok("32 33"));
    assert_true(csam_phone_countries_ok("1 7 20 27 98 999 880"));
    assert_false(csam_phone_countries_ok(NULL));
    assert_false(csam_phone_countries_ok(""));
    assert_false(csam_phone_countries_ok("35")); /* not a code */
    assert_false(csam_phone_countries_ok("42"));
    assert_false(csam_phone_countries_ok("321"));  /* 32 is the code */
    assert_false(csam_phone_countries_ok("1900")); /* 4 digits */
    assert_false(csam_phone_countries_ok("19"));
    assert_false(csam_phone_countries_ok("79"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nrn_known_examples),
        cmocka_unit_test(test_nrn_computed),
        cmocka_unit_test(test_nrn_wrong_checksum),
        cmocka_unit_test(test_nrn_shape),
        cmocka_unit_test(test_nrn_impossible_dates),
        cmocka_unit_test(test_nrn_bis),
        cmocka_unit_test(test_nrn_matches_birth),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_email_valid),
        cmocka_unit_test(test_email_invalid),
        cmocka_unit_test(test_email_lengths),
        cmocka_unit_test(test_email_idn),
        cmocka_unit_test(test_email_idn_lengths),
        cmocka_unit_test(test_username),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_language_and_document),
        cmocka_unit_test(test_phone_valid),
        cmocka_unit_test(test_phone_invalid),
        cmocka_unit_test(test_authority),
        cmocka_unit_test(test_phone_countries_default),
        cmocka_unit_test(test_phone_countries_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
