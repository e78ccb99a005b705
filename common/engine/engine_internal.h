/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the engine's files share: the engine itself, keyed hashes bound to
 * an owner, mail sending, security-code challenges and failure counting.
 * Not a public interface: only common/engine*.c include it.
 */
#ifndef CSAM_COMMON_ENGINE_INTERNAL_H
#define CSAM_COMMON_ENGINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "challenge.h"
#include "flow.h"
#include "store.h"

struct csam_engine {
    struct csam_engine_deps deps;
};

#define CSAM_ENGINE_CODE_DIGITS 6
#define CSAM_ENGINE_CODE_SIZE (CSAM_SECURITY_CODE_MAX + 1)
#define CSAM_ENGINE_SOURCE_MAX 255
#define CSAM_ENGINE_TIME_SIZE 32

/* Keyed hash of value bound to a purpose, a label and an owner:
 * HMAC(key(purpose), label || 0 || owner || 0 || value), so a code issued
 * for one registration, account or purpose never matches another.  The
 * owner is an id in decimal (0: none, for lookups by token) or, with
 * csam_engine_hash_named, a name.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_CRYPTO. */
csam_result csam_engine_hash(const csam_engine *engine,
                             enum csam_purpose purpose, const char *label,
                             int64_t owner, const char *value,
                             unsigned char out[CSAM_HASH_LEN]);
csam_result csam_engine_hash_named(const csam_engine *engine,
                                   enum csam_purpose purpose, const char *label,
                                   const char *owner, const char *value,
                                   unsigned char out[CSAM_HASH_LEN]);

/* csam_engine_hash_named with the secret alone (no engine: a session
 * check needs only the services and a store). */
csam_result csam_engine_hash_secret(const csam_secret *secret,
                                    enum csam_purpose purpose,
                                    const char *label, const char *owner,
                                    const char *value,
                                    unsigned char out[CSAM_HASH_LEN]);

/* csam_engine_hash under a given secret: the engine's current one or the
 * previous one attached to it. */
csam_result csam_engine_hash_under(const csam_secret *secret,
                                   enum csam_purpose purpose, const char *label,
                                   int64_t owner, const char *value,
                                   unsigned char out[CSAM_HASH_LEN]);

/* The secrets a lookup by keyed hash tries, current first:
 *     for (s = current; s != NULL; s = csam_engine_secret_next(current, s))
 * While the secret is replaced (crypto.h, "rollover"), what was stored or
 * handed out under the previous secret is still found that way; without
 * a previous secret the loop runs once.  What is made (rows, hashes to
 * store) is always made under current. */
const csam_secret *csam_engine_secret_next(const csam_secret *current,
                                           const csam_secret *s);

/* A value's keyed hashes (a national number's, a login name's, a typed
 * code's): under the current secret (what new rows store) and, while the
 * secret is replaced, under the previous one (has_previous), which rows
 * not yet re-keyed or made before the switch still hold. */
struct csam_engine_hashes {
    unsigned char current[CSAM_HASH_LEN];
    unsigned char previous[CSAM_HASH_LEN];
    int has_previous;
};

/* Errors: CSAM_ERR_INVALID, CSAM_ERR_CRYPTO (engine_registration.c). */
csam_result csam_engine_nrn_hashes(csam_engine *engine, const char *nrn,
                                   struct csam_engine_hashes *out);

/* The login name's, as the password tries count on it (engine_login.c).
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_CRYPTO. */
csam_result csam_engine_name_hashes(const csam_engine *engine,
                                    const char *username,
                                    struct csam_engine_hashes *out);

/* Inside the caller's transaction, before a new registration of a
 * person: the person locked, the active account they hold found
 * (account->id 0: none) and their live registration superseded
 * (*superseded its id, 0: none), under either of the hashes.
 * Errors: CSAM_ERR_DB. */
struct csam_store_person_account;
csam_result csam_engine_person_take(csam_engine *engine,
                                    const struct csam_engine_hashes *h,
                                    struct csam_store_person_account *account,
                                    int64_t *superseded);

/* The client address if it is printable text of at most 255 bytes, else
 * NULL: it goes into the audit trail and the per-source counters. */
