/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the steps of an activation share (engine_activation.c, and a
 * recovery's in engine_recovery.c): the flow of a handle, read or locked
 * with its person, the transaction around a step, the audit detail of a
 * key, and who a key's code goes to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account_person.h"
#include "engine_internal.h"
#include "flow.h"

static enum csam_step csam_act_step_parse(const char *s)
{
    if (s == NULL)
        return CSAM_STEP_KEY;
    if (strcmp(s, "credentials") == 0)
        return CSAM_STEP_CREDENTIALS;
    if (strcmp(s, "email") == 0)
        return CSAM_STEP_EMAIL;
    if (strcmp(s, "confirm") == 0)
        return CSAM_STEP_CONFIRM;
    if (strcmp(s, "done") == 0)
        return CSAM_STEP_DONE;
    return CSAM_STEP_KEY;
}

/* The keyed hash a handle is stored as.  Errors: CSAM_ERR_EXPIRED (a
 * malformed handle), CSAM_ERR_INVALID, CSAM_ERR_CRYPTO. */
static csam_result csam_act_handle_hash(const csam_secret *secret,
                                        const char *handle,
                                        unsigned char hash[CSAM_HASH_LEN])
{
    if (handle == NULL || !csam_token_valid(handle))
        return CSAM_ERR_EXPIRED;
    return csam_engine_hash_under(secret, CSAM_PURPOSE_FLOW_HANDLE,
                                  "activation", 0, handle, hash);
}

/* The live flow of a handle's hash; lock: inside a transaction, lock its
 * row.  Errors: CSAM_ERR_EXPIRED, CSAM_ERR_DB. */
static csam_result csam_act_flow_read(csam_engine *engine,
                                      const unsigned char *hash, int lock,
                                      struct csam_act_flow *out)
{
    csam_result res;

    memset(out, 0, sizeof(*out));
    res = csam_store_flow_get(engine->deps.store, hash, lock, &out->row);
    if (res == CSAM_ERR_NOT_FOUND)
        return CSAM_ERR_EXPIRED;
    if (res != CSAM_OK)
        return res;
    out->step = csam_act_step_parse(out->row.step);
    return CSAM_OK;
}

csam_result csam_act_flow_get(csam_engine *engine, const char *handle,
                              struct csam_act_flow *out)
{
    const csam_secret *cur = engine->deps.secret, *s;
    unsigned char hash[CSAM_HASH_LEN];
    csam_result res = CSAM_ERR_EXPIRED;

    /* A flow opened before the secret was replaced: its handle is stored
     * under the previous secret's hash. */
    for (s = cur; s != NULL && res == CSAM_ERR_EXPIRED;
         s = csam_engine_secret_next(cur, s)) {
        res = csam_act_handle_hash(s, handle, hash);
        if (res == CSAM_OK)
            res = csam_act_flow_read(engine, hash, 0, out);
    }
    return res;
}

csam_result csam_act_begin(csam_engine *engine, const char *handle, int person,
                           struct csam_act_flow *flow)
{
    const csam_secret *cur = engine->deps.secret, *s;
    unsigned char hash[CSAM_HASH_LEN];
    csam_result res = CSAM_ERR_EXPIRED;

    memset(flow, 0, sizeof(*flow));
    /* Under the current secret's hash of the handle, then (a flow opened
     * before the secret was replaced) the previous one's. */
    for (s = cur; s != NULL && res == CSAM_ERR_EXPIRED;
         s = csam_engine_secret_next(cur, s)) {
        res = csam_act_handle_hash(s, handle, hash);
        if (res != CSAM_OK)
            return res;
        res = csam_store_begin(engine->deps.store);
        if (res != CSAM_OK)
            return res;
        /* The person first, the flow second: a new registration takes
         * them in that order too (it supersedes the flow), so neither
         * waits for the other while holding what the other needs. */
        if (person)
            res = csam_store_person_lock_flow(engine->deps.store, hash);
        if (res == CSAM_OK)
            res = csam_act_flow_read(engine, hash, 1, flow);
        if (res == CSAM_ERR_EXPIRED && csam_engine_secret_next(cur, s) != NULL)
            csam_store_rollback(engine->deps.store);
    }
    if (res == CSAM_OK && flow->row.done)
        res = CSAM_ERR_EXPIRED;
    else if (res == CSAM_OK && flow->row.locked)
        res = CSAM_ERR_LOCKED;
    if (res != CSAM_OK)
        csam_store_rollback(engine->deps.store);
    return res;
}

csam_result csam_act_finish(csam_engine *engine, csam_result res)
{
    if (res == CSAM_OK)
        return csam_store_commit(engine->deps.store);
    csam_store_rollback(engine->deps.store);
    return res;
}

char *csam_act_detail(enum csam_key_type type, const char *terms)
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

void csam_act_recipient(const struct csam_act_flow *flow, const char *username,
                        const char *detail, struct csam_challenge_recipient *to)
{
    to->username = username;
    to->registration_id = flow->row.registration_id;
    to->first_name = flow->row.first_name;
    to->language = flow->row.language;
    to->email = flow->row.recovers != 0 && flow->row.online
                    ? flow->row.account_email
                    : flow->row.email;
    to->phone = flow->row.phone;
    to->detail = detail;
}
