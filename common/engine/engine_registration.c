/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registration desk (DESIGN 2.1) and the first step of activation:
 * the e-mailed link and the paper code.
 *
 * A registration stores the national number, the link token and the paper
 * code only as keyed hashes; the paper code's hash is bound to the
 * registration's id, so a code read off one letter is worth nothing on
 * another registration.
 */
#include <stdio.h>
#include <string.h>

#include "account_person.h"
#include "engine_internal.h"
#include "flow.h"
#include "person.h"
#include "registration.h"

#define CSAM_REG_OFFICER_MAX 255
#define CSAM_REG_LINK_MAX 2048

static long csam_reg_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Everything the desk typed, checked before anything is written. */
static csam_result csam_reg_validate(const struct csam_registration *reg,
                                     const char *officer,
                                     char nrn[CSAM_NRN_SIZE])
{
    struct csam_date encoded, birth;
    csam_result res;

    if (officer == NULL
        || csam_text_check(officer, CSAM_REG_OFFICER_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (reg->national_number == NULL)
        return CSAM_ERR_NATIONAL_NUMBER;
    res = csam_nrn_parse(reg->national_number, nrn, &encoded);
    if (res != CSAM_OK)
        return CSAM_ERR_NATIONAL_NUMBER;
    if (reg->birth_date == NULL
        || csam_date_parse(reg->birth_date, &birth) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (!csam_nrn_matches_birth(&encoded, &birth))
        return CSAM_ERR_NATIONAL_NUMBER;
    if (reg->first_name == NULL || reg->last_name == NULL
        || csam_text_check(reg->first_name, CSAM_NAME_MAX) != CSAM_OK
        || csam_text_check(reg->last_name, CSAM_NAME_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (reg->document_type == NULL
        || csam_document_type_check(reg->document_type) != CSAM_OK
        || reg->document_number == NULL
        || csam_text_check(reg->document_number, CSAM_DOCNUM_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (reg->email == NULL || csam_email_check(reg->email) != CSAM_OK)
        return CSAM_ERR_EMAIL;
    if (reg->language != NULL && csam_language_check(reg->language) != CSAM_OK)
        return CSAM_ERR_INVALID;
    return CSAM_OK;
}

csam_result csam_engine_nrn_hashes(csam_engine *engine, const char *nrn,
                                   struct csam_engine_hashes *out)
{
    const csam_secret *prev = csam_secret_previous(engine->deps.secret);
    csam_result res;

    out->has_previous = 0;
    res = csam_engine_hash(engine, CSAM_PURPOSE_NATIONAL_NUMBER,
                           "national_number", 0, nrn, out->current);
    if (res == CSAM_OK && prev != NULL) {
        res = csam_engine_hash_under(prev, CSAM_PURPOSE_NATIONAL_NUMBER,
                                     "national_number", 0, nrn, out->previous);
        out->has_previous = res == CSAM_OK;
    }
    return res;
}

csam_result csam_engine_person_take(csam_engine *engine,
                                    const struct csam_engine_hashes *h,
                                    struct csam_store_person_account *account,
                                    int64_t *superseded)
{
    csam_store *store = engine->deps.store;
    const unsigned char *hashes[2];
    int64_t one;
    size_t i, n = 0;
    csam_result res = CSAM_OK;

    memset(account, 0, sizeof(*account));
    *superseded = 0;
    hashes[n++] = h->current;
    if (h->has_previous)
        hashes[n++] = h->previous;
    /* Always in this order, current first: a flow's activation takes the
     * one its registration was made under. */
    for (i = 0; i < n && res == CSAM_OK; i++)
        res = csam_store_registration_lock_person(store, hashes[i]);
    /* One account per person (DESIGN 2.7): a person who holds one gets
     * it back, never a second, whichever secret its row is hashed under
     * until csam-admin secret rekey moves it. */
    for (i = 0; i < n && res == CSAM_OK && account->id == 0; i++) {
        res = csam_store_person_account(store, hashes[i], account);
        if (res == CSAM_ERR_NOT_FOUND)
            res = CSAM_OK;
    }
    for (i = 0; i < n && res == CSAM_OK; i++) {
        res = csam_store_registration_supersede(store, hashes[i], &one);
        if (res == CSAM_OK && one != 0)
            *superseded = one;
    }
    if (res != CSAM_OK)
        memset(account, 0, sizeof(*account));
    return res;
}

/* Supersede the citizen's live registration, if any, and audit it.  Two
 * desks registering the same person at once take turns, so the second
 * supersedes the first instead of colliding with it on the index of live
 * registrations. */
static csam_result csam_reg_supersede(csam_engine *engine,
                                      const struct csam_engine_hashes *nrn_hash,
                                      const char *officer, const char *source,
                                      int64_t *account_id)
{
    csam_store *store = engine->deps.store;
    struct csam_store_person_account account;
    int64_t superseded = 0;
    csam_result res;

    *account_id = 0;
    res = csam_engine_person_take(engine, nrn_hash, &account, &superseded);
    if (res != CSAM_OK)
        return res;
    *account_id = account.id;
    if (superseded != 0)
        res = csam_audit_write(store, officer, "registration.superseded",
                               superseded, 0, source, NULL);
    return res;
}

csam_result csam_engine_activation_mail(csam_engine *engine, const char *to,
                                        const char *lang,
                                        const char *first_name,
                                        const char *last_name,
                                        const char *token, const char *expires)
{
    const struct csam_config *cfg = engine->deps.config;
    char link[CSAM_REG_LINK_MAX];
    struct csam_tvar vars[4];
    csam_result res;
    int n;

    n = snprintf(link, sizeof(link), "%s%s/activate?t=%s", cfg->public_url,
                 cfg->handler_path != NULL ? cfg->handler_path : "/csam",
                 token);
    if (n < 0 || (size_t)n >= sizeof(link))
        return CSAM_ERR_CONFIG;
    vars[0].name = "first_name";
    vars[0].value = first_name;
    vars[1].name = "last_name";
    vars[1].value = last_name;
    vars[2].name = "link";
    vars[2].value = link;
    vars[3].name = "expires";
    vars[3].value = expires;
    res = csam_engine_mail(engine, to, lang, "activation", vars, 4, link);
    csam_wipe(link, sizeof(link));
    return res;
}

csam_result csam_engine_register(csam_engine *engine, const char *officer,
                                 const char *source,
                                 const struct csam_registration *reg,
                                 struct csam_registration_receipt *out)
{
    const struct csam_config *cfg;
    struct csam_store_registration_new row;
    struct csam_store_registration_expiry expiry;
    csam_store *store;
    const char *lang;
    char nrn[CSAM_NRN_SIZE];
    char token[CSAM_TOKEN_SIZE];
    struct csam_engine_hashes nrn_hash;
    unsigned char token_hash[CSAM_HASH_LEN];
    unsigned char code_hash[CSAM_HASH_LEN];
    unsigned char sealed[CSAM_PERSON_SEALED_LEN];
    int64_t id, account_id = 0;
    csam_result res;

    if (engine == NULL || reg == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    cfg = engine->deps.config;
    store = engine->deps.store;
    memset(out, 0, sizeof(*out));
    if (cfg->public_url == NULL || cfg->public_url[0] == '\0') {
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "no public URL configured: activation links cannot be "
                 "built");
        return CSAM_ERR_CONFIG;
    }
    res = csam_reg_validate(reg, officer, nrn);
    if (res != CSAM_OK)
        return res;
    lang = reg->language != NULL ? reg->language : "fr";
    source = csam_engine_source(source);

    res = csam_engine_nrn_hashes(engine, nrn, &nrn_hash);
    if (res == CSAM_OK)
        res = csam_person_seal(engine->deps.secret, nrn, nrn_hash.current,
                               sealed);
    csam_wipe(nrn, sizeof(nrn));
    if (res == CSAM_OK)
        res = csam_token_new(token);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_LINK_TOKEN, "link_token", 0,
                               token, token_hash);
    if (res == CSAM_OK)
        res = csam_activation_code_new(out->activation_code);
    if (res != CSAM_OK)
        goto out;

    res = csam_store_begin(store);
    if (res != CSAM_OK)
        goto out;
    /* The id comes first: the paper code's hash is bound to it. */
    res = csam_store_registration_next_id(store, &id);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_ACTIVATION_CODE,
                               "activation_code", id, out->activation_code,
                               code_hash);
    if (res == CSAM_OK)
        res = csam_reg_supersede(engine, &nrn_hash, officer, source,
                                 &account_id);
    if (res != CSAM_OK)
        goto rollback;

    row.id = id;
    row.nrn_hash = nrn_hash.current;
    row.nrn_sealed = sealed;
    row.account_id = account_id;
    row.first_name = reg->first_name;
    row.last_name = reg->last_name;
    row.birth_date = reg->birth_date;
    row.document_type = reg->document_type;
    row.document_number = reg->document_number;
    row.email = reg->email;
    row.language = lang;
    row.token_hash = token_hash;
    row.code_hash = code_hash;
    row.max_attempts = csam_reg_clamp(cfg->code_attempts, 1, 100);
    row.ttl = csam_reg_clamp(cfg->activation_ttl, 60, 366L * 86400);
    row.created_by = officer;
    row.created_from = source;
    res = csam_store_registration_insert(store, &row, &expiry);
    if (res != CSAM_OK)
        goto rollback;
    snprintf(out->expires_at, sizeof(out->expires_at), "%s", expiry.utc);
    res = csam_audit_write(store, officer, "registration.created", id,
                           account_id, source,
                           account_id != 0 ? "{\"recovery\": true}" : NULL);
    if (res != CSAM_OK)
        goto rollback;
    /* The mail goes out before COMMIT: a relay that refuses it takes the
     * registration back with it, and the desk can simply try again. */
    res = csam_engine_activation_mail(engine, reg->email, lang, reg->first_name,
                                      reg->last_name, token,
                                      expiry.brussels_date);
    if (res != CSAM_OK)
        goto rollback;
    res = csam_store_commit(store);
    if (res != CSAM_OK)
        goto out;
    out->registration_id = id;
    out->existing = account_id != 0;
    /* An officer's action: one NOTICE line in the helpdesk's shape. */
    csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
             "desk: officer %s: registration.created registration %lld%s "
             "from %s",
             officer, (long long)id, out->existing ? " (recovery)" : "",
             source != NULL ? source : "-");
    /* The first data made with the secret: record which secret it was. */
    csam_engine_installation_note(engine, "registration");
    goto out;

rollback:
    csam_store_rollback(store);
out:
    csam_wipe(token, sizeof(token));
    csam_wipe(code_hash, sizeof(code_hash));
    csam_wipe(sealed, sizeof(sealed));
    if (res != CSAM_OK) {
        csam_wipe(out->activation_code, sizeof(out->activation_code));
        memset(out, 0, sizeof(*out));
    }
    return res;
}

/* ---- the link and the paper code ------------------------------------- */

/* The live registration of a link token.  Errors: CSAM_ERR_EXPIRED (a
 * malformed token, or none live), CSAM_ERR_CRYPTO, CSAM_ERR_DB. */
static csam_result csam_reg_by_token(csam_engine *engine, const char *token,
                                     struct csam_store_registration_live *out)
{
    const csam_secret *cur = engine->deps.secret, *s;
    unsigned char hash[CSAM_HASH_LEN];
    csam_result res = CSAM_ERR_NOT_FOUND;

    memset(out, 0, sizeof(*out));
    if (token == NULL || !csam_token_valid(token))
        return CSAM_ERR_EXPIRED;
    /* A link mailed before the secret was replaced: its token is stored
     * under the previous secret's hash. */
    for (s = cur; s != NULL && res == CSAM_ERR_NOT_FOUND;
         s = csam_engine_secret_next(cur, s)) {
        res = csam_engine_hash_under(s, CSAM_PURPOSE_LINK_TOKEN, "link_token",
                                     0, token, hash);
        if (res == CSAM_OK)
            res = csam_store_registration_by_token(engine->deps.store, hash,
                                                   out);
    }
    return res == CSAM_ERR_NOT_FOUND ? CSAM_ERR_EXPIRED : res;
}

csam_result csam_engine_link_language(csam_engine *engine, const char *token,
                                      char language[3])
{
    struct csam_store_registration_live live;
    csam_result res;

    if (engine == NULL || language == NULL)
        return CSAM_ERR_INVALID;
    language[0] = '\0';
    res = csam_reg_by_token(engine, token, &live);
    if (res != CSAM_OK)
        return res;
    memcpy(language, live.language, 3);
    return live.locked ? CSAM_ERR_LOCKED : CSAM_OK;
}

/* A new activation handle for the registration; earlier ones die. */
static csam_result csam_reg_open_flow(csam_engine *engine, int64_t reg_id,
                                      const char *source,
                                      char handle[CSAM_TOKEN_SIZE])
{
    csam_store *store = engine->deps.store;
    unsigned char hash[CSAM_HASH_LEN];
    csam_result res;

    res = csam_token_new(handle);
    if (res == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_FLOW_HANDLE, "activation",
                               0, handle, hash);
    if (res != CSAM_OK)
        return res;
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_flow_open(store, reg_id, hash,
                               csam_reg_clamp(engine->deps.config->flow_ttl, 60,
                                              86400));
    if (res == CSAM_OK)
        res = csam_audit_write(store, NULL, "activation.opened", reg_id, 0,
                               source, NULL);
    if (res == CSAM_OK)
        res = csam_store_commit(store);
    else
        csam_store_rollback(store);
    return res;
}

csam_result csam_engine_activation_open(csam_engine *engine, const char *source,
                                        const char *token,
                                        const char *activation_code,
                                        char handle[CSAM_TOKEN_SIZE],
                                        unsigned *key_types,
                                        struct csam_attempts *att)
{
    char canon[CSAM_ACTIVATION_CODE_SIZE];
    unsigned char hash[CSAM_HASH_LEN], prev_hash[CSAM_HASH_LEN];
    const csam_secret *prev;
    struct csam_store_registration_live live;
    struct csam_store_registration_try attempt;
    struct csam_attempts dummy;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || handle == NULL || key_types == NULL)
        return CSAM_ERR_INVALID;
    handle[0] = '\0';
    *key_types = 0;
    source = csam_engine_source(source);
    res = csam_reg_by_token(engine, token, &live);
    if (res != CSAM_OK)
        return res;
    if (live.locked) {
        att->attempts_left = 0;
        return CSAM_ERR_LOCKED;
    }
    res = csam_source_check(engine, source, att);
    if (res != CSAM_OK)
        return res;

    prev = csam_secret_previous(engine->deps.secret);
    if (activation_code != NULL
        && csam_activation_code_normalize(activation_code, canon) == CSAM_OK) {
        res = csam_engine_hash(engine, CSAM_PURPOSE_ACTIVATION_CODE,
                               "activation_code", live.id, canon, hash);
        /* A letter printed before the secret was replaced. */
        if (res == CSAM_OK && prev != NULL)
            res = csam_engine_hash_under(prev, CSAM_PURPOSE_ACTIVATION_CODE,
                                         "activation_code", live.id, canon,
                                         prev_hash);
    } else {
        /* Malformed: a wrong code like any other, that cannot match. */
        res = csam_random_bytes(hash, sizeof(hash));
        prev = NULL;
    }
    csam_wipe(canon, sizeof(canon));
    if (res != CSAM_OK)
        return res;
    /* A wrong code counts, a right one does not: the citizen may open the
     * link again until the key is active. */
    res = csam_store_registration_try_code(engine->deps.store, live.id, hash,
                                           prev != NULL ? prev_hash : NULL,
                                           &attempt);
    csam_wipe(hash, sizeof(hash));
    csam_wipe(prev_hash, sizeof(prev_hash));
    if (res == CSAM_ERR_NOT_FOUND) {
        /* Exhausted or superseded between the two statements. */
        att->attempts_left = 0;
        return CSAM_ERR_LOCKED;
    }
    if (res != CSAM_OK)
        return res;
    att->attempts_left = attempt.attempts_left;
    if (!attempt.matched) {
        res = csam_audit_write(engine->deps.store, NULL,
                               "registration.code_failed", live.id, 0, source,
                               NULL);
        if (res == CSAM_OK)
            res = csam_source_fail(engine, source);
        if (res != CSAM_OK)
            return res;
        return att->attempts_left <= 0 ? CSAM_ERR_LOCKED : CSAM_ERR_BAD_CODE;
    }
    att->attempts_left = -1;
    res = csam_reg_open_flow(engine, live.id, source, handle);
    if (res != CSAM_OK) {
        csam_wipe(handle, CSAM_TOKEN_SIZE);
        handle[0] = '\0';
        return res;
    }
    /* Only the e-mail key can be activated for now (SMS and TOTP come
     * with their own issue). */
    *key_types = csam_engine_offered(engine);
    return CSAM_OK;
}
