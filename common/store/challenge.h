/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store of security codes (csam_challenges) and of the failure
 * counters around them: the account's, a known device's, a source
 * address's.  Typed functions; the SQL next to each in challenge.c.
 *
 * The engine decides (which owner binds a code, what a verdict means for
 * the citizen); these functions run the statements and say what the rows
 * said.  Codes arrive here as keyed hashes, never as typed.
 */
#ifndef CSAM_COMMON_STORE_CHALLENGE_H
#define CSAM_COMMON_STORE_CHALLENGE_H

#include <stdint.h>

#include "crypto.h"
#include "keytype.h"
#include "store.h"
#include "totp_key.h"
#include "validate.h"

/* The counting rules' numbers, already bounded by the engine. */
struct csam_store_limits {
    long threshold;        /* failures that lock an account or a device */
    long duration;         /* seconds a lock lasts; a source's window */
    long source_threshold; /* failures in a window that lock a source */
    long delay_after;      /* failures after which each one adds a delay */
    long delay_max;        /* the longest of those delays, seconds */
};

/* A new code: the pending one of (account, purpose) is superseded by it
 * in the same statement.  key_id 0: none. */
struct csam_store_challenge_new {
    int64_t account_id;
    const char *purpose; /* csam_challenges.purpose */
    int64_t key_id;
    const char *key_type;           /* csam_key_type_name() */
    const unsigned char *code_hash; /* CSAM_HASH_LEN bytes */
    long max_attempts;
    long ttl;           /* seconds, from the database clock */
    const char *source; /* NULL: none */
};

/* Errors: CSAM_ERR_DB, CSAM_ERR_INVALID. */
csam_result
csam_store_challenge_issue(csam_store *store,
                           const struct csam_store_challenge_new *c);

/* The newest code of (account, purpose). */
struct csam_store_challenge_age {
    long age;   /* seconds since it was issued; -1: never */
    int usable; /* not used, superseded, expired nor exhausted */
    int used;
};

/* Errors: CSAM_ERR_DB. */
csam_result csam_store_challenge_age(csam_store *store, int64_t account_id,
                                     const char *purpose,
                                     struct csam_store_challenge_age *out);

/* *retry_after: the seconds the cooldown of `cooldown` seconds after the
 * newest code of purpose (not the app's) still runs, 0 when over.  The
 * codes counted are the account's (account_id) or those of every account
 * of the registration (registration_id; the other is 0).
 * Errors: CSAM_ERR_DB. */
csam_result csam_store_challenge_cooldown(csam_store *store, int64_t account_id,
                                          int64_t registration_id,
                                          const char *purpose, long cooldown,
                                          long *retry_after);

/* ---- verification ------------------------------------------------------ */

/* What every verification is given besides its owner. */
struct csam_store_challenge_check {
    const char *purpose;
    const unsigned char *code_hash; /* the typed code's; not for TOTP */
    /* The typed code's under the previous secret while the secret is
     * replaced (NULL: none): a code issued before the switch still
     * matches, in the same statement, counted once. */
    const unsigned char *code_hash_previous;
    int64_t totp_step;          /* the app's code: the step matched, -1: none */
    const char *counted_source; /* the source the failure counts on, NULL */
    const char *audit_source;   /* the source the audit row names, NULL */
    const struct csam_store_limits *limits;
};

/* What a verification statement found and did, in its order: the owner,
 * its locks, the newest live code, then the attempt. */
struct csam_store_verdict {
    int owner_found;
    long account_lock; /* seconds the account (or known device) is locked */
    long source_lock;  /* seconds the source is locked */
    int code_found;    /* a live code of the owner and purpose */
    int exhausted;
    int expired;
    int counted; /* the attempt ran (0: a concurrent one used it) */
    int ok;      /* the code matched and is now used */
    long attempts_left;
    long wait;     /* seconds the owner must now wait */
    long failures; /* the owner's failures after this attempt */
};

/* By account id.  This one, _name and _totp run a statement that names
 * no table of the web login (PAM's, which csam_pam is granted) when
 * ck->counted_source is NULL: every PAM verification counts no source.
 * Errors: CSAM_ERR_DB, CSAM_ERR_INVALID. */
csam_result
csam_store_challenge_verify(csam_store *store, int64_t account_id,
                            const struct csam_store_challenge_check *ck,
                            struct csam_store_verdict *out);

/* By username: the active account of that name with an active key of
 * key_type (out->owner_found 0 when there is none). */
