/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HOTP (RFC 4226), TOTP (RFC 6238) and RFC 4648 base32.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "totp.h"

/* RFC 4226 wants at least 128-bit keys and recommends 160; a key over a
 * kilobyte is not a TOTP secret anyone provisioned. */
#define CSAM_TOTP_KEY_MAX 1024
/* Steps accepted either side of now; more would turn a 6-digit code into
 * a guessable one. */
#define CSAM_TOTP_WINDOW_MAX 10

static const char csam_base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static const char *csam_totp_digest(enum csam_totp_alg alg)
{
    switch (alg) {
    case CSAM_TOTP_SHA1: return "SHA1";
    case CSAM_TOTP_SHA256: return "SHA256";
    case CSAM_TOTP_SHA512: return "SHA512";
    }
    return NULL;
}

csam_result csam_hotp(enum csam_totp_alg alg, const unsigned char *key,
                      size_t keylen, uint64_t counter, unsigned digits,
                      char *out, size_t outlen)
{
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    const char *digest = csam_totp_digest(alg);
    size_t maclen = 0, offset;
    uint32_t binary, modulus = 1;
    unsigned i;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (digest == NULL || key == NULL || keylen == 0
        || keylen > CSAM_TOTP_KEY_MAX || digits < 6 || digits > 8 || out == NULL
        || outlen < digits + 1)
        return CSAM_ERR_INVALID;

    for (i = 0; i < 8; i++)
        msg[i] = (unsigned char)(counter >> (56 - 8 * i));
    if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key, keylen, msg,
                  sizeof(msg), mac, sizeof(mac), &maclen)
            == NULL
        || maclen < 20)
        return CSAM_ERR_CRYPTO;

    /* Dynamic truncation, RFC 4226 section 5.3. */
    offset = mac[maclen - 1] & 0x0f;
    binary = (uint32_t)(mac[offset] & 0x7f) << 24
             | (uint32_t)mac[offset + 1] << 16 | (uint32_t)mac[offset + 2] << 8
             | (uint32_t)mac[offset + 3];
    csam_wipe(mac, sizeof(mac));
    for (i = 0; i < digits; i++)
        modulus *= 10;
    binary %= modulus;
    for (i = digits; i > 0; i--) {
        out[i - 1] = (char)('0' + binary % 10);
        binary /= 10;
    }
    out[digits] = '\0';
    return CSAM_OK;
}

csam_result csam_totp_verify(enum csam_totp_alg alg, const unsigned char *key,
                             size_t keylen, int64_t now, unsigned period,
                             unsigned digits, unsigned window,
                             int64_t last_step, const char *code,
                             int64_t *matched_step)
{
    char expected[9];
    int64_t step, first, last, s, found = -1;
    csam_result res;
    size_t i;

    if (key == NULL || keylen == 0 || code == NULL || matched_step == NULL
        || now < 0 || period == 0 || digits < 6 || digits > 8
        || window > CSAM_TOTP_WINDOW_MAX || last_step < -1
        || csam_totp_digest(alg) == NULL)
        return CSAM_ERR_INVALID;
    /* The length and the alphabet of what was typed are not secret. */
    if (strnlen(code, digits + 1) != digits)
        return CSAM_ERR_BAD_CODE;
    for (i = 0; i < digits; i++)
        if (code[i] < '0' || code[i] > '9')
            return CSAM_ERR_BAD_CODE;

    step = now / (int64_t)period;
    if (step > INT64_MAX - (int64_t)window)
        return CSAM_ERR_INVALID;
    first = step - (int64_t)window;
    last = step + (int64_t)window;
    if (first < 0)
        first = 0;
    /* Every step in the window is computed and compared, matched or not,
     * so the time taken does not say which step matched.  The latest
     * matching step wins: storing it refuses the most replays. */
    for (s = first; s <= last; s++) {
        res = csam_hotp(alg, key, keylen, (uint64_t)s, digits, expected,
                        sizeof(expected));
        if (res != CSAM_OK) {
            csam_wipe(expected, sizeof(expected));
            return res;
        }
        if (csam_ct_equal(expected, code, digits) && s > last_step)
            found = s;
    }
    csam_wipe(expected, sizeof(expected));
    if (found < 0)
        return CSAM_ERR_BAD_CODE;
    *matched_step = found;
    return CSAM_OK;
}

size_t csam_base32_encode(const unsigned char *data, size_t len, char *out)
{
    uint32_t buffer = 0;
    size_t i, j = 0;
    int bits = 0;

    for (i = 0; i < len; i++) {
        buffer = (buffer << 8) | data[i];
        bits += 8;
        while (bits >= 5) {
            out[j++] = csam_base32_alphabet[(buffer >> (bits - 5)) & 0x1f];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[j++] = csam_base32_alphabet[(buffer << (5 - bits)) & 0x1f];
    out[j] = '\0';
    return j;
}

csam_result csam_base32_decode(const char *in, unsigned char *out,
                               size_t outsize, size_t *outlen)
{
    uint32_t buffer = 0;
    size_t j = 0;
    const char *hit;
    int bits = 0;
    char c;

    if (outlen != NULL)
        *outlen = 0;
    if (in == NULL || outlen == NULL || (out == NULL && outsize > 0))
        return CSAM_ERR_INVALID;
    for (; *in != '\0'; in++) {
        c = *in;
        if (c == '=' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        hit = strchr(csam_base32_alphabet, c);
        if (hit == NULL) {
            csam_wipe(out, j);
            return CSAM_ERR_INVALID;
        }
        buffer = (buffer << 5) | (uint32_t)(hit - csam_base32_alphabet);
        bits += 5;
        if (bits >= 8) {
            if (j == outsize) {
                csam_wipe(out, j);
                return CSAM_ERR_INVALID;
            }
            out[j++] = (unsigned char)(buffer >> (bits - 8));
            bits -= 8;
        }
    }
    *outlen = j;
    return CSAM_OK;
}
