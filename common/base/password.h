/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Passwords: policy, normalisation and Argon2id hashing.
 *
 * A password is NFKC-normalised before it is checked or hashed, so that
 * the same characters typed on two keyboards give the same hash.  Length is
 * counted in Unicode code points after normalisation and never truncated.
 */
#ifndef CSAM_COMMON_PASSWORD_H
#define CSAM_COMMON_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct csam_argon2_params {
    uint32_t t_cost;      /* iterations */
    uint32_t m_cost;      /* KiB */
    uint32_t parallelism; /* lanes */
};

/* The list of common passwords, loaded once (sorted, searched with
 * bsearch).  Opaque. */
typedef struct csam_wordlist csam_wordlist;

/* Load a file of one password per line ('#' comments and blank lines
 * skipped), compared case-insensitively after NFKC.  The caller frees it
 * with csam_wordlist_free().  Errors: CSAM_ERR_IO, CSAM_ERR_NOMEM. */
csam_result csam_wordlist_load(const char *path, csam_wordlist **out);
/* The same for several files read into one list (the shipped list and an
 * administrator's additions).  Every file must be readable: CSAM_ERR_IO
 * otherwise. */
csam_result csam_wordlist_load_files(const char *const *paths, size_t npaths,
                                     csam_wordlist **out);
void csam_wordlist_free(csam_wordlist *list);
/* 1 if word (any case, after NFKC and full case folding, so "STRASSE"
 * finds "straße") is in the list.  Also 1 when memory runs out, so that a
 * policy check fails closed; 0 for a NULL list. */
int csam_wordlist_contains(const csam_wordlist *list, const char *word);

struct csam_password_policy {
    size_t min_length;           /* code points; below 8 counts as 8 */
    size_t max_length;           /* code points */
    const csam_wordlist *common; /* may be NULL: no list check */
};

/* NFKC normalisation of a UTF-8 string.  Refuses invalid UTF-8 and control
 * characters (CSAM_ERR_INVALID).  *out is malloc'd; the caller wipes and
 * frees it with csam_password_release(). */
csam_result csam_password_normalize(const char *password, char **out);
void csam_password_release(char *normalized);

/* Check a (raw) password against the policy: length, not containing the
 * username (case-insensitive; username may be NULL), not on the common
 * list.  Input over 16 KiB is weak (too long) before any work is done.
 * Errors: CSAM_ERR_WEAK_PASSWORD, CSAM_ERR_INVALID (bad UTF-8 or a control
 * character), CSAM_ERR_NOMEM. */
csam_result csam_password_check(const struct csam_password_policy *policy,
                                const char *username, const char *password);

/* Argon2id PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") of the
 * normalised password with a fresh 16-byte salt.  *phc is malloc'd, owned
 * by the caller (free()).  Errors: CSAM_ERR_INVALID, CSAM_ERR_CRYPTO,
 * CSAM_ERR_NOMEM. */
csam_result csam_password_hash(const struct csam_argon2_params *params,
                               const char *password, char **phc);

/* Verify a password against a PHC string (any parameters the string names).
 * CSAM_OK when it matches, CSAM_ERR_BAD_CREDENTIALS when not (also for a
 * password that does not normalise, after the same Argon2id work);
 * CSAM_ERR_INVALID for a malformed PHC string, CSAM_ERR_NOMEM. */
csam_result csam_password_verify(const char *phc, const char *password);

/* Spend the same time as verifying a password under params, for an
 * unknown username, so both answers take the same time.  */
void csam_password_burn(const struct csam_argon2_params *params,
                        const char *password);

/* The version of the libunistring loaded at run time: major << 8 |
 * minor. */
int csam_password_unistring_version(void);

#endif
