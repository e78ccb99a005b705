/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secret file, the keys derived from it, keyed hashes and sealing;
 * codes and tokens drawn from the CSPRNG.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "file_check.h"
#include "log.h"

#define CSAM_SEAL_NONCE_LEN 12
#define CSAM_SEAL_TAG_LEN 16
#define CSAM_SEAL_MAX 4096
_Static_assert(CSAM_SEAL_NONCE_LEN + CSAM_SEAL_TAG_LEN == CSAM_SEAL_OVERHEAD,
               "crypto.h documents the sealed layout");

struct csam_secret {
    unsigned char keys[CSAM_PURPOSE_COUNT][CSAM_KEY_LEN];
    /* Fetched once: fetching per call takes a lock in the provider store
     * on every request, and these are immutable and shareable between
     * threads once fetched. */
    EVP_MAC *hmac;
    EVP_CIPHER *gcm;
    /* The secret this one replaces, while a rollover lasts (owned). */
    csam_secret *previous;
};

/* What the fingerprint hashes; csam_installation rows depend on it. */
#define CSAM_FINGERPRINT_LABEL "csam installation secret fingerprint v1"

/* HKDF info labels, "csam/v1/<label>".  Stored hashes depend on them:
 * never change one, only append. */
static const char *const csam_secret_labels[CSAM_PURPOSE_COUNT] = {
    [CSAM_PURPOSE_ACTIVATION_CODE] = "activation-code",
    [CSAM_PURPOSE_LINK_TOKEN] = "link-token",
    [CSAM_PURPOSE_FLOW_HANDLE] = "flow-handle",
    [CSAM_PURPOSE_KEY_CONFIRM] = "key-confirm",
    [CSAM_PURPOSE_WEB_LOGIN] = "web-login",
    [CSAM_PURPOSE_PAM_LOGIN] = "pam-login",
    [CSAM_PURPOSE_SESSION] = "session",
    [CSAM_PURPOSE_CSRF] = "csrf",
    [CSAM_PURPOSE_TOTP_SEAL] = "totp-seal",
    [CSAM_PURPOSE_COOKIE_SIGN] = "cookie-sign",
    [CSAM_PURPOSE_NATIONAL_NUMBER] = "national-number",
    [CSAM_PURPOSE_NRN_SEAL] = "national-number-seal",
    [CSAM_PURPOSE_SUBJECT] = "subject",
    [CSAM_PURPOSE_INSTALLATION] = "installation",
};

void csam_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        OPENSSL_cleanse(p, n);
}

int csam_ct_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 1;
    return CRYPTO_memcmp(a, b, n) == 0;
}

static int csam_secret_purpose_valid(enum csam_purpose purpose)
{
    return (unsigned)purpose < (unsigned)CSAM_PURPOSE_COUNT;
}

/* One HKDF-SHA-256 per purpose over the file's bytes (RFC 5869, no salt:
 * the input is already uniformly random key material). */
/* The keys AES-256-GCM seals with: never a hashing key. */
static int csam_secret_sealing_purpose(enum csam_purpose purpose)
{
    return purpose == CSAM_PURPOSE_TOTP_SEAL
           || purpose == CSAM_PURPOSE_NRN_SEAL;
}

static csam_result csam_secret_derive(csam_secret *secret,
                                      const unsigned char *ikm, size_t len)
{
    char digest[] = "SHA256";
    char info[64];
    OSSL_PARAM params[4];
    EVP_KDF *kdf;
    EVP_KDF_CTX *kctx;
    csam_result res = CSAM_OK;
    size_t i;
    int infolen;

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL)
        return CSAM_ERR_CRYPTO;
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return CSAM_ERR_CRYPTO;

    for (i = 0; i < CSAM_PURPOSE_COUNT && res == CSAM_OK; i++) {
        if (csam_secret_labels[i] == NULL) {
            res = CSAM_ERR_CRYPTO;
            break;
        }
        infolen = snprintf(info, sizeof(info), "csam/v1/%s",
                           csam_secret_labels[i]);
        if (infolen < 0 || (size_t)infolen >= sizeof(info)) {
            res = CSAM_ERR_CRYPTO;
            break;
        }
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                     digest, 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                      (void *)ikm, len);
        params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
                                                      (size_t)infolen);
        params[3] = OSSL_PARAM_construct_end();
        if (EVP_KDF_derive(kctx, secret->keys[i], CSAM_KEY_LEN, params) != 1)
            res = CSAM_ERR_CRYPTO;
    }
    EVP_KDF_CTX_free(kctx);
    return res;
}

