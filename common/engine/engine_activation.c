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
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account_new.h"
#include "engine_internal.h"
#include "flow.h"
#include "registration.h"

#define CSAM_ACT_TERMS_MAX CSAM_STORE_TERMS_MAX
#define CSAM_ACT_DEFAULT_TERMS "1"

/* A live flow as the store read it, and its step as the engine names it. */
struct csam_act_flow {
    struct csam_store_flow row;
    enum csam_step step;
};

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

/* The live flow of a handle; lock: inside a transaction, lock its row.
 * Errors: CSAM_ERR_EXPIRED, CSAM_ERR_DB. */
static csam_result csam_act_flow_get(csam_engine *engine, const char *handle,
                                     int lock, struct csam_act_flow *out)
{
    unsigned char hash[CSAM_HASH_LEN];
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (handle == NULL || !csam_token_valid(handle))
        return CSAM_ERR_EXPIRED;
    res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "activation", 0,
                           handle, hash);
    if (res != CSAM_OK)
        return res;
    res = csam_store_flow_get(engine->deps.store, hash, lock, &out->row);
    if (res == CSAM_ERR_NOT_FOUND)
        return CSAM_ERR_EXPIRED;
    if (res != CSAM_OK)
        return res;
    out->step = csam_act_step_parse(out->row.step);
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
    if (res == CSAM_OK && flow->row.done)
        res = CSAM_ERR_EXPIRED;
    else if (res == CSAM_OK && flow->row.locked)
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
    if (flow.row.locked && !flow.row.done)
        return CSAM_ERR_LOCKED;
    /* A finished flow still answers CSAM_STEP_DONE until its handle
     * expires, so the page after the last POST can say so; every step
     * refuses it. */
    out->step = flow.step;
    out->key_type = flow.row.key_type;
    memcpy(out->language, flow.row.language, sizeof(out->language));
    memcpy(out->username, flow.row.username, sizeof(out->username));
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
                            json_string(csam_key_type_name(type)))
            == 0
        && (terms == NULL
            || json_object_set_new(obj, "terms_version", json_string(terms))
                   == 0))
        text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

csam_result csam_engine_activation_key(csam_engine *engine, const char *source,
                                       const char *handle,
                                       enum csam_key_type key_type,
                                       int accept_terms, const char *phone,
                                       const char *terms_version)
{
    struct csam_act_flow flow;
    char e164[CSAM_PHONE_SIZE] = "";
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
    else if (csam_key_type_name(key_type) == NULL
             || !((unsigned)key_type & csam_engine_offered(engine)))
        res = CSAM_ERR_INVALID;
    else if (!accept_terms)
        res = CSAM_ERR_TERMS;
    else if (key_type == CSAM_KEY_SMS
             && (phone == NULL
                 || csam_phone_check(phone, engine->deps.config->sms_countries,
                                     e164)
                        != CSAM_OK))
        res = CSAM_ERR_PHONE;
    if (res != CSAM_OK)
        return csam_act_finish(engine, res);

    res = csam_store_flow_choose_key(engine->deps.store, flow.row.id, key_type,
                                     terms_version,
                                     key_type == CSAM_KEY_SMS ? e164 : NULL);
    if (res == CSAM_OK) {
        detail = csam_act_detail(key_type, terms_version);
        res = detail == NULL ? CSAM_ERR_NOMEM
                             : csam_audit_write(engine->deps.store, NULL,
                                                "activation.key_chosen",
                                                flow.row.registration_id, 0,
                                                source, detail);
        free(detail);
    }
    return csam_act_finish(engine, res);
}

/* ---- credentials ------------------------------------------------------ */

static csam_result csam_act_username_taken(csam_engine *engine,
                                           const char *username,
                                           int64_t registration_id)
{
    csam_result res;
    int taken;

    res = csam_store_account_new_taken(engine->deps.store, username,
                                       registration_id, &taken);
    if (res == CSAM_OK && taken)
        res = CSAM_ERR_USERNAME_TAKEN;
    return res;
}

/* A username the citizen cannot have (taken or reserved) costs one of the
 * registration's attempts, as a wrong paper code does: whoever holds a
 * handle cannot probe which names exist without limit.  It runs outside
 * the step's transaction, so the count stays though the step is refused.
 * Answers
 * CSAM_ERR_USERNAME_TAKEN with att->attempts_left, or CSAM_ERR_LOCKED (0
 * left) once they are used up. */
