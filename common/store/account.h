/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Accounts and their keys (DESIGN 2.4): the list a citizen sees, the
 * account locked for a change, a key added, confirmed and deactivated,
 * the password changed.  Typed functions; the SQL next to each in
 * account.c.
 *
 * The engine decides (who may change what, in which order, what a result
 * means for the citizen); these functions run the statements and say what
 * the rows said.  Functions that write run inside the caller's
 * transaction when one is open: the engine opens one per change and locks
 * the account first (csam_store_account_lock).
 */
#ifndef CSAM_COMMON_STORE_ACCOUNT_H
#define CSAM_COMMON_STORE_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "keytype.h"
#include "result.h"
#include "store.h"
#include "validate.h"

/* A key as the account's list shows it: the newest of its type. */
struct csam_store_key {
    enum csam_key_type type;
    char status[16];       /* "active", "pending" or "inactive" */
    char activated_at[32]; /* RFC 3339 UTC, "" when never */
};

/* The newest key of each type of the active account named username (an
 * active one first: there is at most one of a type), at most max of them
 * in keys[0..*n).  An account without any key is CSAM_OK with *n 0.
 * Errors: CSAM_ERR_NOT_FOUND (no active account of that name),
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_account_keys(csam_store *store, const char *username,
                                    struct csam_store_key *keys, size_t max,
                                    size_t *n);

/* An active account, as a change of its keys or password needs it. */
struct csam_store_account {
    int64_t id;
    char email[CSAM_EMAIL_MAX + 1];
    char language[3];
    char first_name[CSAM_NAME_MAX + 1];
};

/* Inside the caller's transaction: the active account named username, its
 * row locked until the transaction ends, so that changes of one account
 * happen one after the other (a second change waits, then sees the
 * first).  Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_account_lock(csam_store *store, const char *username,
                                    struct csam_store_account *out);

/* The ids of an account's active key of a type and of its newest pending
 * one; 0: none. */
struct csam_store_key_state {
    int64_t active;
    int64_t pending;
};

/* Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_account_key_state(csam_store *store, int64_t account_id,
                                         enum csam_key_type type,
                                         struct csam_store_key_state *out);

/* A new pending key of a type whose code is sent (e-mail, SMS). */
struct csam_store_key_new {
    int64_t account_id;
    enum csam_key_type type;
    const char *terms_version;
    const char *phone; /* E.164 for an SMS key, NULL otherwise */
};

/* The new pending key replaces the type's earlier pending ones (and their
 * codes, by cascade), in one statement; *key_id is its id.
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_account_key_add(csam_store *store,
                                       const struct csam_store_key_new *key,
                                       int64_t *key_id);

/* The account's pending keys of a type removed (and their codes, by
 * cascade): before the app's key, whose row csam_totp_create writes.
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_account_key_drop_pending(csam_store *store,
                                                int64_t account_id,
                                                enum csam_key_type type);

/* The pending key key_id made active from the database clock.
 * Errors: CSAM_ERR_STATE (it is no longer pending), CSAM_ERR_DB. */
csam_result csam_store_account_key_activate(csam_store *store, int64_t key_id);

/* The account's active key of a type made inactive, never its last active
 * key, and in the same statement every session that key opened ended
 * (DESIGN 4: an account has one active key of a type, and the sessions of
 * the type's earlier keys ended with them); *sessions_ended counts them.
 * The guard is part of the statement: with the account locked first, a
 * concurrent deactivation of the other key waits and then sees this one.
 * Errors: CSAM_ERR_NOT_FOUND (no active key of that type), CSAM_ERR_STATE
 * (it is the account's last active key), CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_account_key_deactivate(csam_store *store,
                                              int64_t account_id,
                                              enum csam_key_type type,
                                              int64_t *sessions_ended);

/* A new password for an account. */
struct csam_store_password_change {
    int64_t account_id;
    const char *password_hash;         /* the PHC string */
    const unsigned char *keep_session; /* CSAM_HASH_LEN bytes: the session
                                          that stays, or NULL for none */
    const char *source; /* the client address for the audit row, or NULL */
};

/* The password changed, every other session of the account ended and
 * every login still half-way (made with the old password) superseded, in
 * one statement with its audit row ("password.changed", with how many
 * sessions and logins ended).  Errors: CSAM_ERR_NOT_FOUND (no such
 * account), CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_account_password_set(
    csam_store *store, const struct csam_store_password_change *change);

#endif
