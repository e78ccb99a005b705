/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How csam-admin answers: text for a person by default, one JSON object
 * with --json for scripts; errors on standard error, naming what is
 * wrong, and exit status 1.
 */
#include <stdarg.h>
#include <stdio.h>

#include "csam-admin.h"

int csam_admin_fail(struct csam_admin *adm, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "csam-admin: %s\n", msg);
    if (adm->json) {
        json_t *obj = json_pack("{s:s}", "error", msg);

        if (obj != NULL) {
            json_dumpf(obj, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(obj);
        }
    }
    return CSAM_ADMIN_FAIL;
}

const char *csam_admin_reason(csam_result res)
{
    switch (res) {
    case CSAM_ERR_DB: return "the database refused or failed (see above)";
    case CSAM_ERR_SCHEMA: return "the schema is not the one this build needs";
    case CSAM_ERR_NOT_FOUND: return "not found";
    case CSAM_ERR_NOMEM: return "out of memory";
    case CSAM_ERR_INVALID: return "invalid argument";
    default: return csam_result_name(res);
    }
}

int csam_admin_answer(struct csam_admin *adm, json_t *obj,
                      void (*human)(const json_t *obj))
{
    if (obj == NULL)
        return csam_admin_fail(adm, "out of memory");
    if (adm->json) {
        json_dumpf(obj, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        human(obj);
    }
    json_decref(obj);
    return fflush(stdout) == 0
               ? CSAM_ADMIN_OK
               : csam_admin_fail(adm, "cannot write the answer");
}

json_t *csam_admin_time(const char *rfc3339)
{
    return rfc3339 != NULL && rfc3339[0] != '\0' ? json_string(rfc3339)
                                                 : json_null();
}
