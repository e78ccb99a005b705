/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The online procedure's start (DESIGN 2.6): a person Apache identified
 * (an eID certificate through mod_ssl, itsme through an OIDC module) needs
 * no desk and no paper code.  The number the source vouched for is
 * checked as the desk checks it (mod 97; there is no birth date to compare
 * it with), the person's live registration gives way, and an online
 * registration with its activation flow at the key step is written.  A
 * person who holds an account recovers it (engine_recovery.c).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "account_person.h"
#include "engine_internal.h"
#include "person.h"
#include "registration.h"

#define CSAM_ONLINE_SOURCE_MAX 255

static long csam_online_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The name a registration carries when the source gave none (the schema
 * wants one, the mails greet with it): the seeds' polite form in the
 * registration's language, and "-" for the last name, which only the
 * desk's letter and link mail show. */
static const char *csam_online_anonymous(const char *lang)
{
    if (strcmp(lang, "nl") == 0)
        return "mevrouw, meneer";
    if (strcmp(lang, "de") == 0)
        return "Frau, Herr";
    if (strcmp(lang, "en") == 0)
        return "Madam, Sir";
    return "Madame, Monsieur";
}

static int csam_online_given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* What the source said, checked before anything is written. */
static csam_result csam_online_validate(const struct csam_identity *who,
                                        char nrn[CSAM_NRN_SIZE])
{
    if (who->source_name == NULL
        || csam_text_check(who->source_name, CSAM_ONLINE_SOURCE_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (who->national_number == NULL
        || csam_nrn_parse(who->national_number, nrn, NULL) != CSAM_OK)
        return CSAM_ERR_NATIONAL_NUMBER;
    if ((csam_online_given(who->first_name)
         && csam_text_check(who->first_name, CSAM_NAME_MAX) != CSAM_OK)
        || (csam_online_given(who->last_name)
            && csam_text_check(who->last_name, CSAM_NAME_MAX) != CSAM_OK))
        return CSAM_ERR_INVALID;
    if (who->language != NULL && csam_language_check(who->language) != CSAM_OK)
        return CSAM_ERR_INVALID;
    return CSAM_OK;
}

/* Inside the transaction, the person locked: the account they hold, the
 * live registration superseded, the online one and its flow written,
 * audited. */
static csam_result csam_online_write(csam_engine *engine, const char *source,
                                     const struct csam_identity *who,
                                     const struct csam_engine_hashes *nrn_hash,
                                     struct csam_store_registration_online *row,
                                     struct csam_procedure *out)
{
    csam_store *store = engine->deps.store;
    struct csam_store_person_account account;
    int64_t superseded = 0, id = 0;
    json_t *detail;
    char *text;
    csam_result res;

    res = csam_engine_person_take(engine, nrn_hash, &account, &superseded);
    if (res != CSAM_OK)
        return res;
    if (account.id != 0) {
        row->account_id = account.id;
        out->existing = 1;
        memcpy(out->username, account.username, sizeof(out->username));
    }
    if (superseded != 0)
        res = csam_audit_write(store, who->source_name,
                               "registration.superseded", superseded, 0, source,
                               NULL);
    if (res == CSAM_OK)
        res = csam_store_registration_online_new(store, row, &id);
    if (res != CSAM_OK)
        return res;
    /* Which source vouched, never what it said: its subject may carry
     * the number (an eID certificate's serialNumber). */
    detail = json_pack("{s:s}", "source", who->source_name);
    text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    if (text == NULL)
        return CSAM_ERR_NOMEM;
    res = csam_audit_write(store, who->source_name, "online.identified", id,
                           row->account_id, source, text);
    free(text);
    return res;
}

csam_result csam_engine_online_open(csam_engine *engine, const char *source,
                                    const struct csam_identity *who,
                                    char handle[CSAM_TOKEN_SIZE],
                                    struct csam_procedure *out)
{
    const struct csam_config *cfg;
    struct csam_store_registration_online row;
    struct csam_engine_hashes nrn_hash;
    unsigned char handle_hash[CSAM_HASH_LEN];
    unsigned char sealed[CSAM_PERSON_SEALED_LEN];
    char nrn[CSAM_NRN_SIZE] = "";
    const char *lang;
    csam_result res;

    if (engine == NULL || who == NULL || handle == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    handle[0] = '\0';
    cfg = engine->deps.config;
    res = csam_online_validate(who, nrn);
    if (res != CSAM_OK)
        goto out;
    lang = who->language != NULL ? who->language : "fr";
    source = csam_engine_source(source);

    res = csam_engine_nrn_hashes(engine, nrn, &nrn_hash);
    if (res == CSAM_OK)
        res = csam_person_seal(engine->deps.secret, nrn, nrn_hash.current,
                               sealed);
    if (res == CSAM_OK)
        res = csam_token_new(handle);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "activation",
                               0, handle, handle_hash);
    if (res != CSAM_OK)
        goto out;

    memset(&row, 0, sizeof(row));
    row.nrn_hash = nrn_hash.current;
    row.nrn_sealed = sealed;
    row.first_name = csam_online_given(who->first_name)
                         ? who->first_name
                         : csam_online_anonymous(lang);
    row.last_name = csam_online_given(who->last_name) ? who->last_name : "-";
    row.language = lang;
    row.identity_source = who->source_name;
    row.created_from = source;
    row.max_attempts = csam_online_clamp(cfg->code_attempts, 1, 100);
    row.ttl = csam_online_clamp(cfg->flow_ttl, 60, 86400);
    row.handle_hash = handle_hash;
    res = csam_store_begin(engine->deps.store);
    if (res != CSAM_OK)
        goto out;
    res = csam_online_write(engine, source, who, &nrn_hash, &row, out);
    if (res == CSAM_OK)
        res = csam_store_commit(engine->deps.store);
    else
        csam_store_rollback(engine->deps.store);
    if (res != CSAM_OK)
        goto out;
    out->key_types = csam_engine_offered(engine);
    memcpy(out->language, lang, 3);
    csam_log(&engine->deps.logger, CSAM_LOG_INFO,
             "online registration: a person identified by %s (%s)",
             who->source_name, out->existing ? "recovery" : "new account");

out:
    csam_wipe(nrn, sizeof(nrn));
    csam_wipe(sealed, sizeof(sealed));
    csam_wipe(handle_hash, sizeof(handle_hash));
    if (res != CSAM_OK) {
        csam_wipe(handle, CSAM_TOKEN_SIZE);
        handle[0] = '\0';
        memset(out, 0, sizeof(*out));
    }
    return res;
}
