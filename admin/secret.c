/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin secret check: the secret file passes the checks every
 * component makes when it loads it (csam_secret_load: a regular file of
 * 32 to 4096 bytes, owned by root, readable by root's group or
 * secret_group at most, writable by its owner only, in safe directories),
 * and it is the secret the database was made with (its fingerprint in
 * csam_installation, recorded here or by the first desk registration
 * when absent).
 */
#define _POSIX_C_SOURCE 200809L /* getpwuid_r, getgrgid_r */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "csam-admin.h"

static void csam_admin_owner(const struct stat *st, char *user, size_t ulen,
                             char *group, size_t glen)
{
    struct passwd pw, *pwp = NULL;
    struct group gr, *grp = NULL;
    char buf[4096];

    if (getpwuid_r(st->st_uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL)
        snprintf(user, ulen, "%s", pwp->pw_name);
    else
        snprintf(user, ulen, "%lu", (unsigned long)st->st_uid);
    if (getgrgid_r(st->st_gid, &gr, buf, sizeof(buf), &grp) == 0 && grp != NULL)
        snprintf(group, glen, "%s", grp->gr_name);
    else
        snprintf(group, glen, "%lu", (unsigned long)st->st_gid);
}

static void csam_admin_secret_human(const json_t *obj)
{
    const char *verdict = json_string_value(json_object_get(obj, "database"));

    printf("secret file %s: mode %s, owner %s, group %s, %lld bytes: ok\n",
           json_string_value(json_object_get(obj, "secret_file")),
           json_string_value(json_object_get(obj, "mode")),
           json_string_value(json_object_get(obj, "owner")),
           json_string_value(json_object_get(obj, "group")),
           (long long)json_integer_value(json_object_get(obj, "bytes")));
    printf("%s (recorded %s by %s)\n",
           strcmp(verdict, "recorded") == 0
               ? "the database had no fingerprint of its secret: this one's "
                 "is recorded now"
               : "it is the secret the database was made with",
           json_string_value(json_object_get(obj, "recorded_at")),
           json_string_value(json_object_get(obj, "recorded_by")));
}

int csam_admin_cmd_secret(struct csam_admin *adm, int argc, char **argv)
{
    struct csam_admin_secret check;
    char user[256], group[256], mode[8];
    struct stat st;
    csam_result res;

    if (argc != 1 || strcmp(argv[0], "check") != 0)
        return csam_admin_fail(adm, "usage: csam-admin secret check");
    /* The services load the secret with every check of csam_secret_load;
     * their message names the file and what is wrong with it. */
    if (csam_admin_open_engine(adm) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    if (stat(adm->config.secret_file, &st) != 0)
        return csam_admin_fail(adm, "secret_file %s: %s",
                               adm->config.secret_file, strerror(errno));
    res = csam_engine_admin_secret_check(adm->engine, adm->actor, &check);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "secret check: %s", csam_admin_reason(res));
    if (check.verdict == CSAM_ADMIN_SECRET_OTHER)
        return csam_admin_fail(
            adm,
            "secret_file %s is not the secret this database was made with "
            "(its fingerprint was recorded %s by %s): no code, session or "
            "sealed number would match",
            adm->config.secret_file, check.recorded_at, check.recorded_by);
    csam_admin_owner(&st, user, sizeof(user), group, sizeof(group));
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    return csam_admin_answer(
        adm,
        json_pack(
            "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "secret_file",
            adm->config.secret_file, "mode", mode, "owner", user, "group",
            group, "bytes", (json_int_t)st.st_size, "database",
            check.verdict == CSAM_ADMIN_SECRET_RECORDED ? "recorded" : "same",
            "recorded_at", check.recorded_at, "recorded_by", check.recorded_by),
        csam_admin_secret_human);
}
