/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's public header, the one hosts (mod_csam, pam_csam, the
 * tools) include: every rule of the citizen's journey (DESIGN 2, 4), over
 * the services a host loads once (secret, mail relay, SMS gateway, word
 * lists) and a store connection.
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

/* ---- services: what engines work with, loaded once ------------------- */

typedef struct csam_services csam_services;

/* Process-wide initialisation of the delivery libraries (libcurl), once,
 * before threads exist (mod_csam: post_config; pam_csam: each call, where
 * it only counts a reference).  Errors: CSAM_ERR_MAIL. */
csam_result csam_services_init(void);

/* The versions of the libraries libcsam uses, as loaded at run time, for
 * a host's startup line: "OpenSSL 3.0.x ..., libpq 15.8, libcurl 7.88.1,
 * libunistring 1.0" (libargon2 has no version to ask).  Written to buf
 * (len bytes), cut if longer; returns buf. */
const char *csam_services_versions(char *buf, size_t len);

/* csam_services_open flags: also load the common-password list and the
 * reserved usernames (a host that lets citizens choose them: the web). */
#define CSAM_SERVICES_LISTS 1u

/* The part csam_services_open could not load, for a message that names
 * the setting behind it. */
enum csam_services_part {
    CSAM_SERVICES_SECRET = 1,       /* secret_file (msg says why) */
    CSAM_SERVICES_SMS,              /* sms_* (msg names the key) */
    CSAM_SERVICES_COMMON_PASSWORDS, /* <data_dir>/common-passwords.txt */
    CSAM_SERVICES_RESERVED_SHIPPED, /* <data_dir>/reserved-usernames.txt */
    CSAM_SERVICES_RESERVED_OWN,     /* reserved_usernames */
    CSAM_SERVICES_PREVIOUS_SECRET   /* previous_secret_file (msg says why) */
};

struct csam_services_error {
    enum csam_services_part part;
    const char *path;    /* the file that failed, or NULL */
    char msg[256];       /* why, never a secret */
    char path_buf[4096]; /* storage path may point to */
};

/* Load the secret (secret_file, secret_group), the SMS settings and the
 * mail relay's from a checked configuration, which must outlive *out;
 * with CSAM_SERVICES_LISTS also the word lists under data_dir (the
 * administrator's reserved_usernames adds to the shipped list, so that no
 * configuration can give "root" back).  Errors, with err (may be NULL)
 * saying which part: CSAM_ERR_IO, CSAM_ERR_CONFIG, CSAM_ERR_NOMEM,
 * CSAM_ERR_INVALID, the secret's own. */
csam_result csam_services_open(const struct csam_config *config, unsigned flags,
                               csam_services **out,
                               struct csam_services_error *err);
void csam_services_free(csam_services *sv);

/* The secret, owned by the services (hosts derive their own keys from
 * it, e.g. cookie seals; they never free it). */
csam_secret *csam_services_secret(const csam_services *sv);

/* The key types a citizen may choose (CSAM_KEY_* mask): e-mail, the app,
 * and SMS when a gateway is configured. */
unsigned csam_services_offered(const csam_services *sv);

/* Send an SMS through the configured gateway, saying why it failed in
 * why (fit for a log: never the text, the code, the number or the URL).
 * For hosts that log the reason themselves (struct csam_engine_host). */
csam_result csam_services_sms_send(const csam_services *sv,
                                   const struct csam_message *msg, char *why,
                                   size_t why_len);

/* What a host adds to the services for one engine. */
struct csam_engine_host {
    struct csam_logger logger;
    struct csam_gate hash_gate; /* zeroed: none */
    /* The SMS way out when the host wants to see why a message failed
     * (over csam_services_sms_send); fn NULL: the services' own.  Not
     * used without a gateway. */
    struct csam_sender sms;
};

/* An engine over the services and one store connection (both must
 * outlive it); host may be NULL.  Errors: CSAM_ERR_NOMEM,
 * CSAM_ERR_INVALID. */
csam_result csam_engine_open(const csam_services *sv, csam_store *store,
                             const struct csam_engine_host *host,
                             csam_engine **out);

/* The lower-level way in (tests, tools): every dependency by hand. */
struct csam_engine_deps {
    const struct csam_config *config;
    const csam_secret *secret;
    csam_store *store;                     /* one connection, not shared */
    const csam_wordlist *common_passwords; /* may be NULL */
    /* Names no citizen may take (csam_username_reserved); NULL: root only */
    const csam_wordlist *reserved_usernames;
    struct csam_sender sender; /* e-mail */
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
    int attempts_left; /* -1 when not applicable */
    long retry_after;  /* seconds; 0 when the lock is not temporary */
};

