/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secret file, key derivation, keyed hashes, codes, tokens, sealing.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto.h"

/* ------------------------------------------------------------ helpers */

struct csam_test_dir {
    char path[64];
};

static int csam_test_dir_setup(void **state)
{
    struct csam_test_dir *dir = calloc(1, sizeof(*dir));

    assert_non_null(dir);
    strcpy(dir->path, "/tmp/csam-test-crypto-XXXXXX");
    assert_non_null(mkdtemp(dir->path));
    *state = dir;
    return 0;
}

static int csam_test_dir_teardown(void **state)
{
    struct csam_test_dir *dir = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir->path);
    assert_int_equal(system(cmd), 0);
    free(dir);
    return 0;
}

/* Writes len bytes of a recognisable pattern to dir/name with mode. */
static const char *csam_test_write(struct csam_test_dir *dir, const char *name,
                                   size_t len, mode_t mode)
{
    static char path[128];
    FILE *fp;
    size_t i;

    snprintf(path, sizeof(path), "%s/%s", dir->path, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (i = 0; i < len; i++)
        assert_int_not_equal(fputc("SECRETMARKER"[i % 12], fp), EOF);
    assert_int_equal(fclose(fp), 0);
    /* chmod after writing: the umask would otherwise hide some modes. */
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static csam_result csam_test_load(const char *path, char *err, size_t errlen)
{
    csam_secret *secret = NULL;
    csam_result res;

    err[0] = '\0';
    res = csam_secret_load(path, &secret, err, errlen);
    if (res == CSAM_OK) {
        assert_non_null(secret);
        csam_secret_free(secret);
    } else {
        assert_null(secret);
        /* Errors name the file, never its bytes. */
        assert_non_null(strstr(err, path));
        assert_null(strstr(err, "SECRETMARK"));
    }
    return res;
}

static csam_secret *csam_test_secret(unsigned char fill)
{
    unsigned char raw[48];
    csam_secret *secret = NULL;
    size_t i;

    for (i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(fill + i);
    assert_int_equal(csam_secret_from_bytes(raw, sizeof(raw), &secret),
                     CSAM_OK);
    assert_non_null(secret);
    return secret;
}

/* HMAC-SHA-256 through OpenSSL's one-shot API, independent of libcsam. */
static void csam_test_hmac(const void *key, size_t keylen, const void *data,
                           size_t len, unsigned char out[32])
{
    size_t outlen = 0;

    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
                              data, len, out, 32, &outlen));
    assert_int_equal(outlen, 32);
}

/* RFC 5869 HKDF-SHA-256 (no salt, L = 32) written out by hand. */
static void csam_test_hkdf(const unsigned char *ikm, size_t ikmlen,
                           const char *info, unsigned char okm[32])
{
    unsigned char zeros[32] = {0}, prk[32], block[128];
    size_t infolen = strlen(info);

    csam_test_hmac(zeros, sizeof(zeros), ikm, ikmlen, prk);
    assert_true(infolen + 1 <= sizeof(block));
    /* HMAC input bytes, followed by the counter byte, not a string.
     * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(block, info, infolen);
    block[infolen] = 0x01;
    csam_test_hmac(prk, sizeof(prk), block, infolen + 1, okm);
}

/* --------------------------------------------------------- secret file */

static void test_secret_file_modes(void **state)
{
    struct csam_test_dir *dir = *state;
    char err[512];

    assert_int_equal(csam_test_load(csam_test_write(dir, "k600", 32, 0600), err,
                                    sizeof(err)),
                     CSAM_OK);
    /* Group read: for root's group only (see test_secret_file_group). */
    assert_int_equal(csam_test_load(csam_test_write(dir, "k640", 64, 0640), err,
                                    sizeof(err)),
                     getegid() == 0 ? CSAM_OK : CSAM_ERR_INSECURE);
    assert_int_equal(csam_test_load(csam_test_write(dir, "k400", 32, 0400), err,
                                    sizeof(err)),
                     CSAM_OK);
    assert_int_equal(csam_test_load(csam_test_write(dir, "k644", 32, 0644), err,
                                    sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_int_equal(csam_test_load(csam_test_write(dir, "k666", 32, 0666), err,
                                    sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_int_equal(csam_test_load(csam_test_write(dir, "k620", 32, 0620), err,
                                    sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_int_equal(csam_test_load(csam_test_write(dir, "k602", 32, 0602), err,
                                    sizeof(err)),
                     CSAM_ERR_INSECURE);
}

/* A group-readable secret: root's group, or the group secret_group names;
 * any other group is refused, naming the file. */
static void test_secret_file_group(void **state)
{
    struct csam_test_dir *dir = *state;
    csam_secret *secret = NULL;
    char err[512];
    const char *path = csam_test_write(dir, "k640g", 32, 0640);
    gid_t other = getegid() == 0 ? 65534 : getegid();
    const struct group *gr;

    if (getegid() == 0) {
        assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_OK);
        /* chgrp to another group (nogroup) needs root */
        assert_int_equal(chown(path, (uid_t)-1, other), 0);
    }
    gr = getgrgid(other);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "group"));
    /* named by secret_group: allowed */
    if (gr != NULL) {
        char name[64];

        snprintf(name, sizeof(name), "%s", gr->gr_name);
        assert_int_equal(csam_secret_load_group(path, name, &secret, err,
                                                sizeof(err)),
                         CSAM_OK);
        csam_secret_free(secret);
        secret = NULL;
    }
    /* another name, or one no group has: still refused */
    assert_int_equal(csam_secret_load_group(path, "csam-no-such-group", &secret,
                                            err, sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_null(secret);
    /* without group read, no group matters */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_OK);
}

/* The directories above the secret: one that others (or a group) can
 * write is refused, naming it; a root-owned sticky one (/tmp) is not. */
static void test_secret_file_dirs(void **state)
{
    struct csam_test_dir *dir = *state;
    char sub[256], path[300], err[512];
    FILE *fp;

    snprintf(sub, sizeof(sub), "%s/keys", dir->path);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof(path), "%s/secret.key", sub);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs("0123456789abcdef0123456789abcdef!", fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_OK);

    assert_int_equal(chmod(sub, 0777), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, sub));
    assert_non_null(strstr(err, "writable"));
    assert_int_equal(chmod(sub, 0770), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_INSECURE);
    /* the parent of the parent too */
    assert_int_equal(chmod(sub, 0700), 0);
    assert_int_equal(chmod(dir->path, 0757), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, dir->path));
    assert_int_equal(chmod(dir->path, 0700), 0);
    /* sticky: only when root owns the directory */
    assert_int_equal(chmod(sub, 01777), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)),
                     geteuid() == 0 ? CSAM_OK : CSAM_ERR_INSECURE);
    assert_int_equal(chmod(sub, 0700), 0);
    if (geteuid() == 0) {
        /* sticky, but another user's: refused */
        assert_int_equal(chown(sub, 65534, 0), 0);
        assert_int_equal(chmod(sub, 01777), 0);
        assert_int_equal(csam_test_load(path, err, sizeof(err)),
                         CSAM_ERR_INSECURE);
        /* another user's, writable by nobody else: that user's to keep */
        assert_int_equal(chmod(sub, 0755), 0);
        assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_OK);
        assert_int_equal(chown(sub, 0, 0), 0);
        assert_int_equal(chmod(sub, 0700), 0);
    }
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_OK);
}

