/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Web sessions in the database (DESIGN 4): found and touched, or ended,
 * by the keyed hash of the browser's cookie.  The engine computes the
 * hash; the store never sees a cookie.
 */
#ifndef CSAM_COMMON_STORE_SESSION_H
#define CSAM_COMMON_STORE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "result.h"
#include "store.h"
#include "validate.h"

/* A live session as the database holds it. */
struct csam_store_session {
    char username[CSAM_USERNAME_BUFSIZE];
    char key_type[16];       /* the key the login was made with */
    int64_t created_at;      /* Unix seconds */
    int64_t expires_at;      /* absolute expiry, Unix seconds */
    int64_t idle_expires_at; /* when idleness ends it (at most
                                expires_at), Unix seconds */
    /* The account's person: the keyed hash of the national number (every
     * account has one), and the number sealed for that hash when asked
     * for and stored (nrn_sealed_len 0: not asked, or an account from
     * before schema 4); read too when no subject is stored, since the
     * secret that opens it is the one that made the hash.  subject: the
     * CSAM_SUBJECT a rekey stored (schema 6), "" when none. */
    unsigned char nrn_hash[CSAM_HASH_LEN];
    unsigned char nrn_sealed[CSAM_NRN_DIGITS + CSAM_SEAL_OVERHEAD];
    size_t nrn_sealed_len;
    char subject[44];
};

/* The live session of hash: not revoked, idle timeout and absolute
 * lifetime not passed (database clock), account active, with the
 * account's nrn_hash and stored subject, and its nrn_sealed only when
 * sealed is set or no subject is stored (the number leaves the engine
 * only for the portals entitled to it).  With
 * touch, its last use moves to now in the same statement, unless the
 * last one is younger than a sixtieth of the idle timeout (at most 30 s):
 * a burst of requests costs one write, and idleness ends a session at
 * most that much early.  One round trip.  Errors: CSAM_ERR_NOT_FOUND (no
 * such live session), CSAM_ERR_INVALID, CSAM_ERR_DB (also a hash or a
 * sealed number of the wrong shape). */
csam_result csam_store_session_check(csam_store *store,
                                     const unsigned char hash[CSAM_HASH_LEN],
                                     int touch, int sealed,
                                     struct csam_store_session *out);

/* Revoke the session of hash and audit it as ended from source (may be
 * NULL), once: an unknown or already revoked session changes nothing.
 * One round trip.  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_session_end(csam_store *store,
                                   const unsigned char hash[CSAM_HASH_LEN],
                                   const char *source);

/* Store the session of hash `from` under the hash `to` (the same cookie
 * hashed under the current secret, when the previous secret found it), so
 * that it outlives the previous secret.  One round trip; a session that
 * is not there any more changes nothing.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_DB. */
csam_result csam_store_session_rehash(csam_store *store,
                                      const unsigned char from[CSAM_HASH_LEN],
                                      const unsigned char to[CSAM_HASH_LEN]);

#endif
