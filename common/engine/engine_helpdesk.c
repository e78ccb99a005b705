/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helpdesk (DESIGN 2.8): an officer finds a person by national number
 * and sees what the desk may know (registrations, account, key types and
 * states, lock, what officers did), never a code, hash or secret; mails a
 * new link for a pending registration, revokes one, lifts a temporary
 * lock.
 *
 * Every call is an officer's: each writes an audit row naming the officer
 * and the source, and logs one NOTICE line (officer, action, what it was
 * about, source) for the SIEM; neither ever holds a number, a code or a
 * link.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "helpdesk.h"

/* Copy the store's text into the engine's field of size bytes (the same
 * sizes, or the store's with spare room), cut if ever longer. */
static void csam_helpdesk_copy(char *dst, size_t size, const char *src)
{
    const char *end = memchr(src, '\0', size);
    size_t n = end != NULL ? (size_t)(end - src) : size - 1;

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The officer's name goes into csam_audit.actor and revoked_by. */
static int csam_helpdesk_officer_ok(const char *officer)
{
    return officer != NULL
           && csam_text_check(officer, CSAM_HELPDESK_NAME_MAX) == CSAM_OK;
}

static void csam_helpdesk_notice(csam_engine *engine, const char *officer,
                                 const char *action, const char *target,
                                 const char *source)
{
    csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
             "helpdesk: officer %s: %s%s%s from %s", officer, action,
             target[0] != '\0' ? " " : "", target,
             source != NULL ? source : "-");
}

/* ---- find ------------------------------------------------------------- */

static void csam_helpdesk_copy_registrations(
    const struct csam_store_helpdesk_registration *rows, size_t n,
    struct csam_helpdesk_person *out)
{
    size_t i;

    for (i = 0; i < n && i < CSAM_HELPDESK_REGISTRATIONS_MAX; i++) {
        struct csam_helpdesk_registration *reg = &out->registrations[i];

        reg->id = rows[i].id;
        csam_helpdesk_copy(reg->status, sizeof(reg->status), rows[i].status);
        csam_helpdesk_copy(reg->procedure, sizeof(reg->procedure),
                           rows[i].procedure);
        csam_helpdesk_copy(reg->created_at, sizeof(reg->created_at),
                           rows[i].created_at);
        csam_helpdesk_copy(reg->expires_at, sizeof(reg->expires_at),
                           rows[i].expires_at);
        csam_helpdesk_copy(reg->officer, sizeof(reg->officer), rows[i].officer);
    }
    out->n_registrations = i;
}

/* The person's account, its keys and its lock: the account's own (wrong
 * codes) or its login name's (wrong passwords), whichever ends later. */
static csam_result csam_helpdesk_find_account(
    csam_engine *engine, const struct csam_engine_hashes *nrn_hash,
    struct csam_helpdesk_person *out, int64_t *account_id)
{
    struct csam_store_helpdesk_account acc;
    struct csam_engine_hashes name_hash;
    char name_lock[CSAM_STORE_HELPDESK_TIME_SIZE];
    csam_result res;
    size_t i;

    *account_id = 0;
    res = csam_store_helpdesk_account(engine->deps.store, nrn_hash->current,
                                      &acc);
    /* An account not yet re-keyed after the secret was replaced. */
    if (res == CSAM_ERR_NOT_FOUND && nrn_hash->has_previous)
        res = csam_store_helpdesk_account(engine->deps.store,
                                          nrn_hash->previous, &acc);
    if (res == CSAM_ERR_NOT_FOUND)
        return CSAM_OK;
    if (res != CSAM_OK)
        return res;
    *account_id = acc.id;
    out->has_account = 1;
    csam_helpdesk_copy(out->username, sizeof(out->username), acc.username);
    csam_helpdesk_copy(out->status, sizeof(out->status), acc.status);
    for (i = 0; i < acc.n_keys && i < sizeof(out->keys) / sizeof(out->keys[0]);
         i++) {
        out->keys[i].type = acc.keys[i].type;
        csam_helpdesk_copy(out->keys[i].status, sizeof(out->keys[i].status),
                           acc.keys[i].status);
    }
    out->n_keys = i;
    /* The login hashes the name as typed; an account's is its own. */
    res = csam_engine_name_hashes(engine, acc.username, &name_hash);
    if (res == CSAM_OK)
        res = csam_store_helpdesk_name_lock(
            engine->deps.store, name_hash.current,
            name_hash.has_previous ? name_hash.previous : NULL, name_lock);
    if (res != CSAM_OK)
        return res;
    /* Both are RFC 3339 UTC of one format: the text orders as the time. */
    csam_helpdesk_copy(
        out->locked_until, sizeof(out->locked_until),
        strcmp(name_lock, acc.locked_until) > 0 ? name_lock : acc.locked_until);
    return CSAM_OK;
}

