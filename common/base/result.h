/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Result codes shared by every libcsam function.
 *
 * Both modules map these to their own world (HTTP status + API error code,
 * PAM return value) in exactly one place each.
 */
#ifndef CSAM_COMMON_RESULT_H
#define CSAM_COMMON_RESULT_H

#include <stddef.h>

typedef enum csam_result {
    CSAM_OK = 0,
    CSAM_ERR_NOMEM,             /* allocation failed */
    CSAM_ERR_INVALID,           /* malformed or out-of-range input */
    CSAM_ERR_NATIONAL_NUMBER,   /* NRN/BIS checksum or birth date mismatch */
    CSAM_ERR_EMAIL,             /* not an acceptable e-mail address */
    CSAM_ERR_PHONE,             /* not an acceptable phone number */
    CSAM_ERR_USERNAME,          /* username outside the allowed syntax */
    CSAM_ERR_TERMS,             /* terms of use not accepted */
    CSAM_ERR_PASSWORD_MISMATCH, /* password and its repetition differ */
    CSAM_ERR_WEAK_PASSWORD,     /* password policy refused it */
    CSAM_ERR_BAD_CODE,          /* wrong paper or security code */
    CSAM_ERR_BAD_CREDENTIALS,   /* wrong password or unknown username */
    CSAM_ERR_STATE,             /* step out of order */
    CSAM_ERR_USERNAME_TAKEN,    /* username already in use */
    CSAM_ERR_EXPIRED,           /* unknown, expired, used or superseded */
    CSAM_ERR_LOCKED,            /* attempts exhausted */
    CSAM_ERR_TOO_SOON,          /* a code asked for again before the resend
                                   cooldown */
    CSAM_ERR_REAUTH,            /* the session is too old for this change:
                                   the password is asked again */
    CSAM_ERR_NOT_FOUND,         /* no such account */
    CSAM_ERR_MAIL,              /* mail relay or SMS gateway failed */
    CSAM_ERR_DB,                /* database unreachable or failing */
    CSAM_ERR_SCHEMA,            /* database schema older than required */
    CSAM_ERR_CONFIG,            /* bad configuration */
    CSAM_ERR_IO,                /* file could not be read */
    CSAM_ERR_CRYPTO,            /* OpenSSL or libargon2 failed */
    CSAM_ERR_INSECURE,          /* file permissions or ownership unsafe */
    CSAM_ERR_BUSY,              /* too much work at once: try again soon */
    CSAM_ERR_USERNAME_KEPT      /* a recovery names another username than
                                   the account's own */
} csam_result;

/* A stable, lower-case identifier for a result ("ok", "expired", ...).
 * Never NULL; the string is static. */
const char *csam_result_name(csam_result res);

/* Write a printf-style message into the caller's error buffer err of
 * errlen bytes (cut to fit, always terminated); err NULL or errlen 0 is
 * allowed and writes nothing.  Every "char *err, size_t errlen" of
 * libcsam is filled through this one function. */
void csam_error_set(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
