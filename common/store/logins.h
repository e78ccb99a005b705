/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store of logins: the password tries of a login name
 * (csam_password_failures), of a known device and of a source address,
 * the web login flows (csam_flows of kind "login") and the account a PAM
 * login reads.  Typed functions; the SQL next to each in logins.c.
 * (Named logins.h because every room is on the include path, and login.h
 * is the engine's public header.)
 */
#ifndef CSAM_COMMON_STORE_LOGINS_H
#define CSAM_COMMON_STORE_LOGINS_H

#include <stdint.h>

#include "challenge.h"

/* ---- counting a password try ------------------------------------------ */

struct csam_store_login_try {
    const char *username;             /* NULL: a name no account can have */
    const unsigned char *name_hash;   /* CSAM_HASH_LEN bytes */
    const unsigned char *device_hash; /* the browser's device token, NULL */
    /* The same two under the previous secret while the secret is
     * replaced (NULL: none; see csam_store_login_charge). */
    const unsigned char *name_hash_previous;
    const unsigned char *device_hash_previous;
    const char *source; /* counted on the web, NULL: not */
    const struct csam_store_limits *limits;
};

/* What counting the try found (its state before) and did.  Seconds are 0
 * for "none". */
struct csam_store_login_tally {
    int64_t account_id;  /* the active account of that name, 0: none */
    char *password_hash; /* its PHC string (malloc'd, caller frees), NULL */
    unsigned keys;       /* CSAM_KEY_* of its active keys */
    long account_lock;   /* its code-failure lock */
    long name_delay;     /* the name's delay before the try */
    long name_lock;      /* the name's lock before the try */
    int name_counted;    /* the try counted on the name */
    long name_wait;      /* the name's delay after the try */
    int name_locked_now; /* the try locked the name */
    int64_t device_id;   /* the known device the browser holds, 0: none */
    long device_lock;    /* its lock before the try */
    int device_previous; /* found under the previous secret's hash */
    int device_counted;  /* the try counted on it */
    int device_locked_now;
    long source_lock; /* the source's lock before the try */
    int source_counted;
    int source_locked_now;
};

/* Count one password try with every counter of DESIGN 4 in one statement
 * (see logins.c for the order).  Errors: CSAM_ERR_DB, CSAM_ERR_NOMEM,
 * CSAM_ERR_INVALID. */
csam_result csam_store_login_charge(csam_store *store,
                                    const struct csam_store_login_try *in,
                                    struct csam_store_login_tally *out);

/* Store the known device device_id, found under the previous secret's
 * hash `from`, under the current secret's hash `to` of its token, so that
 * it outlives the previous secret.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_DB. */
csam_result csam_store_login_device_rehash(csam_store *store, int64_t device_id,
                                           const unsigned char *from,
                                           const unsigned char *to);

/* Taking back the try a right password made, with its audit row. */
struct csam_store_login_settle {
    const unsigned char *name_hash; /* CSAM_HASH_LEN bytes */
    const char *prev_lock; /* the name's lock before the try, NULL: none */
    const char *action;    /* the audit row's */
    const char *actor;
    int64_t account_id;
    const char *source; /* the audit row's */
    int64_t device_id;  /* the known device it counted on, 0: none */
    int device_locked_now;
    long threshold;
    const char *counted_source; /* the source it counted on, NULL: none */
    int source_locked_now;
};

/* Errors: CSAM_ERR_DB. */
csam_result csam_store_login_settle(csam_store *store,
                                    const struct csam_store_login_settle *in);

/* The same, and a new login flow of handle_hash living ttl seconds (it
 * remembers the known device its codes count on).  Errors: CSAM_ERR_DB
 * (also when no flow was made). */
csam_result csam_store_login_open(csam_store *store,
                                  const struct csam_store_login_settle *in,
                                  const unsigned char *handle_hash, long ttl);

/* ---- the login flow ---------------------------------------------------- */

/* The live login flow of a handle with what a code needs, its row locked
 * until the transaction ends. */
struct csam_store_login_flow {
    int64_t id;
    int64_t account_id;
    int64_t key_id;  /* the active key of the type asked, 0: none */
    unsigned keys;   /* CSAM_KEY_* of the active keys */
    long locked_for; /* the account's lock, seconds, 0: none */
    int confirm;     /* a key was chosen before */
    enum csam_key_type chosen;
    char username[CSAM_USERNAME_BUFSIZE];
    char email[CSAM_EMAIL_MAX + 1];
    char language[3];
    char first_name[CSAM_NAME_MAX + 1];
    char phone[CSAM_PHONE_SIZE]; /* the active SMS key's, "" if none */
    int64_t device_id;           /* the known device it started from, 0 */
};

/* Errors: CSAM_ERR_NOT_FOUND (no live login flow), CSAM_ERR_DB. */
csam_result csam_store_login_flow_lock(csam_store *store,
                                       const unsigned char *handle_hash,
                                       const char *key_type,
                                       struct csam_store_login_flow *out);

/* The flow waits for a code of key_type.  Errors: CSAM_ERR_DB. */
csam_result csam_store_login_choose(csam_store *store, int64_t flow_id,
                                    const char *key_type);

/* The account's newest web login code, and the database clock. */
struct csam_store_login_pending {
    long age; /* seconds since issued; -1: the account never had a code */
    enum csam_key_type type;
    int usable, used;
    int64_t created, now; /* Unix seconds */
};

/* Errors: CSAM_ERR_DB. */
csam_result csam_store_login_pending(csam_store *store, int64_t account_id,
                                     struct csam_store_login_pending *out);

/* The account's live web login code becomes the flow's: issued just now,
 * or taken over from another login, whose flow is then superseded.
 * Errors: CSAM_ERR_DB (also when there is no such code). */
csam_result csam_store_login_adopt(csam_store *store, int64_t flow_id,
                                   int64_t account_id);

/* ---- PAM ----------------------------------------------------------------- */

/* The account of a name with its active keys. */
struct csam_store_login_account {
    int64_t id;
    int active;
    int disabled;
    long locked_for; /* seconds, 0 when not locked */
    unsigned keys;   /* CSAM_KEY_* of the active keys */
    char language[3];
    char email[CSAM_EMAIL_MAX + 1];
    char first_name[CSAM_NAME_MAX + 1];
    char phone[CSAM_PHONE_SIZE]; /* the active SMS key's, "" if none */
};

/* Errors: CSAM_ERR_NOT_FOUND (no account of that name), CSAM_ERR_DB. */
csam_result csam_store_login_account(csam_store *store, const char *username,
                                     struct csam_store_login_account *out);

/* Inside a transaction: the account's row locked until it ends, so that
 * two logins of one account issue codes one after the other.
 * Errors: CSAM_ERR_DB. */
csam_result csam_store_login_account_lock(csam_store *store,
                                          int64_t account_id);

#endif
