/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin secret check: the secret file passes the checks every
 * component makes when it loads it (csam_secret_load: a regular file of
 * 32 to 4096 bytes, owned by root, readable by root's group or
 * secret_group at most, writable by its owner only, in safe directories),
 * and it is the secret the database was made with (its fingerprint in
 * csam_installation, recorded here or by the first desk registration
 * when absent), or the one that replaces it (previous_secret_file is
 * then the database's: a rekey is pending).
 *
 * csam-admin secret rekey [--batch N]: move what the previous secret made
 * to the current one (csam_engine_admin_secret_rekey), with a line of
 * progress per batch on standard error.
 */
#define _POSIX_C_SOURCE 200809L /* getpwuid_r, getgrgid_r */
#include <errno.h>
#include <stdlib.h>
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
    const json_t *until = json_object_get(obj, "previous_needed_until");

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
           : strcmp(verdict, "previous") == 0
               ? "the database was made with previous_secret_file: the "
                 "rekey is pending (csam-admin secret rekey)"
               : "it is the secret the database was made with",
           json_string_value(json_object_get(obj, "recorded_at")),
           json_string_value(json_object_get(obj, "recorded_by")));
    if (!json_is_true(json_object_get(obj, "previous_secret")))
        return;
    if (json_is_string(until))
        printf("previous_secret_file is still needed until %s (codes, "
               "links, sessions and known devices made before the "
               "rekey)%s\n",
               json_string_value(until),
               strcmp(verdict, "previous") == 0 ? " and the rekey" : "");
    else if (strcmp(verdict, "previous") != 0)
        printf("previous_secret_file is no longer needed: remove it from "
               "every node\n");
}

static int csam_admin_secret_check(struct csam_admin *adm)
{
    struct csam_admin_secret check;
    char user[256], group[256], mode[8];
    const char *verdict;
    struct stat st;
    csam_result res;

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
            "(its fingerprint was recorded %s by %s)%s: no code, session or "
            "sealed number would match",
            adm->config.secret_file, check.recorded_at, check.recorded_by,
            check.has_previous ? ", nor is previous_secret_file" : "");
    verdict = check.verdict == CSAM_ADMIN_SECRET_RECORDED   ? "recorded"
              : check.verdict == CSAM_ADMIN_SECRET_PREVIOUS ? "previous"
                                                            : "same";
    csam_admin_owner(&st, user, sizeof(user), group, sizeof(group));
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    return csam_admin_answer(
        adm,
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:o, s:o, "
                  "s:o}",
                  "secret_file", adm->config.secret_file, "mode", mode, "owner",
                  user, "group", group, "bytes", (json_int_t)st.st_size,
                  "database", verdict, "recorded_at", check.recorded_at,
                  "recorded_by", check.recorded_by, "previous_secret",
                  check.has_previous, "rekey_started_at",
                  csam_admin_time(check.rekey_started_at), "rekeyed_at",
                  csam_admin_time(check.rekeyed_at), "previous_needed_until",
                  csam_admin_time(check.previous_needed_until)),
        csam_admin_secret_human);
}

/* ---- rekey ------------------------------------------------------------- */

static int csam_admin_secret_progress(void *ctx, const char *table,
                                      const struct csam_admin_rekey *sofar)
{
    (void)ctx;
    fprintf(stderr,
            "csam-admin: secret rekey: batch %ld (%s): %lld accounts, "
            "%lld keys, %lld registrations moved, %lld already done, "
            "%lld left\n",
            sofar->batches, table, (long long)sofar->accounts,
            (long long)sofar->keys, (long long)sofar->registrations,
            (long long)sofar->done, (long long)sofar->left);
    return 0;
}

