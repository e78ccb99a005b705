/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-admin schema status | upgrade: the database's schema version
 * against this build's, and the migrations install.sql lists
 * (<data_dir>/sql/install.sql, installed in $(pkgdatadir)/sql/).
 */
#include <stdio.h>
#include <string.h>

#include "csam-admin.h"

static json_t *csam_admin_schema_json(const struct csam_admin_schema *s,
                                      const char *install_sql, int upgraded)
{
    json_t *obj, *list = json_array();
    size_t i;

    for (i = 0; list != NULL && i < s->n_migrations; i++)
        json_array_append_new(list, json_pack("{s:i, s:s, s:s}", "version",
                                              s->migrations[i].version, "file",
                                              s->migrations[i].file, "title",
                                              s->migrations[i].title));
    obj = json_pack(
        "{s:I, s:i, s:i, s:s, s:b, s:o}", "database", (json_int_t)s->database,
        "package", s->package, "install_sql_newest", s->newest, "install_sql",
        install_sql, "up_to_date",
        s->database >= s->package && (upgraded || s->n_migrations == 0),
        upgraded ? "applied" : "pending", list);
    return obj;
}

static void csam_admin_schema_human(const json_t *obj, const char *key,
                                    const char *what)
{
    const json_t *list = json_object_get(obj, key);
    size_t i;

    printf("database schema version: %lld%s\n",
           (long long)json_integer_value(json_object_get(obj, "database")),
           json_integer_value(json_object_get(obj, "database")) == 0
               ? " (no schema)"
               : "");
    printf("this package needs:      %lld\n",
           (long long)json_integer_value(json_object_get(obj, "package")));
    if (json_array_size(list) == 0) {
        printf("%s\n", strcmp(key, "applied") == 0
                           ? "nothing to apply: the schema is current"
                           : "up to date: an upgrade would apply nothing");
        return;
    }
    printf("%s (%s):\n", what,
           json_string_value(json_object_get(obj, "install_sql")));
    for (i = 0; i < json_array_size(list); i++) {
        const json_t *m = json_array_get(list, i);

        printf("  %s  %s\n", json_string_value(json_object_get(m, "file")),
               json_string_value(json_object_get(m, "title")));
    }
}

static void csam_admin_schema_status_human(const json_t *obj)
{
    csam_admin_schema_human(obj, "pending", "an upgrade would apply");
}

static void csam_admin_schema_upgrade_human(const json_t *obj)
{
    csam_admin_schema_human(obj, "applied", "applied");
}

int csam_admin_cmd_schema(struct csam_admin *adm, int argc, char **argv)
{
    struct csam_admin_schema schema;
    char install_sql[4200], why[1024];
    int upgrade;
    csam_result res;

    if (argc != 1
        || (strcmp(argv[0], "status") != 0 && strcmp(argv[0], "upgrade") != 0))
        return csam_admin_fail(adm, "usage: csam-admin schema status|upgrade");
    upgrade = strcmp(argv[0], "upgrade") == 0;
    /* No schema check here: an old schema is what these are for. */
    if (csam_admin_connect(adm, 0) != CSAM_ADMIN_OK)
        return CSAM_ADMIN_FAIL;
    snprintf(install_sql, sizeof(install_sql), "%s/sql/install.sql",
             adm->config.data_dir);
    res = upgrade ? csam_admin_schema_upgrade(adm->store, install_sql, &schema,
                                              why, sizeof(why))
                  : csam_admin_schema_status(adm->store, install_sql, &schema,
                                             why, sizeof(why));
    if (res != CSAM_OK)
        return csam_admin_fail(adm, "%s",
                               why[0] != '\0' ? why : csam_admin_reason(res));
    return csam_admin_answer(
        adm, csam_admin_schema_json(&schema, install_sql, upgrade),
        upgrade ? csam_admin_schema_upgrade_human
                : csam_admin_schema_status_human);
}