csam_result csam_secret_from_bytes(const void *bytes, size_t len,
                                   csam_secret **out)
{
    csam_secret *secret;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (bytes == NULL || len < CSAM_SECRET_MIN || len > CSAM_SECRET_MAX)
        return CSAM_ERR_CONFIG;

    secret = calloc(1, sizeof(*secret));
    if (secret == NULL)
        return CSAM_ERR_NOMEM;
    secret->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    secret->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (secret->hmac == NULL || secret->gcm == NULL) {
        csam_secret_free(secret);
        return CSAM_ERR_CRYPTO;
    }
    res = csam_secret_derive(secret, bytes, len);
    if (res != CSAM_OK) {
        csam_secret_free(secret);
        return res;
    }
    *out = secret;
    return CSAM_OK;
}

/* Reads up to CSAM_SECRET_MAX + 1 bytes so that a file that grew after
 * fstat is still noticed. */
static csam_result csam_secret_read(int fd, unsigned char *buf, size_t size,
                                    size_t *got)
{
    ssize_t n;

    *got = 0;
    while (*got < size) {
        n = read(fd, buf + *got, size - *got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return CSAM_ERR_IO;
        }
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return CSAM_OK;
}

/* Checks go on the open descriptor, not the path, so the file read is the
 * file checked. */
static csam_result csam_secret_check_fd(int fd, const char *path,
                                        const char *group, char *err,
                                        size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: cannot stat: %s", path,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        csam_error_set(err, errlen, "%s: not a regular file", path);
        return CSAM_ERR_CONFIG;
    }
    /* Whoever owns the file can rewrite it and so forge every keyed hash
     * and cookie: only root or the reading user may own it. */
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        csam_error_set(err, errlen,
                       "%s: owned by uid %lu, neither root nor the "
                       "reading user",
                       path, (unsigned long)st.st_uid);
        return CSAM_ERR_INSECURE;
    }
    if ((st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) != 0) {
        csam_error_set(err, errlen,
                       "%s: mode %04o lets others read it or the group "
                       "write it (use 0600 or 0640)",
                       path, (unsigned)(st.st_mode & 07777));
        return CSAM_ERR_INSECURE;
    }
    /* Group read is for root's group, or the one the administrator named
     * (secret_group): any other group's members would hold every key. */
    if ((st.st_mode & S_IRGRP) != 0
        && !csam_file_group_allowed((unsigned long)st.st_gid, group)) {
        csam_error_set(err, errlen,
                       "%s: readable by group %lu, which is neither "
                       "root's nor secret_group%s%s%s (use 0600, or "
                       "chgrp to that group)",
                       path, (unsigned long)st.st_gid, group ? " (" : "",
                       group ? group : "", group ? ")" : "");
        return CSAM_ERR_INSECURE;
    }
    /* A key file is a few dozen random bytes; a much larger one is most
     * likely the wrong file (a certificate, a config). */
    if (st.st_size < CSAM_SECRET_MIN || st.st_size > CSAM_SECRET_MAX) {
        csam_error_set(err, errlen, "%s: holds %lld bytes, needs %d to %d",
                       path, (long long)st.st_size, CSAM_SECRET_MIN,
                       CSAM_SECRET_MAX);
        return CSAM_ERR_CONFIG;
    }
    return CSAM_OK;
}

csam_result csam_secret_load(const char *path, csam_secret **out, char *err,
                             size_t errlen)
{
    return csam_secret_load_group(path, NULL, out, err, errlen);
}

csam_result csam_secret_load_group(const char *path, const char *group,
                                   csam_secret **out, char *err, size_t errlen)
{
    unsigned char buf[CSAM_SECRET_MAX + 1];
    size_t got = 0;
    csam_result res;
    int fd;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (path == NULL || *path == '\0') {
        csam_error_set(err, errlen, "secret file: no path given");
        return CSAM_ERR_CONFIG;
    }

    /* O_NONBLOCK: opening a FIFO planted at the path must not hang the
     * server; it is refused as not a regular file. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: cannot open: %s", path,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    res = csam_secret_check_fd(fd, path, group, err, errlen);
    /* Whoever can write a directory above it can swap the file. */
    if (res == CSAM_OK)
        res = csam_file_check_dirs(path, err, errlen);
    if (res == CSAM_OK) {
        res = csam_secret_read(fd, buf, sizeof(buf), &got);
        if (res != CSAM_OK)
            csam_error_set(err, errlen, "%s: read failed", path);
    }
    close(fd);

    if (res == CSAM_OK && (got < CSAM_SECRET_MIN || got > CSAM_SECRET_MAX)) {
        csam_error_set(err, errlen, "%s: changed size while read", path);
        res = CSAM_ERR_CONFIG;
    }
    if (res == CSAM_OK) {
        res = csam_secret_from_bytes(buf, got, out);
        if (res != CSAM_OK)
            csam_error_set(err, errlen, "%s: key derivation failed: %s", path,
                           csam_result_name(res));
    }
    csam_wipe(buf, sizeof(buf));
    return res;
}