static csam_result csam_act_name_refused(csam_engine *engine,
                                         const struct csam_act_flow *flow,
                                         const char *source,
                                         struct csam_attempts *att)
{
    csam_result res;
    int left;

    res = csam_store_registration_count_attempt(
        engine->deps.store, flow->row.registration_id, &left);
    if (res != CSAM_OK)
        return res;
    att->attempts_left = left;
    res = csam_audit_write(engine->deps.store, NULL,
                           "activation.username_refused",
                           flow->row.registration_id, 0, source, NULL);
    if (res == CSAM_OK)
        res = csam_source_fail(engine, source);
    if (res != CSAM_OK)
        return res;
    if (att->attempts_left > 0)
        return CSAM_ERR_USERNAME_TAKEN;
    source = csam_engine_source(source);
    csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
             "registration %lld locked: too many refused usernames from %s",
             (long long)flow->row.registration_id, source ? source : "-");
    return CSAM_ERR_LOCKED;
}

/* Who the activation's code goes to: the registration's person, in its
 * language, at the flow's address or phone. */
static void csam_act_recipient(const struct csam_act_flow *flow,
                               const char *username, const char *detail,
                               struct csam_challenge_recipient *to)
{
    to->username = username;
    to->registration_id = flow->row.registration_id;
    to->first_name = flow->row.first_name;
    to->language = flow->row.language;
    to->email = flow->row.email;
    to->phone = flow->row.phone;
    to->detail = detail;
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
    int64_t account_id, key_id;
    char *detail;
    csam_result res;

    /* Each attempt makes the pending account anew, so the cooldown looks
     * at every account of the registration: opening the link again does
     * not buy another message. */
    if (flow->row.key_type != CSAM_KEY_TOTP) {
        res = csam_challenge_cooldown(engine, 0, flow->row.registration_id,
                                      CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                      &out->attempts.retry_after);
        if (res != CSAM_OK)
            return res;
    }
    /* CSAM_ERR_USERNAME_TAKEN: someone took the name between the check
     * and now. */
    res = csam_store_account_new_pending(store, flow->row.registration_id,
                                         username, phc, &account_id);
    if (res != CSAM_OK)
        return res;

    if (flow->row.key_type == CSAM_KEY_TOTP)
        res = csam_totp_create(engine, account_id, username,
                               flow->row.terms_version, &key_id, out);
    else
        res = csam_store_account_new_key(
            store, account_id, flow->row.key_type, flow->row.terms_version,
            flow->row.key_type == CSAM_KEY_SMS ? flow->row.phone : NULL,
            &key_id);
    if (res != CSAM_OK)
        return res;

