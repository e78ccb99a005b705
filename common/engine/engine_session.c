/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Web sessions (DESIGN 4): the browser holds a 256-bit token, the database
 * its keyed hash, an idle timeout, an absolute expiry and a revocation
 * time.  Every check reads the database, so a logout or a password change
 * is seen by every node at the next request.
 *
 * Round trips: a session check makes exactly one (a protected request
 * costs one statement: lookup, expiry checks, account check, the
 * person's hash and, when asked for, sealed number, and the touch
 * together); csam_engine_session_end one.  Both statements are
 * the store's (common/store/session.c).  While the secret is replaced, a
 * cookie the current secret does not find costs one more, and the one
 * time it is found under the previous secret, one more to move it; a
 * logout ends it under both.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"
#include "person.h"
#include "session.h"

/* The cookie's keyed hash; CSAM_ERR_EXPIRED for anything that is not a
 * token's shape, before the database is asked. */
static csam_result csam_session_hash(const csam_secret *secret,
                                     const char *cookie,
                                     unsigned char out[CSAM_HASH_LEN])
{
    if (cookie == NULL || !csam_token_valid(cookie))
        return CSAM_ERR_EXPIRED;
    return csam_engine_hash_secret(secret, CSAM_PURPOSE_SESSION, "session", "0",
                                   cookie, out);
}

/* The session's person as the host may see it: the subject always (the
 * stored one, else computed under the secret that made the hash:
 * person.h), the number only when asked for and stored.  The subject's
 * buffer is the public header's, the helper's size is person.h's: one
 * number. */
static csam_result csam_session_person(const csam_secret *secret,
                                       const struct csam_store_session *found,
                                       unsigned flags,
                                       struct csam_session_info *out)
{
    csam_result res;

    _Static_assert(sizeof(out->subject) == CSAM_SUBJECT_SIZE,
                   "CSAM_SUBJECT_BUFSIZE is person.h's CSAM_SUBJECT_SIZE");
    _Static_assert(sizeof(found->subject) == CSAM_SUBJECT_SIZE,
                   "the store's subject is person.h's CSAM_SUBJECT_SIZE");
    res = csam_person_subject_of(secret, found->nrn_hash, found->subject,
                                 found->nrn_sealed, found->nrn_sealed_len,
                                 out->subject);
    if (res != CSAM_OK || !(flags & CSAM_SESSION_NATIONAL_NUMBER)
        || found->nrn_sealed_len == 0)
        return res;
    return csam_person_open(secret, found->nrn_sealed, found->nrn_sealed_len,
                            found->nrn_hash, out->national_number);
}

/* Store the session found under the previous secret's hash `from` under
 * the current secret's hash of its cookie. */
static csam_result csam_session_move(const csam_secret *secret,
                                     csam_store *store, const char *cookie,
                                     const unsigned char from[CSAM_HASH_LEN])
{
    unsigned char to[CSAM_HASH_LEN];
    csam_result res;

    res = csam_session_hash(secret, cookie, to);
    if (res == CSAM_OK)
        res = csam_store_session_rehash(store, from, to);
    csam_wipe(to, sizeof(to));
    return res;
}

static csam_result csam_session_check_secret(const csam_secret *secret,
                                             csam_store *store,
                                             const char *cookie, unsigned flags,
                                             struct csam_session_info *out)
{
    unsigned char hash[CSAM_HASH_LEN];
    struct csam_store_session found;
    const csam_secret *s, *by = secret;
    csam_result res;

    memset(out, 0, sizeof(*out));
    memset(&found, 0, sizeof(found));
    if (flags & ~(unsigned)(CSAM_SESSION_TOUCH | CSAM_SESSION_NATIONAL_NUMBER))
        return CSAM_ERR_INVALID;
    res = CSAM_ERR_NOT_FOUND;
    for (s = secret; s != NULL && res == CSAM_ERR_NOT_FOUND;
         s = csam_engine_secret_next(secret, s)) {
        res = csam_session_hash(s, cookie, hash);
        if (res != CSAM_OK)
            return res;
        res = csam_store_session_check(
            store, hash, (flags & CSAM_SESSION_TOUCH) != 0,
            (flags & CSAM_SESSION_NATIONAL_NUMBER) != 0, &found);
        by = s;
    }
    if (res == CSAM_ERR_NOT_FOUND)
        return CSAM_ERR_EXPIRED;
    /* Found under the previous secret: the session moves to the current
     * one (same cookie, new hash), so that it outlives the previous
     * secret's removal.  A failure fails the check, as a lookup's would. */
    if (res == CSAM_OK && by != secret)
        res = csam_session_move(secret, store, cookie, hash);
    if (res != CSAM_OK) {
        csam_wipe(&found, sizeof(found));
        return res;
    }
    memcpy(out->username, found.username, sizeof(out->username));
    out->key_type = csam_key_type_parse(found.key_type);
    out->auth_time = found.created_at;
    out->expires_at = found.expires_at;
    out->idle_expires_at = found.idle_expires_at;
    res = csam_session_person(secret, &found, flags, out);
    csam_wipe(&found, sizeof(found));
    if (res != CSAM_OK)
        csam_wipe(out, sizeof(*out));
    return res;
}

