/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The second factor for PAM (DESIGN 3.4, 2.5): an active key of the CSAM
 * account named like the Linux account.  Each key type is one entry of
 * csam_pam_keys[], in the order of preference: the e-mailed code, the
 * app's code (TOTP: nothing is sent), the SMS code.
 *
 * PAM codes are their own purpose: a code mailed for a web login or a key
 * confirmation is refused here and the reverse.  Failures count on the
 * same account counter as the web's.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "logins.h"

/* The account and its active keys.  A name that is not a valid username
 * cannot be an account: CSAM_ERR_NOT_FOUND without asking the database.
 * A disabled account is CSAM_ERR_LOCKED (retry_after 0), not "not found":
 * with nullok, "not found" lets the first factor through alone.
 * Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_LOCKED, CSAM_ERR_DB. */
static csam_result csam_pam_account_get(csam_engine *engine,
                                        const char *username,
                                        struct csam_store_login_account *out)
{
    csam_result res;

    memset(out, 0, sizeof(*out));
    if (username == NULL || csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    res = csam_store_login_account(engine->deps.store, username, out);
    if (res != CSAM_OK)
        return res;
    if (out->disabled)
        return CSAM_ERR_LOCKED;
    return out->active ? CSAM_OK : CSAM_ERR_NOT_FOUND;
}

/* ---- the keys ---------------------------------------------------------- */

/* A code for the key type `type`: mailed (e-mail), sent by SMS, or for
 * the app's key only the challenge row that bounds its attempts.  A
 * pending code younger than resend_cooldown (for TOTP: any usable one) is
 * reused instead. */
static csam_result
csam_pam_code_begin(csam_engine *engine, enum csam_key_type type,
                    const struct csam_store_login_account *acc,
                    const char *username, const char *source,
                    struct csam_pam_challenge *out)
{
    csam_store *store = engine->deps.store;
    struct csam_challenge_owner owner = {acc->id, username, NULL};
    struct csam_challenge_recipient to = {
        username,   0,   acc->first_name, acc->language, acc->email,
        acc->phone, NULL};
    long age = -1;
    int usable = 0;
    csam_result res;

    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    /* Two PAM conversations starting at once for one account (two ssh
     * sessions) wait for each other here: one mails, the other reuses. */
    res = csam_store_login_account_lock(store, acc->id);
    if (res == CSAM_OK)
        res = csam_challenge_age(engine, acc->id, CSAM_CHALLENGE_PAM_LOGIN,
                                 &age, &usable, NULL);
    if (res != CSAM_OK)
        goto rollback;
    if (usable && age >= 0
        && (type == CSAM_KEY_TOTP
            || age < engine->deps.config->resend_cooldown)) {
        out->reused = 1;
        csam_store_rollback(store);
        return CSAM_OK;
    }
    res = csam_challenge_send(engine, &owner, 0, CSAM_CHALLENGE_PAM_LOGIN, type,
                              &to, source);
    if (res != CSAM_OK)
        goto rollback;
    return csam_store_commit(store);

rollback:
    csam_store_rollback(store);
    return res;
}

static csam_result csam_pam_email_begin(
    csam_engine *engine, const struct csam_store_login_account *acc,
    const char *username, const char *source, struct csam_pam_challenge *out)
{
    return csam_pam_code_begin(engine, CSAM_KEY_EMAIL, acc, username, source,
                               out);
}

static csam_result csam_pam_sms_begin(
    csam_engine *engine, const struct csam_store_login_account *acc,
    const char *username, const char *source, struct csam_pam_challenge *out)
{
    if (engine->deps.sms.fn == NULL || acc->phone[0] == '\0')
        return CSAM_ERR_NOT_FOUND;
    return csam_pam_code_begin(engine, CSAM_KEY_SMS, acc, username, source,
                               out);
}

static csam_result csam_pam_totp_begin(
    csam_engine *engine, const struct csam_store_login_account *acc,
    const char *username, const char *source, struct csam_pam_challenge *out)
{
    return csam_pam_code_begin(engine, CSAM_KEY_TOTP, acc, username, source,
                               out);
}

/* By name, in one statement: the account, its key and the code together
 * (PAM codes are bound to the username). */
static csam_result csam_pam_email_verify(csam_engine *engine,
                                         const char *username, const char *code,
                                         const char *source,
                                         struct csam_attempts *att)
{
    struct csam_challenge_owner owner = {0, username, NULL};

    return csam_challenge_verify(engine, &owner, CSAM_CHALLENGE_PAM_LOGIN,
                                 CSAM_KEY_EMAIL, code, source, 0, att);
}

static csam_result csam_pam_sms_verify(csam_engine *engine,
                                       const char *username, const char *code,
                                       const char *source,
                                       struct csam_attempts *att)
{
    struct csam_challenge_owner owner = {0, username, NULL};