const char *csam_engine_source(const char *source);

/* Compose the mail `kind` in `lang` and hand it to the sender.  secret is
 * what the mail carries (code or link), or NULL.  Errors: CSAM_ERR_MAIL
 * (composition or delivery failed; logged without the secret). */
csam_result csam_engine_mail(csam_engine *engine, const char *to,
                             const char *lang, const char *kind,
                             const struct csam_tvar *vars, size_t nvars,
                             const char *secret);

/* The activation mail of a desk registration: the link made of
 * public_url, the handler path and token, the names and the expiry date
 * (expires, YYYY-MM-DD) in lang, to the address `to`
 * (engine_registration.c; the helpdesk's resend sends it too).  Errors:
 * CSAM_ERR_CONFIG (the link does not fit), CSAM_ERR_MAIL. */
csam_result csam_engine_activation_mail(csam_engine *engine, const char *to,
                                        const char *lang,
                                        const char *first_name,
                                        const char *last_name,
                                        const char *token, const char *expires);

/* The SMS of a security code ("code" template of
 * <data_dir>/templates/sms/<lang>/) to the phone `to` through deps.sms.
 * Errors: CSAM_ERR_MAIL (SMS not configured, composition or delivery
 * failed; logged without the code). */
csam_result csam_engine_sms(csam_engine *engine, const char *to,
                            const char *lang, const struct csam_tvar *vars,
                            size_t nvars, const char *secret);

/* The key types a citizen may choose: e-mail, the app, and SMS when a
 * gateway is configured. */
unsigned csam_engine_offered(const csam_engine *engine);

/* How many minutes a security code lives, rounded up, as text for the
 * "code" mail's {{minutes}}. */
#define CSAM_ENGINE_MINUTES_SIZE 24
void csam_engine_code_minutes(const csam_engine *engine,
                              char out[CSAM_ENGINE_MINUTES_SIZE]);

/* Write one audit row (inside the caller's transaction when one is open)
 * through the store's csam_store_audit_write, source as
 * csam_engine_source lets it through (engine/audit.c).  detail is a JSON
 * object text or NULL; it never holds a secret.
 * registration_id / account_id 0 mean none.  Errors: CSAM_ERR_DB. */
csam_result csam_audit_write(csam_store *store, const char *actor,
                             const char *action, int64_t registration_id,
                             int64_t account_id, const char *source,
                             const char *detail);

/* Record the fingerprint of the engine's secret as the installation's
 * (csam_installation) by `by`, unless one is there: once per database,
 * after the first desk registration commits, so that csam-admin secret check
 * can tell a node or a restored backup given another secret.  Best effort:
 * nothing is returned, a failure is only logged by the store
 * (engine_admin_account.c). */
void csam_engine_installation_note(csam_engine *engine, const char *by);

/* ---- challenges (engine_challenge.c) --------------------------------- */

enum csam_challenge_purpose {
    CSAM_CHALLENGE_ACTIVATION_CONFIRM = 0, /* the key of an activation */
    CSAM_CHALLENGE_KEY_CONFIRM,            /* a key added later */
    CSAM_CHALLENGE_WEB_LOGIN,
    CSAM_CHALLENGE_PAM_LOGIN,
    /* the online procedure's new person: the e-mail address, before a key
     * other than e-mail (mailed with the "email_confirm" template) */
    CSAM_CHALLENGE_EMAIL_CONFIRM
};

/* The name stored in csam_challenges.purpose. */
const char *csam_challenge_purpose_name(enum csam_challenge_purpose p);

/* A code's owner.  Codes that confirm a key are bound to the account id
 * (and, for a key added later, to the key type); PAM login codes to the
 * username, so that a PAM login can be verified by name in one statement;
 * web login codes to one live login flow by their row (flow_id, set by
 * csam_store_login_adopt), so that a login is verified by handle in one
 * statement and a code mailed for one login is worth nothing in another,
 * unless a new login took it over (the old one is then superseded).
 * username is needed for CSAM_CHALLENGE_PAM_LOGIN; account_id may be 0
 * when verifying by name; handle is not used any more. */
struct csam_challenge_owner {
    int64_t account_id;
    const char *username;
    const char *handle;
};

