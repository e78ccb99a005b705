/*
 * Web login, sessions and self-management (DESIGN 2.3, 2.4, 4): the
 * engine's side of mod_csam's AuthType CSAM, /csam/login, /csam/keys and
 * the matching JSON API.  Same rules as engine.h: one engine per request,
 * not thread-safe, times from the database clock, `source` is the client
 * address (audit trail, per-source failure counts) or NULL.
 */
#ifndef CSAM_COMMON_LOGIN_H
#define CSAM_COMMON_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "engine.h"
#include "keytype.h"
#include "result.h"
#include "validate.h"

/* ---- login: password, then a code from one active key ----------------- */

/* Check username and password.  An unknown username and a wrong password
 * get the same answer, CSAM_ERR_BAD_CREDENTIALS, after the same Argon2id
 * work (csam_password_burn), so neither answer nor timing tells them apart.
 * Wrong passwords count per account and per source address with growing
 * delays (att->retry_after when the next try must wait) and then a
 * temporary lock; a right password alone never resets the code-failure
 * count.  A locked account answers CSAM_ERR_LOCKED (with att->retry_after)
 * only after a right password; before, it is CSAM_ERR_BAD_CREDENTIALS like
 * any other failure.  On success a login handle (a token: only its keyed
 * hash is stored, it lives flow_ttl) is written to handle and *key_types is
 * the mask of the account's active key types.
 * Errors: CSAM_ERR_BAD_CREDENTIALS, CSAM_ERR_LOCKED, CSAM_ERR_INVALID
 * (NULL or over-long input), CSAM_ERR_DB. */
csam_result csam_engine_login_password(csam_engine *engine,
                                       const char *source,
                                       const char *username,
                                       const char *password,
                                       char handle[CSAM_TOKEN_SIZE],
                                       unsigned *key_types,
                                       struct csam_attempts *att);

/* Choose the key a login handle's code comes from.  For the e-mail (and
 * later SMS) key a code with purpose "web login" is sent in the account's
 * language, superseding the pending one, no sooner than resend_cooldown
 * after the last (CSAM_ERR_LOCKED with att->retry_after otherwise); for
 * TOTP nothing is sent.  Choosing again (another key, or a resend) is
 * allowed while the handle lives.
 * Errors: CSAM_ERR_EXPIRED (handle unknown, expired or used),
 * CSAM_ERR_INVALID (key type not active on the account), CSAM_ERR_LOCKED,
 * CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_login_challenge(csam_engine *engine,
                                        const char *source,
                                        const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_attempts *att);

/* What a live session says about its holder. */
struct csam_session_info {
    char username[CSAM_USERNAME_BUFSIZE];
    enum csam_key_type key_type;    /* the key the login was made with */
    int64_t auth_time;              /* login time, Unix seconds */
    int64_t expires_at;             /* absolute expiry, Unix seconds */
    int64_t idle_expires_at;        /* when idleness ends it, Unix seconds */
};

/* A new session: the cookie value goes to the browser once; the database
 * keeps only its keyed hash. */
struct csam_session_ticket {
    char cookie[CSAM_TOKEN_SIZE];   /* 256-bit token, base64url */
    struct csam_session_info info;
};

/* Verify the code typed for the handle's chosen key.  On success the
 * handle is used up, the account's code-failure count is reset and a new
 * session is created with a fresh random id (never one the browser
 * offered: no session fixation), idle timeout session_idle and absolute
 * lifetime session_absolute; the caller wipes out->cookie when done.
 * Errors: CSAM_ERR_BAD_CODE / CSAM_ERR_LOCKED (with *att), CSAM_ERR_STATE
 * (no key chosen yet), CSAM_ERR_EXPIRED, CSAM_ERR_DB. */
csam_result csam_engine_login_verify(csam_engine *engine, const char *source,
                                     const char *handle, const char *code,
                                     struct csam_session_ticket *out,
                                     struct csam_attempts *att);