static void csam_secret_free_one(csam_secret *secret)
{
    if (secret == NULL)
        return;
    EVP_MAC_free(secret->hmac);
    EVP_CIPHER_free(secret->gcm);
    csam_wipe(secret, sizeof(*secret));
    free(secret);
}

void csam_secret_free(csam_secret *secret)
{
    /* A previous secret has none of its own (attaching refuses a chain). */
    if (secret != NULL)
        csam_secret_free_one(secret->previous);
    csam_secret_free_one(secret);
}

const unsigned char *csam_secret_key(const csam_secret *secret,
                                     enum csam_purpose purpose)
{
    if (secret == NULL || !csam_secret_purpose_valid(purpose))
        return NULL;
    return secret->keys[purpose];
}

csam_result csam_keyed_hash(const csam_secret *secret,
                            enum csam_purpose purpose, const void *data,
                            size_t len, unsigned char out[CSAM_HASH_LEN])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx;
    size_t outlen = 0;
    csam_result res = CSAM_ERR_CRYPTO;

    if (secret == NULL || out == NULL || !csam_secret_purpose_valid(purpose)
        || (data == NULL && len > 0))
        return CSAM_ERR_INVALID;
    if (data == NULL)
        data = "";

    ctx = EVP_MAC_CTX_new(secret->hmac);
    if (ctx == NULL)
        return CSAM_ERR_CRYPTO;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest,
                                                 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, secret->keys[purpose], CSAM_KEY_LEN, params) == 1
        && EVP_MAC_update(ctx, data, len) == 1
        && EVP_MAC_final(ctx, out, &outlen, CSAM_HASH_LEN) == 1
        && outlen == CSAM_HASH_LEN)
        res = CSAM_OK;
    EVP_MAC_CTX_free(ctx);
    if (res != CSAM_OK)
        csam_wipe(out, CSAM_HASH_LEN);
    return res;
}

csam_result csam_seal(const csam_secret *secret, const void *aad, size_t aadlen,
                      const void *plain, size_t len, unsigned char *out,
                      size_t outsize, size_t *outlen)
{
    return csam_seal_purpose(secret, CSAM_PURPOSE_TOTP_SEAL, aad, aadlen, plain,
                             len, out, outsize, outlen);
}

csam_result csam_open(const csam_secret *secret, const void *aad, size_t aadlen,
                      const unsigned char *sealed, size_t len,
                      unsigned char *out, size_t outsize, size_t *outlen)
{
    return csam_open_purpose(secret, CSAM_PURPOSE_TOTP_SEAL, aad, aadlen,
                             sealed, len, out, outsize, outlen);
}

csam_result csam_seal_purpose(const csam_secret *secret,
                              enum csam_purpose purpose, const void *aad,
                              size_t aadlen, const void *plain, size_t len,
                              unsigned char *out, size_t outsize,
                              size_t *outlen)
{
    unsigned char scratch[CSAM_SEAL_TAG_LEN];
    const unsigned char *key;
    EVP_CIPHER_CTX *ctx;
    unsigned char *nonce, *body, *tag;
    csam_result res = CSAM_ERR_CRYPTO;
    int n = 0, fin = 0;

    if (outlen != NULL)
        *outlen = 0;
    if (secret == NULL || !csam_secret_sealing_purpose(purpose) || out == NULL
        || outlen == NULL || (plain == NULL && len > 0)
        || (aad == NULL && aadlen > 0) || len > CSAM_SEAL_MAX
        || aadlen > INT_MAX
        || outsize < CSAM_SEAL_NONCE_LEN + len + CSAM_SEAL_TAG_LEN)
        return CSAM_ERR_INVALID;

    key = secret->keys[purpose];
    nonce = out;
    body = out + CSAM_SEAL_NONCE_LEN;
    tag = body + len;
    /* Random 96-bit nonces: safe far beyond the number of keys a
     * deployment will ever seal under one secret file. */
    if (csam_random_bytes(nonce, CSAM_SEAL_NONCE_LEN) != CSAM_OK)
        return CSAM_ERR_CRYPTO;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return CSAM_ERR_CRYPTO;
    if (EVP_EncryptInit_ex2(ctx, secret->gcm, key, nonce, NULL) == 1
        && (aadlen == 0
            || EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1)
        && (len == 0 || EVP_EncryptUpdate(ctx, body, &n, plain, (int)len) == 1)
        /* GCM writes nothing at the end: the tag is fetched below. */
        && EVP_EncryptFinal_ex(ctx, scratch, &fin) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CSAM_SEAL_TAG_LEN,
                               tag)
               == 1)
        res = CSAM_OK;
    EVP_CIPHER_CTX_free(ctx);
    if (res == CSAM_OK)
        *outlen = CSAM_SEAL_NONCE_LEN + len + CSAM_SEAL_TAG_LEN;
    else
        csam_wipe(out, outsize);
    return res;
}