/* Issue a fresh code for (account, purpose): the pending one is
 * superseded, the new one lives code_ttl seconds from the database clock
 * and allows code_attempts tries.  Run inside the caller's transaction, so
 * that a mail that cannot be sent takes the code back with it.  The code
 * is written to code (CSAM_ENGINE_CODE_SIZE bytes); the caller wipes it.
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_CRYPTO, CSAM_ERR_DB. */
csam_result csam_challenge_issue(csam_engine *engine,
                                 const struct csam_challenge_owner *owner,
                                 int64_t key_id,
                                 enum csam_challenge_purpose purpose,
                                 enum csam_key_type key_type,
                                 const char *source,
                                 char code[CSAM_ENGINE_CODE_SIZE]);

/* The counting numbers of the configuration, bounded: lockout threshold
 * and duration, the source's threshold, the growing delay's start and
 * its cap (delay_max). */
void csam_challenge_limits(const csam_engine *engine,
                           struct csam_store_limits *out);

/* Who a sent code goes to, and the audit row of its sending. */
struct csam_challenge_recipient {
    const char *username;    /* the audit row's actor */
    int64_t registration_id; /* the audit row's, 0: none */
    const char *first_name;
    const char *language;
    const char *email;  /* the e-mail key's address */
    const char *phone;  /* the SMS key's number */
    const char *detail; /* the audit detail, NULL: purpose and type */
};

/* Send a code to a key, inside the caller's transaction: issue it
 * (csam_challenge_issue), audit "challenge.issued", and mail it or send it
 * by SMS; for the app's key only the challenge row, nothing sent.  The
 * code is wiped before returning.  Errors: those of csam_challenge_issue,
 * CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_challenge_send(csam_engine *engine,
                                const struct csam_challenge_owner *owner,
                                int64_t key_id,
                                enum csam_challenge_purpose purpose,
                                enum csam_key_type type,
                                const struct csam_challenge_recipient *to,
                                const char *source);

/* The resend cooldown (DESIGN 4): every message that carries a code waits
 * resend_cooldown seconds after the previous one of the same purpose.
 * The owner is the account (account_id), or for an activation whose
 * pending account is made anew at each attempt, every account of the
 * registration (registration_id; the other is 0).  Codes of the app's key
 * are never sent and do not count.  CSAM_ERR_TOO_SOON with *retry_after
 * (seconds) when one was sent too recently.  Errors: CSAM_ERR_DB. */
csam_result csam_challenge_cooldown(csam_engine *engine, int64_t account_id,
                                    int64_t registration_id,
                                    enum csam_challenge_purpose purpose,
                                    long *retry_after);

/* Seconds since the newest code for (account, purpose) was issued (-1:
 * never), whether that code can still be used (not used, superseded,
 * expired or exhausted) and whether it was used (used may be NULL).
 * Errors: CSAM_ERR_DB. */
csam_result csam_challenge_age(csam_engine *engine, int64_t account_id,
                               enum csam_challenge_purpose purpose, long *age,
                               int *usable, int *used);

/* Verify a typed code against the newest live code for (owner, purpose)
 * in ONE statement: it marks the code used when it matches, or counts the
 * attempt on the code and the failure on the account (and on the source
 * address when web is set) when not, and writes the audit row.  Two
 * concurrent submissions of one code: exactly one CSAM_OK.
 * With owner->account_id 0 the account is found by owner->username in the
 * same statement, and must be active with an active key of key_type.
 * Results: CSAM_OK; CSAM_ERR_BAD_CODE (att->attempts_left, and
 * att->retry_after when the next try must wait); CSAM_ERR_LOCKED (the
 * code's attempts are exhausted: attempts_left 0, retry_after 0; or the
 * account or source is locked for retry_after seconds); CSAM_ERR_EXPIRED
 * (no live code, expired, used meanwhile); CSAM_ERR_NOT_FOUND (by name:
 * no such active account or key); CSAM_ERR_INVALID; CSAM_ERR_DB. */
csam_result csam_challenge_verify(csam_engine *engine,
                                  const struct csam_challenge_owner *owner,
                                  enum csam_challenge_purpose purpose,
                                  enum csam_key_type key_type, const char *code,
                                  const char *source, int web,
                                  struct csam_attempts *att);

