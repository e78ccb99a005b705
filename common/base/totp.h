/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HOTP (RFC 4226) and TOTP (RFC 6238), and the base32 of otpauth:// URIs.
 * Time is always passed in, never read here, so tests and the database
 * clock decide what "now" is.
 */
#ifndef CSAM_COMMON_TOTP_H
#define CSAM_COMMON_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

enum csam_totp_alg { CSAM_TOTP_SHA1 = 0, CSAM_TOTP_SHA256, CSAM_TOTP_SHA512 };

/* HOTP value for a counter, as a zero-padded string of `digits` (6..8)
 * digits; keylen 1..1024.  Errors: CSAM_ERR_INVALID, CSAM_ERR_CRYPTO. */
csam_result csam_hotp(enum csam_totp_alg alg, const unsigned char *key,
                      size_t keylen, uint64_t counter, unsigned digits,
                      char *out, size_t outlen);

/* Verify a TOTP code at unix time `now` with step `period` seconds,
 * accepting steps now-window..now+window.  A step <= last_step (the last
 * step accepted for this key, or -1) is refused, so no code is used twice.
 * On success *matched_step receives the step to store as the new last_step.
 * Returns CSAM_OK or CSAM_ERR_BAD_CODE (also for a code that is not
 * `digits` digits); CSAM_ERR_INVALID for bad arguments (window > 10,
 * period 0, now < 0, ...).  The comparison is constant-time and every step
 * of the window is computed whether or not one matched. */
csam_result csam_totp_verify(enum csam_totp_alg alg, const unsigned char *key,
                             size_t keylen, int64_t now, unsigned period,
                             unsigned digits, unsigned window,
                             int64_t last_step, const char *code,
                             int64_t *matched_step);

/* RFC 4648 base32 without padding (for otpauth:// secrets).  out must hold
 * 8 * ceil(len / 5) + 1 bytes.  Returns the length written. */
size_t csam_base32_encode(const unsigned char *data, size_t len, char *out);

/* Decode base32 (case-insensitive, padding and spaces ignored).
 * Errors: CSAM_ERR_INVALID (bad symbol or out too small). */
csam_result csam_base32_decode(const char *in, unsigned char *out,
                               size_t outsize, size_t *outlen);

#endif
