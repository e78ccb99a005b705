/* SPDX-License-Identifier: Apache-2.0 */
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

#include "account_new.h"
#include "engine_internal.h"
#include "flow.h"
#include "registration.h"

#define CSAM_ACT_TERMS_MAX CSAM_STORE_TERMS_MAX
#define CSAM_ACT_DEFAULT_TERMS "1"

csam_result csam_engine_activation_state(csam_engine *engine,
                                         const char *handle,
                                         struct csam_activation_state *out)
{
    struct csam_act_flow flow;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    res = csam_act_flow_get(engine, handle, &flow);
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
    out->online = flow.row.online;
    out->existing = flow.row.recovers != 0;
    return CSAM_OK;
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
    res = csam_act_begin(engine, handle, 0, &flow);
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

/* The online procedure's new person verifies the address with its own
 * code before a key other than e-mail (that key's code does it). */
static int csam_act_needs_address_code(const struct csam_act_flow *flow)
{
    return flow->row.online && flow->row.recovers == 0
           && flow->row.key_type != CSAM_KEY_EMAIL;
}

/* The address code of a new person online, to the address given. */
static csam_result csam_act_send_address_code(
    csam_engine *engine, const struct csam_act_flow *flow, int64_t account_id,
    const char *username, const char *source, const char *detail)
{
    struct csam_challenge_owner owner = {account_id, username, NULL};
    struct csam_challenge_recipient to;

    csam_act_recipient(flow, username, detail, &to);
    to.email = flow->row.email;
    return csam_challenge_send(engine, &owner, 0, CSAM_CHALLENGE_EMAIL_CONFIRM,
                               CSAM_KEY_EMAIL, &to, source);
}

/* Inside the transaction: the pending account and key, the flow moved to
 * "confirm" (or "email": the address is verified first), the codes issued
 * and sent (e-mail, SMS; the address's), or for the app's key its secret
 * returned in out (the challenge row then only bounds the attempts).  An
 * online registration takes the address given here (email) first. */
static csam_result csam_act_create(csam_engine *engine,
                                   struct csam_act_flow *flow,
                                   const char *username, const char *phc,
                                   const char *email, const char *source,
                                   struct csam_credentials_outcome *out)
{
    csam_store *store = engine->deps.store;
    int64_t account_id, key_id;
    int address = csam_act_needs_address_code(flow);
    char *detail;
    csam_result res;

    /* Each attempt makes the pending account anew, so the cooldown looks
     * at every account of the registration: opening the link again does
     * not buy another message. */
    res = CSAM_OK;
    if (flow->row.key_type != CSAM_KEY_TOTP)
        res = csam_challenge_cooldown(engine, 0, flow->row.registration_id,
                                      CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                      &out->attempts.retry_after);
    if (res == CSAM_OK && address)
        res = csam_challenge_cooldown(engine, 0, flow->row.registration_id,
                                      CSAM_CHALLENGE_EMAIL_CONFIRM,
                                      &out->attempts.retry_after);
    if (res == CSAM_OK && flow->row.online) {
        res = csam_store_registration_set_email(
            store, flow->row.registration_id, email);
        snprintf(flow->row.email, sizeof(flow->row.email), "%s", email);
    }
    if (res != CSAM_OK)
        return res;
    /* CSAM_ERR_USERNAME_TAKEN: someone took the name between the check
     * and now; CSAM_ERR_STATE: the person's account was made meanwhile
     * (one account per person, the database's rule). */
    res = csam_store_account_new_pending(store, flow->row.registration_id,
                                         username, phc, &account_id);
    if (res == CSAM_ERR_STATE)
        csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                 "registration %lld: the person's account was made meanwhile",
                 (long long)flow->row.registration_id);
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

    res = csam_store_flow_to_step(store, flow->row.id, account_id, NULL,
                                  address ? "email" : "confirm");
    if (res == CSAM_OK)
        res = csam_audit_write(store, username, "account.created",
                               flow->row.registration_id, account_id, source,
                               flow->row.online ? "{\"procedure\": \"online\"}"
                                                : NULL);
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
    if (res == CSAM_OK && address)
        res = csam_act_send_address_code(engine, flow, account_id, username,
                                         source, NULL);
    return res;
}

/* The e-mail field is the online procedure's new person's, and theirs
 * only.  Errors: CSAM_ERR_EMAIL, CSAM_ERR_INVALID. */
static csam_result csam_act_email_field(const struct csam_act_flow *flow,
                                        const char *email)
{
    int given = email != NULL && email[0] != '\0';

    if (!flow->row.online || flow->row.recovers != 0)
        return given ? CSAM_ERR_INVALID : CSAM_OK;
    if (!given || csam_email_check(email) != CSAM_OK)
        return CSAM_ERR_EMAIL;
    return CSAM_OK;
}

