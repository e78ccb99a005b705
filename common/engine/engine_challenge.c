/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Security codes (challenges) and the failure counters around them.
 *
 * A code is bound to its owner (an account) and its purpose twice: its
 * keyed hash covers both, and it is only ever looked up by both.  It has
 * an expiry from the database clock, a bounded number of attempts, and is
 * single-use.  Verification is one statement (store/challenge.c), so that
 * two submissions of one code racing each other cannot both win and so
 * that a verification costs one round trip; here are the rules around it:
 * which owner binds a code, the counting numbers, what a verdict means.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"

static const char *const csam_challenge_purposes[] = {
    "activation_confirm", "key_confirm", "web_login", "pam_login",
    "email_confirm"};

/* Which derived key hashes which purpose's codes: activation and later
 * key confirmations share the key-confirmation key (their labels differ). */
static enum csam_purpose csam_challenge_key(enum csam_challenge_purpose p)
{
    switch (p) {
    case CSAM_CHALLENGE_WEB_LOGIN: return CSAM_PURPOSE_WEB_LOGIN;
    case CSAM_CHALLENGE_PAM_LOGIN: return CSAM_PURPOSE_PAM_LOGIN;
    case CSAM_CHALLENGE_ACTIVATION_CONFIRM:
    case CSAM_CHALLENGE_KEY_CONFIRM:
    case CSAM_CHALLENGE_EMAIL_CONFIRM: break;
    }
    return CSAM_PURPOSE_KEY_CONFIRM;
}

const char *csam_challenge_purpose_name(enum csam_challenge_purpose p)
{
    if ((unsigned)p
        >= sizeof(csam_challenge_purposes) / sizeof(csam_challenge_purposes[0]))
        return "key_confirm";
    return csam_challenge_purposes[p];
}

