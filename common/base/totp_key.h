/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mobile-app key (TOTP, RFC 6238) as the product provisions it: a
 * 160-bit secret from the CSPRNG, shown to the citizen as base32 and as an
 * otpauth:// URI (for the QR code), stored sealed (AES-256-GCM, bound to
 * its key's id), verified with one step of tolerance either side and never
 * the same step twice.
 *
 * Every key uses SHA-1, 6 digits and 30-second steps: what every common
 * authenticator app expects, and what the URI announces.  The schema
 * stores no per-key parameters, so these are constants, not settings.
 */
#ifndef CSAM_COMMON_TOTP_KEY_H
#define CSAM_COMMON_TOTP_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "result.h"

#define CSAM_TOTP_KEY_LEN 20     /* 160 bits (RFC 4226's recommendation) */
#define CSAM_TOTP_KEY_B32_LEN 32 /* base32 of 20 bytes, no padding */
#define CSAM_TOTP_KEY_B32_SIZE (CSAM_TOTP_KEY_B32_LEN + 1)
#define CSAM_TOTP_KEY_SEALED_LEN (CSAM_TOTP_KEY_LEN + CSAM_SEAL_OVERHEAD)
#define CSAM_TOTP_KEY_DIGITS 6
#define CSAM_TOTP_KEY_PERIOD 30       /* seconds per step */
#define CSAM_TOTP_KEY_WINDOW 1        /* steps accepted either side of now */
#define CSAM_TOTP_KEY_ISSUER_MAX 64   /* bytes of UTF-8 */
#define CSAM_TOTP_KEY_ACCOUNT_MAX 128 /* bytes of UTF-8 (username) */

/* A new secret from the CSPRNG.  Errors: CSAM_ERR_CRYPTO, CSAM_ERR_INVALID
 * (NULL key). */
csam_result csam_totp_key_new(unsigned char key[CSAM_TOTP_KEY_LEN]);

/* The secret as the citizen types it into an app: RFC 4648 base32, upper
 * case, no padding (32 characters).  Errors: CSAM_ERR_INVALID. */
csam_result csam_totp_key_base32(const unsigned char key[CSAM_TOTP_KEY_LEN],
                                 char out[CSAM_TOTP_KEY_B32_SIZE]);

/* 1 if issuer is acceptable (totp_issuer in csam.conf): valid UTF-8, 1..64
 * bytes, no control character and no ':' (apps split the label on it,
 * encoded or not). */
int csam_totp_key_issuer_ok(const char *issuer);

/* The provisioning URI
 *   otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>
 *       &algorithm=SHA1&digits=6&period=30
 * with issuer and account percent-encoded (everything but RFC 3986's
 * unreserved characters, so spaces, '@', '&', '#', '%' and non-ASCII bytes
 * cannot change the URI's structure).  account (the username) follows the
 * issuer's rules, up to 128 bytes.  *uri is malloc'd; it holds the secret:
 * the caller wipes it (csam_wipe) before freeing it.
 * Errors: CSAM_ERR_INVALID (bad issuer or account), CSAM_ERR_NOMEM. */
csam_result csam_totp_key_uri(const char *issuer, const char *account,
                              const unsigned char key[CSAM_TOTP_KEY_LEN],
                              char **uri);

/* Seal the secret for storage (csam_keys.totp_secret) under the secret
 * file's TOTP key, with the key row's id as associated data: a sealed
 * secret copied to another row does not open.  out receives exactly
 * CSAM_TOTP_KEY_SEALED_LEN bytes.  Errors: CSAM_ERR_CRYPTO,
 * CSAM_ERR_INVALID. */
csam_result csam_totp_key_seal(const csam_secret *secret, int64_t key_id,
                               const unsigned char key[CSAM_TOTP_KEY_LEN],
                               unsigned char out[CSAM_TOTP_KEY_SEALED_LEN]);

/* Open what csam_totp_key_seal made for the same key id.  key is wiped on
 * failure.  Errors: CSAM_ERR_CRYPTO (tampered, another row's or another
 * secret file's), CSAM_ERR_INVALID (wrong length). */
csam_result csam_totp_key_open(const csam_secret *secret, int64_t key_id,
                               const unsigned char *sealed, size_t len,
                               unsigned char key[CSAM_TOTP_KEY_LEN]);

/* Verify a typed code at unix time now (the database's clock): 6 digits,
 * spaces allowed between them ("123 456", as apps display it), steps
 * now-1..now+1, and a step <= last_step (the key's totp_last_step, -1 when
 * none) refused, so a code is never accepted twice.  On CSAM_OK
 * *matched_step is the step to store as the new totp_last_step (with a
 * condition that it is still greater than the stored one, so two
 * concurrent submissions of one code cannot both win).
 * Errors: CSAM_ERR_BAD_CODE (wrong, replayed, or not a code),
 * CSAM_ERR_INVALID, CSAM_ERR_CRYPTO. */
csam_result csam_totp_key_verify(const unsigned char key[CSAM_TOTP_KEY_LEN],
                                 int64_t now, int64_t last_step,
                                 const char *code, int64_t *matched_step);

/* csam_totp_key_open then csam_totp_key_verify; the opened secret is wiped
 * before returning.  Errors: those of both. */
csam_result csam_totp_key_verify_sealed(const csam_secret *secret,
                                        int64_t key_id,
                                        const unsigned char *sealed, size_t len,
                                        int64_t now, int64_t last_step,
                                        const char *code,
                                        int64_t *matched_step);

#endif