/* The keyed hashes of a typed code for its owner and purpose (the
 * previous secret's too, since a code issued before the switch is stored
 * under it); a malformed code hashes to a value no code matches (it still
 * counts as an attempt).  The caller wipes out.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_CRYPTO. */
csam_result csam_challenge_typed_hash(csam_engine *engine,
                                      const struct csam_challenge_owner *owner,
                                      enum csam_challenge_purpose purpose,
                                      enum csam_key_type key_type,
                                      const char *code,
                                      struct csam_engine_hashes *out);

/* Point ck's code hashes at h's (which must outlive ck's use). */
void csam_challenge_check_hashes(struct csam_store_challenge_check *ck,
                                 const struct csam_engine_hashes *h);

/* What every verification of purpose is given: limits filled from the
 * configuration, ck pointing at them, the source counted when web is set
 * (ck->code_hash and ck->totp_step left for the caller). */
void csam_challenge_check_init(csam_engine *engine,
                               enum csam_challenge_purpose purpose,
                               const char *source, int web,
                               struct csam_store_limits *limits,
                               struct csam_store_challenge_check *ck);

/* What a verification's verdict means: CSAM_OK, CSAM_ERR_BAD_CODE,
 * CSAM_ERR_LOCKED, CSAM_ERR_EXPIRED or CSAM_ERR_NOT_FOUND (no owner), as
 * csam_challenge_verify says, with att filled. */
csam_result csam_challenge_outcome(const struct csam_store_verdict *v,
                                   struct csam_attempts *att);

/* A TOTP code by account and key: $step the step the typed code matched
 * (csam_totp_match; -1 for none), stored as the key's last step in the
 * same statement that counts the attempt on the newest challenge of
 * (account, purpose) as csam_challenge_verify does, and only if newer
 * than the stored one.  Results: those of csam_challenge_verify. */
csam_result csam_challenge_verify_totp(csam_engine *engine, int64_t account_id,
                                       int64_t key_id,
                                       enum csam_challenge_purpose purpose,
                                       int64_t step, const char *source,
                                       int web, struct csam_attempts *att);

/* ---- the app's key (engine_totp.c) ------------------------------------ */

/* Check a typed code against the key's sealed secret as the database gave
 * it (encode(totp_secret, 'hex')), its last step (-1: none) and the
 * database clock (now, Unix seconds).  *step is the matched step, or -1
 * for a wrong, replayed or malformed code (not an error: the attempt is
 * counted by the caller).  Errors: CSAM_ERR_CRYPTO (the secret does not
 * open: another secret file, or tampered), CSAM_ERR_INVALID. */
csam_result csam_totp_match(csam_engine *engine, int64_t key_id,
                            const char *sealed_hex, int64_t last_step,
                            int64_t now, const char *code, int64_t *step);

/* Check a typed code for the TOTP key of status `status` ("pending" or
 * "active") of an account, and count it on the newest challenge of
 * (account, purpose): csam_totp_match then csam_challenge_verify_totp
 * (two round trips: the secret opens here, between them).
 * Results: those of csam_challenge_verify; CSAM_ERR_NOT_FOUND when the
 * account has no such key. */
csam_result csam_totp_confirm(csam_engine *engine, int64_t account_id,
                              const char *status,
                              enum csam_challenge_purpose purpose,
                              const char *code, const char *source, int web,
                              struct csam_attempts *att);

/* csam_totp_confirm for the active TOTP key of the active account named
 * username (PAM: the source does not count). */
csam_result csam_totp_confirm_named(csam_engine *engine, const char *username,
                                    enum csam_challenge_purpose purpose,
                                    const char *code, const char *source,
                                    struct csam_attempts *att);

/* Inside the caller's transaction: a new TOTP key row (pending, with
 * terms_version, "" for none) for the account, its secret sealed to its
 * id; out gets the otpauth URI (issuer totp_issuer, account username) and
 * the base32 secret.  *key_id is the new row's id.
 * Errors: CSAM_ERR_CRYPTO, CSAM_ERR_INVALID, CSAM_ERR_NOMEM, CSAM_ERR_DB. */