csam_result csam_open_purpose(const csam_secret *secret,
                              enum csam_purpose purpose, const void *aad,
                              size_t aadlen, const unsigned char *sealed,
                              size_t len, unsigned char *out, size_t outsize,
                              size_t *outlen)
{
    unsigned char tag[CSAM_SEAL_TAG_LEN];
    unsigned char scratch[CSAM_SEAL_TAG_LEN];
    const unsigned char *key;
    EVP_CIPHER_CTX *ctx;
    size_t plainlen;
    csam_result res = CSAM_ERR_CRYPTO;
    int n = 0, fin = 0;

    if (outlen != NULL)
        *outlen = 0;
    if (secret == NULL || !csam_secret_sealing_purpose(purpose)
        || sealed == NULL || outlen == NULL || (aad == NULL && aadlen > 0)
        || aadlen > INT_MAX || len < CSAM_SEAL_NONCE_LEN + CSAM_SEAL_TAG_LEN
        || len > CSAM_SEAL_NONCE_LEN + CSAM_SEAL_MAX + CSAM_SEAL_TAG_LEN)
        return CSAM_ERR_INVALID;
    plainlen = len - CSAM_SEAL_NONCE_LEN - CSAM_SEAL_TAG_LEN;
    if ((out == NULL && plainlen > 0) || outsize < plainlen)
        return CSAM_ERR_INVALID;

    key = secret->keys[purpose];
    /* EVP wants a writable tag buffer.  GCM writes nothing at the end,
     * hence the scratch output of the final call. */
    memcpy(tag, sealed + len - CSAM_SEAL_TAG_LEN, CSAM_SEAL_TAG_LEN);

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return CSAM_ERR_CRYPTO;
    if (EVP_DecryptInit_ex2(ctx, secret->gcm, key, sealed, NULL) == 1
        && (aadlen == 0
            || EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1)
        && (plainlen == 0
            || EVP_DecryptUpdate(ctx, out, &n, sealed + CSAM_SEAL_NONCE_LEN,
                                 (int)plainlen)
                   == 1)
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CSAM_SEAL_TAG_LEN,
                               tag)
               == 1
        && EVP_DecryptFinal_ex(ctx, scratch, &fin) == 1)
        res = CSAM_OK;
    EVP_CIPHER_CTX_free(ctx);
    if (res == CSAM_OK)
        *outlen = plainlen;
    else if (out != NULL)
        /* Never hand back plaintext that failed authentication. */
        csam_wipe(out, outsize);
    return res;
}

/* -------------------------------------------------------------- rollover */

csam_result csam_secret_fingerprint(const csam_secret *secret,
                                    unsigned char out[CSAM_HASH_LEN])
{
    static const char label[] = CSAM_FINGERPRINT_LABEL;

    return csam_keyed_hash(secret, CSAM_PURPOSE_INSTALLATION, label,
                           sizeof(label) - 1, out);
}

csam_result csam_secret_attach_previous(csam_secret *secret,
                                        csam_secret *previous)
{
    unsigned char a[CSAM_HASH_LEN], b[CSAM_HASH_LEN];
    csam_result res;
    int same;

    if (secret == NULL || previous == NULL || secret == previous
        || secret->previous != NULL || previous->previous != NULL)
        return CSAM_ERR_INVALID;
    res = csam_secret_fingerprint(secret, a);
    if (res == CSAM_OK)
        res = csam_secret_fingerprint(previous, b);
    if (res != CSAM_OK)
        return res;
    same = csam_ct_equal(a, b, sizeof(a));
    if (same)
        return CSAM_ERR_CONFIG;
    secret->previous = previous;
    return CSAM_OK;
}