csam_result csam_engine_activation_set_credentials(
    csam_engine *engine, const char *source, const char *handle,
    const struct csam_credentials *in, struct csam_credentials_outcome *out)
{
    const struct csam_config *cfg;
    struct csam_password_policy policy;
    struct csam_argon2_params argon;
    struct csam_act_flow flow;
    const char *username, *password, *password_repeat;
    char *phc = NULL;
    size_t plen;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->attempts.attempts_left = -1;
    if (in == NULL)
        return CSAM_ERR_INVALID;
    cfg = engine->deps.config;
    username = in->username;
    password = in->password;
    password_repeat = in->password_repeat;
    /* Cheap refusals first: the handle, then the fields, and only then
     * the Argon2id work. */
    res = csam_act_flow_get(engine, handle, &flow);
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
    if (flow.row.recovers != 0)
        return csam_recovery_credentials(engine, source, handle, &flow, in,
                                         out);
    res = csam_act_email_field(&flow, in->email);
    if (res != CSAM_OK)
        return res;
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

    res = csam_act_begin(engine, handle, 1, &flow);
    if (res == CSAM_OK) {
        /* Re-read under the locks: a concurrent submission may have moved
         * the flow on, a new registration of the person superseded it. */
        if (flow.step != CSAM_STEP_CREDENTIALS || flow.row.recovers != 0)
            res = CSAM_ERR_STATE;
        else
            res = csam_act_create(engine, &flow, username, phc, in->email,
                                  source, out);
        res = csam_act_finish(engine, res);
    }
    csam_wipe(phc, strlen(phc));
    free(phc);
    if (res == CSAM_OK)
        out->next = csam_act_needs_address_code(&flow) ? CSAM_STEP_EMAIL
                                                       : CSAM_STEP_CONFIRM;
    else
        csam_credentials_outcome_free(out);
    return res;
}

csam_result csam_engine_activation_credentials(
    csam_engine *engine, const char *source, const char *handle,
    const char *username, const char *password, const char *password_repeat,
    struct csam_credentials_outcome *out)
{
    struct csam_credentials in;

    in.username = username;
    in.password = password;
    in.password_repeat = password_repeat;
    in.email = NULL;
    return csam_engine_activation_set_credentials(engine, source, handle, &in,
                                                  out);
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

/* The code was the address's (CSAM_STEP_EMAIL): verified, the key's own
 * comes next.  Runs inside the step's transaction. */
static csam_result csam_act_email_verified(csam_engine *engine,
                                           const struct csam_act_flow *flow,
                                           const char *source)
{
    csam_result res;

    res = csam_store_flow_to_step(engine->deps.store, flow->row.id,
                                  flow->row.account_id, NULL, "confirm");
    if (res == CSAM_OK)
        res = csam_audit_write(engine->deps.store, flow->row.username,
                               "email.verified", flow->row.registration_id,
                               flow->row.account_id, source, NULL);
    return res;
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
    int address;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    /* The person first: activating takes the registration and the
     * account, which a new registration of the same person supersedes
     * and deletes; in the other order the two deadlock. */
    res = csam_act_begin(engine, handle, 1, &flow);
    if (res != CSAM_OK)
        return res;
    address = flow.step == CSAM_STEP_EMAIL;
    if ((flow.step != CSAM_STEP_CONFIRM && !address)
        || flow.row.account_id == 0)
        return csam_act_finish(engine, CSAM_ERR_STATE);
    owner.account_id = flow.row.account_id;
    owner.username = flow.row.username;
    owner.handle = NULL;
    if (address)
        res = csam_challenge_verify(engine, &owner,
                                    CSAM_CHALLENGE_EMAIL_CONFIRM,
                                    CSAM_KEY_EMAIL, code, source, 1, att);
    else if (flow.row.key_type == CSAM_KEY_TOTP) {
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
    if (address)
        res = csam_act_email_verified(engine, &flow, source);
    else if (flow.row.recovers != 0)
        res = csam_recovery_activate(engine, &flow, source);
    else
        res = csam_act_activate(engine, &flow, source);
    res = csam_act_finish(engine, res);
    if (res != CSAM_OK)
        return res;
    memcpy(out->username, flow.row.username, sizeof(out->username));
    out->key_type = flow.row.key_type;
    out->next = address ? CSAM_STEP_CONFIRM : CSAM_STEP_DONE;
    out->recovered = !address && flow.row.recovers != 0;
    if (!address)
        csam_log(&engine->deps.logger, CSAM_LOG_INFO,
                 "account %lld %s with its %s key",
                 (long long)flow.row.account_id,
                 out->recovered ? "recovered" : "activated",
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
    int address;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL)
        return CSAM_ERR_INVALID;
    res = csam_act_begin(engine, handle, 0, &flow);
    if (res != CSAM_OK)
        return res;
    address = flow.step == CSAM_STEP_EMAIL;
    if ((flow.step != CSAM_STEP_CONFIRM && !address) || flow.row.account_id == 0
        || (!address && flow.row.key_type == CSAM_KEY_TOTP))
        return csam_act_finish(engine, CSAM_ERR_STATE);
    /* The flow's row lock serialises resends: the code the cooldown
     * looks at is the one the new code replaces. */
    res = csam_challenge_cooldown(engine, flow.row.account_id, 0,
                                  address ? CSAM_CHALLENGE_EMAIL_CONFIRM
                                          : CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                  &att->retry_after);
    if (res != CSAM_OK)
        return csam_act_finish(engine, res);
    if (address)
        res = csam_act_send_address_code(engine, &flow, flow.row.account_id,
                                         flow.row.username, source,
                                         "{\"resend\": true}");
    else {
        owner.account_id = flow.row.account_id;
        owner.username = flow.row.username;
        owner.handle = NULL;
        csam_act_recipient(&flow, flow.row.username, "{\"resend\": true}", &to);
        res = csam_challenge_send(engine, &owner, 0,
                                  CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                  flow.row.key_type, &to, source);
    }
    return csam_act_finish(engine, res);
}
