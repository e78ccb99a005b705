/*
 * The enrolment engine: every rule of the citizen's journey (DESIGN 2, 4),
 * over a store, a secret, a sender and a logger that the host provides.
 *
 * An engine is cheap: hosts make one per request (mod_csam, around the
 * pooled store of that request) or per PAM call.  It is not thread-safe;
 * the objects it points to must outlive it.
 *
 * Every function that takes `source` records it in the audit trail and
 * counts failures against it; it is the client address, or NULL (PAM
 * passes PAM_RHOST when set).  Times are the database clock's.
 */
#ifndef CSAM_COMMON_ENGINE_H
#define CSAM_COMMON_ENGINE_H

#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "keytype.h"
#include "log.h"
#include "mail.h"
#include "password.h"
#include "result.h"
#include "store.h"
#include "validate.h"

typedef struct csam_engine csam_engine;

/* A host's bound on concurrent work: enter returns 0 once the caller may
 * go on (then leave is called exactly once), anything else when it may
 * not (the engine answers CSAM_ERR_BUSY).  Both NULL: no bound. */
struct csam_gate {
    int (*enter)(void *ctx);
    void (*leave)(void *ctx);
    void *ctx;
};

struct csam_engine_deps {
    const struct csam_config *config;
    const csam_secret *secret;
    csam_store *store;                  /* one connection, not shared */
    const csam_wordlist *common_passwords; /* may be NULL */
    /* Names no citizen may take (csam_username_reserved); NULL: root only */
    const csam_wordlist *reserved_usernames;
    struct csam_sender sender;          /* e-mail */
    /* SMS: {csam_sms_sender, const struct csam_sms *}; fn NULL when SMS is
     * not configured (sms_transport none): the SMS key is then not offered. */
    struct csam_sender sms;
    struct csam_logger logger;
    /* Around each Argon2id run of a login (mod_csam: a per-child
     * semaphore, so argon2_m_cost times the workers cannot exhaust
     * memory); zeroed: none. */
    struct csam_gate hash_gate;
};

/* Errors: CSAM_ERR_NOMEM, CSAM_ERR_INVALID (missing dependency). */
csam_result csam_engine_new(const struct csam_engine_deps *deps,
                            csam_engine **out);
void csam_engine_free(csam_engine *engine);

/* Filled when a code is refused (CSAM_ERR_BAD_CODE, CSAM_ERR_LOCKED,
 * CSAM_ERR_BAD_CREDENTIALS). */
struct csam_attempts {
    int attempts_left;      /* -1 when not applicable */
    long retry_after;       /* seconds; 0 when the lock is not temporary */
};

/* ---- registration desk ------------------------------------------------ */

struct csam_registration {
    const char *national_number;
    const char *first_name;
    const char *last_name;
    const char *birth_date;         /* YYYY-MM-DD */
    const char *document_type;      /* eid|passport|residence_card|foreign_id */
    const char *document_number;
    const char *email;
    const char *language;           /* NULL: "fr" */
};

struct csam_registration_receipt {
    int64_t registration_id;
    char activation_code[CSAM_ACTIVATION_CODE_SIZE];
    char expires_at[32];            /* RFC 3339 UTC */
};

/* Validate, record and e-mail the activation link; supersede the citizen's
 * earlier unused code and link.  The row is committed only once the relay
 * accepted the mail: CSAM_ERR_MAIL leaves nothing behind.
 * Errors: validation results (CSAM_ERR_NATIONAL_NUMBER, CSAM_ERR_EMAIL,
 * CSAM_ERR_INVALID, also for a NULL or over-long officer), CSAM_ERR_MAIL,
 * CSAM_ERR_CONFIG (no public_url to build the link from), CSAM_ERR_DB. */
csam_result csam_engine_register(csam_engine *engine, const char *officer,
                                 const char *source,
                                 const struct csam_registration *reg,
                                 struct csam_registration_receipt *out);

/* The desk's printable letter of registration_id may show its paper code:
 * CSAM_OK exactly once, for the officer who made the registration, while
 * it is live (not used, superseded or expired); every later call, on any
 * node, is CSAM_ERR_EXPIRED.  Audited.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_EXPIRED, CSAM_ERR_DB. */
