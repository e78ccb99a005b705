/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin stats: accounts by status, keys by type and status, live
 * registrations and sessions, logins and failures over 24 hours (from
 * the audit trail).  Needs no secret.
 */
#include <stdio.h>

#include "csam-admin.h"

static void csam_admin_stats_human(const json_t *obj)
{
    const json_t *acc = json_object_get(obj, "accounts");
    const json_t *keys = json_object_get(obj, "keys");
    const json_t *day = json_object_get(obj, "last_24h");
    const char *key, *st;
    const json_t *v, *n;

    printf("accounts:");
    json_object_foreach((json_t *)acc, key, v)
    {
        printf(" %s %lld", key, (long long)json_integer_value(v));
    }
    printf("\nkeys:\n");
    json_object_foreach((json_t *)keys, key, v)
    {
        printf("  %-6s", key);
        json_object_foreach((json_t *)v, st, n)
        {
            printf(" %s %lld", st, (long long)json_integer_value(n));
        }
        printf("\n");
    }
    printf("registrations pending: %lld\n",
           (long long)json_integer_value(
               json_object_get(obj, "registrations_pending")));
    printf("sessions live: %lld\n", (long long)json_integer_value(
                                        json_object_get(obj, "sessions_live")));
    printf("last 24 h:");
    json_object_foreach((json_t *)day, key, v)
    {
        printf(" %s %lld", key, (long long)json_integer_value(v));
    }
    printf("\n");
}

int csam_admin_cmd_stats(struct csam_admin *adm, int argc, char **argv)
{
    struct csam_admin_stats s;
    json_t *keys;
    csam_result res;
    size_t t, k;

    (void)argv;
    if (argc != 0)
        return csam_admin_fail(adm, "usage: csam-admin stats");
    if (csam_admin_connect(adm, 1) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    res = csam_admin_stats(adm->store, &s);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "stats: %s", csam_admin_reason(res));
    keys = json_object();
    for (t = 0; keys != NULL && t < CSAM_ADMIN_KEY_TYPES; t++) {
        json_t *by = json_object();

        for (k = 0; by != NULL && k < CSAM_ADMIN_KEY_STATUSES; k++)
            json_object_set_new(by, csam_admin_key_status_name(k),
                                json_integer(s.keys[t][k]));
        json_object_set_new(keys, csam_admin_key_type_name(t), by);
    }
    return csam_admin_answer(
        adm,
        json_pack("{s:{s:I, s:I, s:I}, s:o, s:I, s:I,"
                  " s:{s:I, s:I, s:I, s:I}}",
                  "accounts", "pending", (json_int_t)s.accounts_pending,
                  "active", (json_int_t)s.accounts_active, "disabled",
                  (json_int_t)s.accounts_disabled, "keys", keys,
                  "registrations_pending", (json_int_t)s.registrations_pending,
                  "sessions_live", (json_int_t)s.sessions_live, "last_24h",
                  "web_logins", (json_int_t)s.web_logins, "web_failures",
                  (json_int_t)s.web_failures, "pam_logins",
                  (json_int_t)s.pam_logins, "pam_failures",
                  (json_int_t)s.pam_failures),
        csam_admin_stats_human);
}
