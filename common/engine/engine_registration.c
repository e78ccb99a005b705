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
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define CSAM_REG_OFFICER_MAX 255
#define CSAM_REG_LINK_MAX    2048

static long csam_reg_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Two desks registering the same person at once take turns, so the second
 * supersedes the first instead of colliding with it on the index of live
 * registrations. */
static const struct csam_store_stmt csam_reg_stmt_lock_person = {
    "csam_reg_lock_person",
    "SELECT pg_advisory_xact_lock(4242002, hashtext(encode($1, 'hex')))", 1, 0};

static const struct csam_store_stmt csam_reg_stmt_next_id = {
    "csam_reg_next_id",
    "SELECT nextval(pg_get_serial_sequence('csam_registrations', 'id'))", 0,
    CSAM_STORE_RETRY};

/* A pending account of the citizen's earlier registration holds a username
 * the citizen may want again: it goes with the registration. */
static const struct csam_store_stmt csam_reg_stmt_drop_pending = {
    "csam_reg_drop_pending",
    "DELETE FROM csam_accounts a USING csam_registrations r"
    " WHERE a.registration_id = r.id AND r.nrn_hash = $1"
    " AND r.used_at IS NULL AND r.superseded_at IS NULL"
    " AND a.status = 'pending'",
    1, 0};

static const struct csam_store_stmt csam_reg_stmt_supersede = {
    "csam_reg_supersede",
    "WITH old AS ("
    " UPDATE csam_registrations SET superseded_at = now()"
    " WHERE nrn_hash = $1 AND used_at IS NULL AND superseded_at IS NULL"
    " RETURNING id),"
    " flows AS ("
    " UPDATE csam_flows SET superseded_at = now()"
    " WHERE registration_id IN (SELECT id FROM old)"
    " AND done_at IS NULL AND superseded_at IS NULL RETURNING id)"
    " SELECT id, (SELECT count(*) FROM flows) FROM old",
    1, 0};

static const struct csam_store_stmt csam_reg_stmt_insert = {
    "csam_reg_insert",
    "INSERT INTO csam_registrations (id, nrn_hash, first_name, last_name,"
    " birth_date, document_type, document_number, email, language,"
    " token_hash, code_hash, max_attempts, expires_at, created_by,"
    " created_from)"
    " OVERRIDING SYSTEM VALUE"
    " VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8, $9, $10, $11,"
    " $12::integer, now() + make_interval(secs => $13::integer), $14, $15)"
    " RETURNING to_char(expires_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " to_char(expires_at AT TIME ZONE 'Europe/Brussels', 'YYYY-MM-DD')",
    15, 0};

