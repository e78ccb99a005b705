/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registrations (DESIGN 2.1): the row a desk makes, the e-mailed link and
 * the paper code that open an activation, and the printable letter shown
 * once.
 *
 * The national number, the link token and the paper code reach this file
 * only as keyed hashes (CSAM_HASH_LEN bytes) that the engine computed:
 * nothing here sees one in clear.  Functions that write run inside the
 * caller's transaction when one is open.
 */
#ifndef CSAM_COMMON_STORE_REGISTRATION_H
#define CSAM_COMMON_STORE_REGISTRATION_H

#include <stdint.h>

#include "result.h"
#include "store.h"

/* "YYYY-MM-DDTHH:MM:SSZ" and "YYYY-MM-DD", with room to spare. */
#define CSAM_STORE_SEALED_NRN_LEN 39 /* csam_registrations.nrn_sealed */
#define CSAM_STORE_REGISTRATION_TIME_SIZE 32

/* The id the next registration will have, drawn before the row is written
 * because the paper code's hash is bound to it.  Errors: CSAM_ERR_DB. */
csam_result csam_store_registration_next_id(csam_store *store, int64_t *id);

/* Inside the caller's transaction: wait until no other transaction holds
 * the person of nrn_hash, so that two desks registering one citizen at
 * once take turns.  Errors: CSAM_ERR_DB. */
csam_result csam_store_registration_lock_person(csam_store *store,
                                                const unsigned char *nrn_hash);

/* Supersede the live registration of the person of nrn_hash with its live
 * activation flows, and delete the pending account it made (that account
 * holds a username the citizen may want again).  *superseded_id is the
 * superseded registration's id, 0 when there was none (the schema allows
 * one live registration per person).  Errors: CSAM_ERR_DB. */
csam_result csam_store_registration_supersede(csam_store *store,
                                              const unsigned char *nrn_hash,
                                              int64_t *superseded_id);

/* A new registration row; every pointer is the caller's and is only read
 * during the call. */
struct csam_store_registration_new {
    int64_t id; /* csam_store_registration_next_id */
    const unsigned char *nrn_hash;
    const unsigned char *nrn_sealed; /* CSAM_STORE_SEALED_NRN_LEN bytes */
    int64_t account_id; /* the account it recovers, 0: a new person */
    const char *first_name;
    const char *last_name;
    const char *birth_date; /* YYYY-MM-DD */
    const char *document_type;
    const char *document_number;
    const char *email;
    const char *language;
    const unsigned char *token_hash; /* of the e-mailed link */
    const unsigned char *code_hash;  /* of the paper code, bound to id */
    long max_attempts;
    long ttl;                 /* seconds from the database clock */
    const char *created_by;   /* the officer */
    const char *created_from; /* the source address, or NULL */
};

/* When the new registration expires, as the database clock says. */
struct csam_store_registration_expiry {
    char utc[CSAM_STORE_REGISTRATION_TIME_SIZE];           /* RFC 3339, UTC */
    char brussels_date[CSAM_STORE_REGISTRATION_TIME_SIZE]; /* YYYY-MM-DD */
};

/* Write the registration in.  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result
csam_store_registration_insert(csam_store *store,
                               const struct csam_store_registration_new *in,
                               struct csam_store_registration_expiry *out);

/* An online registration (DESIGN 2.6): no document, no link, no paper
 * code, no e-mail address yet; its activation flow, at the key step, is
 * written by the same statement. */
struct csam_store_registration_online {
    const unsigned char *nrn_hash;
    const unsigned char *nrn_sealed; /* CSAM_STORE_SEALED_NRN_LEN bytes */
    int64_t account_id;              /* recovered, 0: a new person */
    const char *first_name;
    const char *last_name;
    const char *language;
    const char *identity_source;      /* also created_by */
    const char *created_from;         /* the source address, or NULL */
    long max_attempts;                /* refused usernames */
    long ttl;                         /* of both rows, seconds */
    const unsigned char *handle_hash; /* the activation flow's */
};

/* Write the online registration and its flow.  *id is the
 * registration's.  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_registration_online_new(
    csam_store *store, const struct csam_store_registration_online *in,
    int64_t *id);

/* The e-mail address an online registration's new person gave (the
 * pending account takes it from there).  Errors: CSAM_ERR_NOT_FOUND (not
 * an unused online registration), CSAM_ERR_DB. */
csam_result csam_store_registration_set_email(csam_store *store, int64_t id,
                                              const char *email);

/* A registration that can still be activated. */
struct csam_store_registration_live {
    int64_t id;
    char language[3];
    int locked; /* its attempts are used up */
};

/* The live registration (not used, superseded or expired) whose link
 * token hashes to token_hash.  Errors: CSAM_ERR_NOT_FOUND (none),
 * CSAM_ERR_DB. */
csam_result
csam_store_registration_by_token(csam_store *store,
                                 const unsigned char *token_hash,
                                 struct csam_store_registration_live *out);

/* What one try at the paper code did. */
struct csam_store_registration_try {
    int matched; /* the code was right */
    int attempts_left;
};

/* One try at the paper code of registration id: a wrong code counts as an
 * attempt, a right one does not.  Errors: CSAM_ERR_NOT_FOUND (not live,
 * or its attempts already used up: nothing counted), CSAM_ERR_DB.
 * code_hash_previous (NULL: none) is the typed code's hash under the
 * previous secret while the secret is replaced: a paper code printed
 * before the switch matches under it, in the same statement. */
csam_result
csam_store_registration_try_code(csam_store *store, int64_t id,
                                 const unsigned char *code_hash,
                                 const unsigned char *code_hash_previous,
                                 struct csam_store_registration_try *out);

/* Count one attempt of registration id that was not the paper code's (a
 * refused username).  *attempts_left is what remains, 0 when they were
 * used up already.  Errors: CSAM_ERR_DB. */
csam_result csam_store_registration_count_attempt(csam_store *store, int64_t id,
                                                  int *attempts_left);

/* Mark the letter of registration id shown, once, for the officer who
 * made it.  Errors: CSAM_ERR_NOT_FOUND (shown already, another officer's,
 * or no longer live), CSAM_ERR_DB. */
csam_result csam_store_registration_letter_claim(csam_store *store, int64_t id,
                                                 const char *officer);

#endif
