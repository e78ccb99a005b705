/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Randomness, codes, keyed hashes and the secret file.
 *
 * Every code and token comes from OpenSSL's CSPRNG (RAND_bytes).  Only
 * keyed hashes of codes and tokens are stored: HMAC-SHA-256 under a key
 * derived from the secret file with HKDF, one derived key per purpose, so a
 * hash made for one purpose never matches for another.
 */
#ifndef CSAM_COMMON_CRYPTO_H
#define CSAM_COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define CSAM_HASH_LEN 32            /* HMAC-SHA-256 output */
#define CSAM_KEY_LEN 32             /* each key derived from the secret */
#define CSAM_SECRET_MIN 32          /* bytes a secret file must hold */
#define CSAM_SECRET_MAX 4096        /* and at most (larger: wrong file) */
#define CSAM_ACTIVATION_CODE_LEN 14 /* K7QF-M2XD-9RTA: 12 symbols, 60 bits */
#define CSAM_ACTIVATION_CODE_SIZE (CSAM_ACTIVATION_CODE_LEN + 1)
#define CSAM_TOKEN_LEN 43 /* 256 bits, base64url without padding */
#define CSAM_TOKEN_SIZE (CSAM_TOKEN_LEN + 1)
#define CSAM_SECURITY_CODE_MAX 8 /* digits */

/* Purposes of keyed hashes and derived keys.  Stored hashes depend on
 * these numbers through their labels: never renumber, only append. */
enum csam_purpose {
    CSAM_PURPOSE_ACTIVATION_CODE = 0, /* paper code */
    CSAM_PURPOSE_LINK_TOKEN,          /* token in the e-mailed link */
    CSAM_PURPOSE_FLOW_HANDLE,         /* activation / login handles */
    CSAM_PURPOSE_KEY_CONFIRM,         /* code confirming a new key */
    CSAM_PURPOSE_WEB_LOGIN,           /* code for a web login */
    CSAM_PURPOSE_PAM_LOGIN,           /* code for a PAM login */
    CSAM_PURPOSE_SESSION,             /* session cookie */
    CSAM_PURPOSE_CSRF,                /* CSRF tokens */
    CSAM_PURPOSE_TOTP_SEAL,           /* AES-256-GCM key for TOTP secrets */
    CSAM_PURPOSE_COOKIE_SIGN,         /* signed flow cookies */
    CSAM_PURPOSE_NATIONAL_NUMBER,     /* national register / BIS numbers */
    CSAM_PURPOSE_NRN_SEAL,            /* AES-256-GCM key for national numbers */
    CSAM_PURPOSE_SUBJECT,             /* CSAM_SUBJECT, the person's pseudonym */
    CSAM_PURPOSE_INSTALLATION, /* the secret's fingerprint (csam-admin) */
    CSAM_PURPOSE_COUNT
};

/* Opaque: the secret file's bytes and the keys derived from them. */
typedef struct csam_secret csam_secret;

/* Read the secret file.  Refuses a file shorter than CSAM_SECRET_MIN bytes
 * or longer than CSAM_SECRET_MAX, or not a regular file (CSAM_ERR_CONFIG);
 * one that others can read or anyone but its owner can write, owned by
 * neither root nor the calling effective user, readable by a group other
 * than root's (gid 0), or in a directory that its group or others can
 * write (csam_file_check_dirs) (CSAM_ERR_INSECURE: modes 0600, 0400,
 * and 0640, 0440 with group root).
 * The raw bytes are wiped once the keys are derived; only the keys stay.
 * The caller owns *out and frees it with csam_secret_free(), which wipes it.
 * Errors: CSAM_ERR_IO, CSAM_ERR_INSECURE, CSAM_ERR_CONFIG, CSAM_ERR_CRYPTO,
 * CSAM_ERR_NOMEM; a message in err. */
csam_result csam_secret_load(const char *path, csam_secret **out, char *err,
                             size_t errlen);

/* Same, and group read is also allowed for the group named group (the
 * secret_group setting; NULL: root's only), for a PAM application that
 * does not run as root. */
csam_result csam_secret_load_group(const char *path, const char *group,
                                   csam_secret **out, char *err, size_t errlen);

/* Same, from bytes in memory (CSAM_SECRET_MIN..CSAM_SECRET_MAX, else
 * CSAM_ERR_CONFIG).  Errors: CSAM_ERR_CONFIG, CSAM_ERR_CRYPTO,
 * CSAM_ERR_NOMEM. */
csam_result csam_secret_from_bytes(const void *bytes, size_t len,
                                   csam_secret **out);

void csam_secret_free(csam_secret *secret);

/* The CSAM_KEY_LEN-byte key derived for a purpose with HKDF-SHA-256
 * (no salt, info "csam/v1/<label>"); valid while secret lives.  NULL for a
 * purpose out of range. */
const unsigned char *csam_secret_key(const csam_secret *secret,
                                     enum csam_purpose purpose);

/* out = HMAC-SHA-256(key(purpose), data). */
csam_result csam_keyed_hash(const csam_secret *secret,
                            enum csam_purpose purpose, const void *data,
                            size_t len, unsigned char out[CSAM_HASH_LEN]);

/* Constant-time equality of two buffers of n bytes: 1 if equal. */
int csam_ct_equal(const void *a, const void *b, size_t n);

/* Fill buf with n bytes from the CSPRNG.  Errors: CSAM_ERR_CRYPTO,
 * CSAM_ERR_INVALID (NULL buf, n > INT_MAX). */
csam_result csam_random_bytes(void *buf, size_t n);

