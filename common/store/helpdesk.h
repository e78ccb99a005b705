/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helpdesk's rows (DESIGN 2.8): what an officer may see of a person
 * found by the keyed hash of the national number (registrations, account,
 * keys, locks, the officers' actions), and the three things an officer
 * may do: mail a new link, revoke a registration, lift a lock.  Typed
 * functions; the SQL next to each in helpdesk.c.
 *
 * Nothing here returns a hash, a code or a secret: the rows are what the
 * desk may show.  Functions that write run inside the caller's
 * transaction when one is open.
 */
#ifndef CSAM_COMMON_STORE_HELPDESK_H
#define CSAM_COMMON_STORE_HELPDESK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "keytype.h"
#include "result.h"
#include "store.h"
#include "validate.h"

/* RFC 3339 UTC times and their NUL, with room to spare. */
#define CSAM_STORE_HELPDESK_TIME_SIZE 32
/* csam_registrations.created_by, csam_audit.actor and source hold this
 * much text, and its NUL. */
#define CSAM_STORE_HELPDESK_NAME_SIZE 256

struct csam_store_helpdesk_registration {
    int64_t id;
    /* "used", "revoked", "superseded", "expired" or "pending", in that
     * order of precedence */
    char status[16];
    char procedure[8]; /* "desk" or "online" */
    char created_at[CSAM_STORE_HELPDESK_TIME_SIZE];
    char expires_at[CSAM_STORE_HELPDESK_TIME_SIZE];
    char officer[CSAM_STORE_HELPDESK_NAME_SIZE]; /* created_by */
};

/* The registrations of the person of nrn_hash, the newest first, at most
 * max in out[0..*n).  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_helpdesk_registrations(
    csam_store *store, const unsigned char *nrn_hash,
    struct csam_store_helpdesk_registration *out, size_t max, size_t *n);

/* A key as the desk sees it: the newest of its type (an active one first). */
struct csam_store_helpdesk_key {
    enum csam_key_type type;
    char status[16]; /* "active", "pending" or "inactive" */
};

#define CSAM_STORE_HELPDESK_KEYS_MAX 8

struct csam_store_helpdesk_account {
    int64_t id;
    char username[CSAM_USERNAME_BUFSIZE];
    char status[16]; /* "pending", "active" or "disabled" */
    /* The code-failure lock, "" when none or over */
    char locked_until[CSAM_STORE_HELPDESK_TIME_SIZE];
    struct csam_store_helpdesk_key keys[CSAM_STORE_HELPDESK_KEYS_MAX];
    size_t n_keys;
};

/* The account of the person of nrn_hash with its keys, in one statement:
 * the one that is not disabled (there is at most one), else the newest
 * disabled one.  Errors: CSAM_ERR_NOT_FOUND (the person has none),
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result
csam_store_helpdesk_account(csam_store *store, const unsigned char *nrn_hash,
                            struct csam_store_helpdesk_account *out);

/* When the lock of the login name whose keyed hash is name_hash ends
 * (csam_password_failures: wrong passwords), "" when it is not locked.
 * While the secret is replaced, name_hash_previous (NULL: none) is the
 * name's hash under the previous secret, whose row counts when the
 * current one has none (as at the login, logins.c).
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result
csam_store_helpdesk_name_lock(csam_store *store, const unsigned char *name_hash,
                              const unsigned char *name_hash_previous,
                              char locked_until[CSAM_STORE_HELPDESK_TIME_SIZE]);

/* One thing an officer did about the person. */
struct csam_store_helpdesk_action {
    char action[65];
    char officer[CSAM_STORE_HELPDESK_NAME_SIZE];
    char at[CSAM_STORE_HELPDESK_TIME_SIZE];
    char source[CSAM_STORE_HELPDESK_NAME_SIZE]; /* "" when unknown */
};

/* What officers did about the person of nrn_hash (audit rows of the
 * person's registrations and accounts whose actor is an officer: desk
 * registrations made, letters shown, searches, links resent,
 * registrations revoked, locks lifted), the newest first, at most max in
 * out[0..*n).  Errors: CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_helpdesk_history(csam_store *store,
                                        const unsigned char *nrn_hash,
                                        struct csam_store_helpdesk_action *out,
                                        size_t max, size_t *n);

/* What the activation mail of a registration is written with. */
struct csam_store_helpdesk_mail {
    char email[CSAM_EMAIL_MAX + 1];
    char language[3];
    char first_name[CSAM_NAME_MAX + 1];
    char last_name[CSAM_NAME_MAX + 1];
    char expires_brussels_date[CSAM_STORE_HELPDESK_TIME_SIZE]; /* YYYY-MM-DD */
};

/* The live desk registration id (not used, superseded or expired) gets
 * the link token token_hash instead of its own: the old link opens
 * nothing any more, the paper code stays.  out says where to mail the new
 * link.  Errors: CSAM_ERR_NOT_FOUND (no such live desk registration),
 * CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result csam_store_helpdesk_relink(csam_store *store, int64_t id,
                                       const unsigned char *token_hash,
                                       struct csam_store_helpdesk_mail *out);

/* Revoke the live registration id for officer: the pending account it
 * made deleted (its username free again), the registration superseded
 * with revoked_by set, its live activation flows superseded.
 * *accounts_deleted counts the accounts (0 or 1).  Errors:
 * CSAM_ERR_NOT_FOUND (no such live registration), CSAM_ERR_INVALID,
 * CSAM_ERR_DB. */
csam_result csam_store_helpdesk_revoke(csam_store *store, int64_t id,
                                       const char *officer,
                                       long *accounts_deleted);

/* What lifting the locks of an account found. */
struct csam_store_helpdesk_unlocked {
    int64_t account_id;
    int account_locked; /* wrong codes had locked the account */
    int name_locked;    /* wrong passwords had locked its name */
};

/* Lift every temporary lock of the account named username that is not
 * disabled, in one statement: its code failures (failures 0, no
 * locked_until), its known devices' and its login name's, whose keyed
 * hash is name_hash (failures, delay, lock and the count of locks that
 * makes the next one longer, all back to none); and the name's row under
 * the previous secret's hash name_hash_previous too (NULL: none).  Errors:
 * CSAM_ERR_NOT_FOUND (no such account), CSAM_ERR_INVALID, CSAM_ERR_DB. */
csam_result
csam_store_helpdesk_unlock(csam_store *store, const char *username,
                           const unsigned char *name_hash,
                           const unsigned char *name_hash_previous,
                           struct csam_store_helpdesk_unlocked *out);

#endif
