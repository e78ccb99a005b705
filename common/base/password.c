/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Password policy, NFKC normalisation, Argon2id hashing and the list of
 * common passwords.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>
#include <unistring/version.h>

#include "argon2_run.h"
#include "crypto.h"
#include "password.h"

#define CSAM_PASSWORD_MIN_FLOOR 8
/* Raw bytes accepted before normalisation.  The policy maximum is at most
 * 1024 code points (4 KiB of UTF-8); normalisation can shrink the text
 * (a decomposed Hangul syllable takes 9 bytes, composed 3), so the bound
 * leaves room for that while keeping the work per request small. */
#define CSAM_PASSWORD_BYTES_MAX 16384
#define CSAM_PASSWORD_SALT_LEN 16
#define CSAM_PASSWORD_HASH_LEN 32
/* A stored PHC string is ~100 bytes; longer is not one of ours. */
#define CSAM_PASSWORD_PHC_MAX 512
#define CSAM_WORDLIST_LINE_MAX 1024
#define CSAM_WORDLIST_WORDS_MAX 10000000

struct csam_wordlist {
    char **words; /* NFKC + case folded, sorted, unique */
    size_t count;
};

/* ------------------------------------------------------ normalisation */

/* C0, DEL and C1.  s must be valid UTF-8. */
static int csam_password_has_control(const uint8_t *s, size_t n)
{
    size_t i;
    ucs4_t uc;
    int len;

    for (i = 0; i < n; i += (size_t)len) {
        len = u8_mbtouc(&uc, s + i, n - i);
        if (len <= 0 || uc < 0x20 || (uc >= 0x7f && uc <= 0x9f))
            return 1;
    }
    return 0;
}

csam_result csam_password_normalize(const char *password, char **out)
{
    const uint8_t *s = (const uint8_t *)password;
    uint8_t *norm;
    size_t n, normlen = 0;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (password == NULL)
        return CSAM_ERR_INVALID;
    n = strnlen(password, CSAM_PASSWORD_BYTES_MAX + 1);
    if (n > CSAM_PASSWORD_BYTES_MAX || u8_check(s, n) != NULL
        || csam_password_has_control(s, n))
        return CSAM_ERR_INVALID;

    /* The terminating NUL goes through too (NFKC keeps it), so the result
     * comes back NUL-terminated without a copy of the secret. */
    norm = u8_normalize(UNINORM_NFKC, s, n + 1, NULL, &normlen);
    if (norm == NULL)
        return errno == ENOMEM ? CSAM_ERR_NOMEM : CSAM_ERR_INVALID;
    if (normlen == 0 || norm[normlen - 1] != '\0'
        || memchr(norm, '\0', normlen - 1) != NULL
        || csam_password_has_control(norm, normlen - 1)) {
        csam_wipe(norm, normlen);
        free(norm);
        return CSAM_ERR_INVALID;
    }
    *out = (char *)norm;
    return CSAM_OK;
}

void csam_password_release(char *normalized)
{
    if (normalized == NULL)
        return;
    csam_wipe(normalized, strlen(normalized));
    free(normalized);
}

/* ------------------------------------------------------------- policy */

static char csam_password_ascii_lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c;
}

/* Usernames are [a-z0-9._-], so ASCII folding finds them in any case;
 * NFKC has already turned fullwidth letters into ASCII. */
static int csam_password_contains_name(const char *password,
                                       const char *username)
{
    size_t plen = strlen(password), ulen = strlen(username), i, j;

    if (ulen == 0 || ulen > plen)
        return 0;
    for (i = 0; i + ulen <= plen; i++) {
        for (j = 0; j < ulen; j++)
            if (csam_password_ascii_lower(password[i + j])
                != csam_password_ascii_lower(username[j]))
                break;
        if (j == ulen)
            return 1;
    }
    return 0;
}

csam_result csam_password_check(const struct csam_password_policy *policy,
                                const char *username, const char *password)
{
    size_t min, length;
    csam_result res;
    char *norm = NULL;

    if (policy == NULL || password == NULL)
        return CSAM_ERR_INVALID;
    if (strnlen(password, CSAM_PASSWORD_BYTES_MAX + 1)
        > CSAM_PASSWORD_BYTES_MAX)
        return CSAM_ERR_WEAK_PASSWORD;
    res = csam_password_normalize(password, &norm);
    if (res != CSAM_OK)
        return res;

    /* The floor holds whatever the configuration says. */
    min = policy->min_length < CSAM_PASSWORD_MIN_FLOOR ? CSAM_PASSWORD_MIN_FLOOR
                                                       : policy->min_length;
    length = u8_mbsnlen((const uint8_t *)norm, strlen(norm));
    /* Length, the user's own name, the common passwords: one refusal for
     * all three; the list lookup, the costliest, comes last. */
    if (length < min || length > policy->max_length
        || (username != NULL && csam_password_contains_name(norm, username))
        || (policy->common != NULL
            && csam_wordlist_contains(policy->common, norm)))
        res = CSAM_ERR_WEAK_PASSWORD;
    csam_password_release(norm);
    return res;
}

