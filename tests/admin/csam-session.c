/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-session: a web session from the command line, for the csam-admin
 * tests (sessions revoke must end it for the engine's own check):
 *
 *   csam-session CONF hash COOKIE    the hex keyed hash a session row of
 *                                    that cookie is stored under
 *   csam-session CONF check COOKIE   exit 0 and "live" when the engine's
 *                                    session check accepts it, 1 and
 *                                    "dead" when it does not
 *
 * CONF is read without the ownership check (a test tool runs as anyone).
 * Exits 2 on bad usage or a setup failure.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "engine_internal.h"

int main(int argc, char **argv)
{
    struct csam_services_error serr;
    struct csam_session_info info;
    struct csam_config cfg;
    char err[CSAM_CONFIG_ERRLEN];
    csam_services *sv = NULL;
    csam_store *store = NULL;
    unsigned char hash[CSAM_HASH_LEN];
    int rc = 2;
    size_t i;

    if (argc != 4
        || (strcmp(argv[2], "hash") != 0 && strcmp(argv[2], "check") != 0)) {
        fprintf(stderr, "usage: csam-session CONF hash|check COOKIE\n");
        return 2;
    }
    if (csam_config_init(&cfg) != CSAM_OK
        || csam_config_load(&cfg, argv[1], 0, err, sizeof(err)) != CSAM_OK) {
        fprintf(stderr, "csam-session: %s\n", err);
        return 2;
    }
    if (csam_services_open(&cfg, 0, &sv, &serr) != CSAM_OK) {
        fprintf(stderr, "csam-session: %s\n", serr.msg);
        goto out;
    }
    if (strcmp(argv[2], "hash") == 0) {
        if (csam_engine_hash_secret(csam_services_secret(sv),
                                    CSAM_PURPOSE_SESSION, "session", "0",
                                    argv[3], hash)
            != CSAM_OK)
            goto out;
        for (i = 0; i < CSAM_HASH_LEN; i++)
            printf("%02x", hash[i]);
        printf("\n");
        rc = 0;
        goto out;
    }
    if (csam_store_open(cfg.database, NULL, &store) != CSAM_OK) {
        fprintf(stderr, "csam-session: cannot connect\n");
        goto out;
    }
    if (csam_session_check(sv, store, argv[3], 0, &info) == CSAM_OK) {
        printf("live %s\n", info.username);
        rc = 0;
    } else {
        printf("dead\n");
        rc = 1;
    }

out:
    csam_store_close(store);
    csam_services_free(sv);
    csam_config_free(&cfg);
    return rc;
}