static void csam_admin_rekey_human(const json_t *obj)
{
    printf("re-keyed: %lld accounts (%lld subjects kept), %lld TOTP keys, "
           "%lld registrations; %lld rows were already done; %ld batches in "
           "%.2f s\n",
           (long long)json_integer_value(json_object_get(obj, "accounts")),
           (long long)json_integer_value(json_object_get(obj, "subjects")),
           (long long)json_integer_value(json_object_get(obj, "keys")),
           (long long)json_integer_value(json_object_get(obj, "registrations")),
           (long long)json_integer_value(json_object_get(obj, "done")),
           (long)json_integer_value(json_object_get(obj, "batches")),
           json_real_value(json_object_get(obj, "seconds")));
    if (json_integer_value(json_object_get(obj, "unsealed")) > 0)
        printf("%lld accounts made before schema 4 hold no sealed number: "
               "their subject is kept, their hash stays the previous "
               "secret's (found by number only while previous_secret_file "
               "is set, until their person identifies again)\n",
               (long long)json_integer_value(json_object_get(obj, "unsealed")));
    if (json_is_true(json_object_get(obj, "complete")))
        printf("complete: the database records the current secret; "
               "csam-admin secret check says until when previous_secret_file "
               "is still needed\n");
    else
        printf("%lld rows left under the previous secret (%lld held by "
               "another account of the same person; see the log): run it "
               "again\n",
               (long long)json_integer_value(json_object_get(obj, "left")),
               (long long)json_integer_value(json_object_get(obj, "taken")));
}

static int csam_admin_secret_rekey(struct csam_admin *adm, int argc,
                                   char **argv)
{
    struct csam_admin_rekey out;
    long batch = CSAM_ADMIN_REKEY_BATCH;
    csam_result res;
    char *end;
    int i;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
            errno = 0;
            batch = strtol(argv[++i], &end, 10);
            if (errno == 0 && end != argv[i] && *end == '\0' && batch >= 1
                && batch <= CSAM_ADMIN_REKEY_BATCH_MAX)
                continue;
        }
        return csam_admin_fail(adm, "usage: csam-admin secret rekey "
                                    "[--batch N] (N: 1 to 100000)");
    }
    if (csam_admin_open_engine(adm) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    res = csam_engine_admin_secret_rekey(
        adm->engine, adm->actor, batch, csam_admin_secret_progress, NULL, &out);
    if (res == CSAM_ERR_CONFIG)
        return csam_admin_fail(
            adm,
            "secret rekey: %s sets no previous_secret_file: there is "
            "nothing to re-key from (set it to the secret that "
            "secret_file replaces, on every node, then run this)",
            adm->conf_path);
    if (res == CSAM_ERR_STATE)
        return csam_admin_fail(
            adm, "secret rekey: the database was made with neither "
                 "secret_file nor previous_secret_file (csam-admin secret "
                 "check): nothing was changed");
    if (res == CSAM_ERR_DB)
        return csam_admin_fail(
            adm,
            "secret rekey: %s (it reads and writes hashes and sealed "
            "values: connect as the schema's owner, not csam_admin; "
            "the batches committed stay, a new run resumes)",
            csam_admin_reason(res));
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "secret rekey: %s", csam_admin_reason(res));
    return csam_admin_answer(
        adm,
        json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:f}",
            "accounts", (json_int_t)out.accounts, "keys", (json_int_t)out.keys,
            "registrations", (json_int_t)out.registrations, "subjects",
            (json_int_t)out.subjects, "done", (json_int_t)out.done, "unsealed",
            (json_int_t)out.unsealed, "left", (json_int_t)out.left, "taken",
            (json_int_t)out.taken, "batches", (json_int_t)out.batches,
            "complete", out.complete, "seconds", out.seconds),
        csam_admin_rekey_human);
}

int csam_admin_cmd_secret(struct csam_admin *adm, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "check") == 0)
        return csam_admin_secret_check(adm);
    if (argc >= 1 && strcmp(argv[0], "rekey") == 0)
        return csam_admin_secret_rekey(adm, argc - 1, argv + 1);
    return csam_admin_fail(adm, "usage: csam-admin secret check | "
                                "secret rekey [--batch N]");
}