/* ------------------------------------------------------------ Argon2id */

static csam_result csam_password_argon2_result(int rc)
{
    switch (rc) {
    case ARGON2_OK: return CSAM_OK;
    case ARGON2_VERIFY_MISMATCH: return CSAM_ERR_BAD_CREDENTIALS;
    case ARGON2_MEMORY_ALLOCATION_ERROR: return CSAM_ERR_NOMEM;
    case ARGON2_THREAD_FAIL:
    case ARGON2_ENCODING_FAIL: return CSAM_ERR_CRYPTO;
    default:
        /* Parameters out of range, or a PHC string that does not decode. */
        return CSAM_ERR_INVALID;
    }
}

csam_result csam_password_hash(const struct csam_argon2_params *params,
                               const char *password, char **phc)
{
    unsigned char salt[CSAM_PASSWORD_SALT_LEN];
    char *norm = NULL, *encoded;
    size_t enclen;
    csam_result res;
    int rc;

    if (phc == NULL)
        return CSAM_ERR_INVALID;
    *phc = NULL;
    if (params == NULL || password == NULL || params->t_cost == 0
        || params->m_cost == 0 || params->parallelism == 0)
        return CSAM_ERR_INVALID;
    res = csam_password_normalize(password, &norm);
    if (res != CSAM_OK)
        return res;
    if (csam_random_bytes(salt, sizeof(salt)) != CSAM_OK) {
        csam_password_release(norm);
        return CSAM_ERR_CRYPTO;
    }

    enclen = argon2_encodedlen(params->t_cost, params->m_cost,
                               params->parallelism, CSAM_PASSWORD_SALT_LEN,
                               CSAM_PASSWORD_HASH_LEN, Argon2_id);
    encoded = malloc(enclen);
    if (encoded == NULL) {
        csam_password_release(norm);
        return CSAM_ERR_NOMEM;
    }
    rc = argon2id_hash_encoded(
        params->t_cost, params->m_cost, params->parallelism, norm, strlen(norm),
        salt, sizeof(salt), CSAM_PASSWORD_HASH_LEN, encoded, enclen);
    csam_password_release(norm);
    res = csam_password_argon2_result(rc);
    if (res != CSAM_OK) {
        free(encoded);
        return res;
    }
    *phc = encoded;
    return CSAM_OK;
}

csam_result csam_password_verify(const char *phc, const char *password)
{
    static const char prefix[] = "$argon2id$";
    struct csam_phc decoded;
    const char *input;
    size_t input_len;
    char *norm = NULL;
    csam_result res;
    int rc;

    if (phc == NULL || password == NULL
        || strncmp(phc, prefix, sizeof(prefix) - 1) != 0
        || strnlen(phc, CSAM_PASSWORD_PHC_MAX + 1) > CSAM_PASSWORD_PHC_MAX)
        return CSAM_ERR_INVALID;

    res = csam_password_normalize(password, &norm);
    if (res == CSAM_ERR_NOMEM)
        return res;
    /* A password that does not normalise (bad UTF-8, a control
     * character) was never hashed, so it cannot match; it still costs one
     * Argon2id run, so the answer takes the time a wrong password takes. */
    input = res == CSAM_OK ? norm : password;
    input_len = strnlen(input, CSAM_PASSWORD_BYTES_MAX);
    /* Our own PHC strings run in memory lent or kept warm (argon2_run.h);
     * any other shape goes to libargon2's decoder as before. */
    if (csam_phc_parse(phc, &decoded) == CSAM_OK)
        rc = csam_argon2_verify(&decoded, input, input_len);
    else
        rc = argon2id_verify(phc, input, input_len);
    csam_wipe(&decoded, sizeof(decoded));
    csam_password_release(norm);
    if (res != CSAM_OK)
        return rc == ARGON2_OK || rc == ARGON2_VERIFY_MISMATCH
                   ? CSAM_ERR_BAD_CREDENTIALS
                   : csam_password_argon2_result(rc);
    return csam_password_argon2_result(rc);
}

void csam_password_burn(const struct csam_argon2_params *params,
                        const char *password)
{
    unsigned char salt[CSAM_PASSWORD_SALT_LEN] = {0};
    unsigned char hash[CSAM_PASSWORD_HASH_LEN];
    char *norm = NULL;
    const char *input;

    if (params == NULL)
        return;
    if (password == NULL)
        password = "";
    /* Same work as csam_password_verify: normalise, then one Argon2id run
     * whose result nobody looks at. */
    input = csam_password_normalize(password, &norm) == CSAM_OK ? norm
                                                                : password;
    (void)csam_argon2_run(params->t_cost, params->m_cost, params->parallelism,
                          input, strnlen(input, CSAM_PASSWORD_BYTES_MAX), salt,
                          sizeof(salt), hash, sizeof(hash));
    csam_wipe(hash, sizeof(hash));
    csam_password_release(norm);
}

/* ------------------------------------------------------------ wordlist */

