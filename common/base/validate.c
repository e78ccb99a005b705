/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of citizen data at the edge.  Every check is a whitelist:
 * what is not described here is refused.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <unistr.h>

#include "password.h"
#include "validate.h"

/* "85.07.30-033.28" is 15 bytes; generous room for spaced-out typing. */
#define CSAM_NRN_INPUT_MAX 32
#define CSAM_PHONE_INPUT_MAX 64
#define CSAM_PHONE_DIGITS_MIN 8
#define CSAM_PHONE_DIGITS_MAX 15
#define CSAM_EMAIL_LOCAL_MAX 64
#define CSAM_EMAIL_LABEL_MAX 63

static int csam_validate_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int csam_validate_is_alnum(char c)
{
    return csam_validate_is_digit(c) || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z');
}

static int csam_validate_number(const char *s, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int csam_date_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int csam_date_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};

    if (month < 1 || month > 12)
        return 0;
    if (month == 2 && csam_date_leap(year))
        return 29;
    return days[month - 1];
}

/* ------------------------------------------------ national register */

static int csam_nrn_is_separator(char c)
{
    return c == '.' || c == '-' || c == ' ';
}

/* Collects the 11 digits; separators only between digits. */
static csam_result csam_nrn_digits(const char *in, char digits[CSAM_NRN_SIZE])
{
    size_t len, i, n = 0;

    len = strnlen(in, CSAM_NRN_INPUT_MAX + 1);
    if (len == 0 || len > CSAM_NRN_INPUT_MAX)
        return CSAM_ERR_NATIONAL_NUMBER;
    for (i = 0; i < len; i++) {
        if (csam_validate_is_digit(in[i])) {
            if (n == CSAM_NRN_DIGITS)
                return CSAM_ERR_NATIONAL_NUMBER;
            digits[n++] = in[i];
        } else if (!csam_nrn_is_separator(in[i]) || n == 0) {
            return CSAM_ERR_NATIONAL_NUMBER;
        }
    }
    if (n != CSAM_NRN_DIGITS || !csam_validate_is_digit(in[len - 1]))
        return CSAM_ERR_NATIONAL_NUMBER;
    digits[n] = '\0';
    return CSAM_OK;
}

csam_result csam_nrn_parse(const char *in, char out[CSAM_NRN_SIZE],
                           struct csam_date *birth)
{
    char digits[CSAM_NRN_SIZE];
    struct csam_date date;
    uint64_t base;
    int mm, check;

    if (out != NULL)
        out[0] = '\0';
    if (birth != NULL)
        memset(birth, 0, sizeof(*birth));
    if (in == NULL || out == NULL || csam_nrn_digits(in, digits) != CSAM_OK)
        return CSAM_ERR_NATIONAL_NUMBER;

    base = (uint64_t)csam_validate_number(digits, 9);
    check = csam_validate_number(digits + 9, 2);
    /* Born from 2000 on, the check is computed over "2" followed by the
     * nine digits.  2000000000 is not a multiple of 97, so at most one of
     * the two rules matches and it tells the century.  A remainder of 0
     * gives the check 97. */
    date.year = csam_validate_number(digits, 2);
    if (check == (int)(97 - base % 97))
        date.year += 1900;
    else if (check == (int)(97 - (UINT64_C(2000000000) + base) % 97))
        date.year += 2000;
    else
        return CSAM_ERR_NATIONAL_NUMBER;

    /* BIS numbers add 20 (sex unknown) or 40 (sex known) to the month;
     * month or day 0 means the register does not know it. */
    mm = csam_validate_number(digits + 2, 2);
    if (mm >= 40)
        mm -= 40;
    else if (mm >= 20)
        mm -= 20;
    if (mm > 12)
        return CSAM_ERR_NATIONAL_NUMBER;
    date.month = mm;
    date.day = csam_validate_number(digits + 4, 2);
    if (date.day > 31)
        return CSAM_ERR_NATIONAL_NUMBER;
    if (date.month != 0 && date.day != 0
        && date.day > csam_date_days_in_month(date.year, date.month))
        return CSAM_ERR_NATIONAL_NUMBER;