/* ---- registration desk ------------------------------------------------ */

struct csam_registration {
    const char *national_number;
    const char *first_name;
    const char *last_name;
    const char *birth_date;    /* YYYY-MM-DD */
    const char *document_type; /* eid|passport|residence_card|foreign_id */
    const char *document_number;
    const char *email;
    const char *language; /* NULL: "fr" */
};

struct csam_registration_receipt {
    int64_t registration_id;
    char activation_code[CSAM_ACTIVATION_CODE_SIZE];
    char expires_at[32]; /* RFC 3339 UTC */
    /* 1: the person holds an account, the registration recovers it
     * (DESIGN 2.7; the officer's page may say so) */
    int existing;
};

/* Validate, record and e-mail the activation link; supersede the citizen's
 * earlier unused code and link.  A person who holds an active account gets
 * a recovery of it (out->existing).  The row is committed only once the relay
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

/* ---- online procedure (DESIGN 2.6) ------------------------------------ */

/* A person as an authentication module in front of the host vouched for
 * them: never from a request header. */
struct csam_identity {
    const char *national_number; /* as the source gave it */
    const char *first_name;      /* NULL or "": unknown */
    const char *last_name;       /* NULL or "": unknown */
    /* Which source vouched, for the audit: "ssl-client-cert" or
     * "env:<NAME>". */
    const char *source_name;
    /* Who the source said authenticated (the certificate's subject, the
     * OIDC user); may be NULL.  Not written to the audit trail: an eID
     * certificate's subject carries the national number. */
    const char *subject;
    /* The registration's language (fr, nl, de, en; mails and pages);
     * NULL: "fr". */
    const char *language;
};

/* What an activation can do once opened (online, or by link and code). */
struct csam_procedure {
    unsigned key_types; /* CSAM_KEY_* mask that may be chosen */
    int existing;       /* the person has an account: a recovery */
    char username[CSAM_USERNAME_BUFSIZE]; /* the account's, existing only */
    char language[3];
};

/* Open the online procedure for an identified person: validate the number
 * (mod 97, as at the desk), supersede the person's live registration (and
 * the pending account it made), record an online registration (its
 * identity_source and names, the account it recovers when the person has
 * one), open an activation flow at the key step and write its handle.
 * Names the source did not give are a polite form of address in the
 * language (e.g. "Madame, Monsieur") and "-".  Audited with the source
 * that vouched.  Errors:
 * CSAM_ERR_NATIONAL_NUMBER (hosts answer 403: the source vouched for
 * nothing usable), CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_engine_online_open(csam_engine *engine, const char *source,
                                    const struct csam_identity *who,
                                    char handle[CSAM_TOKEN_SIZE],
                                    struct csam_procedure *out);

/* ---- activation ------------------------------------------------------- */

enum csam_step {
    CSAM_STEP_KEY = 0,     /* choose a key and accept the terms */
    CSAM_STEP_CREDENTIALS, /* username and password */
    CSAM_STEP_CONFIRM,     /* type the code the key received */
    CSAM_STEP_DONE,
    CSAM_STEP_EMAIL /* online, new person, a key other than e-mail: type
                       the code that verifies the e-mail address first */
};

/* "key", "credentials", "confirm", "done"; CSAM_STEP_EMAIL is "confirm"
 * too (the API's `next`: the code goes to POST activation/confirm). */
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
csam_result csam_engine_activation_open(csam_engine *engine, const char *source,
                                        const char *token,
                                        const char *activation_code,
                                        char handle[CSAM_TOKEN_SIZE],
                                        unsigned *key_types,
                                        struct csam_attempts *att);