static void test_secret_file_size(void **state)
{
    struct csam_test_dir *dir = *state;
    char err[512];

    assert_int_equal(csam_test_load(csam_test_write(dir, "short", 31, 0600),
                                    err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_int_equal(csam_test_load(csam_test_write(dir, "empty", 0, 0600), err,
                                    sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_int_equal(csam_test_load(csam_test_write(dir, "max", 4096, 0600),
                                    err, sizeof(err)),
                     CSAM_OK);
    assert_int_equal(csam_test_load(csam_test_write(dir, "big", 4097, 0600),
                                    err, sizeof(err)),
                     CSAM_ERR_CONFIG);
}

static void test_secret_file_kind(void **state)
{
    struct csam_test_dir *dir = *state;
    char path[128], err[512];

    snprintf(path, sizeof(path), "%s/missing", dir->path);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_IO);
    snprintf(path, sizeof(path), "%s/sub", dir->path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_CONFIG);
    snprintf(path, sizeof(path), "%s/fifo", dir->path);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_CONFIG);
}

/* Whoever owns the file can rewrite the keys (root only: it gives the
 * file to someone else). */
static void test_secret_file_owner(void **state)
{
    struct csam_test_dir *dir = *state;
    const char *path;
    char err[512];

    path = csam_test_write(dir, "foreign", 32, 0600);
    assert_int_equal(chown(path, 4242, 4242), 0);
    assert_int_equal(csam_test_load(path, err, sizeof(err)), CSAM_ERR_INSECURE);
}

static void test_secret_file_same_as_bytes(void **state)
{
    struct csam_test_dir *dir = *state;
    csam_secret *a = NULL, *b = NULL;
    char raw[40];
    size_t i;

    for (i = 0; i < sizeof(raw); i++)
        raw[i] = "SECRETMARKER"[i % 12];
    assert_int_equal(csam_secret_load(csam_test_write(dir, "same", 40, 0600),
                                      &a, NULL, 0),
                     CSAM_OK);
    assert_int_equal(csam_secret_from_bytes(raw, sizeof(raw), &b), CSAM_OK);
    for (i = 0; i < CSAM_PURPOSE_COUNT; i++)
        assert_memory_equal(csam_secret_key(a, (enum csam_purpose)i),
                            csam_secret_key(b, (enum csam_purpose)i),
                            CSAM_KEY_LEN);
    csam_secret_free(a);
    csam_secret_free(b);

    b = (csam_secret *)(void *)raw;
    assert_int_equal(csam_secret_from_bytes(raw, 31, &b), CSAM_ERR_CONFIG);
    assert_null(b);
}

/* ------------------------------------------------------------ rollover */

static void test_secret_pair_attach(void **state)
{
    csam_secret *cur = csam_test_secret(1), *prev = csam_test_secret(2);
    csam_secret *same = csam_test_secret(1), *third = csam_test_secret(3);

    (void)state;
    assert_int_equal(csam_secret_attach_previous(cur, same), CSAM_ERR_CONFIG);
    assert_int_equal(csam_secret_attach_previous(cur, cur), CSAM_ERR_INVALID);
    assert_int_equal(csam_secret_attach_previous(NULL, prev), CSAM_ERR_INVALID);
    assert_int_equal(csam_secret_attach_previous(cur, NULL), CSAM_ERR_INVALID);
    assert_null(csam_secret_previous(cur));
    assert_null(csam_secret_previous(NULL));
    assert_int_equal(csam_secret_attach_previous(cur, prev), CSAM_OK);
    assert_ptr_equal(csam_secret_previous(cur), prev);
    /* one previous secret, not a chain */
    assert_int_equal(csam_secret_attach_previous(cur, third), CSAM_ERR_INVALID);
    assert_int_equal(csam_secret_attach_previous(third, cur), CSAM_ERR_INVALID);
    csam_secret_free(cur); /* frees prev with it (ASan: no leak, no double) */
    csam_secret_free(same);
    csam_secret_free(third);
}

/* What was sealed under the previous secret opens through the pair, and
 * says so; what another secret sealed still does not. */
static void test_open_any(void **state)
{
    csam_secret *cur = csam_test_secret(1), *prev = csam_test_secret(2);
    csam_secret *other = csam_test_secret(3), *alone = csam_test_secret(2);
    static const char aad[] = "key:42";
    unsigned char plain[20], sealed[20 + CSAM_SEAL_OVERHEAD], out[20];
    size_t n, outlen;
    int by_previous = -1;

    (void)state;
    memset(plain, 0x5a, sizeof(plain));
    assert_int_equal(csam_secret_attach_previous(cur, prev), CSAM_OK);

    /* under the previous secret (made before the switch) */
    assert_int_equal(csam_seal_purpose(alone, CSAM_PURPOSE_NRN_SEAL, aad,
                                       strlen(aad), plain, sizeof(plain),
                                       sealed, sizeof(sealed), &n),
                     CSAM_OK);
    assert_int_equal(csam_open_purpose(cur, CSAM_PURPOSE_NRN_SEAL, aad,
                                       strlen(aad), sealed, n, out, sizeof(out),
                                       &outlen),
                     CSAM_ERR_CRYPTO);
    assert_int_equal(csam_open_any(cur, CSAM_PURPOSE_NRN_SEAL, aad, strlen(aad),
                                   sealed, n, out, sizeof(out), &outlen,
                                   &by_previous),
                     CSAM_OK);
    assert_int_equal(by_previous, 1);
    assert_int_equal(outlen, sizeof(plain));
    assert_memory_equal(out, plain, sizeof(plain));
    /* bound to its owner and purpose under the previous secret too */
    assert_int_equal(csam_open_any(cur, CSAM_PURPOSE_NRN_SEAL, "key:43", 6,
                                   sealed, n, out, sizeof(out), &outlen,
                                   &by_previous),
                     CSAM_ERR_CRYPTO);
    assert_int_equal(csam_open_any(cur, CSAM_PURPOSE_TOTP_SEAL, aad,
                                   strlen(aad), sealed, n, out, sizeof(out),
                                   &outlen, NULL),
                     CSAM_ERR_CRYPTO);

    /* under the current secret */
    assert_int_equal(csam_seal_purpose(cur, CSAM_PURPOSE_NRN_SEAL, aad,
                                       strlen(aad), plain, sizeof(plain),
                                       sealed, sizeof(sealed), &n),
                     CSAM_OK);
    by_previous = -1;
    assert_int_equal(csam_open_any(cur, CSAM_PURPOSE_NRN_SEAL, aad, strlen(aad),
                                   sealed, n, out, sizeof(out), &outlen,
                                   &by_previous),
                     CSAM_OK);
    assert_int_equal(by_previous, 0);

    /* under a third secret: neither opens it, nothing handed back */
    assert_int_equal(csam_seal_purpose(other, CSAM_PURPOSE_NRN_SEAL, aad,
                                       strlen(aad), plain, sizeof(plain),
                                       sealed, sizeof(sealed), &n),
                     CSAM_OK);
    memset(out, 0xff, sizeof(out));
    assert_int_equal(csam_open_any(cur, CSAM_PURPOSE_NRN_SEAL, aad, strlen(aad),
                                   sealed, n, out, sizeof(out), &outlen,
                                   &by_previous),
                     CSAM_ERR_CRYPTO);
    assert_int_equal(by_previous, 0);
    assert_int_equal(outlen, 0);
    memset(plain, 0, sizeof(plain));
    assert_memory_equal(out, plain, sizeof(out));
    csam_secret_free(cur);
    csam_secret_free(other);
    csam_secret_free(alone);
}

/* ----------------------------------------------------- keys and hashes */

/* RFC 4231 test case 1 pins the HMAC used below as the reference. */
static void test_hmac_reference_rfc4231(void **state)
{
    static const unsigned char expected[32] = {
        0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf,
        0xce, 0xaf, 0x0b, 0xf1, 0x2b, 0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83,
        0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7};
    unsigned char key[20], out[32];

    (void)state;
    memset(key, 0x0b, sizeof(key));
    csam_test_hmac(key, sizeof(key), "Hi There", 8, out);
    assert_memory_equal(out, expected, 32);
}

/* The labels are part of the stored data's format: this pins them. */
static void test_key_derivation_hkdf(void **state)
{
    static const char *const labels[CSAM_PURPOSE_COUNT] = {
        "activation-code", "link-token",
        "flow-handle",     "key-confirm",
        "web-login",       "pam-login",
        "session",         "csrf",
        "totp-seal",       "cookie-sign",
        "national-number", "national-number-seal",
        "subject",         "installation"};
    unsigned char raw[48], okm[32];
    csam_secret *secret = NULL;
    char info[64];
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(7 * i + 3);
    assert_int_equal(csam_secret_from_bytes(raw, sizeof(raw), &secret),
                     CSAM_OK);
    for (i = 0; i < CSAM_PURPOSE_COUNT; i++) {
        snprintf(info, sizeof(info), "csam/v1/%s", labels[i]);
        csam_test_hkdf(raw, sizeof(raw), info, okm);
        assert_memory_equal(csam_secret_key(secret, (enum csam_purpose)i), okm,
                            32);
        for (j = 0; j < i; j++)
            assert_memory_not_equal(
                csam_secret_key(secret, (enum csam_purpose)i),
                csam_secret_key(secret, (enum csam_purpose)j), 32);
    }
    assert_null(csam_secret_key(secret, CSAM_PURPOSE_COUNT));
    csam_secret_free(secret);
}

static void test_keyed_hash(void **state)
{
    static const char code[] = "K7QF-M2XD-9RTA";
    unsigned char h1[CSAM_HASH_LEN], h2[CSAM_HASH_LEN], ref[32];
    csam_secret *secret = csam_test_secret(1), *other = csam_test_secret(2);

    (void)state;
    /* Same input, same hash, and exactly HMAC-SHA-256 under the derived
     * key of the purpose. */
    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_ACTIVATION_CODE, code,
                                     strlen(code), h1),
                     CSAM_OK);
    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_ACTIVATION_CODE, code,
                                     strlen(code), h2),
                     CSAM_OK);
    assert_memory_equal(h1, h2, CSAM_HASH_LEN);
    csam_test_hmac(csam_secret_key(secret, CSAM_PURPOSE_ACTIVATION_CODE),
                   CSAM_KEY_LEN, code, strlen(code), ref);
    assert_memory_equal(h1, ref, CSAM_HASH_LEN);

    /* Another purpose, another secret, other data: another hash. */
    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_WEB_LOGIN, code,
                                     strlen(code), h2),
                     CSAM_OK);
    assert_memory_not_equal(h1, h2, CSAM_HASH_LEN);
    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_PAM_LOGIN, code,
                                     strlen(code), ref),
                     CSAM_OK);
    assert_memory_not_equal(h2, ref, CSAM_HASH_LEN);
    assert_int_equal(csam_keyed_hash(other, CSAM_PURPOSE_ACTIVATION_CODE, code,
                                     strlen(code), h2),
                     CSAM_OK);
    assert_memory_not_equal(h1, h2, CSAM_HASH_LEN);
    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_ACTIVATION_CODE, code,
                                     strlen(code) - 1, h2),
                     CSAM_OK);
    assert_memory_not_equal(h1, h2, CSAM_HASH_LEN);

    /* Empty input is a value like any other. */
    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_SESSION, NULL, 0, h2),
                     CSAM_OK);
    csam_test_hmac(csam_secret_key(secret, CSAM_PURPOSE_SESSION), CSAM_KEY_LEN,
                   "", 0, ref);
    assert_memory_equal(h2, ref, CSAM_HASH_LEN);

    assert_int_equal(csam_keyed_hash(secret, CSAM_PURPOSE_COUNT, code, 4, h2),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_keyed_hash(NULL, CSAM_PURPOSE_SESSION, code, 4, h2),
                     CSAM_ERR_INVALID);
    csam_secret_free(secret);
    csam_secret_free(other);
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(csam_ct_equal("abcdef", "abcdef", 6));
    assert_false(csam_ct_equal("abcdef", "abcdeg", 6));
    assert_false(csam_ct_equal("xbcdef", "abcdef", 6));
    assert_true(csam_ct_equal("a", "b", 0));
}

