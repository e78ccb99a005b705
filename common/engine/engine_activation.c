/*
 * Activation after the paper code (DESIGN 2.2): key choice and terms,
 * username and password, confirmation of the key with the code it
 * received.  An activation handle is a token held by the browser; the
 * database has its keyed hash and the step the activation stands at.
 *
 * Each step runs in one transaction that first locks the flow's row, so
 * two submissions of one step cannot interleave, and that sends its mail
 * before COMMIT, so a relay that refuses it leaves nothing half-done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine_internal.h"

#define CSAM_ACT_TERMS_MAX     64
#define CSAM_ACT_DEFAULT_TERMS "1"


struct csam_act_flow {
    int64_t id;
    int64_t registration_id;
    int64_t account_id;
    enum csam_step step;
    enum csam_key_type key_type;
    int done;
    char language[3];
    char username[CSAM_USERNAME_BUFSIZE];
    char first_name[CSAM_NAME_MAX + 1];
    char email[CSAM_EMAIL_MAX + 1];
    char terms_version[CSAM_ACT_TERMS_MAX + 1];
    char phone[CSAM_PHONE_SIZE];    /* the SMS key's, E.164; "" otherwise */
    int locked;     /* the registration's attempts are used up */
};

#define CSAM_ACT_FLOW_SQL                                                      \
    "SELECT f.id, f.registration_id, coalesce(f.account_id, 0), f.step,"       \
    " coalesce(f.key_type, ''), f.done_at IS NOT NULL, r.language,"            \
    " coalesce(a.username, ''), r.first_name, r.email,"                        \
    " coalesce(f.terms_version, ''), coalesce(f.phone, ''),"                   \
    " r.attempts >= r.max_attempts"                                            \
    " FROM csam_flows f JOIN csam_registrations r ON r.id = f.registration_id" \
    " LEFT JOIN csam_accounts a ON a.id = f.account_id"                        \
    " WHERE f.handle_hash = $1 AND f.kind = 'activation'"                      \
    " AND f.superseded_at IS NULL AND f.expires_at > now()"                    \
    " AND r.superseded_at IS NULL AND r.expires_at > now()"                    \
    " AND (f.done_at IS NOT NULL OR r.used_at IS NULL)"

