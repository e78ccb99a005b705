/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for integration tests run under tests/lib/run-with-services:
 * the CSAM_TEST_* services, a configuration pointing at them, an engine
 * over a real store and the real SMTP sender, direct libpq access for
 * checks, and the mails the SMTP server stored in its Maildir.
 */
#ifndef CSAM_TESTS_TEST_ENV_H
#define CSAM_TESTS_TEST_ENV_H

#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"
#include "crypto.h"
#include "engine.h"
#include "mail.h"
#include "password.h"
#include "sms.h"
#include "store.h"

struct csam_test_env {
    const char *srcdir;
    const char *pg;     /* conninfo of the test database, as a superuser
                           (the tests' own checks and setup) */
    const char *pg_web; /* as a member of csam_web (conf/sql/roles.sql) */
    const char *pg_pam; /* as a member of csam_pam */
    const char *pg_ctl; /* stop|start|restart */
    const char *smtp_url;
    const char *dead_smtp_url;
    const char *maildir;
    const char *tmpdir;
    const char *secret_file;
    const char *sms_url; /* NULL when the runner has no SMS gateway */
    const char *sms_dir;
};

/* Read the CSAM_TEST_* variables; exits 77 (skipped) when they are not
 * set, i.e. when the test is not run under run-with-services. */
void csam_test_env_get(struct csam_test_env *env);

/* Run "$CSAM_TEST_PG_CTL action"; 0 on success. */
int csam_test_pg_ctl(const struct csam_test_env *env, const char *action);

/* A direct connection for checks; aborts the test when it fails. */
PGconn *csam_test_pg_connect(const struct csam_test_env *env);

/* Run sql with up to one text parameter (param may be NULL) and return
 * the first column of the first row as a number (-1: no row, NULL, or an
 * error, which is printed). */
long long csam_test_pg_value(PGconn *conn, const char *sql, const char *param);

/* 1 if any message libcsam logged through a test context contains
 * needle; how many bytes were logged. */
int csam_test_log_contains(const char *needle);
size_t csam_test_log_length(void);

/* The logger test contexts give libcsam: what goes through it is what
 * csam_test_log_contains() searches. */
struct csam_logger csam_test_logger(void);

/* Everything a test needs to call the engine. */
struct csam_test_ctx {
    struct csam_test_env env;
    struct csam_config config;
    csam_secret *secret;
    csam_store *store;
    csam_wordlist *common;
    csam_wordlist *reserved; /* conf/reserved-usernames.txt */
    struct csam_smtp smtp;
    struct csam_sms sms; /* used when its transport is not none */
    csam_engine *engine;
};

/* Configure SMS through the test gateway (sms_sink.py): url_suffix "" for
 * a gateway that accepts, "/status/503" for one that refuses; NULL for no
 * SMS at all.  Remakes the engine; aborts on failure. */
void csam_test_ctx_sms(struct csam_test_ctx *ctx, const char *url_suffix);

/* The code of the newest SMS the test gateway got for `to` (E.164): 0 and
 * code filled (the SMS file removed), or -1. */
int csam_test_sms_code(const struct csam_test_env *env, const char *to,
                       char *code, size_t size);

/* How many SMS the test gateway holds for `to`. */
int csam_test_sms_count(const struct csam_test_env *env, const char *to);

/* The TOTP code oathtool computes for a base32 secret at Unix time t (0:
 * now): 0 and code (7 bytes) filled, or -1. */
int csam_test_totp(const char *secret, long long t, char code[8]);

/* Open a context: default configuration with the test database as the
 * web's role (mod_csam's grants: env.pg_web), data_dir $CSAM_SRCDIR/conf,
 * public URL https://portal.example.be, the test secret, a store and an
 * engine whose sender is csam_smtp_sender on the live relay (or the dead
 * one when dead_smtp).  Aborts on failure. */
void csam_test_ctx_open(struct csam_test_ctx *ctx, int dead_smtp);
/* The same, connected with conninfo (e.g. env.pg_pam for the PAM side:
 * csam_test_env_get fills an env first). */
void csam_test_ctx_open_as(struct csam_test_ctx *ctx, int dead_smtp,
                           const char *conninfo);
/* Make a new engine after changing ctx->config. */
void csam_test_ctx_reengine(struct csam_test_ctx *ctx);
void csam_test_ctx_close(struct csam_test_ctx *ctx);

/* A valid national number (born 19yy-mm-dd, serial n) and its birth date
 * "19yy-mm-dd"; nrn holds 12 bytes, birth 11. */
void csam_test_nrn(int yy, int mm, int dd, int serial, char *nrn, char *birth);

/* The newest mail to `to`, quoted-printable decoded, removed from the
 * Maildir (malloc'd; NULL when there is none).  Waits up to 5 s. */
char *csam_test_mail_take(const struct csam_test_env *env, const char *to);

/* How many mails to `to` are waiting in the Maildir. */
int csam_test_mail_count(const struct csam_test_env *env, const char *to);

/* The text/plain part of a decoded mail, malloc'd, or NULL. */
char *csam_test_mail_text(const char *mail);

/* The one run of 6-8 digits in the text part: 0 and code filled, or -1
 * (none, or more than one). */
int csam_test_mail_code(const char *mail, char *code, size_t size);

/* The token of the activation link ("activate?t=<token>"): 0 or -1. */
int csam_test_mail_token(const char *mail, char token[CSAM_TOKEN_SIZE]);

/* A citizen for the engine tests: unique national number, e-mail
 * address and username from a tag and a serial. */
struct csam_test_citizen {
    char nrn[12];
    char birth[11];
    char email[128];
    char username[CSAM_USERNAME_BUFSIZE];
    char password[64];
    struct csam_registration reg;
    struct csam_registration_receipt receipt;
    char token[CSAM_TOKEN_SIZE];  /* from the activation mail */
    char handle[CSAM_TOKEN_SIZE]; /* after the paper code */
};

void csam_test_citizen_init(struct csam_test_citizen *c, const char *tag,
                            int serial);

/* Register the citizen and read the link's token from the mail.
 * Returns what csam_engine_register returned; aborts if the mail with a
 * token is missing after a success. */
csam_result csam_test_register(struct csam_test_ctx *ctx,
                               struct csam_test_citizen *c);

/* The whole activation to an active e-mail key; aborts on any failure. */
void csam_test_activate(struct csam_test_ctx *ctx, struct csam_test_citizen *c);

/* Take the newest mail to `to` and its code (aborts when missing). */
void csam_test_take_code(struct csam_test_ctx *ctx, const char *to, char *code,
                         size_t size);

/* A web login of an active citizen up to the mailed code: password, the
 * e-mail key chosen, the code taken from the mail.  Aborts on failure. */
void csam_test_login_to_code(struct csam_test_ctx *ctx,
                             const struct csam_test_citizen *c,
                             const char *source, char handle[CSAM_TOKEN_SIZE],
                             char *code, size_t size);

/* The whole web login: a live session in *t.  Aborts on failure. */
void csam_test_login(struct csam_test_ctx *ctx,
                     const struct csam_test_citizen *c, const char *source,
                     struct csam_session_ticket *t);

#endif