csam_result csam_engine_letter_claim(csam_engine *engine, const char *officer,
                                     const char *source,
                                     int64_t registration_id);

/* ---- activation ------------------------------------------------------- */

enum csam_step {
    CSAM_STEP_KEY = 0,          /* choose a key and accept the terms */
    CSAM_STEP_CREDENTIALS,      /* username and password */
    CSAM_STEP_CONFIRM,          /* type the code the key received */
    CSAM_STEP_DONE
};

/* "key", "credentials", "confirm", "done". */
const char *csam_step_name(enum csam_step step);

/* What a page needs to know about a link before the code is typed.
 * Errors: CSAM_ERR_EXPIRED, CSAM_ERR_LOCKED, CSAM_ERR_DB. */
csam_result csam_engine_link_language(csam_engine *engine, const char *token,
                                      char language[3]);

/* Check the paper code for the link's registration.  On success a new
 * activation handle is written to handle (a token; only its keyed hash is
 * stored) and *key_types has the key types that can be chosen.
 * Errors: CSAM_ERR_EXPIRED (link unknown/expired/used/superseded),
 * CSAM_ERR_BAD_CODE and CSAM_ERR_LOCKED (with *att), CSAM_ERR_DB. */
csam_result csam_engine_activation_open(csam_engine *engine,
                                        const char *source, const char *token,
                                        const char *activation_code,
                                        char handle[CSAM_TOKEN_SIZE],
                                        unsigned *key_types,
                                        struct csam_attempts *att);

struct csam_activation_state {
    enum csam_step step;
    enum csam_key_type key_type;    /* CSAM_KEY_NONE before the choice */
    char language[3];
    char username[CSAM_USERNAME_BUFSIZE]; /* "" before credentials */
};

/* Where an activation handle stands.  A finished activation still answers
 * CSAM_STEP_DONE until its handle expires (flow_ttl), so the page shown
 * after the last step can say so; every step refuses such a handle with
 * CSAM_ERR_EXPIRED.  Errors: CSAM_ERR_EXPIRED, CSAM_ERR_DB. */
csam_result csam_engine_activation_state(csam_engine *engine,
                                         const char *handle,
                                         struct csam_activation_state *out);

/* Record the chosen key and the accepted terms version.  phone is needed
 * for CSAM_KEY_SMS only.  Errors: CSAM_ERR_TERMS, CSAM_ERR_PHONE,
 * CSAM_ERR_INVALID (key type not offered), CSAM_ERR_STATE, CSAM_ERR_EXPIRED,
 * CSAM_ERR_DB. */
csam_result csam_engine_activation_key(csam_engine *engine,
                                       const char *source, const char *handle,
                                       enum csam_key_type key_type,
                                       int accept_terms, const char *phone,
                                       const char *terms_version);

struct csam_credentials_outcome {
    enum csam_step next;            /* CSAM_STEP_CONFIRM */
    /* On a refusal: attempts_left with CSAM_ERR_USERNAME_TAKEN and
     * CSAM_ERR_LOCKED, retry_after with CSAM_ERR_TOO_SOON. */
    struct csam_attempts attempts;
    char *otpauth_uri;              /* totp only; malloc'd, caller frees */
    char *totp_secret;              /* totp only, base32; caller wipes+frees */
};

/* Create the account (pending) with username and password, then send the
 * key's confirmation code (e-mail, SMS) or return the TOTP provisioning
 * URI.  A username taken or reserved (csam_username_reserved, any case)
 * is CSAM_ERR_USERNAME_TAKEN and costs one of the registration's
 * attempts, as a wrong paper code does; the last one makes it
 * CSAM_ERR_LOCKED, for this and every later step (out->attempts).  A code
 * sent for this registration less than resend_cooldown ago makes it
 * CSAM_ERR_TOO_SOON (out->attempts.retry_after).
 * Errors: also CSAM_ERR_USERNAME, CSAM_ERR_PASSWORD_MISMATCH,
 * CSAM_ERR_WEAK_PASSWORD, CSAM_ERR_STATE, CSAM_ERR_EXPIRED, CSAM_ERR_MAIL,
 * CSAM_ERR_DB. */