/* ------------------------------------------------------ activation code */

static const char csam_test_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

static void csam_test_assert_code_shape(const char *code)
{
    size_t i;

    assert_int_equal(strlen(code), CSAM_ACTIVATION_CODE_LEN);
    for (i = 0; i < CSAM_ACTIVATION_CODE_LEN; i++) {
        if (i == 4 || i == 9)
            assert_int_equal(code[i], '-');
        else
            assert_non_null(strchr(csam_test_alphabet, code[i]));
    }
}

static int csam_test_strcmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_activation_code_new(void **state)
{
    enum { N = 1000 };
    static char codes[N][CSAM_ACTIVATION_CODE_SIZE];
    size_t seen[32] = {0};
    const char *hit;
    size_t i, j;

    (void)state;
    assert_int_equal(strlen(csam_test_alphabet), 32);
    for (i = 0; i < N; i++) {
        assert_int_equal(csam_activation_code_new(codes[i]), CSAM_OK);
        csam_test_assert_code_shape(codes[i]);
        for (j = 0; j < CSAM_ACTIVATION_CODE_LEN; j++) {
            hit = strchr(csam_test_alphabet, codes[i][j]);
            if (hit != NULL && codes[i][j] != '\0')
                seen[hit - csam_test_alphabet]++;
        }
    }
    /* 12000 symbols: every one of the 32 shows up (expected 375 each). */
    for (i = 0; i < 32; i++)
        assert_true(seen[i] > 200 && seen[i] < 550);

    qsort(codes, N, sizeof(codes[0]), csam_test_strcmp);
    for (i = 1; i < N; i++)
        assert_string_not_equal(codes[i - 1], codes[i]);
}

