/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin: the administrator's tool (DESIGN 3.7, csam-admin(8)).
 *
 *     csam-admin [-c FILE] [--json] COMMAND [ARGS]
 *
 * main() reads the global options and hands the rest to the command
 * group; each group checks its own words.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "csam-admin.h"

static const char csam_admin_usage[] =
    "usage: csam-admin [-c FILE] [--json] COMMAND\n"
    "commands:\n"
    "  schema status | schema upgrade\n"
    "  purge [--dry-run] [--batch N]\n"
    "  account show USERNAME | account unlock USERNAME\n"
    "  sessions revoke USERNAME\n"
    "  secret check | secret rekey [--batch N]\n"
    "  stats\n"
    "  -c FILE   csam.conf to use (default " CSAM_ADMIN_DEFAULT_CONF ")\n"
    "  --json    answer with one JSON object\n";

struct csam_admin_command {
    const char *name;
    int (*run)(struct csam_admin *adm, int argc, char **argv);
};

static const struct csam_admin_command csam_admin_commands[] = {
    {"schema", csam_admin_cmd_schema},   {"purge", csam_admin_cmd_purge},
    {"account", csam_admin_cmd_account}, {"sessions", csam_admin_cmd_sessions},
    {"secret", csam_admin_cmd_secret},   {"stats", csam_admin_cmd_stats},
};

int main(int argc, char **argv)
{
    struct csam_admin adm;
    size_t i;
    int arg, rc;

    memset(&adm, 0, sizeof(adm));
    adm.conf_path = CSAM_ADMIN_DEFAULT_CONF;
    for (arg = 1; arg < argc && argv[arg][0] == '-'; arg++) {
        if (strcmp(argv[arg], "-c") == 0 && arg + 1 < argc) {
            adm.conf_path = argv[++arg];
        } else if (strcmp(argv[arg], "--json") == 0) {
            adm.json = 1;
        } else if (strcmp(argv[arg], "-h") == 0
                   || strcmp(argv[arg], "--help") == 0) {
            fputs(csam_admin_usage, stdout);
            return CSAM_ADMIN_OK;
        } else {
            fprintf(stderr, "csam-admin: unknown option '%s'\n%s", argv[arg],
                    csam_admin_usage);
            return CSAM_ADMIN_FAIL;
        }
    }
    if (arg == argc) {
        fputs(csam_admin_usage, stderr);
        return CSAM_ADMIN_FAIL;
    }
    /* Actions on accounts are NOTICE lines in the auth log, as the
     * helpdesk's are in httpd's error log. */
    openlog("csam-admin", LOG_PID, LOG_AUTHPRIV);
    rc = -1;
    for (i = 0;
         i < sizeof(csam_admin_commands) / sizeof(csam_admin_commands[0]); i++)
        if (strcmp(argv[arg], csam_admin_commands[i].name) == 0)
            rc = csam_admin_commands[i].run(&adm, argc - arg - 1,
                                            argv + arg + 1);
    if (rc < 0) {
        fprintf(stderr, "csam-admin: unknown command '%s'\n%s", argv[arg],
                csam_admin_usage);
        rc = CSAM_ADMIN_FAIL;
    }
    csam_admin_close(&adm);
    closelog();
    return rc;
}
