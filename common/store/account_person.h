/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persons (DESIGN 2.7): an account is a person's, known by the keyed hash
 * of the national number (csam_accounts.nrn_hash, unique over the
 * accounts that are not disabled).  The account a person holds, the lock
 * that makes one person's procedures take turns, and a recovery's
 * confirmation.  Functions run inside the caller's transaction.
 */
#ifndef CSAM_COMMON_STORE_ACCOUNT_PERSON_H
#define CSAM_COMMON_STORE_ACCOUNT_PERSON_H

#include <stdint.h>

#include "crypto.h"
#include "keytype.h"
#include "result.h"
#include "store.h"
#include "validate.h"

/* The person's active account. */
struct csam_store_person_account {
    int64_t id;
    char username[CSAM_USERNAME_BUFSIZE];
};

/* The active account of the person of nrn_hash (CSAM_HASH_LEN bytes).
 * Errors: CSAM_ERR_NOT_FOUND (none), CSAM_ERR_DB. */
csam_result csam_store_person_account(csam_store *store,
                                      const unsigned char *nrn_hash,
                                      struct csam_store_person_account *out);

/* Wait until no other transaction holds the person of the activation
 * flow of handle_hash (the lock csam_store_registration_lock_person
 * takes), so that a new registration of the person and an account made
 * by this flow take turns.  An unknown handle locks nothing.
 * Errors: CSAM_ERR_DB. */
csam_result csam_store_person_lock_flow(csam_store *store,
                                        const unsigned char *handle_hash);

/* The account account_id, still active, its row locked until the
 * transaction ends; with unlock, its lock from wrong codes lifted
 * (failures 0, locked_until NULL).  Errors: CSAM_ERR_STATE (disabled or
 * gone meanwhile), CSAM_ERR_DB. */
csam_result csam_store_person_account_hold(csam_store *store,
                                           int64_t account_id, int unlock);

/* What a recovery's confirmation changes. */
struct csam_store_recovery {
    int64_t account_id;
    int64_t registration_id;
    int64_t flow_id;
    enum csam_key_type key_type; /* the new key's, pending until now */
    /* The desk: every other key deactivated, the account's address set to
     * the registration's.  Otherwise only the active key of key_type. */
    int desk;
    /* Every session ended and every login half-way superseded; otherwise
     * only the sessions of a key replaced. */
    int end_sessions;
};

/* What it did. */
struct csam_store_recovered {
    int64_t keys_retired;
    int64_t sessions_ended;
    int password_changed; /* the flow held a new password */
    char old_email[CSAM_EMAIL_MAX + 1];
    char new_email[CSAM_EMAIL_MAX + 1]; /* the address now */
};

/* The recovery confirmed, in two statements (the old key of the type must
 * be inactive before the new one is active): the keys retired and the
 * sessions ended; then the new key active, the flow's password set (with
 * password_changed_at), the lock lifted (failures 0, locked_until NULL),
 * the sealed number filled in when missing, the registration used, the
 * flow done (its password dropped).  Errors: CSAM_ERR_STATE (the account,
 * the key, the registration or the flow was not as the flow said),
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_person_recover(csam_store *store,
                                      const struct csam_store_recovery *in,
                                      struct csam_store_recovered *out);

#endif
