/*
 * Self-management (DESIGN 2.4): a logged-in citizen lists keys, adds one
 * through the same confirm step as activation, deactivates one (never the
 * last) and changes the password.  The username comes from a live session.
 *
 * Each change runs in one transaction that first locks the account's row,
 * so that changes of one account happen one after the other (two
 * deactivations of the last two keys: the second waits for the first,
 * then its guarded UPDATE, with a snapshot taken after the wait, sees it
 * and is refused), and
 * that mails its notice before COMMIT, so a relay that refuses it leaves
 * the change undone rather than unannounced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define CSAM_KEYS_TERMS_MAX 64


struct csam_keys_account {
    int64_t id;
    char username[CSAM_USERNAME_BUFSIZE];
    char email[CSAM_EMAIL_MAX + 1];
    char language[3];
    char first_name[CSAM_NAME_MAX + 1];
};

/* ---- listing ----------------------------------------------------------- */

/* The newest key of each type (an active one first: there is at most one
 * of a type). */
static const struct csam_store_stmt csam_keys_stmt_list = {
    "csam_keys_list",
    "SELECT k.type, k.status, coalesce(to_char(k.activated_at AT TIME ZONE"
    " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
    " FROM csam_accounts a LEFT JOIN LATERAL ("
    " SELECT DISTINCT ON (type) type, status, activated_at FROM csam_keys"
    " WHERE account_id = a.id"
    " ORDER BY type, status = 'active' DESC, created_at DESC, id DESC) k"
    " ON true WHERE a.username = $1 AND a.status = 'active'"
    " ORDER BY k.type",
    1, CSAM_STORE_RETRY};

csam_result csam_engine_keys_list(csam_engine *engine, const char *username,
                                  struct csam_key_info *keys, size_t max,
                                  size_t *n)
{
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;
    int i, nrows;

    if (engine == NULL || n == NULL || (keys == NULL && max > 0))
        return CSAM_ERR_INVALID;
    *n = 0;
    if (username == NULL || csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    p[0] = csam_store_text(username);
    res = csam_store_exec(engine->deps.store, &csam_keys_stmt_list, p, &rows);
    if (res != CSAM_OK)
        return res;
    nrows = csam_store_nrows(rows);
    if (nrows == 0)
        res = CSAM_ERR_NOT_FOUND;
    for (i = 0; i < nrows && *n < max; i++) {
        struct csam_key_info *k = &keys[*n];
        enum csam_key_type type =
            csam_key_type_parse(csam_store_value(rows, i, 0));

        if (type == CSAM_KEY_NONE)
            continue; /* the account has no key at all */
        memset(k, 0, sizeof(*k));
        k->type = type;
        snprintf(k->status, sizeof(k->status), "%s",
                 csam_store_value(rows, i, 1));
        snprintf(k->activated_at, sizeof(k->activated_at), "%s",
                 csam_store_value(rows, i, 2));
        (*n)++;
    }
    csam_store_rows_free(rows);
    return res;
}

/* ---- the account, locked ----------------------------------------------- */

static const struct csam_store_stmt csam_keys_stmt_account = {
    "csam_keys_account",
    "SELECT a.id, a.email, a.language, r.first_name FROM csam_accounts a"
    " JOIN csam_registrations r ON r.id = a.registration_id"
    " WHERE a.username = $1 AND a.status = 'active'"
    " FOR NO KEY UPDATE OF a",
    1, 0};

/* Begin a transaction and lock the account; on error nothing is open. */
static csam_result csam_keys_begin(csam_engine *engine, const char *username,
                                   struct csam_keys_account *out)
{
    csam_store *store = engine->deps.store;
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (username == NULL || csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_text(username);
    res = csam_store_exec(store, &csam_keys_stmt_account, p, &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) != 1)
        res = CSAM_ERR_NOT_FOUND;
    if (res == CSAM_OK) {
        out->id = csam_store_int64(rows, 0, 0, 0);
        snprintf(out->username, sizeof(out->username), "%s", username);
        snprintf(out->email, sizeof(out->email), "%s",
                 csam_store_value(rows, 0, 1));
        snprintf(out->language, sizeof(out->language), "%s",
                 csam_store_value(rows, 0, 2));
        snprintf(out->first_name, sizeof(out->first_name), "%s",
                 csam_store_value(rows, 0, 3));
    }
    csam_store_rows_free(rows);
    if (res != CSAM_OK)
        csam_store_rollback(store);
    return res;
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
    vars[0].value = acc->first_name;
    vars[1].name = "username";
    vars[1].value = acc->username;
    vars[2].name = "key_label";
    vars[2].value = csam_mail_key_label(acc->language, type);
    return csam_engine_mail(engine, acc->email, acc->language, kind, vars, 3,
                            NULL);
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
                            acc->id, source, detail);
}