struct csam_activation_state {
    enum csam_step step;
    enum csam_key_type key_type; /* CSAM_KEY_NONE before the choice */
    char language[3];
    /* "" before credentials; a recovery's: the account's own from the
     * start */
    char username[CSAM_USERNAME_BUFSIZE];
    int online;   /* the online procedure (no paper code; a new person
                     gives an e-mail address at credentials) */
    int existing; /* a recovery: the person's account exists and keeps its
                     username (DESIGN 2.7) */
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
csam_result csam_engine_activation_key(csam_engine *engine, const char *source,
                                       const char *handle,
                                       enum csam_key_type key_type,
                                       int accept_terms, const char *phone,
                                       const char *terms_version);

struct csam_credentials_outcome {
    enum csam_step next; /* CSAM_STEP_CONFIRM */
    /* On a refusal: attempts_left with CSAM_ERR_USERNAME_TAKEN and
     * CSAM_ERR_LOCKED, retry_after with CSAM_ERR_TOO_SOON. */
    struct csam_attempts attempts;
    char *otpauth_uri; /* totp only; malloc'd, caller frees */
    char *totp_secret; /* totp only, base32; caller wipes+frees */
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

/* What the credentials step takes. */
struct csam_credentials {
    /* New accounts: the name chosen.  A recovery keeps the account's
     * own: NULL or "" is that one, any other is CSAM_ERR_USERNAME_KEPT. */
    const char *username;
    /* Typed twice.  Online recovery may keep the password: both NULL or
     * "" (the desk's recovery always sets one: the person lost access). */
    const char *password;
    const char *password_repeat;
    /* The online procedure's new person only (required there,
     * CSAM_ERR_EMAIL when missing or invalid); elsewhere it must be NULL
     * or "" (CSAM_ERR_INVALID). */
    const char *email;
};

/* csam_engine_activation_credentials for every procedure (DESIGN
 * 2.6-2.7).  A new person online gives the e-mail address: with the
 * e-mail key the key's code verifies it; with another key an address
 * code is e-mailed too, the flow moves to CSAM_STEP_EMAIL (out->next)
 * and that code is confirmed first.  A recovery creates no account: the
 * new key is pending on the person's account and the new password waits
 * in the flow until the key is confirmed.  Errors: those of
 * csam_engine_activation_credentials, CSAM_ERR_EMAIL,
 * CSAM_ERR_USERNAME_KEPT, and CSAM_ERR_STATE when the person's account
 * was made meanwhile by another procedure (one account per person). */
csam_result csam_engine_activation_set_credentials(
    csam_engine *engine, const char *source, const char *handle,
    const struct csam_credentials *in, struct csam_credentials_outcome *out);

/* Release what csam_engine_activation_credentials() allocated. */
void csam_credentials_outcome_free(struct csam_credentials_outcome *out);

struct csam_activated {
    char username[CSAM_USERNAME_BUFSIZE];
    enum csam_key_type key_type;
    /* CSAM_STEP_DONE: the key is active.  CSAM_STEP_CONFIRM: the code
     * was the e-mail address's (CSAM_STEP_EMAIL); the key's code comes
     * next (hosts answer 202 {"next": "confirm"}). */
    enum csam_step next;
    int recovered; /* 1: an existing account was recovered */
};

/* Confirm the key with the code it received: the key and the account
 * become active, the registration is used up, and the citizen gets a
 * notice.  Writes the username and key type to out.  At CSAM_STEP_EMAIL
 * the code is the e-mail address's: the flow moves on to
 * CSAM_STEP_CONFIRM (out->next).  A recovery, in the same transaction:
 * the new key active (replacing an active one of its type), the new
 * password set when one was given, the lock lifted, the sealed number
 * filled in; from the desk every other key deactivated and every session
 * ended, online every session ended when the password changed; the old
 * address gets a notice (and the new one when the desk changed it).
 * Errors: CSAM_ERR_BAD_CODE / CSAM_ERR_LOCKED (with *att),
 * CSAM_ERR_EXPIRED, CSAM_ERR_STATE, CSAM_ERR_DB. */
csam_result csam_engine_activation_confirm(csam_engine *engine,
                                           const char *source,
                                           const char *handle, const char *code,
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

/* ---- helpdesk (DESIGN 2.8): officers only ------------------------------ */

#define CSAM_HELPDESK_REGISTRATIONS_MAX 20
#define CSAM_HELPDESK_NAME_MAX 255

struct csam_helpdesk_registration {
    int64_t id;
    /* "pending" (live), "used", "superseded", "revoked", "expired" */
    char status[16];
    char procedure[8];                        /* "desk" or "online" */
    char created_at[32];                      /* RFC 3339 UTC */
    char expires_at[32];                      /* RFC 3339 UTC */
    char officer[CSAM_HELPDESK_NAME_MAX + 1]; /* created_by */
};

struct csam_helpdesk_key {
    enum csam_key_type type;
    char status[16]; /* "active", "pending", "inactive" */
};

#define CSAM_HELPDESK_HISTORY_MAX 20

/* One thing an officer did about the person (the audit trail's row). */
struct csam_helpdesk_action {
    /* "registration.created", "registration.letter_shown",
     * "helpdesk.search", "registration.link_resent",
     * "registration.revoked", "account.unlocked" */
    char action[65];
    char officer[CSAM_HELPDESK_NAME_MAX + 1];
    char at[32];                             /* RFC 3339 UTC */
    char source[CSAM_HELPDESK_NAME_MAX + 1]; /* client address, "" unknown */
};

struct csam_helpdesk_person {
    /* The newest first, at most CSAM_HELPDESK_REGISTRATIONS_MAX. */
    struct csam_helpdesk_registration
        registrations[CSAM_HELPDESK_REGISTRATIONS_MAX];
    size_t n_registrations;
    int has_account;
    char username[CSAM_USERNAME_BUFSIZE];
    char status[16]; /* "pending", "active", "disabled" */
    struct csam_helpdesk_key keys[8];
    size_t n_keys;
    /* The later of the account's lock (wrong codes) and its login name's
     * (wrong passwords), RFC 3339 UTC; "" when neither holds. */
    char locked_until[32];
    /* What officers did about the person, the newest first, at most
     * CSAM_HELPDESK_HISTORY_MAX (this search is not in it yet). */
    struct csam_helpdesk_action history[CSAM_HELPDESK_HISTORY_MAX];
    size_t n_history;
};

/* Every function here is audited with the officer's name and source, and
 * logs one NOTICE line (officer, action, source; never a secret). */

/* What the desk may know of a person: registrations, account status, key
 * types and states, lock, what officers did; never a code, hash or
 * secret.  A person the database does not know is CSAM_OK with nothing
 * in out.  officer: text of at most CSAM_HELPDESK_NAME_MAX bytes.  Errors:
 * CSAM_ERR_NATIONAL_NUMBER (NULL, or not a valid number), CSAM_ERR_INVALID,
 * CSAM_ERR_DB. */
csam_result csam_engine_helpdesk_find(csam_engine *engine, const char *officer,
                                      const char *source,
                                      const char *national_number,
                                      struct csam_helpdesk_person *out);

/* Mail a new link for the live desk registration id: the old link is
 * dead, the paper code stays (so do the activations already opened with
 * it: the citizen who typed the code may go on).  Errors: CSAM_ERR_NOT_FOUND
 * (no such live desk registration), CSAM_ERR_MAIL (nothing changed),
 * CSAM_ERR_CONFIG, CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_engine_helpdesk_resend(csam_engine *engine,
                                        const char *officer, const char *source,
                                        int64_t registration_id);

/* Revoke the live registration id: its link, paper code and activation
 * flows are dead, the pending account it made is deleted.  Errors:
 * CSAM_ERR_NOT_FOUND, CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_engine_helpdesk_revoke(csam_engine *engine,
                                        const char *officer, const char *source,
                                        int64_t registration_id);

/* Lift the temporary locks of the account named username (not disabled):
 * the account's (wrong codes), its name's (wrong passwords, with the
 * count that makes the next lock longer) and its known devices'.  An
 * account that was not locked is CSAM_OK too.  Errors:
 * CSAM_ERR_NOT_FOUND, CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_engine_helpdesk_unlock(csam_engine *engine,
                                        const char *officer, const char *source,
                                        const char *username);

/* ---- second factor for PAM (DESIGN 3.4) ------------------------------ */

struct csam_pam_challenge {
    enum csam_key_type key_type; /* the key the code must come from */
    char language[3];            /* the account's language */
    int reused;                  /* 1: a pending code was reused, no mail */
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
csam_result csam_engine_account_check(csam_engine *engine, const char *username,
                                      unsigned allowed,
                                      struct csam_attempts *att);

/*
 * Web login, sessions and self-management (DESIGN 2.3, 2.4, 4): the
 * engine's side of mod_csam's AuthType CSAM, /csam/login, /csam/keys and
 * the matching JSON API.
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
 * source address (then with att->retry_after).  On success a login handle (a
 * token: only its keyed hash is stored, it lives flow_ttl) is written to handle
 * and *key_types is the mask of the account's active key types. Errors:
 * CSAM_ERR_BAD_CREDENTIALS, CSAM_ERR_LOCKED, CSAM_ERR_INVALID (NULL or
 * over-long input), CSAM_ERR_DB. */
csam_result csam_engine_login_password(csam_engine *engine, const char *source,
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
 * deps.sms is configured.  The code is bound to this handle: it is worth
 * nothing in another login.  Choosing again (another key, or a resend) is
 * allowed while the handle lives.  CSAM_ERR_LOCKED also when the account is
 * locked by wrong codes meanwhile. Errors: CSAM_ERR_EXPIRED (handle unknown,
 * expired or used), CSAM_ERR_INVALID (key type not active on the account),
 * CSAM_ERR_LOCKED, CSAM_ERR_MAIL, CSAM_ERR_DB. */
csam_result csam_engine_login_challenge(csam_engine *engine, const char *source,
                                        const char *handle,
                                        enum csam_key_type key_type,
                                        struct csam_attempts *att);

/* What csam_engine_login_code did about the code. */
struct csam_login_code {
    int reused;        /* 1: a code sent moments ago (for this login or
                          an abandoned one) stands, nothing was sent */
    int64_t sent_at;   /* when the code in force was sent, Unix
                          seconds; 0 for the app's key */
    long resend_after; /* seconds before a new code may be sent */
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

/* CSAM_SUBJECT: base64url of 32 bytes and its NUL. */
#define CSAM_SUBJECT_BUFSIZE 44

/* What a live session says about its holder. */
struct csam_session_info {
    char username[CSAM_USERNAME_BUFSIZE];
    /* The person's stable pseudonym (DESIGN 3.3): the same for every
     * login, recovery and key of the person on this installation. */
    char subject[CSAM_SUBJECT_BUFSIZE];
    /* The 11 digits, only when asked for (CSAM_SESSION_NATIONAL_NUMBER)
     * and known (accounts made before schema 4 learn it at their next
     * identification); "" otherwise. */
    char national_number[CSAM_NRN_SIZE];
    enum csam_key_type key_type; /* the key the login was made with */
    int64_t auth_time;           /* login time, Unix seconds */
    int64_t expires_at;          /* absolute expiry, Unix seconds */
    int64_t idle_expires_at;     /* when idleness ends it (at most
                                    expires_at), Unix seconds */
};

/* A new session: the cookie value goes to the browser once; the database
 * keeps only its keyed hash. */
struct csam_session_ticket {
    char cookie[CSAM_TOKEN_SIZE]; /* 256-bit token, base64url */
    /* Its subject and national_number are "": a session check fills
     * them. */
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

/* What a session check does besides finding the session (flags of
 * csam_session_check_flags and csam_engine_session_check_flags). */
enum csam_session_flags {
    /* Move the session's last use to now (see below): a request made with
     * the session.  A check that only reads (a page deciding what to show)
     * leaves it out. */
    CSAM_SESSION_TOUCH = 1U << 0,
    /* Fill national_number: only for a portal entitled to it
     * (CSAMExposeNationalNumber On).  Without it the sealed number is not
     * even read from the database. */
    CSAM_SESSION_NATIONAL_NUMBER = 1U << 1
};

/* The session named by a cookie value, while it lives: not revoked, idle
 * timeout and absolute lifetime not passed (database clock), account still
 * active.  out->subject is always filled: the person's CSAM_SUBJECT,
 * computed from the account's national-number hash.  With
 * CSAM_SESSION_NATIONAL_NUMBER, out->national_number holds the account's
 * 11 digits, opened from its sealed copy, or "" for an account that has
 * none (made before schema 4, until its person next identifies); without
 * it, "" always.  The caller wipes out->national_number when done with it
 * (personal data).  With CSAM_SESSION_TOUCH, the session's last use moves
 * to now in the same statement, unless the last one is younger than a
 * sixtieth of the idle timeout (at most 30 s): a burst of requests costs
 * one write, and idleness ends a session at most that much early.  One
 * statement whatever the flags (session, account, person and touch
 * together), read afresh every time: a logout or a password change is
 * seen by the next check on every node.  Errors: CSAM_ERR_EXPIRED
 * (malformed, unknown, revoked, idle, too old, account no longer active),
 * CSAM_ERR_CRYPTO (the sealed number does not open for this account with
 * this secret file: copied from another row, tampered with, or another
 * installation's; nothing is filled then, the check fails closed),
 * CSAM_ERR_INVALID (NULL engine, services, store or out; an unknown
 * flag), CSAM_ERR_DB. */
csam_result csam_engine_session_check_flags(csam_engine *engine,
                                            const char *cookie, unsigned flags,
                                            struct csam_session_info *out);

/* csam_engine_session_check_flags without an engine: the services'
 * secret and one store connection are all a protected request needs (a
 * cache miss must not build senders and word lists to run one SELECT).
 * Logs nothing: the host says what a CSAM_ERR_CRYPTO means. */
csam_result csam_session_check_flags(const csam_services *sv, csam_store *store,
                                     const char *cookie, unsigned flags,
                                     struct csam_session_info *out);

/* The same with flags CSAM_SESSION_TOUCH when touch is set, else none:
 * the subject, never the national number. */
csam_result csam_engine_session_check(csam_engine *engine, const char *cookie,
                                      int touch, struct csam_session_info *out);
csam_result csam_session_check(const csam_services *sv, csam_store *store,
                               const char *cookie, int touch,
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
csam_result csam_engine_session_reauth(csam_engine *engine, const char *source,
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
    char status[16];       /* "active", "pending" or "inactive" */
    char activated_at[32]; /* RFC 3339 UTC, "" when never */
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
csam_result csam_engine_key_deactivate(csam_engine *engine, const char *source,
                                       const char *username,
                                       enum csam_key_type key_type);

/* Change the password: the current one is required (a wrong one counts as
 * a password failure: CSAM_ERR_BAD_CREDENTIALS), the new one meets the
 * policy and is typed twice.  Every other session of the account ends,
 * and so does every login still half-way; keep_cookie (the caller's own
 * session, or NULL) stays.  The citizen gets a notice (a relay that
 * refuses it undoes the change: CSAM_ERR_MAIL).  Mismatch and policy are
 * checked before the current password, so a refused new password costs no
 * Argon2id run and counts no failure.  Errors: CSAM_ERR_BAD_CREDENTIALS,
 * CSAM_ERR_LOCKED, CSAM_ERR_PASSWORD_MISMATCH, CSAM_ERR_WEAK_PASSWORD,
 * CSAM_ERR_INVALID (NULL input, bad UTF-8), CSAM_ERR_NOT_FOUND, CSAM_ERR_MAIL,
 * CSAM_ERR_DB. */
csam_result csam_engine_password_change(csam_engine *engine, const char *source,
                                        const char *username,
                                        const char *current,
                                        const char *password,
                                        const char *password_repeat,
                                        const char *keep_cookie);

/* ---- administration (csam-admin, DESIGN 3.7) --------------------------- */

/*
 * The administrator's tool works on the same store and csam.conf as the
 * servers.  The schema, purge and stats functions need no secret (a store
 * connection is enough: the purge timer runs them); the account and
 * secret functions need an engine.  Actors are "csam-admin:<user>".
 */

#define CSAM_ADMIN_MIGRATIONS_MAX 64

struct csam_admin_migration {
    int version;     /* its file's number, NNN of NNN_name.sql */
    char file[64];   /* "005_installation.sql" */
    char title[160]; /* the file's first comment line */
};

struct csam_admin_schema {
    int64_t database; /* the database's version; 0: no schema at all */
    int package;      /* the version this build needs
                         (CSAM_STORE_SCHEMA_VERSION) */
    int newest;       /* the newest migration install.sql lists */
    /* status: the migrations an upgrade would apply; upgrade: those it
     * applied (database is then the version after) */
    struct csam_admin_migration migrations[CSAM_ADMIN_MIGRATIONS_MAX];
    size_t n_migrations;
};

/* Where the database's schema stands against install_sql (an absolute
 * path; its "\ir" lines list the migrations, in files that neither their
 * group nor others can write).  Errors, with why (why_len bytes) naming
 * the file or the database: CSAM_ERR_IO, CSAM_ERR_INSECURE,
 * CSAM_ERR_CONFIG (install.sql not as expected), CSAM_ERR_DB,
 * CSAM_ERR_INVALID. */
csam_result csam_admin_schema_status(csam_store *store, const char *install_sql,
                                     struct csam_admin_schema *out, char *why,
                                     size_t why_len);

/* Apply what csam_admin_schema_status says is missing, as psql -f
 * install.sql would: every newer migration in one transaction, after
 * install.sql's advisory lock; nothing when one fails.  Errors: those of
 * csam_admin_schema_status; CSAM_ERR_SCHEMA when the database is newer
 * than install.sql's newest migration, or install.sql does not reach the
 * version this build needs (why says which). */
csam_result csam_admin_schema_upgrade(csam_store *store,
                                      const char *install_sql,
                                      struct csam_admin_schema *out, char *why,
                                      size_t why_len);

/* What csam_admin_purge deletes, in this order (rows that others point
 * to go after them). */
enum csam_admin_purge_kind {
    CSAM_ADMIN_PURGE_CHALLENGES = 0, /* codes */
    CSAM_ADMIN_PURGE_FLOWS,          /* activation and login handles */
    CSAM_ADMIN_PURGE_SESSIONS,
    CSAM_ADMIN_PURGE_LOGIN_DEVICES,
    CSAM_ADMIN_PURGE_PENDING_ACCOUNTS, /* activations abandoned */
    CSAM_ADMIN_PURGE_REGISTRATIONS,
    CSAM_ADMIN_PURGE_PASSWORD_FAILURES,
    CSAM_ADMIN_PURGE_SOURCE_FAILURES,
    CSAM_ADMIN_PURGE_AUDIT,
    CSAM_ADMIN_PURGE_KINDS
};

/* "challenges", "flows", "sessions", "login_devices", "pending_accounts",
 * "registrations", "password_failures", "source_failures", "audit"; NULL
 * out of range. */
const char *csam_admin_purge_name(enum csam_admin_purge_kind kind);

/* Rows dead this long (seconds) are purged: a day after their expiry, so
 * that nothing that may still look at a row just expired (the resend
 * cooldown looks at the newest code, whatever its state) misses it. */
#define CSAM_ADMIN_PURGE_GRACE 86400L
/* Failure counters (per login name, per source address) with no failure
 * and no delay or lock in force for this long (seconds) are forgotten. */
#define CSAM_ADMIN_PURGE_IDLE (30L * 86400L)
/* Rows per DELETE by default: each batch is its own short transaction. */
#define CSAM_ADMIN_PURGE_BATCH 1000L

struct csam_admin_purge {
    int64_t rows[CSAM_ADMIN_PURGE_KINDS]; /* deleted, or would be */
    int audit_kept;          /* audit_retention 0: the audit trail is kept */
    long batches;            /* DELETE statements run (0 for a dry run) */
    double longest_batch_ms; /* the longest one: what a lock may wait */
    double seconds;          /* the whole purge */
};

/* Delete what expired (DESIGN 3.7): codes, handles, sessions and known
 * devices dead for CSAM_ADMIN_PURGE_GRACE; the pending accounts (an
 * activation abandoned before its confirm) of registrations never used
 * whose link expired as long ago, with their keys and codes, unless a
 * live handle or a recovery points to them; those registrations
 * (superseded and revoked ones included) once no account, handle or code
 * points to them, in the same run; failure counters idle for
 * CSAM_ADMIN_PURGE_IDLE and not locked; audit rows older than
 * audit_retention days (none with 0).  Each kind in batches of `batch`
 * rows (1..100000), each batch its own statement and transaction,
 * skipping rows a citizen's transaction holds: no long lock.  With
 * dry_run, out counts what would go and nothing is deleted.  Errors:
 * CSAM_ERR_INVALID, CSAM_ERR_DB (what was deleted before stays
 * deleted). */
csam_result csam_admin_purge(csam_store *store,
                             const struct csam_config *config, int dry_run,
                             long batch, struct csam_admin_purge *out);

#define CSAM_ADMIN_KEY_TYPES 3    /* email, sms, totp */
#define CSAM_ADMIN_KEY_STATUSES 3 /* active, pending, inactive */

/* The names the counts of struct csam_admin_stats are indexed by; NULL
 * out of range. */
const char *csam_admin_key_type_name(size_t i);
const char *csam_admin_key_status_name(size_t i);

struct csam_admin_stats {
    int64_t accounts_pending, accounts_active, accounts_disabled;
    int64_t keys[CSAM_ADMIN_KEY_TYPES][CSAM_ADMIN_KEY_STATUSES];
    int64_t registrations_pending; /* live: not used, superseded, expired */
    int64_t sessions_live;
    /* Over the last 24 hours, from the audit trail: web logins (sessions
     * made), web failures (wrong passwords and wrong login codes), PAM
     * logins and wrong PAM codes. */
    int64_t web_logins, web_failures, pam_logins, pam_failures;
};

/* Every count, in one statement.  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_admin_stats(csam_store *store, struct csam_admin_stats *out);

struct csam_admin_key {
    char type[8];          /* "email", "sms", "totp" */
    char status[16];       /* "active", "pending", "inactive" */
    char activated_at[32]; /* RFC 3339 UTC, "" never */
};

/* An account as the administrator sees it: never a secret, a hash, an
 * address or the national number.  Times are RFC 3339 UTC, "" for none. */
struct csam_admin_account {
    char username[CSAM_USERNAME_BUFSIZE];
    char status[16]; /* "pending", "active", "disabled" */
    char created_at[32];
    char activated_at[32];
    char password_changed_at[32];
    /* The later of the account's lock (wrong codes) and its login
     * name's (wrong passwords), as the helpdesk shows it. */
    char locked_until[32];
    char last_web_login[32]; /* from the audit trail */
    char last_pam_login[32];
    int64_t sessions_live;
    struct csam_admin_key keys[CSAM_KEYS_MAX]; /* newest of each type */
    size_t n_keys;
};

/* The account named username.  Errors: CSAM_ERR_NOT_FOUND (also for a
 * name no account can have), CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_engine_admin_account(csam_engine *engine, const char *username,
                                      struct csam_admin_account *out);

/* End every live session of the account named username on every node
 * (mod_csam's per-child cache may serve one for CSAMSessionCacheTTL
 * more); *revoked counts them.  Audited ("sessions.revoked", by actor)
 * and logged as a NOTICE.  Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_INVALID,
 * CSAM_ERR_DB. */
csam_result csam_engine_admin_sessions_revoke(csam_engine *engine,
                                              const char *actor,
                                              const char *username,
                                              int64_t *revoked);

enum csam_admin_secret_verdict {
    CSAM_ADMIN_SECRET_SAME = 0, /* the secret the database was made with */
    CSAM_ADMIN_SECRET_RECORDED, /* none was recorded: this one is now */
    CSAM_ADMIN_SECRET_OTHER,    /* another secret: nothing would match */
    /* the database was made with the previous secret (previous_secret_file):
     * the rekey is pending or under way */
    CSAM_ADMIN_SECRET_PREVIOUS
};

struct csam_admin_secret {
    enum csam_admin_secret_verdict verdict;
    char recorded_at[32]; /* RFC 3339 UTC */
    char recorded_by[256];
    int has_previous;          /* a previous secret is attached */
    char rekey_started_at[32]; /* the newest rekey's start, "" never */
    char rekeyed_at[32];       /* its end, "" not complete */
    /* With a previous secret (SAME or PREVIOUS): the latest expiry of the
     * codes, links, flows, sessions and known devices made before the
     * rekey began (every live one while none began), which only the
     * previous secret finds; "" none: with the rekey complete, the
     * previous secret can go. */
    char previous_needed_until[32];
};

/* Compare the engine's secret with the fingerprint the database keeps
 * (csam_installation, schema 5), recording it by actor when none is
 * there yet: the first desk registration records it too (the online
 * procedure does not: its round trips are counted).  PREVIOUS when it is
 * the attached previous secret's.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_CRYPTO, CSAM_ERR_DB. */
csam_result csam_engine_admin_secret_check(csam_engine *engine,
                                           const char *actor,
                                           struct csam_admin_secret *out);

/* Rows per batch of secret rekey by default, and at most. */
#define CSAM_ADMIN_REKEY_BATCH 1000L
#define CSAM_ADMIN_REKEY_BATCH_MAX 100000L

struct csam_admin_rekey {
    /* moved to the current secret */
    int64_t accounts;      /* hash, sealed number, subject kept */
    int64_t registrations; /* with their account, or on their own */
    int64_t keys;          /* TOTP secrets sealed again */
    int64_t subjects;      /* subjects stored (moved or unsealed accounts) */
    int64_t done;          /* rows already the current secret's */
    /* accounts without a sealed number (made before schema 4): nobody
     * can hash their number again; their subject is stored, their hash
     * stays, and their registrations with it */
    int64_t unsealed;
    /* rows left under the previous secret: another account of the person
     * holds the new hash (taken, also counted in left), the row changed
     * while the batch ran, or its seal opens under neither secret */
    int64_t left;
    int64_t taken;
    long batches;
    int stopped;  /* progress asked to stop: a rerun resumes */
    int complete; /* nothing left: the current fingerprint is recorded */
    double seconds;
};

/* Called after each batch with the table ("accounts", "keys",
 * "registrations") and the counts so far; nonzero stops the rekey there
 * (what is committed stays). */
typedef int (*csam_admin_rekey_progress)(void *ctx, const char *table,
                                         const struct csam_admin_rekey *sofar);

/* Move what the previous secret made to the current one (ROLLOVER,
 * csam-admin secret rekey): accounts (national-number hash and sealed
 * number, the subject they had stored first), registrations with a sealed
 * number, TOTP keys' sealed secrets; in batches of `batch` rows
 * (1..CSAM_ADMIN_REKEY_BATCH_MAX) read by id, each batch one transaction
 * that locks only the rows it moves and the persons' registration locks.
 * Resumable: a row the current secret opens is done.  When a run leaves
 * nothing (left 0, not stopped), csam_installation records the current
 * fingerprint (audited "secret.rekeyed" by actor, logged as a NOTICE).
 * It reads and writes hashes and sealed values: the store connects as the
 * schema's owner.  Errors: CSAM_ERR_CONFIG (no previous secret attached),
 * CSAM_ERR_STATE (the database's fingerprint is neither secret's),
 * CSAM_ERR_INVALID, CSAM_ERR_NOMEM, CSAM_ERR_CRYPTO, CSAM_ERR_DB (batches
 * committed before stay). */
csam_result csam_engine_admin_secret_rekey(csam_engine *engine,
                                           const char *actor, long batch,
                                           csam_admin_rekey_progress progress,
                                           void *ctx,
                                           struct csam_admin_rekey *out);

#endif