static void test_activation_code_normalize(void **state)
{
    char code[CSAM_ACTIVATION_CODE_SIZE], norm[CSAM_ACTIVATION_CODE_SIZE];
    char typed[64];
    size_t i, j;

    (void)state;
    assert_int_equal(csam_activation_code_new(code), CSAM_OK);
    assert_int_equal(csam_activation_code_normalize(code, norm), CSAM_OK);
    assert_string_equal(norm, code);

    /* Lower case, spaces instead of dashes, no separators at all. */
    for (i = 0, j = 0; code[i] != '\0'; i++) {
        typed[j++] = (char)(code[i] == '-' ? ' '
                            : (code[i] >= 'A' && code[i] <= 'Z')
                                ? code[i] - 'A' + 'a'
                                : code[i]);
        if (i == 1)
            typed[j++] = ' ';
    }
    typed[j] = '\0';
    assert_int_equal(csam_activation_code_normalize(typed, norm), CSAM_OK);
    assert_string_equal(norm, code);

    assert_int_equal(csam_activation_code_normalize("k7qfm2xd9rta", norm),
                     CSAM_OK);
    assert_string_equal(norm, "K7QF-M2XD-9RTA");
    assert_int_equal(csam_activation_code_normalize(" K7QF--M2XD 9RTA ", norm),
                     CSAM_OK);
    assert_string_equal(norm, "K7QF-M2XD-9RTA");

    /* Ambiguous symbols are not in the alphabet. */
    assert_int_equal(csam_activation_code_normalize("K7QF-M2XD-9RTO", norm),
                     CSAM_ERR_INVALID);
    assert_string_equal(norm, "");
    assert_int_equal(csam_activation_code_normalize("K7QF-M2XD-9RT0", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("K7QF-M2XD-9RT1", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("K7QF-M2XD-9RTI", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("k7qf-m2xd-9rti", norm),
                     CSAM_ERR_INVALID);
    /* Wrong lengths and other characters. */
    assert_int_equal(csam_activation_code_normalize("K7QF-M2XD-9RT", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("K7QF-M2XD-9RTAA", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("K7QF_M2XD_9RTA", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("K7QF\tM2XD-9RTA", norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize("K7QF-M2XD-9RT\xc3\x81",
                                                    norm),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_activation_code_normalize(NULL, norm),
                     CSAM_ERR_INVALID);
}

/* -------------------------------------------------------------- tokens */

static void test_base64url(void **state)
{
    static const unsigned char urlsafe[] = {0xfb, 0xff, 0xbf};
    char out[16];

    (void)state;
    assert_int_equal(csam_base64url_encode("", 0, out), 0);
    assert_string_equal(out, "");
    assert_int_equal(csam_base64url_encode("f", 1, out), 2);
    assert_string_equal(out, "Zg");
    assert_int_equal(csam_base64url_encode("fo", 2, out), 3);
    assert_string_equal(out, "Zm8");
    assert_int_equal(csam_base64url_encode("foobar", 6, out), 8);
    assert_string_equal(out, "Zm9vYmFy");
    /* Standard base64 would give "+/+/". */
    assert_int_equal(csam_base64url_encode(urlsafe, 3, out), 4);
    assert_string_equal(out, "-_-_");
}

static void test_base64_decode(void **state)
{
    static const unsigned char urlsafe[] = {0xfb, 0xff, 0xbf};
    unsigned char out[8];

    (void)state;
    assert_int_equal(csam_base64_decode("Zm9vYmFy", 8, 1, out, sizeof(out)), 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(csam_base64_decode("Zm8", 3, 0, out, sizeof(out)), 2);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(csam_base64_decode("", 0, 0, out, sizeof(out)), 0);
    /* Each alphabet its own two letters. */
    assert_int_equal(csam_base64_decode("-_-_", 4, 1, out, sizeof(out)), 3);
    assert_memory_equal(out, urlsafe, 3);
    assert_int_equal(csam_base64_decode("+/+/", 4, 0, out, sizeof(out)), 3);
    assert_memory_equal(out, urlsafe, 3);
    assert_int_equal(csam_base64_decode("+/+/", 4, 1, out, sizeof(out)), -1);
    assert_int_equal(csam_base64_decode("-_-_", 4, 0, out, sizeof(out)), -1);
    /* Padding, a stray character, one character over a multiple of four,
     * spare bits that are not zero (a second spelling of "f"). */
    assert_int_equal(csam_base64_decode("Zg==", 4, 0, out, sizeof(out)), -1);
    assert_int_equal(csam_base64_decode("Zm 8", 4, 0, out, sizeof(out)), -1);
    assert_int_equal(csam_base64_decode("Zm9vY", 5, 0, out, sizeof(out)), -1);
    assert_int_equal(csam_base64_decode("Zh", 2, 0, out, sizeof(out)), -1);
    /* Only len characters are read; no more than outsize bytes written. */
    assert_int_equal(csam_base64_decode("Zm8$rest", 3, 0, out, sizeof(out)), 2);
    assert_int_equal(csam_base64_decode("Zm9vYmFy", 8, 0, out, 5), -1);
    assert_int_equal(csam_base64_decode(NULL, 0, 0, out, sizeof(out)), -1);
}

static void test_token(void **state)
{
    char a[CSAM_TOKEN_SIZE], b[CSAM_TOKEN_SIZE], bad[CSAM_TOKEN_SIZE + 1];

    (void)state;
    assert_int_equal(csam_token_new(a), CSAM_OK);
    assert_int_equal(csam_token_new(b), CSAM_OK);
    assert_int_equal(strlen(a), CSAM_TOKEN_LEN);
    assert_true(csam_token_valid(a));
    assert_true(csam_token_valid(b));
    assert_string_not_equal(a, b);
    assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                               "tuvwxyz0123456789-_"),
                     CSAM_TOKEN_LEN);

    memcpy(bad, a, CSAM_TOKEN_SIZE);
    bad[CSAM_TOKEN_LEN - 1] = '\0';
    assert_false(csam_token_valid(bad));
    memcpy(bad, a, CSAM_TOKEN_LEN);
    bad[CSAM_TOKEN_LEN] = 'A';
    bad[CSAM_TOKEN_LEN + 1] = '\0';
    assert_false(csam_token_valid(bad));
    memcpy(bad, a, CSAM_TOKEN_SIZE);
    bad[3] = '+';
    assert_false(csam_token_valid(bad));
    bad[3] = '=';
    assert_false(csam_token_valid(bad));
    /* The last symbol carries 4 bits: 'B' (000001) is not canonical. */
    memcpy(bad, a, CSAM_TOKEN_SIZE);
    bad[CSAM_TOKEN_LEN - 1] = 'B';
    assert_false(csam_token_valid(bad));
    bad[CSAM_TOKEN_LEN - 1] = 'E';
    assert_true(csam_token_valid(bad));
    assert_false(csam_token_valid(NULL));
    assert_false(csam_token_valid(""));
}

/* ------------------------------------------------------- security code */

static void test_security_code(void **state)
{
    enum { N = 2000 };
    unsigned counts[6][10];
    char code[CSAM_SECURITY_CODE_MAX + 1];
    unsigned digits, i, k;

    (void)state;
    for (digits = 6; digits <= 8; digits++) {
        for (i = 0; i < 50; i++) {
            assert_int_equal(csam_security_code_new(digits, code, sizeof(code)),
                             CSAM_OK);
            assert_int_equal(strlen(code), digits);
            assert_int_equal(strspn(code, "0123456789"), digits);
        }
    }

    /* Each position of a 6-digit code takes each digit about N / 10
     * times; a modulo bias or a stuck byte would show. */
    memset(counts, 0, sizeof(counts));
    for (i = 0; i < N; i++) {
        assert_int_equal(csam_security_code_new(6, code, sizeof(code)),
                         CSAM_OK);
        for (k = 0; k < 6; k++)
            counts[k][code[k] - '0']++;
    }
    for (k = 0; k < 6; k++)
        for (i = 0; i < 10; i++)
            assert_true(counts[k][i] > 120 && counts[k][i] < 280);

    assert_int_equal(csam_security_code_new(5, code, sizeof(code)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_security_code_new(9, code, sizeof(code)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_security_code_new(8, code, 8), CSAM_ERR_INVALID);
    assert_int_equal(csam_security_code_new(6, NULL, 7), CSAM_ERR_INVALID);
}

/* -------------------------------------------------------------- sealing */

static void test_seal_open(void **state)
{
    static const unsigned char plain[20] = "12345678901234567890";
    static const char aad[] = "key:42";
    unsigned char sealed[64], again[64], opened[32];
    size_t sealedlen = 0, againlen = 0, openedlen = 99, i;
    csam_secret *secret = csam_test_secret(9), *other = csam_test_secret(10);

    (void)state;
    assert_int_equal(csam_seal(secret, aad, strlen(aad), plain, sizeof(plain),
                               sealed, sizeof(sealed), &sealedlen),
                     CSAM_OK);
    assert_int_equal(sealedlen, sizeof(plain) + CSAM_SEAL_OVERHEAD);
    assert_memory_not_equal(sealed + 12, plain, sizeof(plain));
    assert_int_equal(csam_open(secret, aad, strlen(aad), sealed, sealedlen,
                               opened, sizeof(opened), &openedlen),
                     CSAM_OK);
    assert_int_equal(openedlen, sizeof(plain));
    assert_memory_equal(opened, plain, sizeof(plain));

    /* A fresh nonce each time. */
    assert_int_equal(csam_seal(secret, aad, strlen(aad), plain, sizeof(plain),
                               again, sizeof(again), &againlen),
                     CSAM_OK);
    assert_memory_not_equal(again, sealed, sealedlen);

    /* Any flipped bit, in nonce, ciphertext or tag, is refused. */
    for (i = 0; i < sealedlen; i++) {
        sealed[i] ^= 0x01;
        memset(opened, 0xaa, sizeof(opened));
        assert_int_equal(csam_open(secret, aad, strlen(aad), sealed, sealedlen,
                                   opened, sizeof(opened), &openedlen),
                         CSAM_ERR_CRYPTO);
        assert_int_equal(openedlen, 0);
        assert_memory_not_equal(opened, plain, 4);
        sealed[i] ^= 0x01;
    }
    /* Bound to its owner and its secret; truncation refused. */
    assert_int_equal(csam_open(secret, "key:43", 6, sealed, sealedlen, opened,
                               sizeof(opened), &openedlen),
                     CSAM_ERR_CRYPTO);
    assert_int_equal(csam_open(secret, NULL, 0, sealed, sealedlen, opened,
                               sizeof(opened), &openedlen),
                     CSAM_ERR_CRYPTO);
    assert_int_equal(csam_open(other, aad, strlen(aad), sealed, sealedlen,
                               opened, sizeof(opened), &openedlen),
                     CSAM_ERR_CRYPTO);
    assert_int_equal(csam_open(secret, aad, strlen(aad), sealed, sealedlen - 1,
                               opened, sizeof(opened), &openedlen),
                     CSAM_ERR_CRYPTO);
    assert_int_equal(csam_open(secret, aad, strlen(aad), sealed, 27, opened,
                               sizeof(opened), &openedlen),
                     CSAM_ERR_INVALID);
    /* Buffers too small. */
    assert_int_equal(csam_open(secret, aad, strlen(aad), sealed, sealedlen,
                               opened, sizeof(plain) - 1, &openedlen),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_seal(secret, aad, strlen(aad), plain, sizeof(plain),
                               again, sizeof(plain) + CSAM_SEAL_OVERHEAD - 1,
                               &againlen),
                     CSAM_ERR_INVALID);
    /* Still opens after all that. */
    assert_int_equal(csam_open(secret, aad, strlen(aad), sealed, sealedlen,
                               opened, sizeof(opened), &openedlen),
                     CSAM_OK);
    assert_memory_equal(opened, plain, sizeof(plain));
    csam_secret_free(secret);
    csam_secret_free(other);
}

static void test_random_bytes(void **state)
{
    unsigned char a[32], b[32];

    (void)state;
    assert_int_equal(csam_random_bytes(a, sizeof(a)), CSAM_OK);
    assert_int_equal(csam_random_bytes(b, sizeof(b)), CSAM_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(csam_random_bytes(NULL, 4), CSAM_ERR_INVALID);
    csam_wipe(a, sizeof(a));
    memset(b, 0, sizeof(b));
    assert_memory_equal(a, b, sizeof(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_secret_file_modes,
                                        csam_test_dir_setup,
                                        csam_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_secret_file_group,
                                        csam_test_dir_setup,
                                        csam_test_dir_teardown),
        cmocka_unit_test_setup_teardown(
            test_secret_file_dirs, csam_test_dir_setup, csam_test_dir_teardown),
        cmocka_unit_test_setup_teardown(
            test_secret_file_size, csam_test_dir_setup, csam_test_dir_teardown),
        cmocka_unit_test_setup_teardown(
            test_secret_file_kind, csam_test_dir_setup, csam_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_secret_file_same_as_bytes,
                                        csam_test_dir_setup,
                                        csam_test_dir_teardown),
        cmocka_unit_test(test_secret_pair_attach),
        cmocka_unit_test(test_open_any),
        cmocka_unit_test(test_hmac_reference_rfc4231),
        cmocka_unit_test(test_key_derivation_hkdf),
        cmocka_unit_test(test_keyed_hash),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_activation_code_new),
        cmocka_unit_test(test_activation_code_normalize),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_base64_decode),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_security_code),
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_random_bytes),
    };
    /* Files owned by others can only be made as root. */
    const struct CMUnitTest as_root[] = {
        cmocka_unit_test_setup_teardown(test_secret_file_owner,
                                        csam_test_dir_setup,
                                        csam_test_dir_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    if (geteuid() != 0) {
        if (failed != 0)
            return failed;
        /* automake's SKIP, with its reason: not a pass. */
        printf("SKIP: test_secret_file_owner needs root (a file owned by "
               "another user)\n");
        return 77;
    }
    return failed + cmocka_run_group_tests(as_root, NULL, NULL);
}
