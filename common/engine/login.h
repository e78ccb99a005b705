/*
 * Web login, sessions and self-management (DESIGN 2.3, 2.4, 4): the
 * engine's side of mod_csam's AuthType CSAM, /csam/login, /csam/keys and
 * the matching JSON API.  Same rules as engine.h: one engine per request,
 * not thread-safe, times from the database clock, `source` is the client
 * address (audit trail, per-source failure counts) or NULL.
 *
 * Database statements per call, once prepared on the connection (the
 * first use of each also prepares it: one more round trip):
 *   login_password   2, around one Argon2id run (1 when refused unchecked)
 *   login_challenge  BEGIN, 2..6, COMMIT (lock, pending code, code or
 *                    takeover, audit, step)
 *   login_verify     1: code, handle, session and audit in one statement
 *   session_check    1: lookup, expiry, account and touch in one statement
 *   session_end      1
 *   keys_list        1
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
 * Wrong passwords count per login name (known or not, so delays and locks
 * say nothing about which names exist) and per source address with
 * growing delays (att->retry_after when the next try must wait; a try
 * inside the delay is refused unchecked, also with the right password)
 * and then a temporary lock; a right password alone never resets the
 * code-failure count.  A locked account (too many wrong passwords, or too
 * many wrong codes on the web or PAM) answers CSAM_ERR_LOCKED (with
 * att->retry_after) only after a right password; before, it is
 * CSAM_ERR_BAD_CREDENTIALS like any other failure, also for a locked
 * source address (then with att->retry_after).  On success a login handle (a token: only its keyed
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

/* csam_engine_login_password from a browser that presented a device token
 * (DESIGN 4, OWASP device cookies; NULL: none).  When the token is a live
 * known device of the account named username, the try counts on that
 * device alone, with its own lock and no growing delay, and neither the
 * name's lock, the account's lock from wrong codes nor the source's lock
 * holds it back; the login's wrong codes then count on the device too.
 * Any other token is as none. */
csam_result csam_engine_login_password_device(
    csam_engine *engine, const char *source, const char *device,
    const char *username, const char *password, char handle[CSAM_TOKEN_SIZE],
    unsigned *key_types, struct csam_attempts *att);

/* Choose the key a login handle's code comes from.  For the e-mail and
 * SMS keys a code with purpose "web login" is sent in the account's
 * language, superseding the pending one, no sooner than resend_cooldown
 * after the last one of the account, whichever login asked for it, unless
 * that one was used.  Inside the cooldown, a pending code of the same key
 * is taken over by this login (csam_engine_login_code); one of another
 * key, or one whose attempts are spent, refuses the choice
 * (CSAM_ERR_LOCKED with att->retry_after: nothing changes, the key chosen
 * before stays chosen and a code already sent for this handle stays
 * good); for TOTP nothing is sent (a challenge row still bounds the
 * attempts).  The SMS key is offered only when
 * deps.sms is configured.  The code is bound to this handle: it is worth nothing in another
 * login.  Choosing again (another key, or a resend) is allowed while the
 * handle lives.  CSAM_ERR_LOCKED also when the account is locked by wrong
 * codes meanwhile.
 * Errors: CSAM_ERR_EXPIRED (handle unknown, expired or used),
 * CSAM_ERR_INVALID (key type not active on the account), CSAM_ERR_LOCKED,
 * CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_login_challenge(csam_engine *engine,
                                        const char *source,
                                        const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_attempts *att);

/* What csam_engine_login_code did about the code. */
struct csam_login_code {
    int reused;             /* 1: a code sent moments ago (for this login or
                               an abandoned one) stands, nothing was sent */
    int64_t sent_at;        /* when the code in force was sent, Unix
                               seconds; 0 for the app's key */
    long resend_after;      /* seconds before a new code may be sent */
};

/* csam_engine_login_challenge, saying what happened to the code.  A
 * login for an account whose web code of the same key is pending,
 * unused and younger than resend_cooldown takes that code over (DESIGN
 * 4): nothing is sent, the code mailed earlier logs this login in, and
 * the login it was sent for is superseded; out->reused says so. */
