/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin account show USERNAME | account unlock USERNAME: what the
 * helpdesk sees of an account (never a secret, an address or the
 * national number), and the helpdesk's unlock, with csam-admin:<user> as
 * the officer.
 */
#include <stdio.h>
#include <string.h>

#include "csam-admin.h"

static const char *csam_admin_or(const char *s, const char *none)
{
    return s != NULL ? s : none;
}

static void csam_admin_account_human(const json_t *obj)
{
    const json_t *keys = json_object_get(obj, "keys");
    size_t i;

#define CSAM_ADMIN_FIELD(label, key, none)                                     \
    printf("%-20s %s\n", label,                                                \
           csam_admin_or(json_string_value(json_object_get(obj, key)), none))
    CSAM_ADMIN_FIELD("username:", "username", "-");
    CSAM_ADMIN_FIELD("status:", "status", "-");
    CSAM_ADMIN_FIELD("created:", "created_at", "-");
    CSAM_ADMIN_FIELD("activated:", "activated_at", "never");
    CSAM_ADMIN_FIELD("password changed:", "password_changed_at", "-");
    CSAM_ADMIN_FIELD("locked until:", "locked_until", "not locked");
    CSAM_ADMIN_FIELD("last web login:", "last_web_login", "none recorded");
    CSAM_ADMIN_FIELD("last PAM login:", "last_pam_login", "none recorded");
#undef CSAM_ADMIN_FIELD
    printf(
        "%-20s %lld\n", "live sessions:",
        (long long)json_integer_value(json_object_get(obj, "sessions_live")));
    printf("keys:%s\n", json_array_size(keys) == 0 ? " none" : "");
    for (i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        const char *at = json_string_value(json_object_get(k, "activated_at"));

        printf("  %-6s %-9s%s%s\n",
               json_string_value(json_object_get(k, "type")),
               json_string_value(json_object_get(k, "status")),
               at != NULL ? " activated " : "", at != NULL ? at : "");
    }
}

static int csam_admin_account_show(struct csam_admin *adm, const char *user)
{
    struct csam_admin_account acc;
    json_t *keys, *obj;
    csam_result res;
    size_t i;

    res = csam_engine_admin_account(adm->engine, user, &acc);
    if (res == CSAM_ERR_NOT_FOUND)
        return csam_admin_fail(adm, "no account named '%s'", user);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "account show: %s", csam_admin_reason(res));
    keys = json_array();
    for (i = 0; keys != NULL && i < acc.n_keys; i++)
        json_array_append_new(
            keys, json_pack("{s:s, s:s, s:o}", "type", acc.keys[i].type,
                            "status", acc.keys[i].status, "activated_at",
                            csam_admin_time(acc.keys[i].activated_at)));
    obj = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:o}",
                    "username", acc.username, "status", acc.status,
                    "created_at", csam_admin_time(acc.created_at),
                    "activated_at", csam_admin_time(acc.activated_at),
                    "password_changed_at",
                    csam_admin_time(acc.password_changed_at), "locked_until",
                    csam_admin_time(acc.locked_until), "last_web_login",
                    csam_admin_time(acc.last_web_login), "last_pam_login",
                    csam_admin_time(acc.last_pam_login), "sessions_live",
                    (json_int_t)acc.sessions_live, "keys", keys);
    return csam_admin_answer(adm, obj, csam_admin_account_human);
}

static void csam_admin_unlock_human(const json_t *obj)
{
    printf("account %s: every temporary lock lifted\n",
           json_string_value(json_object_get(obj, "username")));
}

static int csam_admin_account_unlock(struct csam_admin *adm, const char *user)
{
    csam_result res;

    res = csam_engine_helpdesk_unlock(adm->engine, adm->actor, NULL, user);
    if (res == CSAM_ERR_NOT_FOUND)
        return csam_admin_fail(adm, "no account named '%s' (or it is disabled)",
                               user);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "account unlock: %s",
                               csam_admin_reason(res));
    return csam_admin_answer(
        adm, json_pack("{s:s, s:b}", "username", user, "unlocked", 1),
        csam_admin_unlock_human);
}

int csam_admin_cmd_account(struct csam_admin *adm, int argc, char **argv)
{
    int show;

    if (argc != 2
        || (strcmp(argv[0], "show") != 0 && strcmp(argv[0], "unlock") != 0))
        return csam_admin_fail(
            adm, "usage: csam-admin account show|unlock USERNAME");
    show = strcmp(argv[0], "show") == 0;
    if (csam_admin_open_engine(adm) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    return show ? csam_admin_account_show(adm, argv[1])
                : csam_admin_account_unlock(adm, argv[1]);
}