/* ---- adding a key ------------------------------------------------------ */

/* The type's active key and newest pending key (ids, 0: none). */
static const struct csam_store_stmt csam_keys_stmt_state = {
    "csam_keys_state",
    "SELECT coalesce((SELECT id FROM csam_keys WHERE account_id = $1"
    " AND type = $2 AND status = 'active'), 0),"
    " coalesce((SELECT id FROM csam_keys WHERE account_id = $1"
    " AND type = $2 AND status = 'pending'"
    " ORDER BY created_at DESC, id DESC LIMIT 1), 0)",
    2, 0};

/* A new pending key replaces the type's earlier pending ones (and their
 * codes, by cascade). */
static const struct csam_store_stmt csam_keys_stmt_add = {
    "csam_keys_add",
    "WITH d AS (DELETE FROM csam_keys WHERE account_id = $1 AND type = $2"
    " AND status = 'pending')"
    " INSERT INTO csam_keys (account_id, type, terms_version, phone)"
    " VALUES ($1, $2, $3, $4) RETURNING id",
    4, 0};

/* The same for the app's key, whose row csam_totp_create inserts. */
static const struct csam_store_stmt csam_keys_stmt_drop_totp = {
    "csam_keys_drop_totp",
    "DELETE FROM csam_keys WHERE account_id = $1 AND type = 'totp'"
    " AND status = 'pending'",
    1, 0};

