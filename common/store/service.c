/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service of a conninfo string (service=csam, the default of
 * CSAMDatabase and database) and whether a pg_service.conf defines it,
 * for a startup warning: libpq's own message only comes with the first
 * connection, in the first request.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "store.h"

csam_result csam_store_conninfo_service(const char *conninfo, char *service,
                                        size_t len)
{
    PQconninfoOption *opts, *o;

    if (service == NULL || len == 0)
        return CSAM_ERR_INVALID;
    service[0] = '\0';
    opts = conninfo != NULL ? PQconninfoParse(conninfo, NULL) : NULL;
    if (opts == NULL)
        return CSAM_ERR_INVALID;
    for (o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "service") == 0 && o->val != NULL)
            snprintf(service, len, "%s", o->val);
    PQconninfoFree(opts);
    return CSAM_OK;
}

/* As libpq reads the file: a line "[name]", blanks around it ignored. */
int csam_store_service_defined(const char *path, const char *service)
{
    char line[1024];
    size_t n = strlen(service);
    int found = 0;
    FILE *fp;

    fp = fopen(path, "re");
    if (fp == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), fp) != NULL) {
        char *p = line, *end;

        while (isspace((unsigned char)*p))
            p++;
        end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            *--end = '\0';
        found = p[0] == '[' && (size_t)(end - p) == n + 2 && end[-1] == ']'
                && strncmp(p + 1, service, n) == 0;
    }
    fclose(fp);
    return found;
}
