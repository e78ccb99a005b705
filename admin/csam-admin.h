/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin's shared state: the configuration, the connection, the
 * engine when a command needs the secret, and how to answer (text or
 * JSON).  Each command group lives in its own file (schema.c, purge.c,
 * account.c, sessions.c, secret.c, stats.c); context.c builds what they
 * use, output.c prints.  A host: it sees the engine's public header only.
 */
#ifndef CSAM_ADMIN_CSAM_ADMIN_H
#define CSAM_ADMIN_CSAM_ADMIN_H

#include <jansson.h>

#include "config.h"
#include "engine.h"

/* The default csam.conf, from configure's sysconfdir. */
#ifndef CSAM_SYSCONFDIR
#define CSAM_SYSCONFDIR "/etc"
#endif
#define CSAM_ADMIN_DEFAULT_CONF CSAM_SYSCONFDIR "/csam/csam.conf"

/* Exit codes (DESIGN 3.7): 0 success, 1 any error, with a message. */
#define CSAM_ADMIN_OK 0
#define CSAM_ADMIN_FAIL 1

struct csam_admin {
    const char *conf_path;
    int json; /* --json: one JSON object on standard output */
    struct csam_config config;
    int config_ready;
    csam_store *store;
    csam_services *services;
    csam_engine *engine;
    struct csam_logger logger;
    /* "csam-admin:<user>", for the audit trail and the installation row */
    char actor[300];
};

/* ---- context.c --------------------------------------------------------- */

/* Read and check csam.conf (as pam_csam does: owned by root, writable by
 * nobody else), then connect to its database; with check_schema, refuse
 * a schema older than this build's.  CSAM_ADMIN_FAIL after saying why. */
int csam_admin_connect(struct csam_admin *adm, int check_schema);

/* csam_admin_connect with the schema checked, then the services (the
 * secret file) and an engine over them. */
int csam_admin_open_engine(struct csam_admin *adm);

/* Release everything; safe on a half-built context. */
void csam_admin_close(struct csam_admin *adm);

/* ---- output.c ---------------------------------------------------------- */

/* Say what went wrong ("csam-admin: " and the message on standard error;
 * with --json also {"error": ...} on standard output); returns
 * CSAM_ADMIN_FAIL. */
int csam_admin_fail(struct csam_admin *adm, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* An engine result as a short reason ("database unavailable", ...). */
const char *csam_admin_reason(csam_result res);

/* With --json print obj; else call human(obj).  Takes obj's reference.
 * CSAM_ADMIN_OK, or CSAM_ADMIN_FAIL when obj is NULL (out of memory). */
int csam_admin_answer(struct csam_admin *adm, json_t *obj,
                      void (*human)(const json_t *obj));

/* "" as JSON null, any other text as a string. */
json_t *csam_admin_time(const char *rfc3339);

/* ---- the commands: argv[0] is the command's first word after the group */

int csam_admin_cmd_schema(struct csam_admin *adm, int argc, char **argv);
int csam_admin_cmd_purge(struct csam_admin *adm, int argc, char **argv);
int csam_admin_cmd_account(struct csam_admin *adm, int argc, char **argv);
int csam_admin_cmd_sessions(struct csam_admin *adm, int argc, char **argv);
int csam_admin_cmd_secret(struct csam_admin *adm, int argc, char **argv);
int csam_admin_cmd_stats(struct csam_admin *adm, int argc, char **argv);

#endif