/* NFKC and full case folding, NUL-terminated, malloc'd; NULL when s is
 * not valid UTF-8 or memory runs out (errno tells which). */
static char *csam_wordlist_fold(const char *s, size_t n)
{
    uint8_t *folded;
    size_t len = 0;

    if (u8_check((const uint8_t *)s, n) != NULL) {
        errno = EINVAL;
        return NULL;
    }
    /* As in csam_password_normalize, the NUL travels with the text. */
    folded = u8_casefold((const uint8_t *)s, n + 1, NULL, UNINORM_NFKC, NULL,
                         &len);
    if (folded == NULL)
        return NULL;
    if (len == 0 || folded[len - 1] != '\0') {
        csam_wipe(folded, len);
        free(folded);
        errno = EINVAL;
        return NULL;
    }
    return (char *)folded;
}

static int csam_wordlist_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void csam_wordlist_free(csam_wordlist *list)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < list->count; i++)
        free(list->words[i]);
    free(list->words);
    free(list);
}

static csam_result csam_wordlist_add(csam_wordlist *list, size_t *capacity,
                                     const char *line, size_t len)
{
    char **grown;
    char *word;

    if (list->count == CSAM_WORDLIST_WORDS_MAX)
        return CSAM_OK;
    word = csam_wordlist_fold(line, len);
    if (word == NULL)
        /* A line that is not UTF-8 cannot match a password, which is. */
        return errno == ENOMEM ? CSAM_ERR_NOMEM : CSAM_OK;
    if (list->count == *capacity) {
        *capacity = *capacity == 0 ? 1024 : *capacity * 2;
        grown = realloc(list->words, *capacity * sizeof(*grown));
        if (grown == NULL) {
            free(word);
            return CSAM_ERR_NOMEM;
        }
        list->words = grown;
    }
    list->words[list->count++] = word;
    return CSAM_OK;
}

/* Append the words of one file to list. */
static csam_result csam_wordlist_read(csam_wordlist *list, size_t *capacity,
                                      const char *path)
{
    size_t linecap = 0;
    csam_result res = CSAM_OK;
    char *line = NULL;
    ssize_t got;
    size_t len;
    FILE *fp;

    if (path == NULL)
        return CSAM_ERR_IO;
    fp = fopen(path, "re");
    if (fp == NULL)
        return CSAM_ERR_IO;
    while (res == CSAM_OK && (got = getline(&line, &linecap, fp)) >= 0) {
        len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        /* Embedded NULs or overlong lines are not passwords anyone types
         * through a form: skip them. */
        if (len == 0 || line[0] == '#' || len > CSAM_WORDLIST_LINE_MAX
            || strlen(line) != len)
            continue;
        res = csam_wordlist_add(list, capacity, line, len);
    }
    /* getline stops early on a read error or when out of memory. */
    if (res == CSAM_OK && !feof(fp))
        res = ferror(fp) ? CSAM_ERR_IO : CSAM_ERR_NOMEM;
    free(line);
    fclose(fp);
    return res;
}

csam_result csam_wordlist_load_files(const char *const *paths, size_t npaths,
                                     csam_wordlist **out)
{
    csam_wordlist *list;
    size_t capacity = 0, i, j;
    csam_result res = CSAM_OK;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (paths == NULL || npaths == 0)
        return CSAM_ERR_IO;
    list = calloc(1, sizeof(*list));
    if (list == NULL)
        return CSAM_ERR_NOMEM;
    for (i = 0; res == CSAM_OK && i < npaths; i++)
        res = csam_wordlist_read(list, &capacity, paths[i]);
    if (res != CSAM_OK) {
        csam_wordlist_free(list);
        return res;
    }

    if (list->count > 0) {
        qsort(list->words, list->count, sizeof(*list->words),
              csam_wordlist_compare);
        for (i = 1, j = 1; i < list->count; i++) {
            if (strcmp(list->words[i], list->words[j - 1]) == 0)
                free(list->words[i]);
            else
                list->words[j++] = list->words[i];
        }
        list->count = j;
    }
    *out = list;
    return CSAM_OK;
}

csam_result csam_wordlist_load(const char *path, csam_wordlist **out)
{
    return csam_wordlist_load_files(&path, 1, out);
}

int csam_wordlist_contains(const csam_wordlist *list, const char *word)
{
    char *folded;
    size_t n;
    int found;

    if (list == NULL || word == NULL || list->count == 0)
        return 0;
    n = strnlen(word, CSAM_PASSWORD_BYTES_MAX + 1);
    if (n > CSAM_PASSWORD_BYTES_MAX)
        return 0;
    folded = csam_wordlist_fold(word, n);
    if (folded == NULL)
        /* Out of memory: say "common" so that a policy check fails
         * closed; invalid UTF-8 is in no list. */
        return errno == ENOMEM;
    found = bsearch(&folded, list->words, list->count, sizeof(*list->words),
                    csam_wordlist_compare)
            != NULL;
    csam_wipe(folded, strlen(folded));
    free(folded);
    return found;
}

int csam_password_unistring_version(void)
{
    return _libunistring_version;
}