    memcpy(out, digits, CSAM_NRN_SIZE);
    if (birth != NULL)
        *birth = date;
    return CSAM_OK;
}

int csam_nrn_matches_birth(const struct csam_date *encoded,
                           const struct csam_date *birth)
{
    if (encoded == NULL || birth == NULL)
        return 0;
    return encoded->year == birth->year
           && (encoded->month == 0 || encoded->month == birth->month)
           && (encoded->day == 0 || encoded->day == birth->day);
}

/* ------------------------------------------------------------- dates */

csam_result csam_date_parse(const char *in, struct csam_date *out)
{
    struct csam_date date;
    size_t i;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (in == NULL || out == NULL || strnlen(in, 11) != 10 || in[4] != '-'
        || in[7] != '-')
        return CSAM_ERR_INVALID;
    for (i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !csam_validate_is_digit(in[i]))
            return CSAM_ERR_INVALID;
    date.year = csam_validate_number(in, 4);
    date.month = csam_validate_number(in + 5, 2);
    date.day = csam_validate_number(in + 8, 2);
    if (date.year < 1900 || date.year > 2199 || date.day < 1
        || date.day > csam_date_days_in_month(date.year, date.month))
        return CSAM_ERR_INVALID;
    *out = date;
    return CSAM_OK;
}

/* ------------------------------------------------------------ e-mail */

/* RFC 5322 atext. */
static int csam_email_is_atext(char c)
{
    return csam_validate_is_alnum(c)
           || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static csam_result csam_email_local(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > CSAM_EMAIL_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
        return CSAM_ERR_EMAIL;
    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return CSAM_ERR_EMAIL;
        } else if (!csam_email_is_atext(s[i])) {
            return CSAM_ERR_EMAIL;
        }
    }
    return CSAM_OK;
}

/* LDH labels, at least two, the last not all digits (that would be an
 * IP address in disguise, which we do not send to). */
static csam_result csam_email_domain(const char *s, size_t n)
{
    size_t i, start = 0, labels = 0;
    int all_digits = 1;

    if (n == 0)
        return CSAM_ERR_EMAIL;
    for (i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (i == start || i - start > CSAM_EMAIL_LABEL_MAX
                || s[start] == '-' || s[i - 1] == '-')
                return CSAM_ERR_EMAIL;
            labels++;
            if (i < n) {
                start = i + 1;
                all_digits = 1;
            }
        } else if (csam_validate_is_alnum(s[i]) || s[i] == '-') {
            if (!csam_validate_is_digit(s[i]))
                all_digits = 0;
        } else {
            return CSAM_ERR_EMAIL;
        }
    }
    if (labels < 2 || all_digits)
        return CSAM_ERR_EMAIL;
    return CSAM_OK;
}

