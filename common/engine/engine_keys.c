/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Self-management (DESIGN 2.4): a logged-in citizen lists keys, adds one
 * through the same confirm step as activation, deactivates one (never the
 * last) and changes the password.  The username comes from a live session.
 *
 * Each change runs in one transaction that first locks the account's row,
 * so that changes of one account happen one after the other (two
 * deactivations of the last two keys: the second waits for the first,
 * then its guarded statement, with a snapshot taken after the wait, sees
 * it and is refused), and that mails its notice before the commit, so a
 * relay that refuses it leaves the change undone rather than unannounced.
 * The statements are the store's (common/store/account.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "engine_internal.h"

#define CSAM_KEYS_TERMS_MAX 64

/* The locked account and the name it was asked by. */
struct csam_keys_account {
    struct csam_store_account row;
    char username[CSAM_USERNAME_BUFSIZE];
};

/* ---- listing ----------------------------------------------------------- */

csam_result csam_engine_keys_list(csam_engine *engine, const char *username,
                                  struct csam_key_info *keys, size_t max,
                                  size_t *n)
{
    struct csam_store_key rows[CSAM_KEYS_MAX];
    csam_result res;
    size_t i, nrows = 0;

    if (engine == NULL || n == NULL || (keys == NULL && max > 0))
        return CSAM_ERR_INVALID;
    *n = 0;
    if (username == NULL || csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    res = csam_store_account_keys(engine->deps.store, username, rows,
                                  max < CSAM_KEYS_MAX ? max : CSAM_KEYS_MAX,
                                  &nrows);
    for (i = 0; i < nrows && i < max; i++) {
        keys[i].type = rows[i].type;
        snprintf(keys[i].status, sizeof(keys[i].status), "%s", rows[i].status);
        snprintf(keys[i].activated_at, sizeof(keys[i].activated_at), "%s",
                 rows[i].activated_at);
    }
    *n = nrows;
    return res;
}

/* ---- the account, locked ----------------------------------------------- */

/* Begin a transaction and lock the account; on error nothing is open. */
static csam_result csam_keys_begin(csam_engine *engine, const char *username,
                                   struct csam_keys_account *out)
{
    csam_store *store = engine->deps.store;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (username == NULL || csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_account_lock(store, username, &out->row);
    if (res != CSAM_OK) {
        csam_store_rollback(store);
        return res;
    }
    snprintf(out->username, sizeof(out->username), "%s", username);
    return CSAM_OK;
}

static csam_result csam_keys_finish(csam_engine *engine, csam_result res)
{
    if (res == CSAM_OK)
        return csam_store_commit(engine->deps.store);
    csam_store_rollback(engine->deps.store);
    return res;
}

/* A notice about a key ("key_activated", "key_deactivated"). */
static csam_result csam_keys_notice(csam_engine *engine,
                                    const struct csam_keys_account *acc,
                                    const char *kind, enum csam_key_type type)
{
    struct csam_tvar vars[3];

    vars[0].name = "first_name";
    vars[0].value = acc->row.first_name;
    vars[1].name = "username";
    vars[1].value = acc->username;
    vars[2].name = "key_label";
    vars[2].value = csam_mail_key_label(acc->row.language, type);
    return csam_engine_mail(engine, acc->row.email, acc->row.language, kind,
                            vars, 3, NULL);
}

static csam_result csam_keys_audit(csam_engine *engine,
                                   const struct csam_keys_account *acc,
                                   const char *action, enum csam_key_type type,
                                   const char *source)
{
    char detail[64];

    snprintf(detail, sizeof(detail), "{\"key_type\": \"%s\"}",
             csam_key_type_name(type));
    return csam_audit_write(engine->deps.store, acc->username, action, 0,
                            acc->row.id, source, detail);
}

/* ---- adding a key ------------------------------------------------------ */

/* The new key's pending row: for the app's key csam_totp_create writes it
 * (and its sealed secret) after the type's earlier pending rows are gone;
 * for the others the store replaces them in one statement. */
static csam_result csam_keys_add_row(csam_engine *engine,
                                     const struct csam_keys_account *account,
                                     enum csam_key_type key_type,
                                     const char *terms_version,
                                     const char *e164, int64_t *key_id,
                                     struct csam_credentials_outcome *out)
{
    struct csam_store_key_new key;
    csam_result res;

    if (key_type == CSAM_KEY_TOTP) {
        res = csam_store_account_key_drop_pending(
            engine->deps.store, account->row.id, CSAM_KEY_TOTP);
        if (res == CSAM_OK)
            res = csam_totp_create(engine, account->row.id, account->username,
                                   terms_version, key_id, out);
        return res;
    }
    key.account_id = account->row.id;
    key.type = key_type;
    key.terms_version = terms_version;
    key.phone = key_type == CSAM_KEY_SMS ? e164 : NULL;
    return csam_store_account_key_add(engine->deps.store, &key, key_id);
}

csam_result csam_engine_key_add(csam_engine *engine, const char *source,
                                const char *username,
                                enum csam_key_type key_type, int accept_terms,
                                const char *phone, const char *terms_version,
                                struct csam_credentials_outcome *out)
{
    struct csam_challenge_recipient to;
    struct csam_challenge_owner owner;
    struct csam_keys_account account;
    struct csam_store_key_state state;
    char e164[CSAM_PHONE_SIZE] = "";
    int64_t key_id = 0;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->attempts.attempts_left = -1;
    if (terms_version == NULL)
        terms_version = "1";
    if (csam_text_check(terms_version, CSAM_KEYS_TERMS_MAX) != CSAM_OK
        || csam_key_type_name(key_type) == NULL
        || !((unsigned)key_type & csam_engine_offered(engine)))
        return CSAM_ERR_INVALID;
    if (!accept_terms)
        return CSAM_ERR_TERMS;
    if (key_type == CSAM_KEY_SMS
        && (phone == NULL
            || csam_phone_check(phone, engine->deps.config->sms_countries, e164)
                   != CSAM_OK))
        return CSAM_ERR_PHONE;
    res = csam_keys_begin(engine, username, &account);
    if (res != CSAM_OK)
        return res;
    res = csam_store_account_key_state(engine->deps.store, account.row.id,
                                       key_type, &state);
    if (res == CSAM_OK && state.active != 0)
        res = CSAM_ERR_STATE;
    /* Asking again is how a new code is had, and each one is a message
     * (an SMS costs money): the account's lock serialises the check. */
    if (res == CSAM_OK && key_type != CSAM_KEY_TOTP)
        res = csam_challenge_cooldown(engine, account.row.id, 0,
                                      CSAM_CHALLENGE_KEY_CONFIRM,
                                      &out->attempts.retry_after);
    if (res == CSAM_OK)
        res = csam_keys_add_row(engine, &account, key_type, terms_version, e164,
                                &key_id, out);
    if (res != CSAM_OK)
        return csam_keys_finish(engine, res);

    owner.account_id = account.row.id;
    owner.username = account.username;
    owner.handle = NULL;
    to.username = account.username;
    to.registration_id = 0;
    to.first_name = account.row.first_name;
    to.language = account.row.language;
    to.email = account.row.email;
    to.phone = e164;
    to.detail = NULL;
    res = csam_keys_audit(engine, &account, "key.added", key_type, source);
    if (res == CSAM_OK)
        res = csam_challenge_send(engine, &owner, key_id,
                                  CSAM_CHALLENGE_KEY_CONFIRM, key_type, &to,
                                  source);
    res = csam_keys_finish(engine, res);
    if (res == CSAM_OK)
        out->next = CSAM_STEP_CONFIRM;
    else
        csam_credentials_outcome_free(out);
    return res;
}

/* ---- confirming it ----------------------------------------------------- */

csam_result csam_engine_key_confirm(csam_engine *engine, const char *source,
                                    const char *username,
                                    enum csam_key_type key_type,
                                    const char *code, struct csam_attempts *att)
{
    struct csam_challenge_owner owner;
    struct csam_keys_account account;
    struct csam_store_key_state state;
    struct csam_attempts dummy;
    csam_result res, commit;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || csam_key_type_name(key_type) == NULL)
        return CSAM_ERR_INVALID;
    res = csam_keys_begin(engine, username, &account);
    if (res != CSAM_OK)
        return res;
    res = csam_store_account_key_state(engine->deps.store, account.row.id,
                                       key_type, &state);
    if (res == CSAM_OK && (state.active != 0 || state.pending == 0))
        res = CSAM_ERR_STATE;
    if (res != CSAM_OK)
        return csam_keys_finish(engine, res);
    owner.account_id = account.row.id;
    owner.username = account.username;
    owner.handle = NULL;
    if (key_type == CSAM_KEY_TOTP) {
        res = csam_totp_confirm(engine, account.row.id, "pending",
                                CSAM_CHALLENGE_KEY_CONFIRM, code, source, 1,
                                att);
        if (res == CSAM_ERR_NOT_FOUND)
            res = CSAM_ERR_STATE;
    } else
        res = csam_challenge_verify(engine, &owner, CSAM_CHALLENGE_KEY_CONFIRM,
                                    key_type, code, source, 1, att);
    if (res != CSAM_OK) {
        /* The counted attempt must stay counted. */
        commit = csam_store_commit(engine->deps.store);
        return commit == CSAM_OK ? res : commit;
    }
    res = csam_store_account_key_activate(engine->deps.store, state.pending);
    if (res == CSAM_OK)
        res = csam_keys_audit(engine, &account, "key.activated", key_type,
                              source);
    if (res == CSAM_OK)
        res = csam_keys_notice(engine, &account, "key_activated", key_type);
    return csam_keys_finish(engine, res);
}

/* ---- deactivating one -------------------------------------------------- */

/* Never the last active key, and every session the key opened ends with
 * it (DESIGN 4): both in the store's one statement, under the account's
 * lock. */
csam_result csam_engine_key_deactivate(csam_engine *engine, const char *source,
                                       const char *username,
                                       enum csam_key_type key_type)
{
    struct csam_keys_account account;
    int64_t ended = 0;
    char detail[96];
    csam_result res;

    if (engine == NULL || csam_key_type_name(key_type) == NULL)
        return CSAM_ERR_INVALID;
    res = csam_keys_begin(engine, username, &account);
    if (res != CSAM_OK)
        return res;
    res = csam_store_account_key_deactivate(engine->deps.store, account.row.id,
                                            key_type, &ended);
    if (res == CSAM_OK) {
        snprintf(detail, sizeof(detail),
                 "{\"key_type\": \"%s\", \"sessions_ended\": %lld}",
                 csam_key_type_name(key_type), (long long)ended);
        res = csam_audit_write(engine->deps.store, account.username,
                               "key.deactivated", 0, account.row.id, source,
                               detail);
    }
    if (res == CSAM_OK)
        res = csam_keys_notice(engine, &account, "key_deactivated", key_type);
    return csam_keys_finish(engine, res);
}

/* ---- the password ------------------------------------------------------ */

csam_result csam_engine_password_change(csam_engine *engine, const char *source,
                                        const char *username,
                                        const char *current,
                                        const char *password,
                                        const char *password_repeat,
                                        const char *keep_cookie)
{
    const struct csam_config *cfg;
    struct csam_password_policy policy;
    struct csam_argon2_params argon;
    struct csam_keys_account account;
    struct csam_store_password_change change;
    struct csam_login_check chk;
    struct csam_attempts att;
    unsigned char keep[CSAM_HASH_LEN];
    struct csam_tvar vars[2];
    int have_keep = 0;
    char *phc = NULL;
    size_t plen;
    csam_result res;

    if (engine == NULL || username == NULL || current == NULL
        || password == NULL || password_repeat == NULL)
        return CSAM_ERR_INVALID;
    cfg = engine->deps.config;
    /* Cheap refusals first; the current password's Argon2id run, which
     * counts a failure, only for a new password that could be set. */
    plen = strlen(password);
    if (plen != strlen(password_repeat)
        || !csam_ct_equal(password, password_repeat, plen))
        return CSAM_ERR_PASSWORD_MISMATCH;
    csam_login_policy(engine, &policy);
    res = csam_password_check(&policy, username, password);
    if (res != CSAM_OK)
        return res;
    if (keep_cookie != NULL && csam_token_valid(keep_cookie)) {
        res = csam_engine_hash(engine, CSAM_PURPOSE_SESSION, "session", 0,
                               keep_cookie, keep);
        if (res != CSAM_OK)
            return res;
        have_keep = 1;
    }
    res = csam_login_check(engine, source, username, current, &chk, &att);
    if (res != CSAM_OK)
        return res;
    if (chk.account_id == 0)
        return CSAM_ERR_BAD_CREDENTIALS; /* not reachable: no hash to match */
    res = csam_login_settle(engine, &chk, "password.accepted", username,
                            source);
    if (res != CSAM_OK)
        return res;
    argon.t_cost = (uint32_t)cfg->argon2_t_cost;
    argon.m_cost = (uint32_t)cfg->argon2_m_cost;
    argon.parallelism = (uint32_t)cfg->argon2_parallelism;
    res = csam_password_hash(&argon, password, &phc);
    if (res != CSAM_OK)
        return res;

    res = csam_keys_begin(engine, username, &account);
    if (res != CSAM_OK)
        goto out;
    /* Every other session ends and every login still half-way (made with
     * the old password) is superseded, in the store's one statement with
     * its audit row. */
    change.account_id = account.row.id;
    change.password_hash = phc;
    change.keep_session = have_keep ? keep : NULL;
    change.source = csam_engine_source(source);
    res = csam_store_account_password_set(engine->deps.store, &change);
    if (res == CSAM_OK) {
        vars[0].name = "first_name";
        vars[0].value = account.row.first_name;
        vars[1].name = "username";
        vars[1].value = account.username;
        res = csam_engine_mail(engine, account.row.email, account.row.language,
                               "password_changed", vars, 2, NULL);
    }
    res = csam_keys_finish(engine, res);

out:
    csam_wipe(keep, sizeof(keep));
    csam_wipe(phc, strlen(phc));
    free(phc);
    return res;
}