csam_result csam_totp_create(csam_engine *engine, int64_t account_id,
                             const char *username, const char *terms_version,
                             int64_t *key_id,
                             struct csam_credentials_outcome *out);

/* ---- passwords (engine_login.c) --------------------------------------- */

/* Why a password try was refused before Argon2id ran (CSAM_LOGIN_TRIED:
 * it was not; it ran). */
enum csam_login_refusal {
    CSAM_LOGIN_TRIED = 0,
    CSAM_LOGIN_DELAYED,        /* inside the name's growing delay */
    CSAM_LOGIN_NAME_LOCKED,    /* the login name's lock */
    CSAM_LOGIN_ACCOUNT_LOCKED, /* the account's lock (wrong codes) */
    CSAM_LOGIN_SOURCE_LOCKED,  /* the source address's lock */
    CSAM_LOGIN_DEVICE_LOCKED   /* the known device's own lock */
};

/* What csam_login_check learnt about a name. */
struct csam_login_check {
    enum csam_login_refusal refusal;
    int name_locked_now; /* this (wrong) try locked the login name */
    int64_t account_id;  /* 0: no active account of that name */
    unsigned keys;       /* CSAM_KEY_* of its active keys */
    unsigned char name_hash[CSAM_HASH_LEN];    /* its password-failure row */
    char prev_lock[CSAM_ENGINE_TIME_SIZE + 8]; /* that row's lock before
                                                  this try, "" if none */
    int64_t device_id;     /* the known device it came from, 0 */
    int device_locked_now; /* this try locked that device */
    int source_counted;    /* this try counted on the source */
    int source_locked_now; /* and locked it */
};

/* Check a password for a login name with every rule of DESIGN 4, for a
 * browser that is not a known device of the account: the name's growing
 * delay (a try inside it is refused unchecked), then the locks of the
 * name, of the account (wrong codes) and of the source, each refusing the
 * try before Argon2id with the same answer for a right and a wrong
 * password; otherwise the try is counted on the source and on the name,
 * then one Argon2id run whether or not the name is an account
 * (csam_password_burn for an unknown one), and an audit row for a wrong
 * password.  CSAM_OK: right password; the caller takes the try back with
 * csam_login_settle (or csam_store_login_open, which also opens the flow).
 * Errors: CSAM_ERR_BAD_CREDENTIALS (att->retry_after > 0 when the next
 * try must wait), CSAM_ERR_LOCKED (att->retry_after), CSAM_ERR_BUSY (the
 * host's gate on concurrent Argon2id runs stayed shut: nothing counted),
 * CSAM_ERR_INVALID (NULL or over-long input), CSAM_ERR_CRYPTO,
 * CSAM_ERR_NOMEM, CSAM_ERR_DB. */
csam_result csam_login_check(csam_engine *engine, const char *source,
                             const char *username, const char *password,
                             struct csam_login_check *out,
                             struct csam_attempts *att);

/* csam_login_check for a browser that presented the device token device
 * (NULL: none).  When it is a live known device of the account named
 * username, the try counts on that device only, and only the device's own
 * lock refuses it (CSAM_ERR_LOCKED); out->device_id names it.  Otherwise
 * as csam_login_check. */
csam_result csam_login_check_device(csam_engine *engine, const char *source,
                                    const char *device, const char *username,
                                    const char *password,
                                    struct csam_login_check *out,
                                    struct csam_attempts *att);

/* The NOTICE lines of a refused web login (login_notice.c), one per
 * refusal and one per lock the try made, each with the source address,
 * never the password, the code or a name that is no account's (it may be
 * a password typed in the wrong field).  The host gives each kind of line
 * its own stable tag by its first words (mod_csam/http.c). */
void csam_login_notice_password(csam_engine *engine,
                                const struct csam_login_check *chk,
                                csam_result res, const char *username,
                                const char *source);

/* After a web login code's verification: res is its outcome, username the
 * login's account (from the flow), v what the statement found. */
void csam_login_notice_code(csam_engine *engine,
                            const struct csam_store_verdict *v, csam_result res,
                            const char *username, const char *source);