static csam_result csam_helpdesk_find_history(csam_engine *engine,
                                              const unsigned char *nrn_hash,
                                              struct csam_helpdesk_person *out)
{
    struct csam_store_helpdesk_action rows[CSAM_HELPDESK_HISTORY_MAX];
    csam_result res;
    size_t i, n = 0;

    res = csam_store_helpdesk_history(engine->deps.store, nrn_hash, rows,
                                      CSAM_HELPDESK_HISTORY_MAX, &n);
    if (res != CSAM_OK)
        return res;
    for (i = 0; i < n; i++) {
        struct csam_helpdesk_action *act = &out->history[i];

        csam_helpdesk_copy(act->action, sizeof(act->action), rows[i].action);
        csam_helpdesk_copy(act->officer, sizeof(act->officer), rows[i].officer);
        csam_helpdesk_copy(act->at, sizeof(act->at), rows[i].at);
        csam_helpdesk_copy(act->source, sizeof(act->source), rows[i].source);
    }
    out->n_history = n;
    return CSAM_OK;
}

csam_result csam_engine_helpdesk_find(csam_engine *engine, const char *officer,
                                      const char *source,
                                      const char *national_number,
                                      struct csam_helpdesk_person *out)
{
    struct csam_store_helpdesk_registration
        regs[CSAM_HELPDESK_REGISTRATIONS_MAX];
    struct csam_date encoded;
    char nrn[CSAM_NRN_SIZE];
    struct csam_engine_hashes nrn_hash;
    char detail[96];
    int64_t account_id = 0;
    size_t n = 0;
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (!csam_helpdesk_officer_ok(officer))
        return CSAM_ERR_INVALID;
    if (national_number == NULL
        || csam_nrn_parse(national_number, nrn, &encoded) != CSAM_OK)
        return CSAM_ERR_NATIONAL_NUMBER;
    source = csam_engine_source(source);
    res = csam_engine_nrn_hashes(engine, nrn, &nrn_hash);
    csam_wipe(nrn, sizeof(nrn));
    if (res == CSAM_OK)
        res = csam_store_helpdesk_registrations(
            engine->deps.store, nrn_hash.current, regs,
            CSAM_HELPDESK_REGISTRATIONS_MAX, &n);
    /* A person registered only before the secret was replaced, whose
     * rows are not re-keyed yet. */
    if (res == CSAM_OK && n == 0 && nrn_hash.has_previous)
        res = csam_store_helpdesk_registrations(
            engine->deps.store, nrn_hash.previous, regs,
            CSAM_HELPDESK_REGISTRATIONS_MAX, &n);
    if (res == CSAM_OK) {
        csam_helpdesk_copy_registrations(regs, n, out);
        res = csam_helpdesk_find_account(engine, &nrn_hash, out, &account_id);
    }
    if (res == CSAM_OK)
        res = csam_helpdesk_find_history(engine, nrn_hash.current, out);
    if (res == CSAM_OK && out->n_history == 0 && nrn_hash.has_previous)
        res = csam_helpdesk_find_history(engine, nrn_hash.previous, out);
    csam_wipe(&nrn_hash, sizeof(nrn_hash));
    if (res != CSAM_OK)
        goto fail;
    /* Tied to the person's newest registration and account, so that the
     * next officer sees who looked. */
    snprintf(detail, sizeof(detail),
             "{\"registrations\": %zu, \"account\": %s}", out->n_registrations,
             out->has_account ? "true" : "false");
    res = csam_audit_write(engine->deps.store, officer, "helpdesk.search",
                           out->n_registrations > 0 ? out->registrations[0].id
                                                    : 0,
                           account_id, source, detail);
    if (res != CSAM_OK)
        goto fail;
    csam_helpdesk_notice(engine, officer, "helpdesk.search", "", source);
    return CSAM_OK;

fail:
    memset(out, 0, sizeof(*out));
    return res;
}

/* ---- resend, revoke, unlock ------------------------------------------- */