csam_result
csam_store_challenge_verify_name(csam_store *store, const char *username,
                                 const char *key_type,
                                 const struct csam_store_challenge_check *ck,
                                 struct csam_store_verdict *out);

/* A TOTP code of the key key_id of the account: ck->totp_step is stored
 * as the key's last step, only if newer, in the statement that counts the
 * attempt. */
csam_result
csam_store_challenge_verify_totp(csam_store *store, int64_t account_id,
                                 int64_t key_id,
                                 const struct csam_store_challenge_check *ck,
                                 struct csam_store_verdict *out);

/* A web login's verification by its handle: on success the same
 * statement uses the handle up, creates the session and, with a
 * device_hash, records a known device. */
struct csam_store_login_verify {
    const unsigned char *handle_hash; /* CSAM_HASH_LEN bytes */
    /* the handle's under the previous secret, NULL: none */
    const unsigned char *handle_hash_previous;
    const unsigned char *session_hash; /* CSAM_HASH_LEN bytes */
    const unsigned char *device_hash;  /* CSAM_HASH_LEN bytes, or NULL */
    long session_idle, session_life, device_ttl; /* seconds */
};

struct csam_store_login_verdict {
    struct csam_store_verdict verdict;
    int flow_found; /* the handle names a live login flow */
    int confirm;    /* its key was chosen */
    enum csam_key_type key_type;
    char username[CSAM_USERNAME_BUFSIZE];
    int session_made;
    int device_made;
    int64_t auth_time, expires_at, idle_expires_at; /* Unix seconds */
    /* For a flow waiting for the app's code (the call for a sent code
     * then finds no owner), what checking it needs (key_id 0: no active
     * key). */
    int64_t totp_key_id;
    char totp_sealed[2 * CSAM_TOTP_KEY_SEALED_LEN + 1]; /* hex */
    int64_t totp_last_step;                             /* -1: none */
    int64_t now;                                        /* the database clock */
};

/* The e-mailed and SMS codes, by hash (ck->code_hash). */
csam_result
csam_store_challenge_verify_login(csam_store *store,
                                  const struct csam_store_login_verify *in,
                                  const struct csam_store_challenge_check *ck,
                                  struct csam_store_login_verdict *out);

/* The app's code: ck->totp_step for the key key_id. */
csam_result csam_store_challenge_verify_login_totp(
    csam_store *store, const struct csam_store_login_verify *in, int64_t key_id,
    const struct csam_store_challenge_check *ck,
    struct csam_store_login_verdict *out);

/* ---- the app's key ------------------------------------------------------ */

/* What checking a TOTP code needs, with the database clock. */
struct csam_store_totp_key {
    int64_t key_id;
    int64_t account_id;
    char sealed[2 * CSAM_TOTP_KEY_SEALED_LEN + 1]; /* hex, "" if malformed */
    int64_t last_step;                             /* -1: none */
    int64_t now;
};

/* The newest TOTP key of status ("pending", "active") of the account.
 * Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_DB. */
csam_result csam_store_challenge_totp_key(csam_store *store, int64_t account_id,
                                          const char *status,
                                          struct csam_store_totp_key *out);

/* The active TOTP key of the active account named username.
 * Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_DB. */
csam_result
csam_store_challenge_totp_key_named(csam_store *store, const char *username,
                                    struct csam_store_totp_key *out);

/* A new key's id, taken before its row exists (the sealed secret is bound
 * to it).  Errors: CSAM_ERR_DB. */
csam_result csam_store_challenge_totp_reserve(csam_store *store,
                                              int64_t *key_id);

/* The pending TOTP key row of that id (terms_version "" or NULL: none).
 * Errors: CSAM_ERR_DB. */
csam_result csam_store_challenge_totp_insert(csam_store *store, int64_t key_id,
                                             int64_t account_id,
                                             const char *terms_version,
                                             const unsigned char *sealed,
                                             size_t sealed_len);

/* ---- failures per source address ---------------------------------------- */

/* *wait: seconds the source stays locked, 0 when it is not.
 * Errors: CSAM_ERR_DB. */
csam_result csam_store_challenge_source_lock(csam_store *store,
                                             const char *source, long *wait);

/* Count one failure on the source: a window of limits->duration, locked
 * for as long at limits->source_threshold.  Errors: CSAM_ERR_DB. */
csam_result
csam_store_challenge_source_fail(csam_store *store, const char *source,
                                 const struct csam_store_limits *limits);

#endif
