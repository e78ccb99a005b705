/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Provisioning, storage and verification of the mobile-app key over the
 * RFC 6238 primitives of totp.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "totp.h"
#include "totp_key.h"
#include "validate.h"

/* Typed codes longer than this are not codes (digits and a few spaces). */
#define CSAM_TOTP_KEY_TYPED_MAX 16

csam_result csam_totp_key_new(unsigned char key[CSAM_TOTP_KEY_LEN])
{
    if (key == NULL)
        return CSAM_ERR_INVALID;
    return csam_random_bytes(key, CSAM_TOTP_KEY_LEN);
}

csam_result csam_totp_key_base32(const unsigned char key[CSAM_TOTP_KEY_LEN],
                                 char out[CSAM_TOTP_KEY_B32_SIZE])
{
    if (key == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    /* 20 bytes are 160 bits, exactly 32 symbols: no padding to strip */
    return csam_base32_encode(key, CSAM_TOTP_KEY_LEN, out)
                   == CSAM_TOTP_KEY_B32_LEN
               ? CSAM_OK
               : CSAM_ERR_INVALID;
}

static int csam_totp_key_label_ok(const char *s, size_t max)
{
    return s != NULL && csam_text_check(s, max) == CSAM_OK
           && strchr(s, ':') == NULL;
}

int csam_totp_key_issuer_ok(const char *issuer)
{
    return csam_totp_key_label_ok(issuer, CSAM_TOTP_KEY_ISSUER_MAX);
}

/* RFC 3986 unreserved characters pass; every other byte is %XX, so the
 * label and the query keep the structure this file gives them. */
static size_t csam_totp_key_encode(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0x0f];
        }
    }
    out[n] = '\0';
    return n;
}

csam_result csam_totp_key_uri(const char *issuer, const char *account,
                              const unsigned char key[CSAM_TOTP_KEY_LEN],
                              char **uri)
{
    char issuer_enc[3 * CSAM_TOTP_KEY_ISSUER_MAX + 1];
    char account_enc[3 * CSAM_TOTP_KEY_ACCOUNT_MAX + 1];
    char b32[CSAM_TOTP_KEY_B32_SIZE];
    size_t size;
    char *out;
    int n;

    if (uri != NULL)
        *uri = NULL;
    if (uri == NULL || key == NULL || !csam_totp_key_issuer_ok(issuer)
        || !csam_totp_key_label_ok(account, CSAM_TOTP_KEY_ACCOUNT_MAX))
        return CSAM_ERR_INVALID;
    csam_totp_key_encode(issuer, issuer_enc);
    csam_totp_key_encode(account, account_enc);
    if (csam_totp_key_base32(key, b32) != CSAM_OK)
        return CSAM_ERR_INVALID;

    size = 2 * strlen(issuer_enc) + strlen(account_enc) + sizeof(b32) + 128;
    out = malloc(size);
    if (out == NULL) {
        csam_wipe(b32, sizeof(b32));
        return CSAM_ERR_NOMEM;
    }
    /* The issuer goes in the label (older apps read only that) and in the
     * parameter (Google's Key Uri Format prefers it). */
    n = snprintf(out, size,
                 "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1"
                 "&digits=%d&period=%d",
                 issuer_enc, account_enc, b32, issuer_enc, CSAM_TOTP_KEY_DIGITS,
                 CSAM_TOTP_KEY_PERIOD);
    csam_wipe(b32, sizeof(b32));
    if (n < 0 || (size_t)n >= size) {
        csam_wipe(out, size);
        free(out);
        return CSAM_ERR_INVALID;
    }
    *uri = out;
    return CSAM_OK;
}

/* The associated data naming the row a sealed secret belongs to; the
 * prefix keeps it apart from anything else sealed under the same key. */