static const struct csam_store_stmt csam_act_stmt_flow = {
    "csam_act_flow", CSAM_ACT_FLOW_SQL, 1, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_act_stmt_flow_lock = {
    "csam_act_flow_lock", CSAM_ACT_FLOW_SQL " FOR UPDATE OF f", 1, 0};

static enum csam_step csam_act_step_parse(const char *s)
{
    if (s == NULL)
        return CSAM_STEP_KEY;
    if (strcmp(s, "credentials") == 0)
        return CSAM_STEP_CREDENTIALS;
    if (strcmp(s, "confirm") == 0)
        return CSAM_STEP_CONFIRM;
    if (strcmp(s, "done") == 0)
        return CSAM_STEP_DONE;
    return CSAM_STEP_KEY;
}

static void csam_act_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* The live flow of a handle; lock: inside a transaction, lock its row.
 * Errors: CSAM_ERR_EXPIRED, CSAM_ERR_DB. */
static csam_result csam_act_flow_get(csam_engine *engine, const char *handle,
                                     int lock, struct csam_act_flow *out)
{
    unsigned char hash[CSAM_HASH_LEN];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (handle == NULL || !csam_token_valid(handle))
        return CSAM_ERR_EXPIRED;
    res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "activation", 0,
                           handle, hash);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_bytes(hash, sizeof(hash));
    res = csam_store_exec(engine->deps.store,
                          lock ? &csam_act_stmt_flow_lock : &csam_act_stmt_flow,
                          p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        csam_store_rows_free(rows);
        return CSAM_ERR_EXPIRED;
    }
    out->id = csam_store_int64(rows, 0, 0, 0);
    out->registration_id = csam_store_int64(rows, 0, 1, 0);
    out->account_id = csam_store_int64(rows, 0, 2, 0);
    out->step = csam_act_step_parse(csam_store_value(rows, 0, 3));
    out->key_type = csam_key_type_parse(csam_store_value(rows, 0, 4));
    out->done = csam_store_bool(rows, 0, 5);
    csam_act_copy(out->language, sizeof(out->language),
                  csam_store_value(rows, 0, 6));
    csam_act_copy(out->username, sizeof(out->username),
                  csam_store_value(rows, 0, 7));
    csam_act_copy(out->first_name, sizeof(out->first_name),
                  csam_store_value(rows, 0, 8));
    csam_act_copy(out->email, sizeof(out->email), csam_store_value(rows, 0, 9));
    csam_act_copy(out->terms_version, sizeof(out->terms_version),
                  csam_store_value(rows, 0, 10));
    csam_act_copy(out->phone, sizeof(out->phone),
                  csam_store_value(rows, 0, 11));
    out->locked = csam_store_bool(rows, 0, 12);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

/* Begin a transaction and lock the flow; a used-up flow is as unknown as
 * any other for every step.  On error nothing is left open. */
static csam_result csam_act_begin(csam_engine *engine, const char *handle,
                                  struct csam_act_flow *flow)
{
    csam_result res = csam_store_begin(engine->deps.store);

    if (res != CSAM_OK)
        return res;
    res = csam_act_flow_get(engine, handle, 1, flow);
    if (res == CSAM_OK && flow->done)
        res = CSAM_ERR_EXPIRED;
    else if (res == CSAM_OK && flow->locked)
        res = CSAM_ERR_LOCKED;
    if (res != CSAM_OK)
        csam_store_rollback(engine->deps.store);
    return res;
}

static csam_result csam_act_finish(csam_engine *engine, csam_result res)
{
    if (res == CSAM_OK)
        return csam_store_commit(engine->deps.store);
    csam_store_rollback(engine->deps.store);
    return res;
}

csam_result csam_engine_activation_state(csam_engine *engine,
                                         const char *handle,
                                         struct csam_activation_state *out)
{
    struct csam_act_flow flow;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    res = csam_act_flow_get(engine, handle, 0, &flow);
    if (res != CSAM_OK)
        return res;
    if (flow.locked && !flow.done)
        return CSAM_ERR_LOCKED;
    /* A finished flow still answers CSAM_STEP_DONE until its handle
     * expires, so the page after the last POST can say so; every step
     * refuses it. */
    out->step = flow.step;
    out->key_type = flow.key_type;
    memcpy(out->language, flow.language, sizeof(out->language));
    memcpy(out->username, flow.username, sizeof(out->username));
    return CSAM_OK;
}

/* {"key_type": ..., "terms_version": ...} for the audit trail. */
static char *csam_act_detail(enum csam_key_type type, const char *terms)
{
    json_t *obj = json_object();
    char *text = NULL;

    if (obj == NULL)
        return NULL;
    if (json_object_set_new(obj, "key_type",
                            json_string(csam_key_type_name(type))) == 0 &&
        (terms == NULL ||
         json_object_set_new(obj, "terms_version", json_string(terms)) == 0))
        text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

static const struct csam_store_stmt csam_act_stmt_choose = {
    "csam_act_choose",
    "UPDATE csam_flows SET key_type = $2, terms_version = $3,"
    " terms_accepted_at = now(), step = 'credentials', phone = $4"
    " WHERE id = $1",
    4, 0};

csam_result csam_engine_activation_key(csam_engine *engine, const char *source,
                                       const char *handle,
                                       enum csam_key_type key_type,
                                       int accept_terms, const char *phone,
                                       const char *terms_version)
{
    struct csam_act_flow flow;
    char idtext[CSAM_STORE_INT_SIZE];
    char e164[CSAM_PHONE_SIZE] = "";
    struct csam_store_param p[4];
    char *detail;
    csam_result res;

    if (engine == NULL)
        return CSAM_ERR_INVALID;
    if (terms_version == NULL)
        terms_version = CSAM_ACT_DEFAULT_TERMS;
    if (csam_text_check(terms_version, CSAM_ACT_TERMS_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    res = csam_act_begin(engine, handle, &flow);
    if (res != CSAM_OK)
        return res;
    /* The choice may be changed until credentials are given. */
    if (flow.step != CSAM_STEP_KEY && flow.step != CSAM_STEP_CREDENTIALS)
        res = CSAM_ERR_STATE;
    else if (csam_key_type_name(key_type) == NULL ||
             !((unsigned)key_type & csam_engine_offered(engine)))
        res = CSAM_ERR_INVALID;
    else if (!accept_terms)
        res = CSAM_ERR_TERMS;
    else if (key_type == CSAM_KEY_SMS &&
             (phone == NULL ||
              csam_phone_check(phone, engine->deps.config->sms_countries,
                               e164) != CSAM_OK))
        res = CSAM_ERR_PHONE;
    if (res != CSAM_OK)
        return csam_act_finish(engine, res);

    p[0] = csam_store_int(flow.id, idtext);
    p[1] = csam_store_text(csam_key_type_name(key_type));
    p[2] = csam_store_text(terms_version);
    p[3] = csam_store_text(key_type == CSAM_KEY_SMS ? e164 : NULL);
    res = csam_store_exec(engine->deps.store, &csam_act_stmt_choose, p, NULL);
    if (res == CSAM_OK) {
        detail = csam_act_detail(key_type, terms_version);
        res = detail == NULL
                  ? CSAM_ERR_NOMEM
                  : csam_audit_write(engine->deps.store, NULL,
                                     "activation.key_chosen",
                                     flow.registration_id, 0, source, detail);
        free(detail);
    }
    return csam_act_finish(engine, res);
}

/* ---- credentials ------------------------------------------------------ */

static const struct csam_store_stmt csam_act_stmt_taken = {
    "csam_act_taken",
    "SELECT 1 FROM csam_accounts WHERE username = $1"
    " AND registration_id <> $2",
    2, CSAM_STORE_RETRY};

static const struct csam_store_stmt csam_act_stmt_drop_pending = {
    "csam_act_drop_pending",
    "DELETE FROM csam_accounts WHERE registration_id = $1"
    " AND status = 'pending'",
    1, 0};

static const struct csam_store_stmt csam_act_stmt_account = {
    "csam_act_account",
    "INSERT INTO csam_accounts (username, password_hash, registration_id,"
    " language, email)"
    " SELECT $1, $2, r.id, r.language, r.email FROM csam_registrations r"
    " WHERE r.id = $3 RETURNING id",
    3, 0};

static const struct csam_store_stmt csam_act_stmt_key = {
    "csam_act_key",
    "INSERT INTO csam_keys (account_id, type, terms_version, phone)"
    " VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, '')) RETURNING id",
    4, 0};

static const struct csam_store_stmt csam_act_stmt_to_confirm = {
    "csam_act_to_confirm",
    "UPDATE csam_flows SET account_id = $2, step = 'confirm' WHERE id = $1", 2,
    0};

static csam_result csam_act_username_taken(csam_engine *engine,
                                           const char *username,
                                           int64_t registration_id)
{
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_text(username);
    p[1] = csam_store_int(registration_id, idtext);
    res = csam_store_exec(engine->deps.store, &csam_act_stmt_taken, p, &rows);
    if (res == CSAM_OK && csam_store_nrows(rows) > 0)
        res = CSAM_ERR_USERNAME_TAKEN;
    csam_store_rows_free(rows);
    return res;
}

/* A username the citizen cannot have (taken or reserved) costs one of the
 * registration's attempts, as a wrong paper code does: whoever holds a
 * handle cannot probe which names exist without limit.  It runs outside
 * the step's transaction, so the count stays though the step is refused.
 * Answers
 * CSAM_ERR_USERNAME_TAKEN with att->attempts_left, or CSAM_ERR_LOCKED (0
 * left) once they are used up. */
static const struct csam_store_stmt csam_act_stmt_count_name = {
    "csam_act_count_name",
    "UPDATE csam_registrations SET attempts = attempts + 1"
    " WHERE id = $1 AND attempts < max_attempts"
    " RETURNING max_attempts - attempts",
    1, 0};

static csam_result csam_act_name_refused(csam_engine *engine,
                                         const struct csam_act_flow *flow,
                                         const char *source,
                                         struct csam_attempts *att)
{
    char reg[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    p[0] = csam_store_int(flow->registration_id, reg);
    res = csam_store_exec(engine->deps.store, &csam_act_stmt_count_name, p,
                          &rows);
    if (res != CSAM_OK)
        return res;
    att->attempts_left = csam_store_nrows(rows) == 1
                             ? (int)csam_store_int64(rows, 0, 0, 0)
                             : 0;
    csam_store_rows_free(rows);
    res = csam_audit_write(engine->deps.store, NULL,
                           "activation.username_refused",
                           flow->registration_id, 0, source, NULL);
    if (res == CSAM_OK)
        res = csam_source_fail(engine, source);
    if (res != CSAM_OK)
        return res;
    if (att->attempts_left > 0)
        return CSAM_ERR_USERNAME_TAKEN;
    source = csam_engine_source(source);
    csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
             "registration %lld locked: too many refused usernames from %s",
             (long long)flow->registration_id, source ? source : "-");
    return CSAM_ERR_LOCKED;
}

/* Send a security code ("code" template) in the registration's language:
 * by SMS to the flow's phone for the SMS key, else by mail. */
static csam_result csam_act_mail_code(csam_engine *engine,
                                      const struct csam_act_flow *flow,
                                      const char *code)
{
    char minutes[CSAM_STORE_INT_SIZE];
    struct csam_tvar vars[3];

    csam_engine_code_minutes(engine, minutes);
    vars[0].name = "first_name";
    vars[0].value = flow->first_name;
    vars[1].name = "code";
    vars[1].value = code;
    vars[2].name = "minutes";
    vars[2].value = minutes;
    if (flow->key_type == CSAM_KEY_SMS)
        return csam_engine_sms(engine, flow->phone, flow->language, vars, 3,
                               code);
    return csam_engine_mail(engine, flow->email, flow->language, "code", vars,
                            3, code);
}

/* Inside the transaction: the pending account and key, the flow moved to
 * "confirm", the code issued and sent (e-mail, SMS), or for the app's key
 * its secret returned in out (the challenge row then only bounds the
 * attempts). */
static csam_result csam_act_create(csam_engine *engine,
                                   struct csam_act_flow *flow,
                                   const char *username, const char *phc,
                                   const char *source,
                                   struct csam_credentials_outcome *out)
{
    csam_store *store = engine->deps.store;
    char reg[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    char flowid[CSAM_STORE_INT_SIZE];
    char code[CSAM_ENGINE_CODE_SIZE] = "";
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    int64_t account_id, key_id;
    char *detail;
    csam_result res;

    /* Each attempt makes the pending account anew, so the cooldown looks
     * at every account of the registration: opening the link again does
     * not buy another message. */
    if (flow->key_type != CSAM_KEY_TOTP) {
        res = csam_challenge_cooldown(engine, 0, flow->registration_id,
                                      CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                      &out->attempts.retry_after);
        if (res != CSAM_OK)
            return res;
    }
    p[0] = csam_store_int(flow->registration_id, reg);
    res = csam_store_exec(store, &csam_act_stmt_drop_pending, p, NULL);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_text(username);
    p[1] = csam_store_text(phc);
    p[2] = csam_store_int(flow->registration_id, reg);
    res = csam_store_exec(store, &csam_act_stmt_account, p, &rows);
    if (res != CSAM_OK) {
        /* Someone took the name between the check and now. */
        if (strcmp(csam_store_sqlstate(store), CSAM_ENGINE_SQLSTATE_UNIQUE) ==
            0)
            res = CSAM_ERR_USERNAME_TAKEN;
        return res;
    }
    account_id = csam_store_int64(rows, 0, 0, 0);
    csam_store_rows_free(rows);
    rows = NULL;

    if (flow->key_type == CSAM_KEY_TOTP) {
        res = csam_totp_create(engine, account_id, username,
                               flow->terms_version, &key_id, out);
        if (res != CSAM_OK)
            return res;
    } else {
        p[0] = csam_store_int(account_id, acc);
        p[1] = csam_store_text(csam_key_type_name(flow->key_type));
        p[2] = csam_store_text(flow->terms_version);
        p[3] = csam_store_text(flow->key_type == CSAM_KEY_SMS ? flow->phone
                                                              : NULL);
        res = csam_store_exec(store, &csam_act_stmt_key, p, &rows);
        if (res != CSAM_OK)
            return res;
        key_id = csam_store_int64(rows, 0, 0, 0);
        csam_store_rows_free(rows);
    }

    p[0] = csam_store_int(flow->id, flowid);
    p[1] = csam_store_int(account_id, acc);
    res = csam_store_exec(store, &csam_act_stmt_to_confirm, p, NULL);
    if (res == CSAM_OK)
        res = csam_audit_write(store, username, "account.created",
                               flow->registration_id, account_id, source, NULL);
    if (res == CSAM_OK) {
        struct csam_challenge_owner owner = {account_id, username, NULL};

        res = csam_challenge_issue(engine, &owner, key_id,
                                   CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                   flow->key_type, source, code);
    }
    if (res == CSAM_OK) {
        detail = csam_act_detail(flow->key_type, NULL);
        res = detail == NULL
                  ? CSAM_ERR_NOMEM
                  : csam_audit_write(store, username, "challenge.issued",
                                     flow->registration_id, account_id, source,
                                     detail);
        free(detail);
    }
    if (res == CSAM_OK && flow->key_type != CSAM_KEY_TOTP)
        res = csam_act_mail_code(engine, flow, code);
    csam_wipe(code, sizeof(code));
    return res;
}

csam_result csam_engine_activation_credentials(
    csam_engine *engine, const char *source, const char *handle,
    const char *username, const char *password, const char *password_repeat,
    struct csam_credentials_outcome *out)
{
    const struct csam_config *cfg;
    struct csam_password_policy policy;
    struct csam_argon2_params argon;
    struct csam_act_flow flow;
    char *phc = NULL;
    size_t plen;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->attempts.attempts_left = -1;
    cfg = engine->deps.config;
    /* Cheap refusals first: the handle, then the fields, and only then
     * the Argon2id work. */
    res = csam_act_flow_get(engine, handle, 0, &flow);
    if (res != CSAM_OK)
        return res;
    if (flow.done)
        return CSAM_ERR_EXPIRED;
    if (flow.locked) {
        out->attempts.attempts_left = 0;
        return CSAM_ERR_LOCKED;
    }
    if (flow.step != CSAM_STEP_CREDENTIALS)
        return CSAM_ERR_STATE;
    /* Before the syntax: "Root" is root's name to a citizen reading the
     * answer, and gets root's answer. */
    if (csam_username_reserved(engine->deps.reserved_usernames, username))
        return csam_act_name_refused(engine, &flow, source, &out->attempts);
    if (username == NULL || csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_USERNAME;
    if (password == NULL || password_repeat == NULL)
        return CSAM_ERR_INVALID;
    plen = strlen(password);
    if (plen != strlen(password_repeat) ||
        !csam_ct_equal(password, password_repeat, plen))
        return CSAM_ERR_PASSWORD_MISMATCH;
    policy.min_length = cfg->password_min > 0 ? (size_t)cfg->password_min : 0;
    policy.max_length = cfg->password_max > 0 ? (size_t)cfg->password_max : 0;
    policy.common = engine->deps.common_passwords;
    res = csam_password_check(&policy, username, password);
    if (res != CSAM_OK)
        return res;
    res = csam_act_username_taken(engine, username, flow.registration_id);
    if (res == CSAM_ERR_USERNAME_TAKEN)
        return csam_act_name_refused(engine, &flow, source, &out->attempts);
    if (res != CSAM_OK)
        return res;
    argon.t_cost = (uint32_t)cfg->argon2_t_cost;
    argon.m_cost = (uint32_t)cfg->argon2_m_cost;
    argon.parallelism = (uint32_t)cfg->argon2_parallelism;
    res = csam_password_hash(&argon, password, &phc);
    if (res != CSAM_OK)
        return res;

    res = csam_act_begin(engine, handle, &flow);
    if (res == CSAM_OK) {
        /* Re-read under the lock: a concurrent submission may have
         * moved the flow on. */
        if (flow.step != CSAM_STEP_CREDENTIALS)
            res = CSAM_ERR_STATE;
        else
            res = csam_act_create(engine, &flow, username, phc, source, out);
        res = csam_act_finish(engine, res);
    }
    csam_wipe(phc, strlen(phc));
    free(phc);
    if (res == CSAM_OK)
        out->next = CSAM_STEP_CONFIRM;
    else
        csam_credentials_outcome_free(out);
    return res;
}

void csam_credentials_outcome_free(struct csam_credentials_outcome *out)
{
    if (out == NULL)
        return;
    free(out->otpauth_uri);
    if (out->totp_secret != NULL) {
        csam_wipe(out->totp_secret, strlen(out->totp_secret));
        free(out->totp_secret);
    }
    out->otpauth_uri = NULL;
    out->totp_secret = NULL;
}

/* ---- confirmation ----------------------------------------------------- */

static const struct csam_store_stmt csam_act_stmt_activate = {
    "csam_act_activate",
    "WITH k AS ("
    " UPDATE csam_keys SET status = 'active', activated_at = now()"
    " WHERE account_id = $1 AND type = $2 AND status = 'pending'"
    " RETURNING id),"
    " a AS ("
    " UPDATE csam_accounts SET status = 'active', activated_at = now(),"
    " failures = 0, locked_until = NULL"
    " WHERE id = $1 AND status = 'pending' RETURNING id),"
    " r AS ("
    " UPDATE csam_registrations SET used_at = now()"
    " WHERE id = $3 AND used_at IS NULL RETURNING id),"
    " f AS ("
    " UPDATE csam_flows SET step = 'done', done_at = now()"
    " WHERE id = $4 RETURNING id)"
    " SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM a),"
    " (SELECT count(*) FROM r), (SELECT count(*) FROM f)",
    4, 0};

static csam_result csam_act_activate(csam_engine *engine,
                                     const struct csam_act_flow *flow,
                                     const char *source)
{
    csam_store *store = engine->deps.store;
    char acc[CSAM_STORE_INT_SIZE], reg[CSAM_STORE_INT_SIZE];
    char flowid[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[4];
    csam_store_rows *rows = NULL;
    struct csam_tvar vars[3];
    char *detail;
    csam_result res;
    int i;

    p[0] = csam_store_int(flow->account_id, acc);
    p[1] = csam_store_text(csam_key_type_name(flow->key_type));
    p[2] = csam_store_int(flow->registration_id, reg);
    p[3] = csam_store_int(flow->id, flowid);
    res = csam_store_exec(store, &csam_act_stmt_activate, p, &rows);
    if (res != CSAM_OK)
        return res;
    /* Each of the four rows must have moved, or the data was not what
     * the flow said: refuse rather than activate half. */
    for (i = 0; i < 4; i++)
        if (csam_store_int64(rows, 0, i, 0) != 1)
            res = CSAM_ERR_STATE;
    csam_store_rows_free(rows);
    if (res != CSAM_OK)
        return res;
    detail = csam_act_detail(flow->key_type, NULL);
    res = detail == NULL
              ? CSAM_ERR_NOMEM
              : csam_audit_write(store, flow->username, "key.activated",
                                 flow->registration_id, flow->account_id,
                                 source, detail);
    free(detail);
    if (res == CSAM_OK)
        res = csam_audit_write(store, flow->username, "account.activated",
                               flow->registration_id, flow->account_id, source,
                               NULL);
    if (res != CSAM_OK)
        return res;
    vars[0].name = "first_name";
    vars[0].value = flow->first_name;
    vars[1].name = "username";
    vars[1].value = flow->username;
    vars[2].name = "key_label";
    vars[2].value = csam_mail_key_label(flow->language, flow->key_type);
    return csam_engine_mail(engine, flow->email, flow->language,
                            "key_activated", vars, 3, NULL);
}

csam_result csam_engine_activation_confirm(csam_engine *engine,
                                           const char *source,
                                           const char *handle, const char *code,
                                           struct csam_activated *out,
                                           struct csam_attempts *att)
{
    struct csam_challenge_owner owner;
    struct csam_attempts dummy;
    struct csam_act_flow flow;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    res = csam_act_begin(engine, handle, &flow);
    if (res != CSAM_OK)
        return res;
    if (flow.step != CSAM_STEP_CONFIRM || flow.account_id == 0)
        return csam_act_finish(engine, CSAM_ERR_STATE);
    owner.account_id = flow.account_id;
    owner.username = flow.username;
    if (flow.key_type == CSAM_KEY_TOTP) {
        res = csam_totp_confirm(engine, flow.account_id, "pending",
                                CSAM_CHALLENGE_ACTIVATION_CONFIRM, code,
                                source, 1, att);
        if (res == CSAM_ERR_NOT_FOUND)
            res = CSAM_ERR_STATE; /* the flow's key is gone */
    } else
        res = csam_challenge_verify(engine, &owner,
                                    CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                    flow.key_type, code, source, 1, att);
    if (res != CSAM_OK) {
        /* The counted attempt must stay counted. */
        csam_result commit = csam_store_commit(engine->deps.store);

        return commit == CSAM_OK ? res : commit;
    }
    res = csam_act_activate(engine, &flow, source);
    res = csam_act_finish(engine, res);
    if (res != CSAM_OK)
        return res;
    memcpy(out->username, flow.username, sizeof(out->username));
    out->key_type = flow.key_type;
    csam_log(&engine->deps.logger, CSAM_LOG_INFO,
             "account %lld activated with its %s key",
             (long long)flow.account_id, csam_key_type_name(flow.key_type));
    return CSAM_OK;
}

csam_result csam_engine_activation_resend(csam_engine *engine,
                                          const char *source,
                                          const char *handle,
                                          struct csam_attempts *att)
{
    char code[CSAM_ENGINE_CODE_SIZE] = "";
    struct csam_challenge_owner owner;
    struct csam_attempts dummy;
    struct csam_act_flow flow;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL)
        return CSAM_ERR_INVALID;
    res = csam_act_begin(engine, handle, &flow);
    if (res != CSAM_OK)
        return res;
    if (flow.step != CSAM_STEP_CONFIRM || flow.account_id == 0 ||
        flow.key_type == CSAM_KEY_TOTP)
        return csam_act_finish(engine, CSAM_ERR_STATE);
    /* The flow's row lock serialises resends: the code the cooldown
     * looks at is the one the new code replaces. */
    res = csam_challenge_cooldown(engine, flow.account_id, 0,
                                  CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                  &att->retry_after);
    if (res != CSAM_OK)
        return csam_act_finish(engine, res);
    owner.account_id = flow.account_id;
    owner.username = flow.username;
    res = csam_challenge_issue(engine, &owner, 0,
                               CSAM_CHALLENGE_ACTIVATION_CONFIRM, flow.key_type,
                               source, code);
    if (res == CSAM_OK)
        res = csam_audit_write(engine->deps.store, flow.username,
                               "challenge.issued", flow.registration_id,
                               flow.account_id, source, "{\"resend\": true}");
    if (res == CSAM_OK)
        res = csam_act_mail_code(engine, &flow, code);
    csam_wipe(code, sizeof(code));
    return csam_act_finish(engine, res);
}