const csam_secret *csam_secret_previous(const csam_secret *secret)
{
    return secret != NULL ? secret->previous : NULL;
}

csam_result csam_open_any(const csam_secret *secret, enum csam_purpose purpose,
                          const void *aad, size_t aadlen,
                          const unsigned char *sealed, size_t len,
                          unsigned char *out, size_t outsize, size_t *outlen,
                          int *by_previous)
{
    csam_result res;

    if (by_previous != NULL)
        *by_previous = 0;
    res = csam_open_purpose(secret, purpose, aad, aadlen, sealed, len, out,
                            outsize, outlen);
    if (res != CSAM_ERR_CRYPTO || secret == NULL || secret->previous == NULL)
        return res;
    res = csam_open_purpose(secret->previous, purpose, aad, aadlen, sealed, len,
                            out, outsize, outlen);
    if (res == CSAM_OK && by_previous != NULL)
        *by_previous = 1;
    return res;
}

/* ---------------------------------------------------------------- random */

/* 32 symbols, no 0/O or 1/I: a code read off paper is typed right. */
static const char csam_code_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
#define CSAM_CODE_SYMBOLS 12
#define CSAM_CODE_GROUP 4
/* A typed code with its spaces and dashes; longer input is not a code. */
#define CSAM_CODE_TYPED_MAX 64

static const char csam_base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

csam_result csam_random_bytes(void *buf, size_t n)
{
    if (n == 0)
        return CSAM_OK;
    if (buf == NULL || n > INT_MAX)
        return CSAM_ERR_INVALID;
    return RAND_bytes(buf, (int)n) == 1 ? CSAM_OK : CSAM_ERR_CRYPTO;
}

static void csam_code_format(const char symbols[CSAM_CODE_SYMBOLS],
                             char out[CSAM_ACTIVATION_CODE_SIZE])
{
    size_t i, j = 0;

    for (i = 0; i < CSAM_CODE_SYMBOLS; i++) {
        if (i > 0 && i % CSAM_CODE_GROUP == 0)
            out[j++] = '-';
        out[j++] = symbols[i];
    }
    out[j] = '\0';
}

csam_result csam_activation_code_new(char out[CSAM_ACTIVATION_CODE_SIZE])
{
    unsigned char rnd[CSAM_CODE_SYMBOLS];
    char symbols[CSAM_CODE_SYMBOLS];
    size_t i;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    out[0] = '\0';
    if (csam_random_bytes(rnd, sizeof(rnd)) != CSAM_OK)
        return CSAM_ERR_CRYPTO;
    /* 5 bits per symbol from its own byte: 32 divides 256, so every
     * symbol is uniform and the code carries exactly 60 bits. */
    for (i = 0; i < CSAM_CODE_SYMBOLS; i++)
        symbols[i] = csam_code_alphabet[rnd[i] & 0x1f];
    csam_code_format(symbols, out);
    csam_wipe(rnd, sizeof(rnd));
    csam_wipe(symbols, sizeof(symbols));
    return CSAM_OK;
}

csam_result csam_activation_code_normalize(const char *typed,
                                           char out[CSAM_ACTIVATION_CODE_SIZE])
{
    char symbols[CSAM_CODE_SYMBOLS];
    csam_result res = CSAM_OK;
    size_t n = 0;
    const char *p;
    char c;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    out[0] = '\0';
    if (typed == NULL
        || strnlen(typed, CSAM_CODE_TYPED_MAX + 1) > CSAM_CODE_TYPED_MAX)
        return CSAM_ERR_INVALID;

    for (p = typed; *p != '\0'; p++) {
        c = *p;
        if (c == ' ' || c == '-')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (strchr(csam_code_alphabet, c) == NULL || n == CSAM_CODE_SYMBOLS) {
            res = CSAM_ERR_INVALID;
            break;
        }
        symbols[n++] = c;
    }
    if (res == CSAM_OK && n != CSAM_CODE_SYMBOLS)
        res = CSAM_ERR_INVALID;
    if (res == CSAM_OK)
        csam_code_format(symbols, out);
    csam_wipe(symbols, sizeof(symbols));
    return res;
}