static long csam_challenge_clamp(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The keyed hash of a code for its owner and purpose (see
 * struct csam_challenge_owner for which owner binds which purpose). */
static csam_result csam_challenge_hash(const csam_secret *secret,
                                       const struct csam_challenge_owner *o,
                                       enum csam_challenge_purpose purpose,
                                       enum csam_key_type key_type,
                                       const char *code,
                                       unsigned char out[CSAM_HASH_LEN])
{
    const char *pname = csam_challenge_purpose_name(purpose);
    const char *tname = csam_key_type_name(key_type);
    char bound[48];

    switch (purpose) {
    case CSAM_CHALLENGE_WEB_LOGIN:
        /* Bound by its row to one live login flow (flow_id), which a new
         * login of the account may take over (DESIGN 4: a pending code is
         * reused): the hash cannot name the handle, which changes then. */
        (void)o;
        return csam_engine_hash_secret(secret, csam_challenge_key(purpose),
                                       "web_login/flow", "", code, out);
    case CSAM_CHALLENGE_PAM_LOGIN:
        if (o->username == NULL)
            return CSAM_ERR_INVALID;
        return csam_engine_hash_secret(secret, csam_challenge_key(purpose),
                                       pname, o->username, code, out);
    case CSAM_CHALLENGE_KEY_CONFIRM:
        /* Bound to the key type too: a code sent to a new phone does not
         * confirm an e-mail key started meanwhile. */
        if (o->account_id <= 0 || tname == NULL)
            return CSAM_ERR_INVALID;
        snprintf(bound, sizeof(bound), "%lld/%s", (long long)o->account_id,
                 tname);
        return csam_engine_hash_secret(secret, csam_challenge_key(purpose),
                                       pname, bound, code, out);
    case CSAM_CHALLENGE_ACTIVATION_CONFIRM:
    case CSAM_CHALLENGE_EMAIL_CONFIRM: break;
    }
    /* Bound to the account, and by its label to the purpose. */
    if (o->account_id <= 0)
        return CSAM_ERR_INVALID;
    return csam_engine_hash_under(secret, csam_challenge_key(purpose), pname,
                                  o->account_id, code, out);
}

void csam_challenge_limits(const csam_engine *engine,
                           struct csam_store_limits *out)
{
    const struct csam_config *cfg = engine->deps.config;

    out->threshold = csam_challenge_clamp(cfg->lockout_threshold, 1, 1000);
    out->duration = csam_challenge_clamp(cfg->lockout_duration, 1, 7 * 86400);
    /* Many citizens may share one address (an office, a carrier's NAT). */
    out->source_threshold = out->threshold * CSAM_SOURCE_THRESHOLD_FACTOR;
    /* The growing delay starts at half the lock's threshold. */
    out->delay_after = out->threshold / 2;
    out->delay_max = csam_challenge_clamp(cfg->delay_max, 1, 3600);
}

/* ---- issuing ----------------------------------------------------------- */

csam_result csam_challenge_issue(csam_engine *engine,
                                 const struct csam_challenge_owner *owner,
                                 int64_t key_id,
                                 enum csam_challenge_purpose purpose,
                                 enum csam_key_type key_type,
                                 const char *source,
                                 char code[CSAM_ENGINE_CODE_SIZE])
{
    const struct csam_config *cfg = engine->deps.config;
    unsigned char hash[CSAM_HASH_LEN];
    struct csam_store_challenge_new row;
    csam_result res;

    res = csam_security_code_new(CSAM_ENGINE_CODE_DIGITS, code,
                                 CSAM_ENGINE_CODE_SIZE);
    if (res != CSAM_OK)
        return res;
    if (owner == NULL || owner->account_id <= 0)
        return CSAM_ERR_INVALID;
    if (key_type == CSAM_KEY_TOTP) {
        /* The app makes the codes: the row only bounds the attempts and
         * the time, and its hash is one no typed code can match. */
        csam_wipe(code, CSAM_ENGINE_CODE_SIZE);
        res = csam_random_bytes(hash, sizeof(hash));
    } else {
        res = csam_challenge_hash(engine->deps.secret, owner, purpose, key_type,
                                  code, hash);
    }
    if (res != CSAM_OK)
        return res;
    row.account_id = owner->account_id;
    row.purpose = csam_challenge_purpose_name(purpose);
    row.key_id = key_id;
    row.key_type = csam_key_type_name(key_type);
    row.code_hash = hash;
    row.max_attempts = csam_challenge_clamp(cfg->code_attempts, 1, 100);
    row.ttl = csam_challenge_clamp(cfg->code_ttl, 1, 86400);
    row.source = csam_engine_source(source);
    res = csam_store_challenge_issue(engine->deps.store, &row);
    csam_wipe(hash, sizeof(hash));
    return res;
}

/* The audit detail of an issued code when the caller gives none. */
static const char *
csam_challenge_issued_detail(enum csam_challenge_purpose purpose,
                             enum csam_key_type type, char *buf, size_t size)
{
    const char *tname = csam_key_type_name(type);

    snprintf(buf, size, "{\"purpose\": \"%s\", \"key_type\": \"%s\"}",
             csam_challenge_purpose_name(purpose),
             tname != NULL ? tname : "email");
    return buf;
}

/* The code in its message: by SMS to the phone for the SMS key, else by
 * mail ("code" template, in the recipient's language; an address's own
 * code, "email_confirm"). */
static csam_result
csam_challenge_deliver(csam_engine *engine, enum csam_challenge_purpose purpose,
                       enum csam_key_type type,
                       const struct csam_challenge_recipient *to,
                       const char *code)
{
    char minutes[CSAM_ENGINE_MINUTES_SIZE];
    struct csam_tvar vars[3];

    csam_engine_code_minutes(engine, minutes);
    vars[0].name = "first_name";
    vars[0].value = to->first_name;
    vars[1].name = "code";
    vars[1].value = code;
    vars[2].name = "minutes";
    vars[2].value = minutes;
    if (type == CSAM_KEY_SMS)
        return csam_engine_sms(engine, to->phone, to->language, vars, 3, code);
    return csam_engine_mail(
        engine, to->email, to->language,
        purpose == CSAM_CHALLENGE_EMAIL_CONFIRM ? "email_confirm" : "code",
        vars, 3, code);
}

csam_result csam_challenge_send(csam_engine *engine,
                                const struct csam_challenge_owner *owner,
                                int64_t key_id,
                                enum csam_challenge_purpose purpose,
                                enum csam_key_type type,
                                const struct csam_challenge_recipient *to,
                                const char *source)
{
    char code[CSAM_ENGINE_CODE_SIZE] = "";
    char detail[96];
    csam_result res;

    if (to == NULL)
        return CSAM_ERR_INVALID;
    res = csam_challenge_issue(engine, owner, key_id, purpose, type, source,
                               code);
    if (res == CSAM_OK)
        res = csam_audit_write(
            engine->deps.store, to->username, "challenge.issued",
            to->registration_id, owner->account_id, source,
            to->detail != NULL ? to->detail
                               : csam_challenge_issued_detail(
                                   purpose, type, detail, sizeof(detail)));
    if (res == CSAM_OK && type != CSAM_KEY_TOTP)
        res = csam_challenge_deliver(engine, purpose, type, to, code);
    csam_wipe(code, sizeof(code));
    return res;
}

csam_result csam_challenge_age(csam_engine *engine, int64_t account_id,
                               enum csam_challenge_purpose purpose, long *age,
                               int *usable, int *used)
{
    struct csam_store_challenge_age newest;
    csam_result res;

    res = csam_store_challenge_age(engine->deps.store, account_id,
                                   csam_challenge_purpose_name(purpose),
                                   &newest);
    *age = newest.age;
    *usable = newest.usable;
    if (used != NULL)
        *used = newest.used;
    return res;
}

csam_result csam_challenge_cooldown(csam_engine *engine, int64_t account_id,
                                    int64_t registration_id,
                                    enum csam_challenge_purpose purpose,
                                    long *retry_after)
{
    csam_result res;

    res = csam_store_challenge_cooldown(
        engine->deps.store, account_id, registration_id,
        csam_challenge_purpose_name(purpose),
        csam_challenge_clamp(engine->deps.config->resend_cooldown, 0, 86400),
        retry_after);
    if (res == CSAM_OK && *retry_after > 0)
        return CSAM_ERR_TOO_SOON;
    return res;
}

/* ---- verification ------------------------------------------------------ */

/* A typed code in canonical form: digits only, spaces dropped (people
 * copy "123 456").  Anything else cannot match and is hashed as such. */
static int csam_challenge_canonical(const char *typed,
                                    char out[CSAM_ENGINE_CODE_SIZE])
{
    size_t n = 0;

    if (typed == NULL)
        return 0;
    for (; *typed != '\0'; typed++) {
        if (*typed == ' ')
            continue;
        if (*typed < '0' || *typed > '9' || n == CSAM_SECURITY_CODE_MAX)
            return 0;
        out[n++] = *typed;
    }
    out[n] = '\0';
    return n >= 6;
}

csam_result csam_challenge_typed_hash(csam_engine *engine,
                                      const struct csam_challenge_owner *owner,
                                      enum csam_challenge_purpose purpose,
                                      enum csam_key_type key_type,
                                      const char *code,
                                      struct csam_engine_hashes *out)
{
    const csam_secret *prev = csam_secret_previous(engine->deps.secret);
    char canon[CSAM_ENGINE_CODE_SIZE];
    csam_result res;

    out->has_previous = 0;
    /* A malformed code is a wrong code: it counts as an attempt and is
     * compared against a value no code hashes to. */
    if (!csam_challenge_canonical(code, canon)) {
        csam_wipe(canon, sizeof(canon));
        return csam_random_bytes(out->current, CSAM_HASH_LEN);
    }
    res = csam_challenge_hash(engine->deps.secret, owner, purpose, key_type,
                              canon, out->current);
    /* A code issued before the secret was replaced is stored under the
     * previous one's hash. */
    if (res == CSAM_OK && prev != NULL) {
        res = csam_challenge_hash(prev, owner, purpose, key_type, canon,
                                  out->previous);
        out->has_previous = res == CSAM_OK;
    }
    csam_wipe(canon, sizeof(canon));
    return res;
}

void csam_challenge_check_hashes(struct csam_store_challenge_check *ck,
                                 const struct csam_engine_hashes *h)
{
    ck->code_hash = h->current;
    ck->code_hash_previous = h->has_previous ? h->previous : NULL;
}

void csam_challenge_check_init(csam_engine *engine,
                               enum csam_challenge_purpose purpose,
                               const char *source, int web,
                               struct csam_store_limits *limits,
                               struct csam_store_challenge_check *ck)
{
    const char *src = csam_engine_source(source);

    csam_challenge_limits(engine, limits);
    memset(ck, 0, sizeof(*ck));
    ck->purpose = csam_challenge_purpose_name(purpose);
    ck->totp_step = -1;
    ck->counted_source = web ? src : NULL;
    ck->audit_source = src;
    ck->limits = limits;
}

csam_result csam_challenge_outcome(const struct csam_store_verdict *v,
                                   struct csam_attempts *att)
{
    if (!v->owner_found)
        return CSAM_ERR_NOT_FOUND;
    if (v->account_lock > 0 || v->source_lock > 0) {
        att->retry_after = v->account_lock > 0 ? v->account_lock
                                               : v->source_lock;
        return CSAM_ERR_LOCKED;
    }
    if (!v->code_found || v->expired)
        return CSAM_ERR_EXPIRED;
    if (v->exhausted) {
        att->attempts_left = 0;
        return CSAM_ERR_LOCKED;
    }
    if (!v->counted)
        return CSAM_ERR_EXPIRED; /* used by a concurrent submission */
    if (v->ok)
        return CSAM_OK;
    att->attempts_left = v->attempts_left < 0 ? 0 : (int)v->attempts_left;
    att->retry_after = v->wait;
    /* The failure that reached the threshold locked the account (its
     * counter starts again at 0); the last attempt locked the code. */
    if (v->failures == 0 && v->wait > 0)
        return CSAM_ERR_LOCKED;
    return v->attempts_left <= 0 ? CSAM_ERR_LOCKED : CSAM_ERR_BAD_CODE;
}

csam_result csam_challenge_verify(csam_engine *engine,
                                  const struct csam_challenge_owner *owner,
                                  enum csam_challenge_purpose purpose,
                                  enum csam_key_type key_type, const char *code,
                                  const char *source, int web,
                                  struct csam_attempts *att)
{
    struct csam_engine_hashes hash;
    struct csam_store_challenge_check ck;
    struct csam_store_limits limits;
    struct csam_store_verdict verdict;
    int by_name = owner != NULL && owner->account_id == 0;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    if (owner == NULL || (by_name && owner->username == NULL)
        || (by_name && csam_key_type_name(key_type) == NULL))
        return CSAM_ERR_INVALID;
    res = csam_challenge_typed_hash(engine, owner, purpose, key_type, code,
                                    &hash);
    if (res != CSAM_OK)
        return res;
    csam_challenge_check_init(engine, purpose, source, web, &limits, &ck);
    csam_challenge_check_hashes(&ck, &hash);
    if (by_name)
        res = csam_store_challenge_verify_name(
            engine->deps.store, owner->username, csam_key_type_name(key_type),
            &ck, &verdict);
    else
        res = csam_store_challenge_verify(engine->deps.store, owner->account_id,
                                          &ck, &verdict);
    csam_wipe(&hash, sizeof(hash));
    if (res != CSAM_OK)
        return res;
    return csam_challenge_outcome(&verdict, att);
}

csam_result csam_challenge_verify_totp(csam_engine *engine, int64_t account_id,
                                       int64_t key_id,
                                       enum csam_challenge_purpose purpose,
                                       int64_t step, const char *source,
                                       int web, struct csam_attempts *att)
{
    struct csam_store_challenge_check ck;
    struct csam_store_limits limits;
    struct csam_store_verdict verdict;
    csam_result res;

    att->attempts_left = -1;
    att->retry_after = 0;
    if (account_id <= 0 || key_id <= 0)
        return CSAM_ERR_INVALID;
    csam_challenge_check_init(engine, purpose, source, web, &limits, &ck);
    ck.totp_step = step >= 0 ? step : -1;
    res = csam_store_challenge_verify_totp(engine->deps.store, account_id,
                                           key_id, &ck, &verdict);
    if (res != CSAM_OK)
        return res;
    return csam_challenge_outcome(&verdict, att);
}

/* ---- per-source counters --------------------------------------------- */

csam_result csam_source_check(csam_engine *engine, const char *source,
                              struct csam_attempts *att)
{
    long wait = 0;
    csam_result res;

    source = csam_engine_source(source);
    if (source == NULL)
        return CSAM_OK;
    res = csam_store_challenge_source_lock(engine->deps.store, source, &wait);
    if (res != CSAM_OK)
        return res;
    if (wait > 0) {
        att->attempts_left = -1;
        att->retry_after = wait;
        return CSAM_ERR_LOCKED;
    }
    return CSAM_OK;
}

csam_result csam_source_fail(csam_engine *engine, const char *source)
{
    struct csam_store_limits limits;

    source = csam_engine_source(source);
    if (source == NULL)
        return CSAM_OK;
    csam_challenge_limits(engine, &limits);
    return csam_store_challenge_source_fail(engine->deps.store, source,
                                            &limits);
}