/* Everything the desk typed, checked before anything is written. */
static csam_result csam_reg_validate(const struct csam_registration *reg,
                                     const char *officer,
                                     char nrn[CSAM_NRN_SIZE])
{
    struct csam_date encoded, birth;
    csam_result res;

    if (officer == NULL ||
        csam_text_check(officer, CSAM_REG_OFFICER_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (reg->national_number == NULL)
        return CSAM_ERR_NATIONAL_NUMBER;
    res = csam_nrn_parse(reg->national_number, nrn, &encoded);
    if (res != CSAM_OK)
        return CSAM_ERR_NATIONAL_NUMBER;
    if (reg->birth_date == NULL ||
        csam_date_parse(reg->birth_date, &birth) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (!csam_nrn_matches_birth(&encoded, &birth))
        return CSAM_ERR_NATIONAL_NUMBER;
    if (reg->first_name == NULL || reg->last_name == NULL ||
        csam_text_check(reg->first_name, CSAM_NAME_MAX) != CSAM_OK ||
        csam_text_check(reg->last_name, CSAM_NAME_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (reg->document_type == NULL ||
        csam_document_type_check(reg->document_type) != CSAM_OK ||
        reg->document_number == NULL ||
        csam_text_check(reg->document_number, CSAM_DOCNUM_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (reg->email == NULL || csam_email_check(reg->email) != CSAM_OK)
        return CSAM_ERR_EMAIL;
    if (reg->language != NULL && csam_language_check(reg->language) != CSAM_OK)
        return CSAM_ERR_INVALID;
    return CSAM_OK;
}

/* Supersede the citizen's live registration, if any, and audit it. */
static csam_result csam_reg_supersede(csam_engine *engine,
                                      const unsigned char *nrn_hash,
                                      const char *officer, const char *source)
{
    csam_store *store = engine->deps.store;
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;
    int i;

    p[0] = csam_store_bytes(nrn_hash, CSAM_HASH_LEN);
    res = csam_store_exec(store, &csam_reg_stmt_drop_pending, p, NULL);
    if (res == CSAM_OK)
        res = csam_store_exec(store, &csam_reg_stmt_supersede, p, &rows);
    for (i = 0; res == CSAM_OK && i < csam_store_nrows(rows); i++)
        res =
            csam_audit_write(store, officer, "registration.superseded",
                             csam_store_int64(rows, i, 0, 0), 0, source, NULL);
    csam_store_rows_free(rows);
    return res;
}

static csam_result csam_reg_mail(csam_engine *engine,
                                 const struct csam_registration *reg,
                                 const char *lang, const char *token,
                                 const char *expires)
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
    vars[0].value = reg->first_name;
    vars[1].name = "last_name";
    vars[1].value = reg->last_name;
    vars[2].name = "link";
    vars[2].value = link;
    vars[3].name = "expires";
    vars[3].value = expires;
    res =
        csam_engine_mail(engine, reg->email, lang, "activation", vars, 4, link);
    csam_wipe(link, sizeof(link));
    return res;
}

csam_result csam_engine_register(csam_engine *engine, const char *officer,
                                 const char *source,
                                 const struct csam_registration *reg,
                                 struct csam_registration_receipt *out)
{
    const struct csam_config *cfg;
    csam_store *store;
    const char *lang;
    char nrn[CSAM_NRN_SIZE];
    char token[CSAM_TOKEN_SIZE];
    char idtext[CSAM_STORE_INT_SIZE], max[CSAM_STORE_INT_SIZE];
    char ttl[CSAM_STORE_INT_SIZE];
    char expires_date[CSAM_ENGINE_TIME_SIZE];
    unsigned char nrn_hash[CSAM_HASH_LEN], token_hash[CSAM_HASH_LEN];
    unsigned char code_hash[CSAM_HASH_LEN];
    struct csam_store_param p[15];
    csam_store_rows *rows = NULL;
    int64_t id;
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

    res = csam_engine_hash(engine, CSAM_PURPOSE_NATIONAL_NUMBER,
                           "national_number", 0, nrn, nrn_hash);
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
    res = csam_store_exec(store, &csam_reg_stmt_next_id, NULL, &rows);
    if (res != CSAM_OK)
        goto rollback;
    id = csam_store_int64(rows, 0, 0, 0);
    csam_store_rows_free(rows);
    rows = NULL;
    res = csam_engine_hash(engine, CSAM_PURPOSE_ACTIVATION_CODE,
                           "activation_code", id, out->activation_code,
                           code_hash);
    if (res == CSAM_OK) {
        p[0] = csam_store_bytes(nrn_hash, sizeof(nrn_hash));
        res = csam_store_exec(store, &csam_reg_stmt_lock_person, p, NULL);
    }
    if (res == CSAM_OK)
        res = csam_reg_supersede(engine, nrn_hash, officer, source);
    if (res != CSAM_OK)
        goto rollback;

    p[0] = csam_store_int(id, idtext);
    p[1] = csam_store_bytes(nrn_hash, sizeof(nrn_hash));
    p[2] = csam_store_text(reg->first_name);
    p[3] = csam_store_text(reg->last_name);
    p[4] = csam_store_text(reg->birth_date);
    p[5] = csam_store_text(reg->document_type);
    p[6] = csam_store_text(reg->document_number);
    p[7] = csam_store_text(reg->email);
    p[8] = csam_store_text(lang);
    p[9] = csam_store_bytes(token_hash, sizeof(token_hash));
    p[10] = csam_store_bytes(code_hash, sizeof(code_hash));
    p[11] = csam_store_int(csam_reg_clamp(cfg->code_attempts, 1, 100), max);
    p[12] = csam_store_int(
        csam_reg_clamp(cfg->activation_ttl, 60, 366L * 86400), ttl);
    p[13] = csam_store_text(officer);
    p[14] = csam_store_text(source);
    res = csam_store_exec(store, &csam_reg_stmt_insert, p, &rows);
    if (res != CSAM_OK)
        goto rollback;
    snprintf(out->expires_at, sizeof(out->expires_at), "%s",
             csam_store_value(rows, 0, 0) != NULL ? csam_store_value(rows, 0, 0)
                                                  : "");
    snprintf(expires_date, sizeof(expires_date), "%s",
             csam_store_value(rows, 0, 1) != NULL ? csam_store_value(rows, 0, 1)
                                                  : "");
    csam_store_rows_free(rows);
    rows = NULL;
    res = csam_audit_write(store, officer, "registration.created", id, 0,
                           source, NULL);
    if (res != CSAM_OK)
        goto rollback;
    /* The mail goes out before COMMIT: a relay that refuses it takes the
     * registration back with it, and the desk can simply try again. */
    res = csam_reg_mail(engine, reg, lang, token, expires_date);
    if (res != CSAM_OK)
        goto rollback;
    res = csam_store_commit(store);
    if (res != CSAM_OK)
        goto out;
    out->registration_id = id;
    csam_log(&engine->deps.logger, CSAM_LOG_INFO, "registration %lld created",
             (long long)id);
    goto out;

rollback:
    csam_store_rollback(store);
out:
    csam_store_rows_free(rows);
    csam_wipe(token, sizeof(token));
    csam_wipe(code_hash, sizeof(code_hash));
    if (res != CSAM_OK) {
        csam_wipe(out->activation_code, sizeof(out->activation_code));
        memset(out, 0, sizeof(*out));
    }
    return res;
}

/* ---- the link and the paper code ------------------------------------- */

static const struct csam_store_stmt csam_reg_stmt_by_token = {
    "csam_reg_by_token",
    "SELECT id, language, attempts >= max_attempts"
    " FROM csam_registrations WHERE token_hash = $1"
    " AND used_at IS NULL AND superseded_at IS NULL AND expires_at > now()",
    1, CSAM_STORE_RETRY};

struct csam_reg_live {
    int64_t id;
    char language[3];
    int locked;
};

static csam_result csam_reg_by_token(csam_engine *engine, const char *token,
                                     struct csam_reg_live *out)
{
    unsigned char hash[CSAM_HASH_LEN];
    struct csam_store_param p[1];
    csam_store_rows *rows = NULL;
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (token == NULL || !csam_token_valid(token))
        return CSAM_ERR_EXPIRED;
    res = csam_engine_hash(engine, CSAM_PURPOSE_LINK_TOKEN, "link_token", 0,
                           token, hash);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_bytes(hash, sizeof(hash));
    res =
        csam_store_exec(engine->deps.store, &csam_reg_stmt_by_token, p, &rows);
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        res = CSAM_ERR_EXPIRED;
    } else {
        out->id = csam_store_int64(rows, 0, 0, 0);
        snprintf(out->language, sizeof(out->language), "%s",
                 csam_store_value(rows, 0, 1));
        out->locked = csam_store_bool(rows, 0, 2);
    }
    csam_store_rows_free(rows);
    return res;
}

csam_result csam_engine_link_language(csam_engine *engine, const char *token,
                                      char language[3])
{
    struct csam_reg_live live;
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

/* One attempt at the paper code; a wrong one counts, a right one does not
 * (the citizen may open the link again until the key is active). */
static const struct csam_store_stmt csam_reg_stmt_try_code = {
    "csam_reg_try_code",
    "UPDATE csam_registrations"
    " SET attempts = attempts + CASE WHEN code_hash = $2 THEN 0 ELSE 1 END"
    " WHERE id = $1 AND used_at IS NULL AND superseded_at IS NULL"
    " AND expires_at > now() AND attempts < max_attempts"
    " RETURNING code_hash = $2, max_attempts - attempts",
    2, 0};

static const struct csam_store_stmt csam_reg_stmt_supersede_flows = {
    "csam_reg_supersede_flows",
    "UPDATE csam_flows SET superseded_at = now()"
    " WHERE registration_id = $1 AND done_at IS NULL"
    " AND superseded_at IS NULL",
    1, 0};

static const struct csam_store_stmt csam_reg_stmt_new_flow = {
    "csam_reg_new_flow",
    "INSERT INTO csam_flows (handle_hash, kind, step, registration_id,"
    " expires_at)"
    " VALUES ($1, 'activation', 'key', $2,"
    " now() + make_interval(secs => $3::integer)) RETURNING id",
    3, 0};

/* A new activation handle for the registration; earlier ones die. */
static csam_result csam_reg_open_flow(csam_engine *engine, int64_t reg_id,
                                      const char *source,
                                      char handle[CSAM_TOKEN_SIZE])
{
    csam_store *store = engine->deps.store;
    unsigned char hash[CSAM_HASH_LEN];
    char idtext[CSAM_STORE_INT_SIZE], ttl[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[3];
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
    p[0] = csam_store_int(reg_id, idtext);
    res = csam_store_exec(store, &csam_reg_stmt_supersede_flows, p, NULL);
    if (res == CSAM_OK) {
        p[0] = csam_store_bytes(hash, sizeof(hash));
        p[1] = csam_store_int(reg_id, idtext);
        p[2] = csam_store_int(
            csam_reg_clamp(engine->deps.config->flow_ttl, 60, 86400), ttl);
        res = csam_store_exec(store, &csam_reg_stmt_new_flow, p, NULL);
    }
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
    unsigned char hash[CSAM_HASH_LEN];
    char idtext[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[2];
    struct csam_attempts dummy;
    struct csam_reg_live live;
    csam_store_rows *rows = NULL;
    csam_result res;
    int ok;

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

    if (activation_code != NULL &&
        csam_activation_code_normalize(activation_code, canon) == CSAM_OK)
        res = csam_engine_hash(engine, CSAM_PURPOSE_ACTIVATION_CODE,
                               "activation_code", live.id, canon, hash);
    else
        /* Malformed: a wrong code like any other, that cannot match. */
        res = csam_random_bytes(hash, sizeof(hash));
    csam_wipe(canon, sizeof(canon));
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_int(live.id, idtext);
    p[1] = csam_store_bytes(hash, sizeof(hash));
    res =
        csam_store_exec(engine->deps.store, &csam_reg_stmt_try_code, p, &rows);
    csam_wipe(hash, sizeof(hash));
    if (res != CSAM_OK)
        return res;
    if (csam_store_nrows(rows) != 1) {
        /* Exhausted or superseded between the two statements. */
        csam_store_rows_free(rows);
        att->attempts_left = 0;
        return CSAM_ERR_LOCKED;
    }
    ok = csam_store_bool(rows, 0, 0);
    att->attempts_left = (int)csam_store_int64(rows, 0, 1, 0);
    csam_store_rows_free(rows);
    if (!ok) {
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