size_t csam_base64url_encode(const void *data, size_t len, char *out)
{
    const unsigned char *in = data;
    size_t i = 0, j = 0;
    uint32_t v;

    while (i + 3 <= len) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[j++] = csam_base64url_alphabet[(v >> 18) & 0x3f];
        out[j++] = csam_base64url_alphabet[(v >> 12) & 0x3f];
        out[j++] = csam_base64url_alphabet[(v >> 6) & 0x3f];
        out[j++] = csam_base64url_alphabet[v & 0x3f];
        i += 3;
    }
    if (len - i == 1) {
        v = (uint32_t)in[i] << 16;
        out[j++] = csam_base64url_alphabet[(v >> 18) & 0x3f];
        out[j++] = csam_base64url_alphabet[(v >> 12) & 0x3f];
    } else if (len - i == 2) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[j++] = csam_base64url_alphabet[(v >> 18) & 0x3f];
        out[j++] = csam_base64url_alphabet[(v >> 12) & 0x3f];
        out[j++] = csam_base64url_alphabet[(v >> 6) & 0x3f];
    }
    out[j] = '\0';
    return j;
}

csam_result csam_token_new(char out[CSAM_TOKEN_SIZE])
{
    unsigned char rnd[32];

    if (out == NULL)
        return CSAM_ERR_INVALID;
    out[0] = '\0';
    if (csam_random_bytes(rnd, sizeof(rnd)) != CSAM_OK)
        return CSAM_ERR_CRYPTO;
    csam_base64url_encode(rnd, sizeof(rnd), out);
    csam_wipe(rnd, sizeof(rnd));
    return CSAM_OK;
}

static int csam_base64_value(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

long csam_base64_decode(const char *in, size_t len, int url, unsigned char *out,
                        size_t outsize)
{
    unsigned long acc = 0;
    size_t i, o = 0;
    int bits = 0;

    /* One character over a multiple of four carries no whole byte. */
    if (in == NULL || len % 4 == 1 || len > (size_t)LONG_MAX)
        return -1;
    for (i = 0; i < len; i++) {
        int v = csam_base64_value(in[i], url);

        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outsize)
                return -1;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
            acc &= (1UL << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    return (long)o;
}

int csam_token_valid(const char *s)
{
    const char *hit;
    size_t i;

    if (s == NULL || strnlen(s, CSAM_TOKEN_LEN + 1) != CSAM_TOKEN_LEN)
        return 0;
    for (i = 0; i < CSAM_TOKEN_LEN; i++) {
        hit = strchr(csam_base64url_alphabet, s[i]);
        if (hit == NULL)
            return 0;
        /* 256 bits leave 2 unused low bits in the last symbol: only the
         * canonical spelling of a token is one, so a token has exactly
         * one accepted form. */
        if (i == CSAM_TOKEN_LEN - 1 && ((hit - csam_base64url_alphabet) & 3))
            return 0;
    }
    return 1;
}

csam_result csam_security_code_new(unsigned digits, char *out, size_t outlen)
{
    unsigned char rnd[4];
    uint32_t modulus = 1, value = 0;
    uint64_t bound;
    unsigned i;
    int tries, n;

    if (out == NULL || outlen == 0)
        return CSAM_ERR_INVALID;
    out[0] = '\0';
    if (digits < 6 || digits > CSAM_SECURITY_CODE_MAX || outlen < digits + 1)
        return CSAM_ERR_INVALID;
    for (i = 0; i < digits; i++)
        modulus *= 10;
    /* Rejection sampling: draws at or above the largest multiple of the
     * modulus below 2^32 would favour small codes, so they are redrawn.
     * The loop ends with overwhelming probability (each draw is rejected
     * with p < 0.024); a CSPRNG that keeps landing there is broken. */
    bound = (UINT64_C(1) << 32) / modulus * modulus;
    for (tries = 0; tries < 64; tries++) {
        if (csam_random_bytes(rnd, sizeof(rnd)) != CSAM_OK)
            return CSAM_ERR_CRYPTO;
        value = (uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16
                | (uint32_t)rnd[2] << 8 | rnd[3];
        if (value < bound)
            break;
    }
    csam_wipe(rnd, sizeof(rnd));
    if (tries == 64)
        return CSAM_ERR_CRYPTO;
    n = snprintf(out, outlen, "%0*lu", (int)digits,
                 (unsigned long)(value % modulus));
    /* The code stays only in out; a plain "value = 0" is a dead store the
     * compiler drops. */
    csam_wipe(&value, sizeof(value));
    if (n != (int)digits) {
        csam_wipe(out, outlen);
        return CSAM_ERR_CRYPTO;
    }
    return CSAM_OK;
}

const char *csam_crypto_openssl_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}
