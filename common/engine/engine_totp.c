/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mobile-app key (TOTP) in the engine's flows.
 *
 * Its codes are made by the citizen's app, not sent, so they are not rows
 * of csam_challenges; a challenge row is still issued for each login or
 * confirmation (with a hash no code matches) so that the attempts of a
 * TOTP code are bounded and counted exactly like those of a sent code.
 * Checking a code needs the secret, which only opens here (it is sealed
 * under the secret file): one statement reads it with the database clock,
 * the next stores the matched step and counts the attempt.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "totp_key.h"

static int csam_totp_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The sealed secret from its hex text; exactly CSAM_TOTP_KEY_SEALED_LEN
 * bytes, or 0. */
static int csam_totp_unhex(const char *hex,
                           unsigned char out[CSAM_TOTP_KEY_SEALED_LEN])
{
    size_t i;
    int hi, lo;

    if (hex == NULL || strlen(hex) != 2 * CSAM_TOTP_KEY_SEALED_LEN)
        return 0;
    for (i = 0; i < CSAM_TOTP_KEY_SEALED_LEN; i++) {
        hi = csam_totp_hexval(hex[2 * i]);
        lo = csam_totp_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

csam_result csam_totp_match(csam_engine *engine, int64_t key_id,
                            const char *sealed_hex, int64_t last_step,
                            int64_t now, const char *code, int64_t *step)
{
    unsigned char sealed[CSAM_TOTP_KEY_SEALED_LEN];
    csam_result res;

    *step = -1;
    if (!csam_totp_unhex(sealed_hex, sealed))
        return CSAM_ERR_CRYPTO;
    if (code == NULL || strnlen(code, 64) == 64)
        return CSAM_OK; /* not a code: a wrong one, counted as such */
    res = csam_totp_key_verify_sealed(engine->deps.secret, key_id, sealed,
                                      sizeof(sealed), now, last_step, code,
                                      step);
    if (res == CSAM_ERR_BAD_CODE) {
        *step = -1;
        res = CSAM_OK;
    }
    if (res == CSAM_ERR_CRYPTO)
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "TOTP key %lld does not open with this secret file",
                 (long long)key_id);
    return res;
}

/* The code checked against the key read, then counted on the newest
 * challenge of (account, purpose). */
static csam_result csam_totp_check(csam_engine *engine,
                                   const struct csam_store_totp_key *key,
                                   enum csam_challenge_purpose purpose,
                                   const char *code, const char *source,
                                   int web, struct csam_attempts *att)
{
    int64_t step = -1;
    csam_result res;

    res = csam_totp_match(engine, key->key_id, key->sealed, key->last_step,
                          key->now, code, &step);
    if (res != CSAM_OK)
        return res;
    return csam_challenge_verify_totp(engine, key->account_id, key->key_id,
                                      purpose, step, source, web, att);
}

csam_result csam_totp_confirm(csam_engine *engine, int64_t account_id,
                              const char *status,
                              enum csam_challenge_purpose purpose,
                              const char *code, const char *source, int web,
                              struct csam_attempts *att)
{
    struct csam_store_totp_key key;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    res = csam_store_challenge_totp_key(engine->deps.store, account_id, status,
                                        &key);
    if (res != CSAM_OK)
        return res;
    res = csam_totp_check(engine, &key, purpose, code, source, web, att);
    csam_wipe(key.sealed, sizeof(key.sealed));
    return res;
}

/* By name for PAM: the active account's active key. */
csam_result csam_totp_confirm_named(csam_engine *engine, const char *username,
                                    enum csam_challenge_purpose purpose,
                                    const char *code, const char *source,
                                    struct csam_attempts *att)
{
    struct csam_store_totp_key key;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    res = csam_store_challenge_totp_key_named(engine->deps.store, username,
                                              &key);
    if (res != CSAM_OK)
        return res;
    res = csam_totp_check(engine, &key, purpose, code, source, 0, att);
    csam_wipe(key.sealed, sizeof(key.sealed));
    return res;
}

/* What csam_totp_create gave back, wiped and freed when it fails. */
static void csam_totp_outcome_clear(struct csam_credentials_outcome *out)
{
    if (out->otpauth_uri != NULL) {
        csam_wipe(out->otpauth_uri, strlen(out->otpauth_uri));
        free(out->otpauth_uri);
    }
    if (out->totp_secret != NULL) {
        csam_wipe(out->totp_secret, strlen(out->totp_secret));
        free(out->totp_secret);
    }
    out->otpauth_uri = NULL;
    out->totp_secret = NULL;
}

csam_result csam_totp_create(csam_engine *engine, int64_t account_id,
                             const char *username, const char *terms_version,
                             int64_t *key_id,
                             struct csam_credentials_outcome *out)
{
    unsigned char key[CSAM_TOTP_KEY_LEN];
    unsigned char sealed[CSAM_TOTP_KEY_SEALED_LEN];
    char b32[CSAM_TOTP_KEY_B32_SIZE];
    const char *issuer = engine->deps.config->totp_issuer;
    csam_result res;

    /* The id comes first: the sealed secret is bound to it. */
    res = csam_store_challenge_totp_reserve(engine->deps.store, key_id);
    if (res != CSAM_OK)
        return res;
    res = csam_totp_key_new(key);
    if (res == CSAM_OK)
        res = csam_totp_key_seal(engine->deps.secret, *key_id, key, sealed);
    if (res == CSAM_OK)
        res = csam_totp_key_base32(key, b32);
    if (res == CSAM_OK)
        res = csam_totp_key_uri(issuer != NULL ? issuer : "CSAM", username, key,
                                &out->otpauth_uri);
    if (res == CSAM_OK && (out->totp_secret = strdup(b32)) == NULL)
        res = CSAM_ERR_NOMEM;
    csam_wipe(key, sizeof(key));
    csam_wipe(b32, sizeof(b32));
    if (res == CSAM_OK)
        res = csam_store_challenge_totp_insert(engine->deps.store, *key_id,
                                               account_id, terms_version,
                                               sealed, sizeof(sealed));
    if (res != CSAM_OK)
        csam_totp_outcome_clear(out);
    return res;
}
