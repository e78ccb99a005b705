/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who an account belongs to (DESIGN 2.7, 3.3, 4): the person's national
 * register or BIS number, known to the database only as a keyed hash (the
 * account's unique key) and sealed (AES-256-GCM under its own key) for the
 * portals entitled to it; and CSAM_SUBJECT, the pseudonym a portal sees.
 *
 * Not a public interface of the engine: the engine's files and the session
 * check use it; hosts get the results through engine.h.
 */
#ifndef CSAM_COMMON_ENGINE_PERSON_H
#define CSAM_COMMON_ENGINE_PERSON_H

#include <stddef.h>

#include "crypto.h"
#include "validate.h"

/* base64url of 32 bytes, without padding, and its NUL. */
#define CSAM_SUBJECT_LEN 43
#define CSAM_SUBJECT_SIZE (CSAM_SUBJECT_LEN + 1)
/* A sealed number: nonce, the 11 digits, tag. */
#define CSAM_PERSON_SEALED_LEN (CSAM_NRN_DIGITS + CSAM_SEAL_OVERHEAD)

/* CSAM_SUBJECT of the person whose number hashes to nrn_hash:
 * base64url(HMAC-SHA-256(key "subject", nrn_hash)).  The same for every
 * login, recovery and key of that person under one secret, another under
 * another secret, and nothing of the number without the secret.
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_CRYPTO. */
csam_result csam_person_subject(const csam_secret *secret,
                                const unsigned char nrn_hash[CSAM_HASH_LEN],
                                char out[CSAM_SUBJECT_SIZE]);

/* Seal the 11 digits of nrn, bound to nrn_hash (the row's key): a sealed
 * number copied to another person's row does not open there.  Writes
 * CSAM_PERSON_SEALED_LEN bytes.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_CRYPTO. */
csam_result csam_person_seal(const csam_secret *secret,
                             const char nrn[CSAM_NRN_SIZE],
                             const unsigned char nrn_hash[CSAM_HASH_LEN],
                             unsigned char out[CSAM_PERSON_SEALED_LEN]);

/* Open what csam_person_seal wrote for nrn_hash into 11 digits and a NUL,
 * under the current secret or the previous one attached to it
 * (csam_person_open_any without saying which); out is wiped on failure.
 * Errors: CSAM_ERR_CRYPTO (tampered, another row's, another secret's),
 * CSAM_ERR_INVALID. */
csam_result csam_person_open(const csam_secret *secret,
                             const unsigned char *sealed, size_t len,
                             const unsigned char nrn_hash[CSAM_HASH_LEN],
                             char out[CSAM_NRN_SIZE]);

/* csam_person_open under the current secret and, when it does not open
 * and a previous secret is attached, under the previous one;
 * *by_previous (may be NULL) is set to 1 when the previous one opened it:
 * the row's hash is then the previous secret's too (both are made
 * together).  Errors: CSAM_ERR_CRYPTO, CSAM_ERR_INVALID. */
csam_result csam_person_open_any(const csam_secret *secret,
                                 const unsigned char *sealed, size_t len,
                                 const unsigned char nrn_hash[CSAM_HASH_LEN],
                                 char out[CSAM_NRN_SIZE], int *by_previous);

/* The CSAM_SUBJECT of an account, the same whatever secret is current:
 * stored (a rekey stored it, csam_accounts.subject: 43 characters) wins;
 * else it is computed under the secret that made nrn_hash: the previous
 * one when it opens sealed (sealed_len bytes), or when nothing is sealed
 * (an account from before schema 4, older than the secret that replaced
 * it) and a previous secret is attached; the current one otherwise.
 * Without a previous secret, sealed is not even opened.  Errors:
 * CSAM_ERR_INVALID, CSAM_ERR_CRYPTO (a previous secret is attached and
 * sealed opens under neither: which secret made the hash is unknown). */
csam_result csam_person_subject_of(const csam_secret *secret,
                                   const unsigned char nrn_hash[CSAM_HASH_LEN],
                                   const char *stored,
                                   const unsigned char *sealed,
                                   size_t sealed_len,
                                   char out[CSAM_SUBJECT_SIZE]);

#endif