    return csam_challenge_verify(engine, &owner, CSAM_CHALLENGE_PAM_LOGIN,
                                 CSAM_KEY_SMS, code, source, 0, att);
}

/* Two round trips: the secret opens between them (engine_totp.c). */
static csam_result csam_pam_totp_verify(csam_engine *engine,
                                        const char *username, const char *code,
                                        const char *source,
                                        struct csam_attempts *att)
{
    return csam_totp_confirm_named(engine, username, CSAM_CHALLENGE_PAM_LOGIN,
                                   code, source, att);
}

/* ---- key types, in order of preference ------------------------------- */

struct csam_pam_key {
    enum csam_key_type type;
    csam_result (*begin)(csam_engine *engine,
                         const struct csam_store_login_account *acc,
                         const char *username, const char *source,
                         struct csam_pam_challenge *out);
    csam_result (*verify)(csam_engine *engine, const char *username,
                          const char *code, const char *source,
                          struct csam_attempts *att);
};

static const struct csam_pam_key csam_pam_keys[] = {
    {CSAM_KEY_EMAIL, csam_pam_email_begin, csam_pam_email_verify},
    {CSAM_KEY_TOTP, csam_pam_totp_begin, csam_pam_totp_verify},
    {CSAM_KEY_SMS, csam_pam_sms_begin, csam_pam_sms_verify},
};

#define CSAM_PAM_NKEYS (sizeof(csam_pam_keys) / sizeof(csam_pam_keys[0]))

/* The preferred key type that is allowed, active and supported. */
static const struct csam_pam_key *csam_pam_key_pick(unsigned allowed,
                                                    unsigned active)
{
    size_t i;

    for (i = 0; i < CSAM_PAM_NKEYS; i++)
        if ((allowed & active & (unsigned)csam_pam_keys[i].type) != 0)
            return &csam_pam_keys[i];
    return NULL;
}

static const struct csam_pam_key *csam_pam_key_find(enum csam_key_type type)
{
    size_t i;

    for (i = 0; i < CSAM_PAM_NKEYS; i++)
        if (csam_pam_keys[i].type == type)
            return &csam_pam_keys[i];
    return NULL;
}

static void csam_pam_att_reset(struct csam_attempts *att)
{
    att->attempts_left = -1;
    att->retry_after = 0;
}

csam_result csam_engine_pam_begin(csam_engine *engine, const char *username,
                                  unsigned allowed, const char *source,
                                  struct csam_pam_challenge *out,
                                  struct csam_attempts *att)
{
    const struct csam_pam_key *key;
    struct csam_store_login_account acc;
    struct csam_attempts dummy;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    csam_pam_att_reset(att);
    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    res = csam_pam_account_get(engine, username, &acc);
    if (res != CSAM_OK)
        return res;
    memcpy(out->language, acc.language, sizeof(out->language));
    if (acc.locked_for > 0) {
        att->retry_after = acc.locked_for;
        return CSAM_ERR_LOCKED;
    }
    /* The account exists: without a key this service can use it is not
     * "no account", which nullok would let through on the first factor. */
    key = csam_pam_key_pick(allowed & csam_engine_offered(engine), acc.keys);
    if (key == NULL)
        return CSAM_ERR_STATE;
    out->key_type = key->type;
    return key->begin(engine, &acc, username, source, out);
}

csam_result csam_engine_pam_verify(csam_engine *engine, const char *username,
                                   enum csam_key_type key_type,
                                   const char *code, const char *source,
                                   struct csam_attempts *att)
{
    const struct csam_pam_key *key = csam_pam_key_find(key_type);
    struct csam_attempts dummy;

    if (att == NULL)
        att = &dummy;
    csam_pam_att_reset(att);
    if (engine == NULL)
        return CSAM_ERR_INVALID;
    if (key == NULL)
        return CSAM_ERR_NOT_FOUND;
    /* The account, its key and its lock are checked by the verification
     * itself: one round trip. */
    if (username == NULL || csam_username_check(username) != CSAM_OK)
        return CSAM_ERR_NOT_FOUND;
    return key->verify(engine, username, code, source, att);
}

csam_result csam_engine_account_check(csam_engine *engine, const char *username,
                                      unsigned allowed,
                                      struct csam_attempts *att)
{
    struct csam_store_login_account acc;
    struct csam_attempts dummy;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    csam_pam_att_reset(att);
    if (engine == NULL)
        return CSAM_ERR_INVALID;
    res = csam_pam_account_get(engine, username, &acc);
    if (res != CSAM_OK)
        return res;
    if (csam_pam_key_pick(allowed & csam_engine_offered(engine), acc.keys)
        == NULL)
        return CSAM_ERR_STATE;
    if (acc.locked_for > 0) {
        att->retry_after = acc.locked_for;
        return CSAM_ERR_LOCKED;
    }
    return CSAM_OK;
}