static int csam_email_is_ascii(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

/* The A-label form of a domain typed in Unicode (IDNA2008 with UTS #46
 * non-transitional mapping: ß and ς stay themselves, as browsers and
 * registries treat them), checked as an ASCII domain afterwards: what
 * goes on the wire is what was validated.  out: CSAM_EMAIL_MAX + 1. */
static csam_result csam_email_domain_to_ascii(const char *domain, size_t n,
                                              char out[CSAM_EMAIL_MAX + 1])
{
    char copy[CSAM_EMAIL_MAX + 1];
    char *ascii = NULL;
    csam_result res = CSAM_ERR_EMAIL;
    size_t len;

    if (n > CSAM_EMAIL_MAX)
        return CSAM_ERR_EMAIL;
    memcpy(copy, domain, n);
    copy[n] = '\0';
    /* valid UTF-8, no control character, before libidn2 sees it */
    if (csam_text_check(copy, CSAM_EMAIL_MAX) != CSAM_OK)
        return CSAM_ERR_EMAIL;
    if (idn2_to_ascii_8z(copy, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)
            != IDN2_OK
        || ascii == NULL)
        goto out;
    len = strlen(ascii);
    if (len <= CSAM_EMAIL_MAX && csam_email_domain(ascii, len) == CSAM_OK) {
        memcpy(out, ascii, len + 1);
        res = CSAM_OK;
    }
out:
    idn2_free(ascii);
    return res;
}

csam_result csam_email_ascii(const char *email, char *out, size_t outlen)
{
    char domain[CSAM_EMAIL_MAX + 1];
    const char *at;
    size_t len, local;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (email == NULL || out == NULL || outlen == 0)
        return CSAM_ERR_EMAIL;
    len = strnlen(email, CSAM_EMAIL_MAX + 1);
    if (len == 0 || len > CSAM_EMAIL_MAX)
        return CSAM_ERR_EMAIL;
    at = strchr(email, '@');
    if (at == NULL || strchr(at + 1, '@') != NULL)
        return CSAM_ERR_EMAIL;
    local = (size_t)(at - email);
    /* The local part stays ASCII: a UTF-8 one needs SMTPUTF8 (RFC 6531)
     * all the way to the citizen's mailbox, which relays cannot promise;
     * csam_email_local refuses any byte outside atext. */
    if (csam_email_local(email, local) != CSAM_OK)
        return CSAM_ERR_EMAIL;
    if (csam_email_is_ascii(at + 1, len - local - 1)) {
        if (csam_email_domain(at + 1, len - local - 1) != CSAM_OK)
            return CSAM_ERR_EMAIL;
        memcpy(domain, at + 1, len - local);
    } else if (csam_email_domain_to_ascii(at + 1, len - local - 1, domain)
               != CSAM_OK) {
        return CSAM_ERR_EMAIL;
    }
    /* the wire form, too, within 254 bytes */
    if (local + 1 + strlen(domain) > CSAM_EMAIL_MAX
        || local + 1 + strlen(domain) >= outlen)
        return CSAM_ERR_EMAIL;
    memcpy(out, email, local + 1);
    memcpy(out + local + 1, domain, strlen(domain) + 1);
    return CSAM_OK;
}

csam_result csam_email_check(const char *email)
{
    char ascii[CSAM_EMAIL_MAX + 1];

    return csam_email_ascii(email, ascii, sizeof(ascii));
}

/* ----------------------------------------------------- username, text */

csam_result csam_username_check(const char *username)
{
    size_t len, i;
    char c;

    if (username == NULL)
        return CSAM_ERR_USERNAME;
    len = strnlen(username, CSAM_USERNAME_MAX + 1);
    if (len < CSAM_USERNAME_MIN || len > CSAM_USERNAME_MAX)
        return CSAM_ERR_USERNAME;
    if (!csam_validate_is_digit(username[0])
        && !(username[0] >= 'a' && username[0] <= 'z'))
        return CSAM_ERR_USERNAME;
    for (i = 0; i < len; i++) {
        c = username[i];
        if (!csam_validate_is_digit(c) && !(c >= 'a' && c <= 'z') && c != '.'
            && c != '_' && c != '-')
            return CSAM_ERR_USERNAME;
    }
    return CSAM_OK;
}

int csam_username_reserved(const struct csam_wordlist *list,
                           const char *username)
{
    if (username == NULL)
        return 0;
    /* Without a list (a host that loaded none), root at least. */
    if (strcasecmp(username, "root") == 0)
        return 1;
    return csam_wordlist_contains(list, username);
}

csam_result csam_text_check(const char *text, size_t max)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t len, i;
    ucs4_t uc;
    int n;

    if (text == NULL || max == 0)
        return CSAM_ERR_INVALID;
    len = strnlen(text, max + 1);
    if (len == 0 || len > max || u8_check(s, len) != NULL)
        return CSAM_ERR_INVALID;
    /* C0, DEL and C1 controls, and the Unicode line and paragraph
     * separators: none belongs in a name, and each can split a mail
     * header or a log line. */
    for (i = 0; i < len; i += (size_t)n) {
        n = u8_mbtouc(&uc, s + i, len - i);
        if (n <= 0 || uc < 0x20 || (uc >= 0x7f && uc <= 0x9f) || uc == 0x2028
            || uc == 0x2029)
            return CSAM_ERR_INVALID;
    }
    return CSAM_OK;
}