/* ---- sessions --------------------------------------------------------- */

/* The session named by a cookie value, while it lives: not revoked, idle
 * timeout and absolute lifetime not passed (database clock), account still
 * active.  With touch, its last use moves to now in the same statement.
 * Errors: CSAM_ERR_EXPIRED (malformed, unknown, revoked, idle, too old),
 * CSAM_ERR_DB. */
csam_result csam_engine_session_check(csam_engine *engine, const char *cookie,
                                      int touch,
                                      struct csam_session_info *out);

/* End the session named by cookie (logout), for every node at once.
 * Ending an unknown or already dead session is CSAM_OK.
 * Errors: CSAM_ERR_DB. */
csam_result csam_engine_session_end(csam_engine *engine, const char *source,
                                    const char *cookie);

/* ---- self-management: the account of a live session ------------------- */

#define CSAM_KEYS_MAX 8

struct csam_key_info {
    enum csam_key_type type;
    char status[16];                /* "active", "pending" or "inactive" */
    char activated_at[32];          /* RFC 3339 UTC, "" when never */
};

/* The account's keys, at most max (CSAM_KEYS_MAX is always enough), the
 * newest of each type.  Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_DB. */
csam_result csam_engine_keys_list(csam_engine *engine, const char *username,
                                  struct csam_key_info *keys, size_t max,
                                  size_t *n);

/* Start activating another key type for the account (terms accepted;
 * phone for SMS): a key-confirmation code is sent to the new key (e-mail,
 * SMS), or for TOTP the provisioning URI and secret are returned in out as
 * in csam_engine_activation_credentials.  A type that is already active is
 * CSAM_ERR_STATE.  Errors: CSAM_ERR_TERMS, CSAM_ERR_PHONE,
 * CSAM_ERR_INVALID (type not offered), CSAM_ERR_STATE, CSAM_ERR_NOT_FOUND,
 * CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_key_add(csam_engine *engine, const char *source,
                                const char *username,
                                enum csam_key_type key_type, int accept_terms,
                                const char *phone, const char *terms_version,
                                struct csam_credentials_outcome *out);

/* Confirm a key started with csam_engine_key_add with the code it
 * received: it becomes active and the citizen gets a notice.
 * Errors: CSAM_ERR_BAD_CODE / CSAM_ERR_LOCKED (with *att),
 * CSAM_ERR_EXPIRED, CSAM_ERR_STATE (nothing pending), CSAM_ERR_DB. */
csam_result csam_engine_key_confirm(csam_engine *engine, const char *source,
                                    const char *username,
                                    enum csam_key_type key_type,
                                    const char *code,
                                    struct csam_attempts *att);

/* Deactivate the account's active key of key_type, never the last active
 * one (CSAM_ERR_STATE); the citizen gets a notice.
 * Errors: CSAM_ERR_STATE, CSAM_ERR_NOT_FOUND, CSAM_ERR_DB. */
csam_result csam_engine_key_deactivate(csam_engine *engine,
                                       const char *source,
                                       const char *username,
                                       enum csam_key_type key_type);

/* Change the password: the current one is required (a wrong one counts as
 * a password failure: CSAM_ERR_BAD_CREDENTIALS), the new one meets the
 * policy and is typed twice.  Every other session of the account ends;
 * keep_cookie (the caller's own session, or NULL) stays.  The citizen
 * gets a notice.  Errors: CSAM_ERR_BAD_CREDENTIALS, CSAM_ERR_LOCKED,
 * CSAM_ERR_PASSWORD_MISMATCH, CSAM_ERR_WEAK_PASSWORD, CSAM_ERR_DB. */
csam_result csam_engine_password_change(csam_engine *engine,
                                        const char *source,
                                        const char *username,
                                        const char *current,
                                        const char *password,
                                        const char *password_repeat,
                                        const char *keep_cookie);

#endif
