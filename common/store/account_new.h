/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The account an activation makes (DESIGN 2.2): at the credentials step a
 * pending account and its first key, made anew at each attempt; at the
 * confirmation both active, with the registration used and the flow done
 * in the same statement.  Functions run inside the caller's transaction.
 */
#ifndef CSAM_COMMON_STORE_ACCOUNT_NEW_H
#define CSAM_COMMON_STORE_ACCOUNT_NEW_H

#include <stdint.h>

#include "keytype.h"
#include "result.h"
#include "store.h"

/* *taken is 1 when an account of another registration than
 * registration_id holds username (the registration's own pending account
 * does not count: it is made anew).  Errors: CSAM_ERR_DB. */
csam_result csam_store_account_new_taken(csam_store *store,
                                         const char *username,
                                         int64_t registration_id, int *taken);

/* The registration's pending account, made anew: the one an earlier
 * attempt made is deleted (and any other pending account of the person),
 * the new one takes the registration's language, e-mail address, the
 * person's hashed and sealed number.  password_hash is a PHC string.
 * *account_id is the new row's.  Errors: CSAM_ERR_USERNAME_TAKEN (another
 * account took the name meanwhile), CSAM_ERR_STATE (the person holds an
 * account that is not disabled: one account per person), CSAM_ERR_DB. */
csam_result csam_store_account_new_pending(csam_store *store,
                                           int64_t registration_id,
                                           const char *username,
                                           const char *password_hash,
                                           int64_t *account_id);

/* A pending key of type key_type (not the app's: its secret is sealed to
 * its row, see the TOTP key) for the account; terms_version "" or NULL
 * for none, phone the SMS key's (E.164), else "" or NULL.  *key_id is the
 * new row's.  Errors: CSAM_ERR_INVALID (no such key type), CSAM_ERR_DB. */
csam_result csam_store_account_new_key(csam_store *store, int64_t account_id,
                                       enum csam_key_type key_type,
                                       const char *terms_version,
                                       const char *phone, int64_t *key_id);

/* What the activation's statement moved: each is 1 when all went as the
 * flow said. */
struct csam_store_account_new_moved {
    int64_t keys;          /* pending key of the type: active */
    int64_t accounts;      /* pending account: active, unlocked */
    int64_t registrations; /* unused registration: used */
    int64_t flows;         /* flow: done */
};

/* In one statement: the account's pending key of key_type and the pending
 * account itself active, the registration used, the flow done.
 * Errors: CSAM_ERR_INVALID (no such key type), CSAM_ERR_DB. */
csam_result
csam_store_account_new_activate(csam_store *store, int64_t account_id,
                                enum csam_key_type key_type,
                                int64_t registration_id, int64_t flow_id,
                                struct csam_store_account_new_moved *out);

#endif
