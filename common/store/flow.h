/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Activation flow handles (DESIGN 2.2): the browser holds a token, the
 * database its keyed hash (CSAM_HASH_LEN bytes, computed by the engine)
 * and the step the activation stands at.  Functions that write run inside
 * the caller's transaction when one is open.
 */
#ifndef CSAM_COMMON_STORE_FLOW_H
#define CSAM_COMMON_STORE_FLOW_H

#include <stdint.h>

#include "keytype.h"
#include "result.h"
#include "store.h"
#include "validate.h"

/* The bound of csam_flows.terms_version and csam_keys.terms_version. */
#define CSAM_STORE_TERMS_MAX 64
/* The longest step name, "credentials", and its NUL. */
#define CSAM_STORE_FLOW_STEP_SIZE 12

/* A live activation flow with what its steps need of the registration and
 * of its account: the pending one it made, or the one it recovers. */
struct csam_store_flow {
    int64_t id;
    int64_t registration_id;
    int64_t account_id; /* 0 until the credentials step */
    /* key, credentials, email, confirm, done */
    char step[CSAM_STORE_FLOW_STEP_SIZE];
    enum csam_key_type key_type; /* CSAM_KEY_NONE until chosen */
    int done;
    int online;       /* the registration's procedure is 'online' */
    int64_t recovers; /* the account the registration recovers, 0: none */
    char language[3];
    /* The account's: the pending one's, or from the start the recovered
     * one's; "" otherwise. */
    char username[CSAM_USERNAME_BUFSIZE];
    char account_status[16]; /* "pending", "active", "disabled" or "" */
    char account_email[CSAM_EMAIL_MAX + 1]; /* that account's address */
    int has_password;                       /* a recovery's new password
                                               waits in the flow */
    char first_name[CSAM_NAME_MAX + 1];
    char email[CSAM_EMAIL_MAX + 1]; /* the registration's; "" for an
                                       online one before credentials */
    char terms_version[CSAM_STORE_TERMS_MAX + 1];
    char phone[CSAM_PHONE_SIZE]; /* the SMS key's, E.164; "" otherwise */
    int locked;                  /* the registration's attempts are used
                                    up */
};

/* Open a new activation flow of handle_hash for registration_id, living
 * ttl seconds, at the key step; the registration's earlier live flows are
 * superseded.  Errors: CSAM_ERR_DB. */
csam_result csam_store_flow_open(csam_store *store, int64_t registration_id,
                                 const unsigned char *handle_hash, long ttl);

/* The live activation flow of handle_hash: neither superseded nor expired,
 * its registration neither superseded nor expired, and either done or of
 * a registration not used yet.  lock: inside a transaction, lock the
 * flow's row until it ends.  Errors: CSAM_ERR_NOT_FOUND, CSAM_ERR_DB. */
csam_result csam_store_flow_get(csam_store *store,
                                const unsigned char *handle_hash, int lock,
                                struct csam_store_flow *out);

/* Record the key chosen and the terms accepted (now), phone (E.164, or
 * NULL) for the SMS key, and move the flow to the credentials step.
 * Errors: CSAM_ERR_INVALID (no such key type), CSAM_ERR_DB. */
csam_result csam_store_flow_choose_key(csam_store *store, int64_t flow_id,
                                       enum csam_key_type key_type,
                                       const char *terms_version,
                                       const char *phone);

/* Bind the flow to its account (the pending one, or the one it
 * recovers), keep a recovery's new password (a PHC string; NULL: none)
 * until the key is confirmed, and move the flow to step ("confirm", or
 * "email" when the address is verified first).  Errors: CSAM_ERR_DB. */
csam_result csam_store_flow_to_step(csam_store *store, int64_t flow_id,
                                    int64_t account_id,
                                    const char *password_hash,
                                    const char *step);

#endif
