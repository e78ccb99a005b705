/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recovery (DESIGN 2.7): a person who holds an account and registers
 * again, at the desk or online, gets the same account back.  The username
 * stays; the credentials step keeps the new password in the flow and puts
 * a pending key on the account; the confirmation, in one transaction,
 * makes the key active and the password the account's, lifts the lock,
 * and from the desk (the person lost access) deactivates every other key,
 * ends every session and takes the desk's address.  The old address is
 * told, and the new one when it changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account.h"
#include "account_person.h"
#include "engine_internal.h"

/* ---- credentials ------------------------------------------------------ */

static int csam_rec_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* The fields of a recovery's credentials step, checked before any work:
 * the account's own username or none, no address, the password (the
 * desk's always: the person lost access) typed twice and meeting the
 * policy.  *keep is 1 when an online recovery keeps the password. */
static csam_result csam_rec_fields(csam_engine *engine,
                                   const struct csam_act_flow *flow,
                                   const struct csam_credentials *in, int *keep)
{
    struct csam_password_policy policy;
    size_t plen;

    *keep = 0;
    if (!csam_rec_empty(in->email))
        return CSAM_ERR_INVALID;
    if (!csam_rec_empty(in->username)
        && strcmp(in->username, flow->row.username) != 0)
        return CSAM_ERR_USERNAME_KEPT;
    if (flow->row.online && csam_rec_empty(in->password)
        && csam_rec_empty(in->password_repeat)) {
        *keep = 1;
        return CSAM_OK;
    }
    if (in->password == NULL || in->password_repeat == NULL)
        return CSAM_ERR_INVALID;
    plen = strlen(in->password);
    if (plen != strlen(in->password_repeat)
        || !csam_ct_equal(in->password, in->password_repeat, plen))
        return CSAM_ERR_PASSWORD_MISMATCH;
    csam_login_policy(engine, &policy);
    return csam_password_check(&policy, flow->row.username, in->password);
}

/* The new key's pending row on the account: the type's earlier pending
 * ones go first (for the app's key csam_totp_create writes the row and
 * its sealed secret). */
static csam_result csam_rec_key_row(csam_engine *engine,
                                    const struct csam_act_flow *flow,
                                    int64_t *key_id,
                                    struct csam_credentials_outcome *out)
{
    struct csam_store_key_new key;
    csam_result res;

    if (flow->row.key_type == CSAM_KEY_TOTP) {
        res = csam_store_account_key_drop_pending(
            engine->deps.store, flow->row.recovers, CSAM_KEY_TOTP);
        if (res == CSAM_OK)
            res = csam_totp_create(engine, flow->row.recovers,
                                   flow->row.username, flow->row.terms_version,
                                   key_id, out);
        return res;
    }
    key.account_id = flow->row.recovers;
    key.type = flow->row.key_type;
    key.terms_version = flow->row.terms_version;
    key.phone = flow->row.key_type == CSAM_KEY_SMS ? flow->row.phone : NULL;
    return csam_store_account_key_add(engine->deps.store, &key, key_id);
}

/* {"procedure": ..., "key_type": ...} for the audit trail, with the
 * counts of a confirmation when done is not NULL; malloc'd. */