/* The keyed hash a device token is stored as.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_CRYPTO. */
csam_result csam_login_device_hash(const csam_engine *engine,
                                   const char *device,
                                   unsigned char out[CSAM_HASH_LEN]);

/* Take back the try a right password made: the name's failures and delay
 * cleared, a lock that was there before the try kept; and audit `action`
 * for username.  Errors: CSAM_ERR_DB. */
csam_result csam_login_settle(csam_engine *engine,
                              const struct csam_login_check *chk,
                              const char *action, const char *username,
                              const char *source);

/* The password policy of the configuration. */
void csam_login_policy(const csam_engine *engine,
                       struct csam_password_policy *policy);

/* ---- failures per source address (engine_challenge.c) ---------------- */

/* CSAM_ERR_LOCKED (with att->retry_after) while the web source is locked
 * out; CSAM_OK for a NULL source.  Errors: CSAM_ERR_DB. */
csam_result csam_source_check(csam_engine *engine, const char *source,
                              struct csam_attempts *att);

/* Count one failure against a web source (no-op for NULL).
 * Errors: CSAM_ERR_DB. */
csam_result csam_source_fail(csam_engine *engine, const char *source);

/* A source is locked after this many failures within lockout_duration:
 * several times an account's threshold, because many citizens may share
 * one address (an office, a carrier's NAT). */
#define CSAM_SOURCE_THRESHOLD_FACTOR 5

/* ---- activation flows (activation_flow.c) ---------------------------- */

/* A live flow as the store read it, and its step as the engine names it. */
struct csam_act_flow {
    struct csam_store_flow row;
    enum csam_step step;
};

/* The live flow of a handle, read without a lock.  Errors:
 * CSAM_ERR_EXPIRED (malformed, unknown, expired, superseded),
 * CSAM_ERR_DB. */
csam_result csam_act_flow_get(csam_engine *engine, const char *handle,
                              struct csam_act_flow *out);

/* Begin a transaction and lock the flow of handle; with person, first
 * the flow's person (csam_store_person_lock_flow: a step that makes an
 * account takes turns with a new registration of the person).  A used-up
 * flow is CSAM_ERR_EXPIRED, one whose attempts are spent CSAM_ERR_LOCKED.
 * On error nothing is left open.  Errors: also CSAM_ERR_DB. */
csam_result csam_act_begin(csam_engine *engine, const char *handle, int person,
                           struct csam_act_flow *flow);

/* Commit when res is CSAM_OK, else roll back; returns the outcome. */
csam_result csam_act_finish(csam_engine *engine, csam_result res);

/* {"key_type": ..., "terms_version": ...} (terms may be NULL), malloc'd,
 * for the audit trail; NULL when out of memory. */
char *csam_act_detail(enum csam_key_type type, const char *terms);

/* Who the flow's key code goes to: the registration's person, in its
 * language, at the flow's phone or at its address (an online recovery's:
 * the account's; otherwise the registration's, which a desk recovery may
 * have changed). */
void csam_act_recipient(const struct csam_act_flow *flow, const char *username,
                        const char *detail,
                        struct csam_challenge_recipient *to);

/* ---- recovery (engine_recovery.c) ------------------------------------- */

/* A recovery's credentials step (DESIGN 2.7), for a flow whose
 * registration recovers an account, after the flow was checked to stand
 * at CSAM_STEP_CREDENTIALS: the username kept, the new password (the
 * desk's always) kept in the flow, a pending key on the account and its
 * code sent.  Results: those of csam_engine_activation_set_credentials. */
csam_result csam_recovery_credentials(csam_engine *engine, const char *source,
                                      const char *handle,
                                      const struct csam_act_flow *checked,
                                      const struct csam_credentials *in,
                                      struct csam_credentials_outcome *out);

/* Inside the confirm step's transaction, once the key's code matched:
 * the recovery itself (csam_store_person_recover), audited, with its
 * notices.  Errors: CSAM_ERR_STATE, CSAM_ERR_MAIL, CSAM_ERR_NOMEM,
 * CSAM_ERR_DB. */
csam_result csam_recovery_activate(csam_engine *engine,
                                   const struct csam_act_flow *flow,
                                   const char *source);

#endif