static size_t csam_totp_key_aad(int64_t key_id, char *buf, size_t size)
{
    int n = snprintf(buf, size, "csam/totp/v1:%" PRId64, key_id);

    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

csam_result csam_totp_key_seal(const csam_secret *secret, int64_t key_id,
                               const unsigned char key[CSAM_TOTP_KEY_LEN],
                               unsigned char out[CSAM_TOTP_KEY_SEALED_LEN])
{
    char aad[48];
    size_t aadlen = csam_totp_key_aad(key_id, aad, sizeof(aad));
    size_t outlen = 0;
    csam_result res;

    if (secret == NULL || key == NULL || out == NULL || aadlen == 0
        || key_id <= 0)
        return CSAM_ERR_INVALID;
    res = csam_seal(secret, aad, aadlen, key, CSAM_TOTP_KEY_LEN, out,
                    CSAM_TOTP_KEY_SEALED_LEN, &outlen);
    if (res == CSAM_OK && outlen != CSAM_TOTP_KEY_SEALED_LEN)
        res = CSAM_ERR_CRYPTO;
    if (res != CSAM_OK)
        csam_wipe(out, CSAM_TOTP_KEY_SEALED_LEN);
    return res;
}

csam_result csam_totp_key_open(const csam_secret *secret, int64_t key_id,
                               const unsigned char *sealed, size_t len,
                               unsigned char key[CSAM_TOTP_KEY_LEN])
{
    unsigned char plain[CSAM_TOTP_KEY_LEN];
    char aad[48];
    size_t aadlen = csam_totp_key_aad(key_id, aad, sizeof(aad));
    size_t outlen = 0;
    csam_result res;

    if (key != NULL)
        csam_wipe(key, CSAM_TOTP_KEY_LEN);
    if (secret == NULL || sealed == NULL || key == NULL || aadlen == 0
        || key_id <= 0 || len != CSAM_TOTP_KEY_SEALED_LEN)
        return CSAM_ERR_INVALID;
    /* A key sealed before the secret was replaced opens under the
     * previous one (csam-admin secret rekey seals it anew). */
    res = csam_open_any(secret, CSAM_PURPOSE_TOTP_SEAL, aad, aadlen, sealed,
                        len, plain, sizeof(plain), &outlen, NULL);
    if (res == CSAM_OK && outlen != CSAM_TOTP_KEY_LEN)
        res = CSAM_ERR_CRYPTO;
    if (res == CSAM_OK)
        memcpy(key, plain, CSAM_TOTP_KEY_LEN);
    csam_wipe(plain, sizeof(plain));
    return res;
}

/* Digits of a typed code with the spaces apps display removed; 0 when it
 * is not CSAM_TOTP_KEY_DIGITS digits.  Neither the length nor the
 * alphabet of a typed code is secret: early returns are fine here. */
static int csam_totp_key_clean(const char *code, char out[9])
{
    size_t i, n = 0, len;

    len = strnlen(code, CSAM_TOTP_KEY_TYPED_MAX + 1);
    if (len > CSAM_TOTP_KEY_TYPED_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        if (code[i] == ' ')
            continue;
        if (code[i] < '0' || code[i] > '9' || n == CSAM_TOTP_KEY_DIGITS)
            return 0;
        out[n++] = code[i];
    }
    out[n] = '\0';
    return n == CSAM_TOTP_KEY_DIGITS;
}

csam_result csam_totp_key_verify(const unsigned char key[CSAM_TOTP_KEY_LEN],
                                 int64_t now, int64_t last_step,
                                 const char *code, int64_t *matched_step)
{
    char digits[9];
    csam_result res;

    if (key == NULL || code == NULL || matched_step == NULL)
        return CSAM_ERR_INVALID;
    if (!csam_totp_key_clean(code, digits)) {
        csam_wipe(digits, sizeof(digits));
        return CSAM_ERR_BAD_CODE;
    }
    res = csam_totp_verify(CSAM_TOTP_SHA1, key, CSAM_TOTP_KEY_LEN, now,
                           CSAM_TOTP_KEY_PERIOD, CSAM_TOTP_KEY_DIGITS,
                           CSAM_TOTP_KEY_WINDOW, last_step, digits,
                           matched_step);
    csam_wipe(digits, sizeof(digits));
    return res;
}

csam_result csam_totp_key_verify_sealed(const csam_secret *secret,
                                        int64_t key_id,
                                        const unsigned char *sealed, size_t len,
                                        int64_t now, int64_t last_step,
                                        const char *code, int64_t *matched_step)
{
    unsigned char key[CSAM_TOTP_KEY_LEN];
    csam_result res;

    res = csam_totp_key_open(secret, key_id, sealed, len, key);
    if (res == CSAM_OK)
        res = csam_totp_key_verify(key, now, last_step, code, matched_step);
    csam_wipe(key, sizeof(key));
    return res;
}
