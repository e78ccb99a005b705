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

static const struct csam_store_stmt csam_totp_stmt_fetch = {
    "csam_totp_fetch",
    "SELECT k.id, encode(k.totp_secret, 'hex'),"
    " coalesce(k.totp_last_step, -1), floor(extract(epoch FROM now()))::bigint"
    " FROM csam_keys k WHERE k.account_id = $1 AND k.type = 'totp'"
    " AND k.status = $2 ORDER BY k.id DESC LIMIT 1",
    2, CSAM_STORE_RETRY};

csam_result csam_totp_confirm(csam_engine *engine, int64_t account_id,
                              const char *status,
                              enum csam_challenge_purpose purpose,
                              const char *code, const char *source, int web,
                              struct csam_attempts *att)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    int64_t key_id, step = -1;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(status);
    res = csam_store_exec(engine->deps.store, &csam_totp_stmt_fetch, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    key_id = csam_store_int64(rows, 0, 0, 0);
    res = csam_totp_match(engine, key_id, csam_store_value(rows, 0, 1),
                          csam_store_int64(rows, 0, 2, -1),
                          csam_store_int64(rows, 0, 3, 0), code, &step);
    csam_store_rows_free(rows);
    if (res != CSAM_OK)
        return res;
    return csam_challenge_verify_totp(engine, account_id, key_id, purpose,
                                      step, source, web, att);
}

/* By name for PAM: the active account's active key. */
static const struct csam_store_stmt csam_totp_stmt_fetch_named = {
    "csam_totp_fetch_named",
    "SELECT k.id, encode(k.totp_secret, 'hex'),"
    " coalesce(k.totp_last_step, -1), floor(extract(epoch FROM now()))::bigint,"
    " a.id FROM csam_accounts a JOIN csam_keys k ON k.account_id = a.id"
    " WHERE a.username = $1 AND a.status = 'active' AND k.type = 'totp'"
    " AND k.status = 'active'",
    1, CSAM_STORE_RETRY};

csam_result csam_totp_confirm_named(csam_engine *engine, const char *username,
                                    enum csam_challenge_purpose purpose,
                                    const char *code, const char *source,
                                    struct csam_attempts *att)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    int64_t key_id, account_id, step = -1;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    p[0] = csam_store_text(username);
    res = csam_store_exec(engine->deps.store, &csam_totp_stmt_fetch_named, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_NOT_FOUND;
    }
    key_id = csam_store_int64(rows, 0, 0, 0);
    account_id = csam_store_int64(rows, 0, 4, 0);
    res = csam_totp_match(engine, key_id, csam_store_value(rows, 0, 1),
                          csam_store_int64(rows, 0, 2, -1),
                          csam_store_int64(rows, 0, 3, 0), code, &step);
    csam_store_rows_free(rows);
    if (res != CSAM_OK)
        return res;
    return csam_challenge_verify_totp(engine, account_id, key_id, purpose,
                                      step, source, 0, att);
}

/* The id comes first: the sealed secret is bound to it. */
static const struct csam_store_stmt csam_totp_stmt_nextval = {
    "csam_totp_nextval",
    "SELECT nextval(pg_get_serial_sequence('csam_keys', 'id'))", 0, 0};

static const struct csam_store_stmt csam_totp_stmt_insert = {
    "csam_totp_insert",
    "INSERT INTO csam_keys (id, account_id, type, terms_version, totp_secret)"
    " OVERRIDING SYSTEM VALUE VALUES ($1, $2, 'totp', NULLIF($3, ''), $4)",
    4, 0};

csam_result csam_totp_create(csam_engine *engine, int64_t account_id,
                             const char *username, const char *terms_version,
                             int64_t *key_id,
                             struct csam_credentials_outcome *out)
{
    unsigned char key[CSAM_TOTP_KEY_LEN];
    unsigned char sealed[CSAM_TOTP_KEY_SEALED_LEN];
    char b32[CSAM_TOTP_KEY_B32_SIZE];
    char id[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    const char *issuer = engine->deps.config->totp_issuer;
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    csam_result res;

    *key_id = 0;
    res = csam_store_exec(engine->deps.store, &csam_totp_stmt_nextval, NULL,
                          &rows);
    if (res != CSAM_OK)
        return res;
    *key_id = csam_store_int64(rows, 0, 0, 0);
    csam_store_rows_free(rows);
    if (*key_id <= 0)
        return CSAM_ERR_DB;
    res = csam_totp_key_new(key);
    if (res == CSAM_OK)
        res = csam_totp_key_seal(engine->deps.secret, *key_id, key, sealed);
    if (res == CSAM_OK)
        res = csam_totp_key_base32(key, b32);
    if (res == CSAM_OK)
        res = csam_totp_key_uri(issuer != NULL ? issuer : "CSAM", username,
                                key, &out->otpauth_uri);
    if (res == CSAM_OK && (out->totp_secret = strdup(b32)) == NULL)
        res = CSAM_ERR_NOMEM;
    csam_wipe(key, sizeof(key));
    csam_wipe(b32, sizeof(b32));
    if (res == CSAM_OK) {
        p[0] = csam_store_int(*key_id, id);
        p[1] = csam_store_int(account_id, acc);
        p[2] = csam_store_text(terms_version != NULL ? terms_version : "");
        p[3] = csam_store_bytes(sealed, sizeof(sealed));
        res = csam_store_exec(engine->deps.store, &csam_totp_stmt_insert, p,
                              NULL);
    }
    if (res != CSAM_OK) {
        if (out->otpauth_uri != NULL)
            csam_wipe(out->otpauth_uri, strlen(out->otpauth_uri));
        csam_credentials_outcome_free(out);
    }
    return res;
}
