/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a command works with, built in the order pam_csam builds it:
 * csam.conf first (it names everything else), then the database, then,
 * for the commands that hash or compare with the secret, the services
 * and an engine.
 */
#define _POSIX_C_SOURCE 200809L /* getpwuid_r */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "csam-admin.h"

/* libcsam's errors go to the terminal (they name the database or the
 * file); its NOTICE lines are the actions on accounts, for the auth log. */
static void csam_admin_log(void *ctx, enum csam_log_level level,
                           const char *message)
{
    (void)ctx;
    if (level <= CSAM_LOG_WARNING)
        fprintf(stderr, "csam-admin: %s\n", message);
    else if (level == CSAM_LOG_NOTICE)
        syslog(LOG_NOTICE, "%s", message);
}

static int csam_admin_user_name(uid_t uid, char *out, size_t size)
{
    struct passwd pw, *found = NULL;
    char buf[4096];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
        return 0;
    snprintf(out, size, "%s", found->pw_name);
    return 1;
}

/* The person behind the command: the login user the kernel's audit
 * subsystem tracks (pam_loginuid; unchanged by sudo or su), else the real
 * user.  Never the environment: $USER and $SUDO_USER are whatever the
 * caller says. */
static void csam_admin_actor(struct csam_admin *adm)
{
    char name[256] = "", line[32];
    unsigned long loginuid;
    FILE *fp = fopen("/proc/self/loginuid", "re");
    int known = 0;

    if (fp != NULL) {
        if (fgets(line, sizeof(line), fp) != NULL) {
            char *end;

            errno = 0;
            loginuid = strtoul(line, &end, 10);
            /* 4294967295: no login user (a daemon, a container) */
            if (errno == 0 && end != line && (*end == '\0' || *end == '\n')
                && loginuid < 4294967295UL)
                known = csam_admin_user_name((uid_t)loginuid, name,
                                             sizeof(name));
        }
        fclose(fp);
    }
    if (!known && !csam_admin_user_name(getuid(), name, sizeof(name)))
        snprintf(name, sizeof(name), "uid %lu", (unsigned long)getuid());
    snprintf(adm->actor, sizeof(adm->actor), "csam-admin:%s", name);
}

static int csam_admin_load_config(struct csam_admin *adm)
{
    char err[CSAM_CONFIG_ERRLEN];
    csam_result res;

    if (adm->config_ready)
        return CSAM_ADMIN_OK;
    res = csam_config_init(&adm->config);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "out of memory");
    adm->config_ready = 1;
    err[0] = '\0';
    /* The file names the database and the secret, as root reads it: the
     * same checks as pam_csam's (owned by root, writable by nobody
     * else). */
    res = csam_config_load(&adm->config, adm->conf_path, 1, err, sizeof(err));
    if (res == CSAM_OK)
        res = csam_config_check(&adm->config, err, sizeof(err));
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "%s",
                               err[0] != '\0' ? err : csam_result_name(res));
    adm->logger.fn = csam_admin_log;
    adm->logger.ctx = adm;
    csam_admin_actor(adm);
    return CSAM_ADMIN_OK;
}

int csam_admin_connect(struct csam_admin *adm, int check_schema)
{
    csam_result res;

    if (csam_admin_load_config(adm) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    if (adm->store == NULL) {
        res = csam_store_open(adm->config.database, &adm->logger, &adm->store);
        if (res != CSAM_OK)
            return csam_admin_fail(adm,
                                   "database: cannot connect with the "
                                   "'database' setting of %s",
                                   adm->conf_path);
    }
    if (check_schema) {
        res = csam_store_check_schema(adm->store);
        if (res == CSAM_ERR_SCHEMA)
            return csam_admin_fail(adm,
                                   "database: the schema is older than "
                                   "version %d: run 'csam-admin schema "
                                   "upgrade' first",
                                   CSAM_STORE_SCHEMA_VERSION);
        if (res != CSAM_OK)
            return csam_admin_fail(adm, "database: %s", csam_admin_reason(res));
    }
    return CSAM_ADMIN_OK;
}

int csam_admin_open_engine(struct csam_admin *adm)
{
    struct csam_services_error err;
    struct csam_engine_host host;
    csam_result res;

    if (csam_admin_connect(adm, 1) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    if (adm->engine != NULL)
        return CSAM_ADMIN_OK;
    memset(&err, 0, sizeof(err));
    res = csam_services_open(&adm->config, 0, &adm->services, &err);
    if (res != CSAM_OK && err.part == CSAM_SERVICES_SECRET)
        return csam_admin_fail(adm, "secret_file %s: %s",
                               adm->config.secret_file, err.msg);
    if (res != CSAM_OK && err.part == CSAM_SERVICES_PREVIOUS_SECRET)
        return csam_admin_fail(adm, "previous_secret_file %s: %s",
                               adm->config.previous_secret_file, err.msg);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "%s: %s", adm->conf_path,
                               err.msg[0] != '\0' ? err.msg
                                                  : csam_result_name(res));
    memset(&host, 0, sizeof(host));
    host.logger = adm->logger;
    res = csam_engine_open(adm->services, adm->store, &host, &adm->engine);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "%s", csam_admin_reason(res));
    return CSAM_ADMIN_OK;
}

void csam_admin_close(struct csam_admin *adm)
{
    /* The engine points at the store and the services: it goes first. */
    csam_engine_free(adm->engine);
    adm->engine = NULL;
    csam_store_close(adm->store);
    adm->store = NULL;
    csam_services_free(adm->services);
    adm->services = NULL;
    if (adm->config_ready)
        csam_config_free(&adm->config);
    adm->config_ready = 0;
}
