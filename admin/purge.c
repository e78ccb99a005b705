/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin purge [--dry-run] [--batch N]: delete what expired, in
 * short batches (csam_admin_purge says what and how); --dry-run counts.
 * Needs no secret: the daily timer runs it with csam.conf alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csam-admin.h"

static void csam_admin_purge_human(const json_t *obj)
{
    const json_t *rows = json_object_get(obj, "rows");
    int dry = json_is_true(json_object_get(obj, "dry_run"));
    const char *key;
    const json_t *n;

    printf("%s\n", dry ? "would delete (dry run):" : "deleted:");
    json_object_foreach((json_t *)rows, key, n)
    {
        printf("  %-18s %lld\n", key, (long long)json_integer_value(n));
    }
    if (json_is_true(json_object_get(obj, "audit_kept")))
        printf("  (audit_retention is 0: the audit trail is kept)\n");
    if (!dry)
        printf("%lld batches, the longest %.1f ms, %.2f s in all\n",
               (long long)json_integer_value(json_object_get(obj, "batches")),
               json_real_value(json_object_get(obj, "longest_batch_ms")),
               json_real_value(json_object_get(obj, "seconds")));
}

static int csam_admin_purge_batch_arg(const char *s, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 100000)
        return 0;
    *out = v;
    return 1;
}

int csam_admin_cmd_purge(struct csam_admin *adm, int argc, char **argv)
{
    struct csam_admin_purge out;
    long batch = CSAM_ADMIN_PURGE_BATCH;
    json_t *rows, *obj;
    int dry_run = 0, i;
    csam_result res;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0)
            dry_run = 1;
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc
                 && csam_admin_purge_batch_arg(argv[i + 1], &batch))
            i++;
        else
            return csam_admin_fail(adm, "usage: csam-admin purge [--dry-run] "
                                        "[--batch N] (N: 1 to 100000)");
    }
    if (csam_admin_connect(adm, 1) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    res = csam_admin_purge(adm->store, &adm->config, dry_run, batch, &out);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "purge: %s", csam_admin_reason(res));
    rows = json_object();
    for (i = 0; rows != NULL && i < CSAM_ADMIN_PURGE_KINDS; i++)
        json_object_set_new(rows, csam_admin_purge_name(i),
                            json_integer(out.rows[i]));
    obj = json_pack(
        "{s:b, s:o, s:b, s:I, s:f, s:f, s:I}", "dry_run", dry_run, "rows", rows,
        "audit_kept", out.audit_kept, "batches", (json_int_t)out.batches,
        "longest_batch_ms", out.longest_batch_ms, "seconds", out.seconds,
        "audit_retention_days", (json_int_t)adm->config.audit_retention);
    return csam_admin_answer(adm, obj, csam_admin_purge_human);
}
