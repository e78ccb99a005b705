/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rows `csam-admin secret rekey` moves from the previous secret to the
 * current one (schema 6): accounts' and registrations' national-number
 * hashes and sealed numbers, TOTP keys' sealed secrets.  Pages are read
 * by id (keyset pagination, no lock); each move is one guarded UPDATE
 * that changes nothing when the row changed since it was read, so the
 * caller's batch transaction holds a row's lock only for the rows it
 * really moves.  The crypto is the engine's (engine_admin_rekey.c).
 *
 * These read and write hashes and sealed values: csam-admin runs them as
 * the schema's owner (conf/sql/roles.sql grants csam_admin no secret).
 */
#ifndef CSAM_COMMON_STORE_REKEY_H
#define CSAM_COMMON_STORE_REKEY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "result.h"
#include "store.h"
#include "validate.h"

#define CSAM_STORE_REKEY_SEALED_NRN_LEN (CSAM_NRN_DIGITS + CSAM_SEAL_OVERHEAD)
/* Room for a sealed TOTP secret (20 bytes and the seal's overhead); a
 * longer one is read as odd (len 0), never cut. */
#define CSAM_STORE_REKEY_SEALED_KEY_MAX 64

/* An account or a registration: its id, hash and sealed number (sealed
 * 0: none, an account from before schema 4), whether a subject is
 * stored. */
struct csam_store_rekey_person {
    int64_t id;
    unsigned char nrn_hash[CSAM_HASH_LEN];
    unsigned char nrn_sealed[CSAM_STORE_REKEY_SEALED_NRN_LEN];
    int sealed;
    int has_subject;
};

/* A TOTP key: its id and sealed secret (len 0: of a length no key has). */
struct csam_store_rekey_key {
    int64_t id;
    unsigned char sealed[CSAM_STORE_REKEY_SEALED_KEY_MAX];
    size_t len;
};

/* At most max rows with an id greater than after, by id: every account
 * (any status); registrations with a sealed number; TOTP keys.  *n counts
 * them (fewer than max: the last page).  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_DB (also a hash or sealed value of a shape the schema does not
 * allow). */
csam_result csam_store_rekey_accounts(csam_store *store, int64_t after,
                                      struct csam_store_rekey_person *out,
                                      size_t max, size_t *n);
csam_result csam_store_rekey_registrations(csam_store *store, int64_t after,
                                           struct csam_store_rekey_person *out,
                                           size_t max, size_t *n);
csam_result csam_store_rekey_keys(csam_store *store, int64_t after,
                                  struct csam_store_rekey_key *out, size_t max,
                                  size_t *n);

/* Take, until the transaction ends, the lock a registration takes on the
 * person of each hash (csam_store_registration_lock_person), in the
 * order given: a desk or online registration of the person waits for the
 * batch, or the batch for it, and neither sees the person half moved.
 * Inside the caller's transaction.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_NOMEM, CSAM_ERR_DB. */
csam_result
csam_store_rekey_lock_persons(csam_store *store,
                              unsigned char (*hashes)[CSAM_HASH_LEN], size_t n);

/* A row's move: what was read (old_*) and what it becomes (new_*). */
struct csam_store_rekey_move {
    int64_t id;
    const unsigned char *old_hash;   /* CSAM_HASH_LEN bytes */
    const unsigned char *old_sealed; /* the sealed value as read */
    size_t old_len;
    const unsigned char *new_hash; /* NULL for a TOTP key */
    const unsigned char *new_sealed;
    size_t new_len;
    const char *subject; /* accounts: stored when none is; NULL: keep */
};

/* Move the account (hash, sealed number, subject when none is stored) and
 * with it every registration of the person (same old hash: sealed ones
 * take the account's new seal, which holds the same number for the same
 * hash), unless the row changed since it was read or another account of
 * the person that is not disabled already holds the new hash (*taken
 * 1).  A live registration of the person that meets a live one made
 * under the new secret is superseded by it, as a newer registration
 * supersedes an older one.  *accounts (0 or 1) and *registrations count
 * what moved.  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_rekey_account_move(csam_store *store,
                                          const struct csam_store_rekey_move *m,
                                          int64_t *accounts,
                                          int64_t *registrations, int *taken);

/* Store subject for the account id without a sealed number whose hash is
 * still hash, when none is stored; *stored is 1 when this call did.
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result
csam_store_rekey_account_subject(csam_store *store, int64_t id,
                                 const unsigned char hash[CSAM_HASH_LEN],
                                 const char *subject, int *stored);

/* Move a registration that no account holds by its hash (those move with
 * their account, or stay with an account that cannot move: *held 1);
 * supersedes as csam_store_rekey_account_move.  *moved 0 or 1.  Errors:
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result
csam_store_rekey_registration_move(csam_store *store,
                                   const struct csam_store_rekey_move *m,
                                   int *moved, int *held);

/* Replace a TOTP key's sealed secret unless it changed since it was read
 * (*moved 0).  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_rekey_key_move(csam_store *store,
                                      const struct csam_store_rekey_move *m,
                                      int *moved);

/* The rekey begins: csam_installation (whose fingerprint must be
 * previous_fp) records when, unless a rekey from it is already under way
 * (its start is kept: rows made since are the new secret's).  Errors:
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_rekey_start(csam_store *store,
                                   const unsigned char *previous_fp);

/* The rekey is complete: the row whose fingerprint is previous_fp records
 * current_fp by `by`, keeps previous_fp as the previous one and the time;
 * *recorded is 1 when this call changed it.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_DB. */
csam_result csam_store_rekey_finish(csam_store *store,
                                    const unsigned char *current_fp,
                                    const unsigned char *previous_fp,
                                    const char *by, int *recorded);

/* The latest expiry (RFC 3339 UTC, "" when none) of what the previous
 * secret still opens or finds and no rekey moves: live sessions (their
 * absolute or idle end, the earlier), known devices, unused registrations'
 * links and letter codes, flows and codes, made before since (Unix
 * seconds; 0: now, i.e. every live row).  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_DB. */
csam_result csam_store_rekey_needed_until(csam_store *store, int64_t since,
                                          char *out, size_t size);

#endif