csam_result csam_engine_login_code(csam_engine *engine, const char *source,
                                   const char *handle,
                                   enum csam_key_type key_type,
                                   struct csam_login_code *out,
                                   struct csam_attempts *att);

/* How long a known device lives (seconds): 180 days from the login that
 * made it.  A login from it in its last sixth makes a new one. */
#define CSAM_LOGIN_DEVICE_TTL (180L * 86400L)

/* What a live session says about its holder. */
struct csam_session_info {
    char username[CSAM_USERNAME_BUFSIZE];
    enum csam_key_type key_type;    /* the key the login was made with */
    int64_t auth_time;              /* login time, Unix seconds */
    int64_t expires_at;             /* absolute expiry, Unix seconds */
    int64_t idle_expires_at;        /* when idleness ends it (at most
                                       expires_at), Unix seconds */
};

/* A new session: the cookie value goes to the browser once; the database
 * keeps only its keyed hash. */
struct csam_session_ticket {
    char cookie[CSAM_TOKEN_SIZE];   /* 256-bit token, base64url */
    struct csam_session_info info;
    /* A new known device's token (256 bits, base64url) for the browser's
     * csam_device cookie, "" when the login came from a known device that
     * lives on; the caller wipes it. */
    char device[CSAM_TOKEN_SIZE];
};

/* Verify the code typed for the handle's chosen key (a TOTP code against
 * the key's secret with the database clock, one step either side, never a
 * step already used: that costs a second round trip).  On success the
 * handle is used up, the account's code-failure count is reset and a new
 * session is created with a fresh random id (never one the browser
 * offered: no session fixation), idle timeout session_idle and absolute
 * lifetime session_absolute; the caller wipes out->cookie when done.
 * The browser becomes a known device of the account (out->device, for
 * CSAMs csam_device cookie).
 * Wrong codes count on the code, the account (with PAM's) and the source.
 * One statement: two submissions of one code at once give one session.
 * Errors: CSAM_ERR_BAD_CODE / CSAM_ERR_LOCKED (with *att), CSAM_ERR_STATE
 * (no key chosen yet),
 * CSAM_ERR_EXPIRED (handle unknown, expired or used; the key or the
 * account no longer active), CSAM_ERR_DB. */
csam_result csam_engine_login_verify(csam_engine *engine, const char *source,
                                     const char *handle, const char *code,
                                     struct csam_session_ticket *out,
                                     struct csam_attempts *att);

/* ---- sessions --------------------------------------------------------- */

/* The session named by a cookie value, while it lives: not revoked, idle
 * timeout and absolute lifetime not passed (database clock), account still
 * active.  With touch, its last use moves to now in the same statement,
 * unless the last one is younger than a sixtieth of the idle timeout (at
 * most 30 s): a burst of requests costs one write, and idleness ends a
 * session at most that much early.  One statement, read afresh every
 * time: a logout or a password change is seen by the next check on every
 * node.  Errors: CSAM_ERR_EXPIRED (malformed, unknown, revoked, idle, too
 * old, account no longer active), CSAM_ERR_INVALID (NULL engine or out),
 * CSAM_ERR_DB. */
csam_result csam_engine_session_check(csam_engine *engine, const char *cookie,
                                      int touch,
                                      struct csam_session_info *out);

/* Changes that add a way into the account (a key) ask for the password
 * again when the session was opened more than reauth_after seconds ago
 * (0: always), so that a browser left open, or a stolen session cookie,
 * cannot add the attacker's key.  CSAM_OK when session is young enough,
 * or when password is the account's (checked and counted as a login's
 * password: a wrong one is CSAM_ERR_BAD_CREDENTIALS, with *att);
 * CSAM_ERR_REAUTH when it is needed and password is NULL or "".
 * Errors: also CSAM_ERR_LOCKED (with *att), CSAM_ERR_INVALID,
 * CSAM_ERR_CRYPTO, CSAM_ERR_NOMEM, CSAM_ERR_DB. */
