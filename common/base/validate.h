/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of citizen data at the edge: national register and BIS
 * numbers, dates, e-mail addresses, usernames, free text, languages.
 */
#ifndef CSAM_COMMON_VALIDATE_H
#define CSAM_COMMON_VALIDATE_H

#include <stddef.h>

#include "result.h"

#define CSAM_NRN_DIGITS 11
#define CSAM_NRN_SIZE (CSAM_NRN_DIGITS + 1)
#define CSAM_EMAIL_MAX 254
#define CSAM_USERNAME_MIN 3
#define CSAM_USERNAME_MAX 64
#define CSAM_USERNAME_BUFSIZE (CSAM_USERNAME_MAX + 1)
#define CSAM_NAME_MAX 100 /* first / last name, bytes */
#define CSAM_DOCNUM_MAX 32
#define CSAM_PHONE_SIZE 17 /* "+" and up to 15 digits, E.164 */

struct csam_date {
    int year, month, day; /* month/day 0 when the number does not say */
};

/* Parse a national register or BIS number: 11 digits, with '.', '-' or
 * spaces allowed between them ("85.07.30-033.28"), never before the first
 * or after the last.  Checks modulo 97 for births before and after 2000
 * (the rule that matches gives the century) and that the encoded date is
 * possible (BIS: month + 20 or + 40).  At most 32 bytes of input.
 * Writes the 11 digits to out and the encoded birth date to birth (may be
 * NULL; month and day are 0 where the number leaves them unknown).
 * Errors: CSAM_ERR_NATIONAL_NUMBER. */
csam_result csam_nrn_parse(const char *in, char out[CSAM_NRN_SIZE],
                           struct csam_date *birth);

/* 1 if a birth date agrees with the date encoded in a parsed number
 * (unknown month or day in the number match anything). */
int csam_nrn_matches_birth(const struct csam_date *encoded,
                           const struct csam_date *birth);

/* Parse "YYYY-MM-DD" (a real calendar date, 1900..2199).
 * Errors: CSAM_ERR_INVALID. */
csam_result csam_date_parse(const char *in, struct csam_date *out);

/* An e-mail address we are willing to send to: <= 254 bytes, no control
 * characters or spaces, one '@', a dot-atom local part (<= 64 bytes) and a
 * domain of LDH labels (<= 63 bytes, no '-' at either end) with at least
 * one dot, the last label not all digits.  The local part is ASCII (no
 * SMTPUTF8); the domain may be typed in Unicode (citoyen@exemple-été.be),
 * and is then checked in its A-label form (IDNA2008, UTS #46
 * non-transitional), which must follow the same rules and keep the whole
 * address within 254 bytes.
 * Errors: CSAM_ERR_EMAIL. */
csam_result csam_email_check(const char *email);

/* The form of email that goes on the wire (SMTP envelope, To header): the
 * address as it is when ASCII, its domain in A-label form otherwise
 * ("citoyen@xn--exemple-t-i4ab.be").  Fails exactly where
 * csam_email_check() fails.  out: outlen bytes (CSAM_EMAIL_MAX + 1 fits
 * every address), "" on error.
 * Errors: CSAM_ERR_EMAIL. */
csam_result csam_email_ascii(const char *email, char *out, size_t outlen);

/* Username: 3..64 characters of [a-z0-9._-], starting with a letter or a
 * digit, so that it is also a valid Linux account name for pam_csam.
 * Upper case is refused rather than folded, so one name has one spelling.
 * Errors: CSAM_ERR_USERNAME. */
csam_result csam_username_check(const char *username);

struct csam_wordlist;

/* 1 if no citizen may take username, in any case: root always, and every
 * name of list (the shipped reserved-usernames.txt, system and service
 * accounts, and an administrator's additions; may be NULL).  pam_csam maps
 * Linux accounts to CSAM usernames by name, so a citizen holding "root"
 * would hold the second factor of the host's root. */
int csam_username_reserved(const struct csam_wordlist *list,
                           const char *username);

/* Free text (names, document numbers): valid UTF-8, 1..max bytes, no
 * control character (C0, DEL, C1, U+2028, U+2029).
 * Errors: CSAM_ERR_INVALID. */
csam_result csam_text_check(const char *text, size_t max);

/* 1 if s[0..len) is the host[:port] of an http(s) or smtp URL: a
 * registered name (letters, digits, '-', '.'), an IPv4 address or a
 * bracketed IPv6 address, no userinfo, and a port of 1 to 5 digits in
 * 1..65535 when given.  *hostlen (may be NULL) receives the host's length,
 * brackets included. */
int csam_authority_check(const char *s, size_t len, size_t *hostlen);

/* One of "fr", "nl", "de", "en".  Errors: CSAM_ERR_INVALID. */
csam_result csam_language_check(const char *lang);

/* One of "eid", "passport", "residence_card", "foreign_id".
 * Errors: CSAM_ERR_INVALID. */
csam_result csam_document_type_check(const char *type);

/* Normalise a phone number to E.164: spaces, '.', '/', '-' and '()'
 * dropped, and "(0)" after a country code; "00" read as "+"; a Belgian
 * national number ("04xx...", "0x...") becomes "+32...".  8..15 digits
 * after '+'; for +32, 8 digits (fixed lines) or 9 starting with 4
 * (mobiles).  Errors: CSAM_ERR_PHONE. */
csam_result csam_phone_normalize(const char *in, char out[CSAM_PHONE_SIZE]);

/* The country calling codes SMS may go to when nothing else is configured
 * (sms_countries): Belgium, the other 26 EU members, then Iceland,
 * Liechtenstein and Norway (EEA).  +44, +41, +1 and +7 are not in it. */
#define CSAM_PHONE_COUNTRIES_DEFAULT                                           \
    "32 30 31 33 34 36 39 40 43 45 46 48 49 351 352 353 356 357 358 359 "      \
    "370 371 372 385 386 420 421 354 423 47"
#define CSAM_PHONE_COUNTRIES_MAX 300 /* codes in one list */

/* 1 when value is a list of country calling codes separated by spaces,
 * each optionally written with a leading '+', at most
 * CSAM_PHONE_COUNTRIES_MAX of them.  A code is "1" or "7", one of the
 * two-digit codes ITU-T E.164 assigns (30, 31, 32, 33, 34, 36, 39, 44, ...),
 * or three digits that do not begin with one of those: the codes are a
 * prefix code, so "35" (which would take in Gibraltar +350 and Portugal
 * +351 alike) or "3" are refused rather than read as a wildcard. */
int csam_phone_countries_ok(const char *value);

/* 1 when the E.164 number e164 ("+..." as csam_phone_normalize writes it)
 * begins with one of the codes of countries (NULL:
 * CSAM_PHONE_COUNTRIES_DEFAULT); codes that csam_phone_countries_ok would
 * refuse never match. */
int csam_phone_country_allowed(const char *e164, const char *countries);

/* csam_phone_normalize, then csam_phone_country_allowed: the check for a
 * number a code may be sent to.  out is "" on error.
 * Errors: CSAM_ERR_PHONE. */
csam_result csam_phone_check(const char *in, const char *countries,
                             char out[CSAM_PHONE_SIZE]);

#endif