csam_result csam_engine_activation_credentials(
    csam_engine *engine, const char *source, const char *handle,
    const char *username, const char *password, const char *password_repeat,
    struct csam_credentials_outcome *out);

/* Release what csam_engine_activation_credentials() allocated. */
void csam_credentials_outcome_free(struct csam_credentials_outcome *out);

struct csam_activated {
    char username[CSAM_USERNAME_BUFSIZE];
    enum csam_key_type key_type;
};

/* Confirm the key with the code it received: the key and the account
 * become active, the registration is used up, and the citizen gets a
 * notice.  Writes the username and key type to out.
 * Errors: CSAM_ERR_BAD_CODE / CSAM_ERR_LOCKED (with *att),
 * CSAM_ERR_EXPIRED, CSAM_ERR_STATE, CSAM_ERR_DB. */
csam_result csam_engine_activation_confirm(csam_engine *engine,
                                           const char *source,
                                           const char *handle,
                                           const char *code,
                                           struct csam_activated *out,
                                           struct csam_attempts *att);

/* Send a fresh confirmation code (the previous one is superseded), no
 * sooner than resend_cooldown after the last one: CSAM_ERR_TOO_SOON with
 * att->retry_after otherwise.  Errors: also CSAM_ERR_STATE,
 * CSAM_ERR_EXPIRED, CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_activation_resend(csam_engine *engine,
                                          const char *source,
                                          const char *handle,
                                          struct csam_attempts *att);

/* ---- second factor for PAM (DESIGN 3.4) ------------------------------ */

struct csam_pam_challenge {
    enum csam_key_type key_type;    /* the key the code must come from */
    char language[3];               /* the account's language */
    int reused;                     /* 1: a pending code was reused, no mail */
};

/* Prepare a PAM second factor for `username`, using one of its active keys
 * among `allowed` (a CSAM_KEY_* mask; e-mail preferred, then TOTP, then SMS;
 * SMS only when deps.sms is configured).
 * For e-mail/SMS, a code with purpose PAM login is sent unless one is still
 * pending and younger than resend_cooldown, which is then reused.  For
 * TOTP nothing is sent (the attempts are still bounded per challenge).
 * Errors: CSAM_ERR_NOT_FOUND (no such active account), CSAM_ERR_STATE (the
 * account exists but has no active key of a type in `allowed` that can be
 * used here: it has a second factor, so this is never "not found"),
 * CSAM_ERR_LOCKED (with *att; a disabled account is CSAM_ERR_LOCKED with
 * retry_after 0, never "not found", so that nullok cannot let it in on the
 * first factor), CSAM_ERR_MAIL (mail or SMS not delivered), CSAM_ERR_DB. */
csam_result csam_engine_pam_begin(csam_engine *engine, const char *username,
                                  unsigned allowed, const char *source,
                                  struct csam_pam_challenge *out,
                                  struct csam_attempts *att);

/* Verify the code typed for the pending PAM challenge (or the TOTP code
 * of the key chosen by csam_engine_pam_begin).  Failures count against the
 * account together with web failures.
 * Errors: CSAM_ERR_BAD_CODE (with att->attempts_left, and
 * att->retry_after when the next try must wait), CSAM_ERR_LOCKED (the
 * code's attempts are exhausted: attempts_left 0, retry_after 0; or the
 * account is locked for att->retry_after seconds), CSAM_ERR_EXPIRED (no
 * pending code, expired, or used), CSAM_ERR_NOT_FOUND, CSAM_ERR_DB. */
csam_result csam_engine_pam_verify(csam_engine *engine, const char *username,
                                   enum csam_key_type key_type,
                                   const char *code, const char *source,
                                   struct csam_attempts *att);

/* Account management for PAM: CSAM_OK when the account is active, not
 * locked and has an active key of a type in `allowed`.
 * Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_STATE (no usable key, as in
 * csam_engine_pam_begin), CSAM_ERR_LOCKED (with *att; retry_after 0
 * for a disabled account), CSAM_ERR_DB. */
csam_result csam_engine_account_check(csam_engine *engine,
                                      const char *username, unsigned allowed,
                                      struct csam_attempts *att);

#endif
