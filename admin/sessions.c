/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin sessions revoke USERNAME: end every live web session of an
 * account on every node (a stolen cookie, a lost laptop).
 */
#include <stdio.h>
#include <string.h>

#include "csam-admin.h"

static void csam_admin_sessions_human(const json_t *obj)
{
    printf("account %s: %lld live session(s) revoked\n",
           json_string_value(json_object_get(obj, "username")),
           (long long)json_integer_value(json_object_get(obj, "revoked")));
}

int csam_admin_cmd_sessions(struct csam_admin *adm, int argc, char **argv)
{
    int64_t revoked = 0;
    csam_result res;

    if (argc != 2 || strcmp(argv[0], "revoke") != 0)
        return csam_admin_fail(adm,
                               "usage: csam-admin sessions revoke USERNAME");
    if (csam_admin_open_engine(adm) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    res = csam_engine_admin_sessions_revoke(adm->engine, adm->actor, argv[1],
                                            &revoked);
    if (res == CSAM_ERR_NOT_FOUND)
        return csam_admin_fail(adm, "no account named '%s'", argv[1]);
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "sessions revoke: %s",
                               csam_admin_reason(res));
    return csam_admin_answer(adm,
                             json_pack("{s:s, s:I}", "username", argv[1],
                                       "revoked", (json_int_t)revoked),
                             csam_admin_sessions_human);
}