csam_result csam_engine_session_reauth(csam_engine *engine,
                                       const char *source,
                                       const struct csam_session_info *session,
                                       const char *password,
                                       struct csam_attempts *att);

/* Whether csam_engine_session_reauth would need the password for session
 * (1) or not (0): a page shows the password field only then. */
int csam_engine_session_reauth_needed(const csam_engine *engine,
                                      const struct csam_session_info *session);

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
 * in csam_engine_activation_credentials.  Asking again restarts it with a
 * new code, but no sooner than resend_cooldown after the account's last
 * key-confirmation message: CSAM_ERR_TOO_SOON with
 * out->attempts.retry_after.  A type that is already active is
 * CSAM_ERR_STATE.  The host asks csam_engine_session_reauth first.
 * Errors: CSAM_ERR_TERMS, CSAM_ERR_PHONE, CSAM_ERR_TOO_SOON,
 * CSAM_ERR_INVALID (type not offered),
 * CSAM_ERR_STATE, CSAM_ERR_NOT_FOUND, CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_key_add(csam_engine *engine, const char *source,
                                const char *username,
                                enum csam_key_type key_type, int accept_terms,
                                const char *phone, const char *terms_version,
                                struct csam_credentials_outcome *out);

/* Confirm a key started with csam_engine_key_add with the code it
 * received: it becomes active and the citizen gets a notice (a relay
 * that refuses it leaves the key pending: CSAM_ERR_MAIL).  The code is
 * bound to the account and the key type.
 * Errors: CSAM_ERR_BAD_CODE / CSAM_ERR_LOCKED (with *att),
 * CSAM_ERR_EXPIRED, CSAM_ERR_STATE (nothing pending, or already active),
 * CSAM_ERR_NOT_FOUND, CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_key_confirm(csam_engine *engine, const char *source,
                                    const char *username,
                                    enum csam_key_type key_type,
                                    const char *code,
                                    struct csam_attempts *att);

/* Deactivate the account's active key of key_type, never the last active
 * one (CSAM_ERR_STATE), also when two deactivations race: the account's
 * row is locked first, and the UPDATE itself keeps another active key.
 * Every session that key opened ends with it (the caller's own too, when
 * it was opened with that key; hosts flush what they cache).
 * (An administrator may still strip an account's keys by hand; PAM and
 * the web then refuse it.)  The citizen gets a
 * notice (a relay that refuses it undoes the change: CSAM_ERR_MAIL).
 * Errors: CSAM_ERR_STATE, CSAM_ERR_NOT_FOUND (no such account, or no
 * active key of that type), CSAM_ERR_INVALID, CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_key_deactivate(csam_engine *engine,
                                       const char *source,
                                       const char *username,
                                       enum csam_key_type key_type);

/* Change the password: the current one is required (a wrong one counts as
 * a password failure: CSAM_ERR_BAD_CREDENTIALS), the new one meets the
 * policy and is typed twice.  Every other session of the account ends,
 * and so does every login still half-way; keep_cookie (the caller's own
 * session, or NULL) stays.  The citizen gets a notice (a relay that
 * refuses it undoes the change: CSAM_ERR_MAIL).  Mismatch and policy are checked before the current
 * password, so a refused new password costs no Argon2id run and counts no
 * failure.  Errors: CSAM_ERR_BAD_CREDENTIALS, CSAM_ERR_LOCKED,
 * CSAM_ERR_PASSWORD_MISMATCH, CSAM_ERR_WEAK_PASSWORD, CSAM_ERR_INVALID
 * (NULL input, bad UTF-8), CSAM_ERR_NOT_FOUND, CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_password_change(csam_engine *engine,
                                        const char *source,
                                        const char *username,
                                        const char *current,
                                        const char *password,
                                        const char *password_repeat,
                                        const char *keep_cookie);

#endif