static char *csam_rec_detail(const struct csam_act_flow *flow,
                             const struct csam_store_recovered *done)
{
    json_t *obj = json_pack("{s:s, s:s}", "procedure",
                            flow->row.online ? "online" : "desk", "key_type",
                            csam_key_type_name(flow->row.key_type));
    char *text = NULL;

    if (obj == NULL)
        return NULL;
    if (done == NULL
        || (json_object_set_new(obj, "keys_retired",
                                json_integer(done->keys_retired))
                == 0
            && json_object_set_new(obj, "sessions_ended",
                                   json_integer(done->sessions_ended))
                   == 0
            && json_object_set_new(obj, "password_changed",
                                   json_boolean(done->password_changed))
                   == 0
            && json_object_set_new(
                   obj, "email_changed",
                   json_boolean(strcmp(done->old_email, done->new_email) != 0))
                   == 0))
        text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

/* Inside the transaction: the account still the person's and active, the
 * pending key, the password in the flow, the code sent. */
static csam_result csam_rec_start(csam_engine *engine,
                                  const struct csam_act_flow *flow,
                                  const char *phc, const char *source,
                                  struct csam_credentials_outcome *out)
{
    csam_store *store = engine->deps.store;
    struct csam_challenge_owner owner = {flow->row.recovers, flow->row.username,
                                         NULL};
    struct csam_challenge_recipient to;
    int64_t key_id = 0;
    char *detail;
    csam_result res;

    /* The person proved who they are (a desk, an eID, itsme): the lock
     * that wrong codes put on the account, which would refuse the new
     * key's code too, is lifted now. */
    res = csam_store_person_account_hold(store, flow->row.recovers, 1);
    if (res == CSAM_OK && flow->row.key_type != CSAM_KEY_TOTP)
        res = csam_challenge_cooldown(engine, flow->row.recovers, 0,
                                      CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                      &out->attempts.retry_after);
    if (res == CSAM_OK)
        res = csam_rec_key_row(engine, flow, &key_id, out);
    if (res == CSAM_OK)
        res = csam_store_flow_to_step(store, flow->row.id, flow->row.recovers,
                                      phc, "confirm");
    if (res != CSAM_OK)
        return res;
    detail = csam_rec_detail(flow, NULL);
    if (detail == NULL)
        return CSAM_ERR_NOMEM;
    res = csam_audit_write(store, flow->row.username, "recovery.started",
                           flow->row.registration_id, flow->row.recovers,
                           source, detail);
    if (res == CSAM_OK) {
        csam_act_recipient(flow, flow->row.username, detail, &to);
        res = csam_challenge_send(engine, &owner, key_id,
                                  CSAM_CHALLENGE_ACTIVATION_CONFIRM,
                                  flow->row.key_type, &to, source);
    }
    free(detail);
    return res;
}

csam_result csam_recovery_credentials(csam_engine *engine, const char *source,
                                      const char *handle,
                                      const struct csam_act_flow *checked,
                                      const struct csam_credentials *in,
                                      struct csam_credentials_outcome *out)
{
    const struct csam_config *cfg = engine->deps.config;
    struct csam_argon2_params argon;
    struct csam_act_flow flow;
    char *phc = NULL;
    int keep;
    csam_result res;

    res = csam_rec_fields(engine, checked, in, &keep);
    if (res != CSAM_OK)
        return res;
    if (strcmp(checked->row.account_status, "active") != 0)
        return CSAM_ERR_STATE; /* disabled since the registration */
    if (!keep) {
        argon.t_cost = (uint32_t)cfg->argon2_t_cost;
        argon.m_cost = (uint32_t)cfg->argon2_m_cost;
        argon.parallelism = (uint32_t)cfg->argon2_parallelism;
        res = csam_password_hash(&argon, in->password, &phc);
        if (res != CSAM_OK)
            return res;
    }
    res = csam_act_begin(engine, handle, 1, &flow);
    if (res == CSAM_OK) {
        /* Re-read under the locks: a concurrent submission may have moved
         * the flow on. */
        if (flow.step != CSAM_STEP_CREDENTIALS
            || flow.row.recovers != checked->row.recovers)
            res = CSAM_ERR_STATE;
        else
            res = csam_rec_start(engine, &flow, phc, source, out);
        res = csam_act_finish(engine, res);
    }
    if (phc != NULL) {
        csam_wipe(phc, strlen(phc));
        free(phc);
    }
    if (res == CSAM_OK)
        out->next = CSAM_STEP_CONFIRM;
    else
        csam_credentials_outcome_free(out);
    return res;
}

/* ---- confirmation ----------------------------------------------------- */

/* The notice of a recovery (no secret in it). */
static csam_result csam_rec_notice(csam_engine *engine,
                                   const struct csam_act_flow *flow,
                                   const char *to)
{
    struct csam_tvar vars[3];

    vars[0].name = "first_name";
    vars[0].value = flow->row.first_name;
    vars[1].name = "username";
    vars[1].value = flow->row.username;
    vars[2].name = "key_label";
    vars[2].value = csam_mail_key_label(flow->row.language, flow->row.key_type);
    return csam_engine_mail(engine, to, flow->row.language, "account_recovered",
                            vars, 3, NULL);
}

csam_result csam_recovery_activate(csam_engine *engine,
                                   const struct csam_act_flow *flow,
                                   const char *source)
{
    csam_store *store = engine->deps.store;
    struct csam_store_recovery rec;
    struct csam_store_recovered done;
    char *detail;
    csam_result res;

    res = csam_store_person_account_hold(store, flow->row.recovers, 0);
    if (res != CSAM_OK)
        return res;
    rec.account_id = flow->row.recovers;
    rec.registration_id = flow->row.registration_id;
    rec.flow_id = flow->row.id;
    rec.key_type = flow->row.key_type;
    rec.desk = !flow->row.online;
    /* The desk: the person lost access, whoever holds it now is out.
     * Online: a new password ends what the old one opened. */
    rec.end_sessions = !flow->row.online || flow->row.has_password;
    res = csam_store_person_recover(store, &rec, &done);
    if (res != CSAM_OK)
        return res;
    detail = csam_rec_detail(flow, &done);
    if (detail == NULL)
        return CSAM_ERR_NOMEM;
    res = csam_audit_write(store, flow->row.username, "account.recovered",
                           flow->row.registration_id, flow->row.recovers,
                           source, detail);
    free(detail);
    /* Before COMMIT, as every notice: a relay that refuses it leaves the
     * account as it was. */
    if (res == CSAM_OK)
        res = csam_rec_notice(engine, flow, done.old_email);
    if (res == CSAM_OK && strcmp(done.old_email, done.new_email) != 0)
        res = csam_rec_notice(engine, flow, done.new_email);
    return res;
}