csam_result csam_engine_session_check_flags(csam_engine *engine,
                                            const char *cookie, unsigned flags,
                                            struct csam_session_info *out)
{
    csam_result res;

    if (engine == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    res = csam_session_check_secret(engine->deps.secret, engine->deps.store,
                                    cookie, flags, out);
    if (res == CSAM_ERR_CRYPTO)
        csam_log(&engine->deps.logger, CSAM_LOG_ERR,
                 "a session's account holds a sealed national number that "
                 "does not open with this secret file");
    return res;
}

csam_result csam_session_check_flags(const csam_services *sv, csam_store *store,
                                     const char *cookie, unsigned flags,
                                     struct csam_session_info *out)
{
    if (sv == NULL || store == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    return csam_session_check_secret(csam_services_secret(sv), store, cookie,
                                     flags, out);
}

csam_result csam_engine_session_check(csam_engine *engine, const char *cookie,
                                      int touch, struct csam_session_info *out)
{
    return csam_engine_session_check_flags(
        engine, cookie, touch ? CSAM_SESSION_TOUCH : 0U, out);
}

csam_result csam_session_check(const csam_services *sv, csam_store *store,
                               const char *cookie, int touch,
                               struct csam_session_info *out)
{
    return csam_session_check_flags(sv, store, cookie,
                                    touch ? CSAM_SESSION_TOUCH : 0U, out);
}

csam_result csam_engine_session_end(csam_engine *engine, const char *source,
                                    const char *cookie)
{
    unsigned char hash[CSAM_HASH_LEN];
    const csam_secret *s;
    csam_result res;

    if (engine == NULL)
        return CSAM_ERR_INVALID;
    /* Under every secret it may be stored under: ending is idempotent,
     * and a session not yet moved to the current secret ends too. */
    for (s = engine->deps.secret; s != NULL;
         s = csam_engine_secret_next(engine->deps.secret, s)) {
        res = csam_session_hash(s, cookie, hash);
        if (res == CSAM_ERR_EXPIRED)
            return CSAM_OK; /* nothing to end */
        if (res == CSAM_OK)
            res = csam_store_session_end(engine->deps.store, hash,
                                         csam_engine_source(source));
        if (res != CSAM_OK)
            return res;
    }
    return CSAM_OK;
}

/* ---- asking for the password again ------------------------------------ */

int csam_engine_session_reauth_needed(const csam_engine *engine,
                                      const struct csam_session_info *session)
{
    long after;

    if (engine == NULL || session == NULL)
        return 1;
    after = engine->deps.config->reauth_after;
    /* auth_time is the database's clock and now the node's: a few seconds
     * of skew move a limit of minutes by as much, on either side. */
    return after <= 0 || (int64_t)time(NULL) - session->auth_time >= after;
}

csam_result csam_engine_session_reauth(csam_engine *engine, const char *source,
                                       const struct csam_session_info *session,
                                       const char *password,
                                       struct csam_attempts *att)
{
    struct csam_login_check chk;
    struct csam_attempts dummy;
    csam_result res;

    if (att == NULL)
        att = &dummy;
    att->attempts_left = -1;
    att->retry_after = 0;
    if (engine == NULL || session == NULL)
        return CSAM_ERR_INVALID;
    if (!csam_engine_session_reauth_needed(engine, session))
        return CSAM_OK;
    if (password == NULL || password[0] == '\0')
        return CSAM_ERR_REAUTH;
    res = csam_login_check(engine, source, session->username, password, &chk,
                           att);
    if (res != CSAM_OK)
        return res;
    if (chk.account_id == 0)
        return CSAM_ERR_BAD_CREDENTIALS; /* the account went away */
    return csam_login_settle(engine, &chk, "password.reconfirmed",
                             session->username, source);
}