static csam_result csam_keys_state(csam_engine *engine, int64_t account_id,
                                   enum csam_key_type type, int64_t *active,
                                   int64_t *pending)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(account_id, acc);
    p[1] = csam_store_text(csam_key_type_name(type));
    res = csam_store_exec(engine->deps.store, &csam_keys_stmt_state, p, &rows);
    if (res != CSAM_OK)
        return res;
    *active = csam_store_int64(rows, 0, 0, 0);
    *pending = csam_store_int64(rows, 0, 1, 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

csam_result csam_engine_key_add(csam_engine *engine, const char *source,
                                const char *username,
                                enum csam_key_type key_type, int accept_terms,
                                const char *phone, const char *terms_version,
                                struct csam_credentials_outcome *out)
{
    char code[CSAM_ENGINE_CODE_SIZE] = "";
    char acc[CSAM_STORE_INT_SIZE], minutes[CSAM_STORE_INT_SIZE];
    struct csam_challenge_owner owner;
    struct csam_keys_account account;
    char e164[CSAM_PHONE_SIZE] = "";
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    struct csam_tvar vars[3];
    int64_t active = 0, pending = 0, key_id;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->attempts.attempts_left = -1;
    if (terms_version == NULL)
        terms_version = "1";
    if (csam_text_check(terms_version, CSAM_KEYS_TERMS_MAX) != CSAM_OK ||
        csam_key_type_name(key_type) == NULL ||
        !((unsigned)key_type & csam_engine_offered(engine)))
        return CSAM_ERR_INVALID;
    if (!accept_terms)
        return CSAM_ERR_TERMS;
    if (key_type == CSAM_KEY_SMS &&
        (phone == NULL ||
         csam_phone_check(phone, engine->deps.config->sms_countries, e164) !=
             CSAM_OK))
        return CSAM_ERR_PHONE;
    res = csam_keys_begin(engine, username, &account);
    if (res != CSAM_OK)
        return res;
    res = csam_keys_state(engine, account.id, key_type, &active, &pending);
    if (res == CSAM_OK && active != 0)
        res = CSAM_ERR_STATE;
    /* Asking again is how a new code is had, and each one is a message
     * (an SMS costs money): the account's lock serialises the check. */
    if (res == CSAM_OK && key_type != CSAM_KEY_TOTP)
        res = csam_challenge_cooldown(engine, account.id, 0,
                                      CSAM_CHALLENGE_KEY_CONFIRM,
                                      &out->attempts.retry_after);
    if (res != CSAM_OK)
        return csam_keys_finish(engine, res);
    p[0] = csam_store_int(account.id, acc);
    if (key_type == CSAM_KEY_TOTP) {
        res = csam_store_exec(engine->deps.store, &csam_keys_stmt_drop_totp, p,
                              NULL);
        if (res == CSAM_OK)
            res = csam_totp_create(engine, account.id, account.username,
                                   terms_version, &key_id, out);
        if (res != CSAM_OK)
            return csam_keys_finish(engine, res);
    } else {
        p[1] = csam_store_text(csam_key_type_name(key_type));
        p[2] = csam_store_text(terms_version);
        p[3] = csam_store_text(key_type == CSAM_KEY_SMS ? e164 : NULL);
        res =
            csam_store_exec(engine->deps.store, &csam_keys_stmt_add, p, &rows);
        if (res != CSAM_OK)
            return csam_keys_finish(engine, res);
        key_id = csam_store_int64(rows, 0, 0, 0);
        csam_store_rows_free(rows);
    }

    owner.account_id = account.id;
    owner.username = account.username;
    owner.handle = NULL;
    res =
        csam_challenge_issue(engine, &owner, key_id, CSAM_CHALLENGE_KEY_CONFIRM,
                             key_type, source, code);
    if (res == CSAM_OK)
        res = csam_keys_audit(engine, &account, "key.added", key_type, source);
    if (res == CSAM_OK && key_type != CSAM_KEY_TOTP) {
        csam_engine_code_minutes(engine, minutes);
        vars[0].name = "first_name";
        vars[0].value = account.first_name;
        vars[1].name = "code";
        vars[1].value = code;
        vars[2].name = "minutes";
        vars[2].value = minutes;
        if (key_type == CSAM_KEY_SMS)
            res = csam_engine_sms(engine, e164, account.language, vars, 3,
                                  code);
        else
            res = csam_engine_mail(engine, account.email, account.language,
                                   "code", vars, 3, code);
    }
    csam_wipe(code, sizeof(code));
    res = csam_keys_finish(engine, res);
    if (res == CSAM_OK)
        out->next = CSAM_STEP_CONFIRM;
    else
        csam_credentials_outcome_free(out);
    return res;
}

/* ---- confirming it ----------------------------------------------------- */

static const struct csam_store_stmt csam_keys_stmt_activate = {
    "csam_keys_activate",
    "UPDATE csam_keys SET status = 'active', activated_at = now()"
    " WHERE id = $1 AND status = 'pending'",
    1, 0};

csam_result csam_engine_key_confirm(csam_engine *engine, const char *source,
                                    const char *username,
                                    enum csam_key_type key_type,
                                    const char *code, struct csam_attempts *att)
{
    char keytext[CSAM_STORE_INT_SIZE];
    struct csam_challenge_owner owner;
    struct csam_keys_account account;
    struct csam_store_param p[1];
    struct csam_attempts dummy;
    csam_store_rows *rows = NULL;
    int64_t active = 0, pending = 0;
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
    res = csam_keys_state(engine, account.id, key_type, &active, &pending);
    if (res == CSAM_OK && (active != 0 || pending == 0))
        res = CSAM_ERR_STATE;
    if (res != CSAM_OK)
        return csam_keys_finish(engine, res);
    owner.account_id = account.id;
    owner.username = account.username;
    owner.handle = NULL;
    if (key_type == CSAM_KEY_TOTP) {
        res = csam_totp_confirm(engine, account.id, "pending",
                                CSAM_CHALLENGE_KEY_CONFIRM, code, source, 1,
                                att);
        if (res == CSAM_ERR_NOT_FOUND)
            res = CSAM_ERR_STATE;
    } else
        res = csam_challenge_verify(engine, &owner,
                                    CSAM_CHALLENGE_KEY_CONFIRM, key_type, code,
                                    source, 1, att);
    if (res != CSAM_OK) {
        /* The counted attempt must stay counted. */
        commit = csam_store_commit(engine->deps.store);
        return commit == CSAM_OK ? res : commit;
    }
    p[0] = csam_store_int(pending, keytext);
    res =
        csam_store_exec(engine->deps.store, &csam_keys_stmt_activate, p, &rows);
    if (res == CSAM_OK && csam_store_affected(rows) != 1)
        res = CSAM_ERR_STATE;
    csam_store_rows_free(rows);
    if (res == CSAM_OK)
        res = csam_keys_audit(engine, &account, "key.activated", key_type,
                              source);
    if (res == CSAM_OK)
        res = csam_keys_notice(engine, &account, "key_activated", key_type);
    return csam_keys_finish(engine, res);
}

/* ---- deactivating one -------------------------------------------------- */

/* Never the last active key: the guard is part of the UPDATE, and the
 * account's row, locked first, makes a concurrent deactivation wait and
 * then see this one.  The second column (the snapshot before the update)
 * tells a last key (1) from no such key (0).  s ends, in the same
 * statement, every session that key opened (DESIGN 4): an account has one
 * active key of a type, and the sessions of the type's earlier keys ended
 * with them; the third column counts them. */
static const struct csam_store_stmt csam_keys_stmt_deactivate = {
    "csam_keys_deactivate",
    "WITH k AS (UPDATE csam_keys k SET status = 'inactive',"
    " deactivated_at = now()"
    " WHERE k.account_id = $1 AND k.type = $2 AND k.status = 'active'"
    " AND EXISTS (SELECT 1 FROM csam_keys o WHERE o.account_id = $1"
    " AND o.status = 'active' AND o.id <> k.id) RETURNING k.id),"
    " s AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE account_id = $1 AND key_type = $2 AND revoked_at IS NULL"
    " AND EXISTS (SELECT 1 FROM k) RETURNING id)"
    " SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM csam_keys"
    " WHERE account_id = $1 AND type = $2 AND status = 'active'),"
    " (SELECT count(*) FROM s)",
    2, 0};

csam_result csam_engine_key_deactivate(csam_engine *engine, const char *source,
                                       const char *username,
                                       enum csam_key_type key_type)
{
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_keys_account account;
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    int64_t ended = 0;
    char detail[96];
    csam_result res;

    if (engine == NULL || csam_key_type_name(key_type) == NULL)
        return CSAM_ERR_INVALID;
    res = csam_keys_begin(engine, username, &account);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_int(account.id, acc);
    p[1] = csam_store_text(csam_key_type_name(key_type));
    res = csam_store_exec(engine->deps.store, &csam_keys_stmt_deactivate, p,
                          &rows);
    if (res == CSAM_OK && csam_store_int64(rows, 0, 0, 0) != 1)
        res = csam_store_int64(rows, 0, 1, 0) == 0 ? CSAM_ERR_NOT_FOUND
                                                   : CSAM_ERR_STATE;
    if (res == CSAM_OK)
        ended = csam_store_int64(rows, 0, 2, 0);
    csam_store_rows_free(rows);
    if (res == CSAM_OK) {
        snprintf(detail, sizeof(detail),
                 "{\"key_type\": \"%s\", \"sessions_ended\": %lld}",
                 csam_key_type_name(key_type), (long long)ended);
        res = csam_audit_write(engine->deps.store, account.username,
                               "key.deactivated", 0, account.id, source,
                               detail);
    }
    if (res == CSAM_OK)
        res = csam_keys_notice(engine, &account, "key_deactivated", key_type);
    return csam_keys_finish(engine, res);
}

/* ---- the password ------------------------------------------------------ */

/* $1 account, $2 the new PHC string, $3 the kept session's hash (or
 * NULL), $4 source: the password changed, every other session ended and
 * every login still half-way (made with the old password) superseded, in
 * one statement with its audit row. */
static const struct csam_store_stmt csam_keys_stmt_password = {
    "csam_keys_password",
    "WITH p AS (UPDATE csam_accounts SET password_hash = $2,"
    " password_changed_at = now() WHERE id = $1 RETURNING username),"
    " s AS (UPDATE csam_sessions SET revoked_at = now()"
    " WHERE account_id = $1 AND revoked_at IS NULL"
    " AND session_hash IS DISTINCT FROM $3::bytea RETURNING id),"
    " f AS (UPDATE csam_flows SET superseded_at = now()"
    " WHERE account_id = $1 AND kind = 'login' AND done_at IS NULL"
    " AND superseded_at IS NULL RETURNING id),"
    " l AS (INSERT INTO csam_audit (actor, action, account_id, source,"
    " detail) SELECT p.username, 'password.changed', $1, $4,"
    " jsonb_build_object('sessions_ended', (SELECT count(*) FROM s),"
    " 'logins_ended', (SELECT count(*) FROM f))"
    " FROM p RETURNING 1)"
    " SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM s)",
    4, 0};

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
    struct csam_login_check chk;
    struct csam_attempts att;
    unsigned char keep[CSAM_HASH_LEN];
    char acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    struct csam_tvar vars[2];
    int have_keep = 0;
    char *phc = NULL;
    size_t plen;
    csam_result res;

    if (engine == NULL || username == NULL || current == NULL ||
        password == NULL || password_repeat == NULL)
        return CSAM_ERR_INVALID;
    cfg = engine->deps.config;
    /* Cheap refusals first; the current password's Argon2id run, which
     * counts a failure, only for a new password that could be set. */
    plen = strlen(password);
    if (plen != strlen(password_repeat) ||
        !csam_ct_equal(password, password_repeat, plen))
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
    res =
        csam_login_settle(engine, &chk, "password.accepted", username, source);
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
    p[0] = csam_store_int(account.id, acc);
    p[1] = csam_store_text(phc);
    p[2] = have_keep ? csam_store_bytes(keep, sizeof(keep))
                     : csam_store_text(NULL);
    p[3] = csam_store_text(csam_engine_source(source));
    res =
        csam_store_exec(engine->deps.store, &csam_keys_stmt_password, p, &rows);
    if (res == CSAM_OK && csam_store_int64(rows, 0, 0, 0) != 1)
        res = CSAM_ERR_NOT_FOUND;
    csam_store_rows_free(rows);
    if (res == CSAM_OK) {
        vars[0].name = "first_name";
        vars[0].value = account.first_name;
        vars[1].name = "username";
        vars[1].value = account.username;
        res = csam_engine_mail(engine, account.email, account.language,
                               "password_changed", vars, 2, NULL);
    }
    res = csam_keys_finish(engine, res);

out:
    csam_wipe(keep, sizeof(keep));
    csam_wipe(phc, strlen(phc));
    free(phc);
    return res;
}