csam_result csam_language_check(const char *lang)
{
    static const char *const langs[] = {"fr", "nl", "de", "en"};
    size_t i;

    if (lang == NULL)
        return CSAM_ERR_INVALID;
    for (i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
        if (strcmp(lang, langs[i]) == 0)
            return CSAM_OK;
    return CSAM_ERR_INVALID;
}

csam_result csam_document_type_check(const char *type)
{
    static const char *const types[] = {"eid", "passport", "residence_card",
                                        "foreign_id"};
    size_t i;

    if (type == NULL)
        return CSAM_ERR_INVALID;
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            return CSAM_OK;
    return CSAM_ERR_INVALID;
}

/* ------------------------------------------------------------- phone */

static int csam_phone_is_filler(char c)
{
    return c == ' ' || c == '.' || c == '/' || c == '-' || c == '(' || c == ')';
}

csam_result csam_phone_normalize(const char *in, char out[CSAM_PHONE_SIZE])
{
    char digits[CSAM_PHONE_INPUT_MAX + 1];
    const char *intl, *nsn;
    size_t len, i, n = 0, nsnlen;
    int plus = 0;

    if (out != NULL)
        out[0] = '\0';
    if (in == NULL || out == NULL)
        return CSAM_ERR_PHONE;
    len = strnlen(in, CSAM_PHONE_INPUT_MAX + 1);
    if (len == 0 || len > CSAM_PHONE_INPUT_MAX)
        return CSAM_ERR_PHONE;

    for (i = 0; i < len; i++) {
        if (in[i] == '+') {
            if (plus || n > 0)
                return CSAM_ERR_PHONE;
            plus = 1;
        } else if (csam_validate_is_digit(in[i])) {
            digits[n++] = in[i];
        } else if (in[i] == '(' && plus && n > 0
                   && strncmp(in + i, "(0)", 3) == 0) {
            /* "+32 (0)470 ..." writes the national trunk prefix for
             * readers dialling at home: it is not part of the number. */
            i += 2;
        } else if (!csam_phone_is_filler(in[i])) {
            return CSAM_ERR_PHONE;
        }
    }
    digits[n] = '\0';

    if (plus)
        intl = digits;
    else if (n >= 2 && digits[0] == '0' && digits[1] == '0')
        intl = digits + 2;
    else if (n >= 1 && digits[0] == '0')
        intl = NULL; /* Belgian national format, below */
    else
        return CSAM_ERR_PHONE;

    if (intl == NULL) {
        nsn = digits + 1;
    } else {
        /* digits holds n digits and its NUL */
        len = n - (size_t)(intl - digits);
        if (len < CSAM_PHONE_DIGITS_MIN || len > CSAM_PHONE_DIGITS_MAX
            || intl[0] == '0')
            return CSAM_ERR_PHONE;
        if (strncmp(intl, "32", 2) != 0) {
            out[0] = '+';
            memcpy(out + 1, intl, len + 1);
            return CSAM_OK;
        }
        nsn = intl + 2;
    }

    /* Belgium: 8-digit fixed lines (2 740 79 92, Liège 4 222 11 11) and
     * 9-digit mobiles (470 12 34 56), nothing else; no trunk 0 after the
     * country code. */
    nsnlen = strlen(nsn);
    if (nsnlen < 8 || nsnlen > 9 || nsn[0] == '0'
        || (nsnlen == 9 && nsn[0] != '4'))
        return CSAM_ERR_PHONE;
    out[0] = '+';
    out[1] = '3';
    out[2] = '2';
    memcpy(out + 3, nsn, nsnlen + 1);
    return CSAM_OK;
}

/* The two-digit country calling codes (ITU-T E.164 assignments); every
 * other code of zones 2 to 9 has three digits, zones 1 and 7 have one. */
static int csam_phone_is_two_digit_code(const char *s)
{
    static const char codes[] =
        "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 "
        "55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98";
    size_t i;

    /* "NN " each, the last without its space */
    for (i = 0; i + 2 < sizeof(codes); i += 3)
        if (codes[i] == s[0] && codes[i + 1] == s[1])
            return 1;
    return 0;
}

/* s[0..n) is a digit run: is it a country calling code? */
static int csam_phone_code_ok(const char *s, size_t n)
{
    if (n == 0 || n > 3 || s[0] == '0')
        return 0;
    if (n == 1)
        return s[0] == '1' || s[0] == '7';
    if (n == 2)
        return csam_phone_is_two_digit_code(s);
    return s[0] != '1' && s[0] != '7' && !csam_phone_is_two_digit_code(s);
}

/* Walks a list of codes: calls fn for each well-formed one until it
 * returns nonzero.  Returns -1 for a malformed list (or too many codes),
 * 1 when fn stopped the walk, 0 otherwise. */
static int csam_phone_countries_walk(const char *list,
                                     int (*fn)(const char *code, size_t n,
                                               const void *ctx),
                                     const void *ctx)
{
    size_t count = 0, n;

    for (;;) {
        while (*list == ' ')
            list++;
        if (*list == '\0')
            return count == 0 ? -1 : 0;
        if (*list == '+')
            list++;
        for (n = 0; csam_validate_is_digit(list[n]); n++)
            if (n > 3)
                return -1;
        if (!csam_phone_code_ok(list, n) || (list[n] != ' ' && list[n] != '\0')
            || ++count > CSAM_PHONE_COUNTRIES_MAX)
            return -1;
        if (fn != NULL && fn(list, n, ctx))
            return 1;
        list += n;
    }
}

int csam_phone_countries_ok(const char *value)
{
    return value != NULL && csam_phone_countries_walk(value, NULL, NULL) == 0;
}

static int csam_phone_code_matches(const char *code, size_t n, const void *ctx)
{
    return strncmp((const char *)ctx, code, n) == 0;
}

int csam_phone_country_allowed(const char *e164, const char *countries)
{
    if (e164 == NULL || e164[0] != '+')
        return 0;
    if (countries == NULL)
        countries = CSAM_PHONE_COUNTRIES_DEFAULT;
    /* one malformed code makes the whole list worth nothing: a list that
     * did not pass csam_phone_countries_ok allows no number */
    if (!csam_phone_countries_ok(countries))
        return 0;
    return csam_phone_countries_walk(countries, csam_phone_code_matches,
                                     e164 + 1)
           == 1;
}

csam_result csam_phone_check(const char *in, const char *countries,
                             char out[CSAM_PHONE_SIZE])
{
    csam_result res = csam_phone_normalize(in, out);

    if (res != CSAM_OK)
        return res;
    if (!csam_phone_country_allowed(out, countries)) {
        out[0] = '\0';
        return CSAM_ERR_PHONE;
    }
    return CSAM_OK;
}

static int csam_authority_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}

int csam_authority_check(const char *s, size_t len, size_t *hostlen)
{
    size_t i = 0;

    if (s == NULL || len == 0)
        return 0;
    if (s[0] == '[') {
        while (i < len && s[i] != ']') {
            if (!(csam_authority_is_alnum(s[i]) || s[i] == ':' || s[i] == '.'
                  || s[i] == '['))
                return 0;
            i++;
        }
        if (i == len || i < 3)
            return 0;
        i++;
    } else {
        while (i < len && s[i] != ':') {
            if (!(csam_authority_is_alnum(s[i]) || s[i] == '-' || s[i] == '.'))
                return 0;
            i++;
        }
        if (i == 0)
            return 0;
    }
    if (hostlen != NULL)
        *hostlen = i;
    if (i < len) {
        size_t digits = len - i - 1;
        long port = 0;

        if (s[i] != ':' || digits == 0 || digits > 5)
            return 0;
        for (i++; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return 0;
            port = port * 10 + (s[i] - '0');
        }
        if (port < 1 || port > 65535)
            return 0;
    }
    return 1;
}