    res = csam_store_flow_to_confirm(store, flow->row.id, account_id);
    if (res == CSAM_OK)
        res = csam_audit_write(store, username, "account.created",
                               flow->row.registration_id, account_id, source,
                               NULL);
    if (res != CSAM_OK)
        return res;
    detail = csam_act_detail(flow->row.key_type, NULL);
    if (detail == NULL)
        return CSAM_ERR_NOMEM;
    {
        struct csam_challenge_owner owner = {account_id, username, NULL};
        struct csam_challenge_recipient to;

        csam_act_recipient(flow, username, detail, &to);
        res = csam_challenge_send(engine, &owner, key_id,
                                  CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                  flow->row.key_type, &to, source);
    }
    free(detail);
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
    if (flow.row.done)
        return CSAM_ERR_EXPIRED;
    if (flow.row.locked) {
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
    if (plen != strlen(password_repeat)
        || !csam_ct_equal(password, password_repeat, plen))
        return CSAM_ERR_PASSWORD_MISMATCH;
    policy.min_length = cfg->password_min > 0 ? (size_t)cfg->password_min : 0;
    policy.max_length = cfg->password_max > 0 ? (size_t)cfg->password_max : 0;
    policy.common = engine->deps.common_passwords;
    res = csam_password_check(&policy, username, password);
    if (res != CSAM_OK)
        return res;
    res = csam_act_username_taken(engine, username, flow.row.registration_id);
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

/* ---- confirmation ----------------------------------------------------- */

static csam_result csam_act_activate(csam_engine *engine,
                                     const struct csam_act_flow *flow,
                                     const char *source)
{
    csam_store *store = engine->deps.store;
    struct csam_store_account_new_moved moved;
    struct csam_tvar vars[3];
    char *detail;
    csam_result res;

    res = csam_store_account_new_activate(
        store, flow->row.account_id, flow->row.key_type,
        flow->row.registration_id, flow->row.id, &moved);
    if (res != CSAM_OK)
        return res;
    /* Each of the four rows must have moved, or the data was not what
     * the flow said: refuse rather than activate half. */
    if (moved.keys != 1 || moved.accounts != 1 || moved.registrations != 1
        || moved.flows != 1)
        return CSAM_ERR_STATE;
    detail = csam_act_detail(flow->row.key_type, NULL);
    res = detail == NULL
              ? CSAM_ERR_NOMEM
              : csam_audit_write(store, flow->row.username, "key.activated",
                                 flow->row.registration_id,
                                 flow->row.account_id, source, detail);
    free(detail);
    if (res == CSAM_OK)
        res = csam_audit_write(store, flow->row.username, "account.activated",
                               flow->row.registration_id, flow->row.account_id,
                               source, NULL);
    if (res != CSAM_OK)
        return res;
    vars[0].name = "first_name";
    vars[0].value = flow->row.first_name;
    vars[1].name = "username";
    vars[1].value = flow->row.username;
    vars[2].name = "key_label";
    vars[2].value = csam_mail_key_label(flow->row.language, flow->row.key_type);
    return csam_engine_mail(engine, flow->row.email, flow->row.language,
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
    if (flow.step != CSAM_STEP_CONFIRM || flow.row.account_id == 0)
        return csam_act_finish(engine, CSAM_ERR_STATE);
    owner.account_id = flow.row.account_id;
    owner.username = flow.row.username;
    if (flow.row.key_type == CSAM_KEY_TOTP) {
        res = csam_totp_confirm(engine, flow.row.account_id, "pending",
                                CSAM_CHALLENGE_ACTIVATION_CONFIRM, code, source,
                                1, att);
        if (res == CSAM_ERR_NOT_FOUND)
            res = CSAM_ERR_STATE; /* the flow's key is gone */
    } else
        res = csam_challenge_verify(engine, &owner,
                                    CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                    flow.row.key_type, code, source, 1, att);
    if (res != CSAM_OK) {
        /* The counted attempt must stay counted. */
        csam_result commit = csam_store_commit(engine->deps.store);

        return commit == CSAM_OK ? res : commit;
    }
    res = csam_act_activate(engine, &flow, source);
    res = csam_act_finish(engine, res);
    if (res != CSAM_OK)
        return res;
    memcpy(out->username, flow.row.username, sizeof(out->username));
    out->key_type = flow.row.key_type;
    csam_log(&engine->deps.logger, CSAM_LOG_INFO,
             "account %lld activated with its %s key",
             (long long)flow.row.account_id,
             csam_key_type_name(flow.row.key_type));
    return CSAM_OK;
}

csam_result csam_engine_activation_resend(csam_engine *engine,
                                          const char *source,
                                          const char *handle,
                                          struct csam_attempts *att)
{
    struct csam_challenge_recipient to;
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
    if (flow.step != CSAM_STEP_CONFIRM || flow.row.account_id == 0
        || flow.row.key_type == CSAM_KEY_TOTP)
        return csam_act_finish(engine, CSAM_ERR_STATE);
    /* The flow's row lock serialises resends: the code the cooldown
     * looks at is the one the new code replaces. */
    res = csam_challenge_cooldown(engine, flow.row.account_id, 0,
                                  CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                  &att->retry_after);
    if (res != CSAM_OK)
        return csam_act_finish(engine, res);
    owner.account_id = flow.row.account_id;
    owner.username = flow.row.username;
    owner.handle = NULL;
    csam_act_recipient(&flow, flow.row.username, "{\"resend\": true}", &to);
    res = csam_challenge_send(engine, &owner, 0,
                              CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                              flow.row.key_type, &to, source);
    return csam_act_finish(engine, res);
}