csam_result csam_engine_helpdesk_resend(csam_engine *engine,
                                        const char *officer, const char *source,
                                        int64_t registration_id)
{
    const struct csam_config *cfg;
    struct csam_store_helpdesk_mail mail;
    csam_store *store;
    char token[CSAM_TOKEN_SIZE];
    unsigned char token_hash[CSAM_HASH_LEN];
    char target[48];
    csam_result res;

    memset(&mail, 0, sizeof(mail));
    if (engine == NULL || registration_id <= 0
        || !csam_helpdesk_officer_ok(officer))
        return CSAM_ERR_INVALID;
    cfg = engine->deps.config;
    store = engine->deps.store;
    if (cfg->public_url == NULL || cfg->public_url[0] == '\0') {
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "no public URL configured: activation links cannot be "
                 "built");
        return CSAM_ERR_CONFIG;
    }
    source = csam_engine_source(source);
    res = csam_token_new(token);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_LINK_TOKEN, "link_token", 0,
                               token, token_hash);
    if (res != CSAM_OK)
        goto out;
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        goto out;
    res = csam_store_helpdesk_relink(store, registration_id, token_hash, &mail);
    if (res == CSAM_OK)
        res = csam_audit_write(store, officer, "registration.link_resent",
                               registration_id, 0, source, NULL);
    /* The mail goes out before COMMIT: a relay that refuses it takes the
     * new token back, and the old link keeps working. */
    if (res == CSAM_OK)
        res = csam_engine_activation_mail(engine, mail.email, mail.language,
                                          mail.first_name, mail.last_name,
                                          token, mail.expires_brussels_date);
    if (res != CSAM_OK) {
        csam_store_rollback(store);
        goto out;
    }
    res = csam_store_commit(store);
    if (res != CSAM_OK)
        goto out;
    snprintf(target, sizeof(target), "registration %lld",
             (long long)registration_id);
    csam_helpdesk_notice(engine, officer, "registration.link_resent", target,
                         source);

out:
    csam_wipe(token, sizeof(token));
    csam_wipe(&mail, sizeof(mail));
    return res;
}

csam_result csam_engine_helpdesk_revoke(csam_engine *engine,
                                        const char *officer, const char *source,
                                        int64_t registration_id)
{
    csam_store *store;
    char detail[64], target[48];
    long deleted = 0;
    csam_result res;

    if (engine == NULL || registration_id <= 0
        || !csam_helpdesk_officer_ok(officer))
        return CSAM_ERR_INVALID;
    store = engine->deps.store;
    source = csam_engine_source(source);
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_helpdesk_revoke(store, registration_id, officer, &deleted);
    if (res == CSAM_OK) {
        snprintf(detail, sizeof(detail), "{\"pending_account_deleted\": %s}",
                 deleted > 0 ? "true" : "false");
        res = csam_audit_write(store, officer, "registration.revoked",
                               registration_id, 0, source, detail);
    }
    if (res != CSAM_OK) {
        csam_store_rollback(store);
        return res;
    }
    res = csam_store_commit(store);
    if (res != CSAM_OK)
        return res;
    snprintf(target, sizeof(target), "registration %lld",
             (long long)registration_id);
    csam_helpdesk_notice(engine, officer, "registration.revoked", target,
                         source);
    return CSAM_OK;
}

csam_result csam_engine_helpdesk_unlock(csam_engine *engine,
                                        const char *officer, const char *source,
                                        const char *username)
{
    struct csam_store_helpdesk_unlocked done;
    struct csam_engine_hashes name_hash;
    char detail[96], target[CSAM_USERNAME_BUFSIZE + 16];
    csam_store *store;
    csam_result res;

    if (engine == NULL || username == NULL
        || !csam_helpdesk_officer_ok(officer))
        return CSAM_ERR_INVALID;
    /* A name no account can have is no account. */
    if (csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    store = engine->deps.store;
    source = csam_engine_source(source);
    /* The login counts wrong passwords on this hash of the name
     * (engine_login.c). */
    res = csam_engine_name_hashes(engine, username, &name_hash);
    if (res != CSAM_OK)
        return res;
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_helpdesk_unlock(
        store, username, name_hash.current,
        name_hash.has_previous ? name_hash.previous : NULL, &done);
    if (res == CSAM_OK) {
        snprintf(detail, sizeof(detail),
                 "{\"account_locked\": %s, \"name_locked\": %s}",
                 done.account_locked ? "true" : "false",
                 done.name_locked ? "true" : "false");
        res = csam_audit_write(store, officer, "account.unlocked", 0,
                               done.account_id, source, detail);
    }
    if (res != CSAM_OK) {
        csam_store_rollback(store);
        return res;
    }
    res = csam_store_commit(store);
    if (res != CSAM_OK)
        return res;
    snprintf(target, sizeof(target), "account %s", username);
    csam_helpdesk_notice(engine, officer, "account.unlocked", target, source);
    return CSAM_OK;
}