/* A new activation code: 12 symbols from an unambiguous 32-symbol alphabet
 * (no 0/O, 1/I), grouped by four with '-'.  Errors: CSAM_ERR_CRYPTO. */
csam_result csam_activation_code_new(char out[CSAM_ACTIVATION_CODE_SIZE]);

/* Canonical form of a typed activation code: case folded, spaces and '-'
 * removed, symbols outside the alphabet refused.  Writes the 12 symbols
 * grouped as csam_activation_code_new does.
 * Errors: CSAM_ERR_INVALID (wrong length or symbol). */
csam_result csam_activation_code_normalize(const char *typed,
                                           char out[CSAM_ACTIVATION_CODE_SIZE]);

/* A new 256-bit token, base64url without padding.  Errors: CSAM_ERR_CRYPTO. */
csam_result csam_token_new(char out[CSAM_TOKEN_SIZE]);

/* 1 if s has the exact shape of a token (43 base64url characters, the
 * last one canonical for 256 bits). */
int csam_token_valid(const char *s);

/* A uniformly distributed numeric code of `digits` digits (6..8).
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_CRYPTO. */
csam_result csam_security_code_new(unsigned digits, char *out, size_t outlen);

/* base64url (RFC 4648 section 5) without padding.  out must hold
 * 4 * ceil(len / 3) + 1 bytes.  Returns the length written. */
size_t csam_base64url_encode(const void *data, size_t len, char *out);

/* The len characters at in as strict base64 without padding: RFC 4648's
 * url alphabet (section 5) when url is 1, the standard one (section 4)
 * when 0; every character from it, and the last one's spare bits zero, so
 * that each value has one spelling.  The bytes go to out (at most
 * outsize); returns their number, or -1 for anything else. */
long csam_base64_decode(const char *in, size_t len, int url, unsigned char *out,
                        size_t outsize);

/* Seal / open a small secret (a TOTP key, at most 4096 bytes) with
 * AES-256-GCM under the CSAM_PURPOSE_TOTP_SEAL key; the sealed form is
 * nonce || ciphertext || tag (12 + len + 16 bytes: CSAM_SEAL_OVERHEAD).
 * aad binds it to its owner (e.g. the key id).  open wipes out on failure.
 * Errors: CSAM_ERR_CRYPTO (open: also when tampered), CSAM_ERR_INVALID. */
#define CSAM_SEAL_OVERHEAD 28
csam_result csam_seal(const csam_secret *secret, const void *aad, size_t aadlen,
                      const void *plain, size_t len, unsigned char *out,
                      size_t outsize, size_t *outlen);
csam_result csam_open(const csam_secret *secret, const void *aad, size_t aadlen,
                      const unsigned char *sealed, size_t len,
                      unsigned char *out, size_t outsize, size_t *outlen);

/* csam_seal / csam_open under another sealing key: purpose is
 * CSAM_PURPOSE_TOTP_SEAL or CSAM_PURPOSE_NRN_SEAL (anything else is
 * CSAM_ERR_INVALID), so that a sealed national number never opens as a
 * TOTP key, nor the other way round. */
csam_result csam_seal_purpose(const csam_secret *secret,
                              enum csam_purpose purpose, const void *aad,
                              size_t aadlen, const void *plain, size_t len,
                              unsigned char *out, size_t outsize,
                              size_t *outlen);
csam_result csam_open_purpose(const csam_secret *secret,
                              enum csam_purpose purpose, const void *aad,
                              size_t aadlen, const unsigned char *sealed,
                              size_t len, unsigned char *out, size_t outsize,
                              size_t *outlen);

/* ---- rollover ----------------------------------------------------------
 * While the secret is replaced, the new file is current and the one it
 * replaces is attached to it as the previous secret.  Everything made
 * (hashes to store, seals, cookies) is made under the current secret; what
 * was stored or handed out under the previous one is still found (a lookup
 * by keyed hash that misses under the current secret is repeated under
 * csam_secret_previous()) and opened (csam_open_any).  Once csam-admin
 * has re-keyed what lives long and the longest session or code made before
 * the switch has expired, the previous file is removed. */

/* Attach previous to secret, which takes it over (csam_secret_free frees
 * both).  Errors: CSAM_ERR_INVALID (NULL, secret already has one, previous
 * has one of its own), CSAM_ERR_CONFIG (the same secret twice); on error
 * the caller keeps previous. */
csam_result csam_secret_attach_previous(csam_secret *secret,
                                        csam_secret *previous);

/* The previous secret attached to secret, or NULL. */
const csam_secret *csam_secret_previous(const csam_secret *secret);

/* The secret's fingerprint: HMAC-SHA-256 of a fixed label under the
 * CSAM_PURPOSE_INSTALLATION key.  It identifies the secret (what
 * csam_installation records) and tells nothing of it. */
csam_result csam_secret_fingerprint(const csam_secret *secret,
                                    unsigned char out[CSAM_HASH_LEN]);

/* csam_open_purpose under the current secret and, when its tag does not
 * match and a previous secret is attached, under the previous one.
 * *by_previous (may be NULL) is set to 1 when the previous secret opened
 * it, else 0.  Errors: those of csam_open_purpose. */
csam_result csam_open_any(const csam_secret *secret, enum csam_purpose purpose,
                          const void *aad, size_t aadlen,
                          const unsigned char *sealed, size_t len,
                          unsigned char *out, size_t outsize, size_t *outlen,
                          int *by_previous);

/* Overwrite n bytes at p with zeros in a way the compiler keeps. */
void csam_wipe(void *p, size_t n);

/* The version of the OpenSSL loaded at run time ("OpenSSL 3.0.x ..."):
 * static. */
const char *csam_crypto_openssl_version(void);

#endif
