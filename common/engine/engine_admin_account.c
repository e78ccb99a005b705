/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The administrator's look at an account, the end of its sessions, and
 * the secret's fingerprint (DESIGN 3.7).  What changes state is audited
 * with the actor ("csam-admin:<user>") and logged as a NOTICE, as the
 * helpdesk's actions are.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "engine.h"
#include "engine_internal.h"
#include "helpdesk.h"
#include "rekey.h"

static void csam_admin_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}

static int csam_admin_actor_ok(const char *actor)
{
    return actor != NULL && csam_text_check(actor, 255) == CSAM_OK;
}

/* ---- account show ----------------------------------------------------- */

csam_result csam_engine_admin_account(csam_engine *engine, const char *username,
                                      struct csam_admin_account *out)
{
    struct csam_store_admin_account acc;
    struct csam_engine_hashes name_hash;
    char name_lock[CSAM_STORE_HELPDESK_TIME_SIZE];
    csam_result res;
    size_t i;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (engine == NULL || username == NULL)
        return CSAM_ERR_INVALID;
    if (csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    res = csam_store_admin_account(engine->deps.store, username, &acc);
    if (res != CSAM_OK)
        return res;
    /* Wrong passwords lock the name as typed at the login (engine_login.c),
     * not the account: the helpdesk shows the later of the two. */
    res = csam_engine_name_hashes(engine, acc.username, &name_hash);
    if (res == CSAM_OK)
        res = csam_store_helpdesk_name_lock(
            engine->deps.store, name_hash.current,
            name_hash.has_previous ? name_hash.previous : NULL, name_lock);
    if (res != CSAM_OK)
        return res;
    csam_admin_copy(out->username, sizeof(out->username), acc.username);
    csam_admin_copy(out->status, sizeof(out->status), acc.status);
    csam_admin_copy(out->created_at, sizeof(out->created_at), acc.created_at);
    csam_admin_copy(out->activated_at, sizeof(out->activated_at),
                    acc.activated_at);
    csam_admin_copy(out->password_changed_at, sizeof(out->password_changed_at),
                    acc.password_changed_at);
    /* Both are RFC 3339 UTC of one format: the text orders as the time. */
    csam_admin_copy(out->locked_until, sizeof(out->locked_until),
                    strcmp(name_lock, acc.locked_until) > 0 ? name_lock
                                                            : acc.locked_until);
    csam_admin_copy(out->last_web_login, sizeof(out->last_web_login),
                    acc.last_web_login);
    csam_admin_copy(out->last_pam_login, sizeof(out->last_pam_login),
                    acc.last_pam_login);
    out->sessions_live = acc.sessions_live;
    for (i = 0; i < acc.n_keys && i < CSAM_KEYS_MAX; i++) {
        csam_admin_copy(out->keys[i].type, sizeof(out->keys[i].type),
                        acc.keys[i].type);
        csam_admin_copy(out->keys[i].status, sizeof(out->keys[i].status),
                        acc.keys[i].status);
        csam_admin_copy(out->keys[i].activated_at,
                        sizeof(out->keys[i].activated_at),
                        acc.keys[i].activated_at);
    }
    out->n_keys = i;
    return CSAM_OK;
}

/* ---- sessions revoke -------------------------------------------------- */

csam_result csam_engine_admin_sessions_revoke(csam_engine *engine,
                                              const char *actor,
                                              const char *username,
                                              int64_t *revoked)
{
    csam_store *store;
    int64_t account_id = 0;
    char detail[64];
    csam_result res;

    if (revoked == NULL)
        return CSAM_ERR_INVALID;
    *revoked = 0;
    if (engine == NULL || username == NULL || !csam_admin_actor_ok(actor))
        return CSAM_ERR_INVALID;
    if (csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    store = engine->deps.store;
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_admin_sessions_revoke(store, username, &account_id,
                                           revoked);
    if (res == CSAM_OK) {
        snprintf(detail, sizeof(detail), "{\"sessions\": %lld}",
                 (long long)*revoked);
        res = csam_audit_write(store, actor, "sessions.revoked", 0, account_id,
                               NULL, detail);
    }
    if (res != CSAM_OK) {
        csam_store_rollback(store);
        *revoked = 0;
        return res;
    }
    res = csam_store_commit(store);
    if (res != CSAM_OK) {
        *revoked = 0;
        return res;
    }
    csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
             "admin: %s: sessions.revoked account %s (%lld sessions)", actor,
             username, (long long)*revoked);
    return CSAM_OK;
}

/* ---- the secret's fingerprint ------------------------------------------ */

static csam_result csam_admin_fingerprint(const csam_engine *engine,
                                          unsigned char out[CSAM_HASH_LEN])
{
    return csam_secret_fingerprint(engine->deps.secret, out);
}

void csam_engine_installation_note(csam_engine *engine, const char *by)
{
    unsigned char fp[CSAM_HASH_LEN];
    int recorded = 0;

    /* A convenience for csam-admin secret check, never a reason to fail
     * the step that calls it: a role without the grant, or a database
     * before schema 5, only leaves the row for the first check to make. */
    if (csam_admin_fingerprint(engine, fp) != CSAM_OK)
        return;
    if (csam_store_installation_record(engine->deps.store, fp, by, &recorded)
            == CSAM_OK
        && recorded)
        csam_log(&engine->deps.logger, CSAM_LOG_INFO,
                 "the secret's fingerprint is recorded in the database");
}

csam_result csam_engine_admin_secret_check(csam_engine *engine,
                                           const char *actor,
                                           struct csam_admin_secret *out)
{
    struct csam_store_installation row;
    unsigned char fp[CSAM_HASH_LEN], prev_fp[CSAM_HASH_LEN];
    const csam_secret *previous;
    int recorded = 0;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (engine == NULL || !csam_admin_actor_ok(actor))
        return CSAM_ERR_INVALID;
    res = csam_admin_fingerprint(engine, fp);
    if (res != CSAM_OK)
        return res;
    res = csam_store_installation_get(engine->deps.store, &row);
    if (res == CSAM_ERR_NOT_FOUND) {
        res = csam_store_installation_record(engine->deps.store, fp, actor,
                                             &recorded);
        /* Another node may have recorded one meanwhile: read what won. */
        if (res == CSAM_OK)
            res = csam_store_installation_get(engine->deps.store, &row);
    }
    if (res != CSAM_OK)
        return res;
    previous = csam_secret_previous(engine->deps.secret);
    out->has_previous = previous != NULL;
    if (previous != NULL) {
        res = csam_secret_fingerprint(previous, prev_fp);
        if (res != CSAM_OK)
            return res;
    }
    out->verdict = csam_ct_equal(fp, row.fingerprint, CSAM_HASH_LEN)
                       ? (recorded ? CSAM_ADMIN_SECRET_RECORDED
                                   : CSAM_ADMIN_SECRET_SAME)
                   : previous != NULL
                           && csam_ct_equal(prev_fp, row.fingerprint,
                                            CSAM_HASH_LEN)
                       ? CSAM_ADMIN_SECRET_PREVIOUS
                       : CSAM_ADMIN_SECRET_OTHER;
    csam_admin_copy(out->recorded_at, sizeof(out->recorded_at),
                    row.recorded_at);
    csam_admin_copy(out->recorded_by, sizeof(out->recorded_by),
                    row.recorded_by);
    csam_admin_copy(out->rekey_started_at, sizeof(out->rekey_started_at),
                    row.rekey_started_at);
    csam_admin_copy(out->rekeyed_at, sizeof(out->rekeyed_at), row.rekeyed_at);
    if (previous != NULL && out->verdict != CSAM_ADMIN_SECRET_OTHER) {
        /* Rows made since a rekey began are the current secret's (every
         * node had it by then); before any, every live row may be the
         * previous one's. */
        int under_way = out->verdict == CSAM_ADMIN_SECRET_PREVIOUS
                            ? row.rekeyed_at[0] == '\0'
                            : row.rekeyed_at[0] != '\0';

        res = csam_store_rekey_needed_until(
            engine->deps.store, under_way ? row.rekey_started_epoch : 0,
            out->previous_needed_until, sizeof(out->previous_needed_until));
        if (res != CSAM_OK)
            return res;
    }
    if (recorded)
        csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                 "admin: %s: the secret's fingerprint is recorded", actor);
    return CSAM_OK;
}
