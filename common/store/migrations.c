/* SPDX-License-Identifier: Apache-2.0 */
/*
 * install.sql's migrations and their runner (see admin.h): what
 * `psql -f install.sql` does, for csam-admin schema upgrade, without
 * psql.  install.sql stays the one list: a new migration is added there
 * and both ways run it.
 */
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "file_check.h"
#include "log.h"
#include "statement.h"

/* More than any migration will ever be; a bigger file is not one. */
#define CSAM_STORE_MIGRATION_MAX_BYTES (1024L * 1024L)

/* Read a file the administrator's rights will run: a regular file owned
 * by root or by us, that neither its group nor others can write, in safe
 * directories.  *text is malloc'd and NUL-terminated. */
static csam_result csam_store_migration_slurp(const char *path, char **text,
                                              char *why, size_t why_len)
{
    struct stat st;
    char ebuf[128];
    ssize_t got;
    size_t len = 0;
    char *buf;
    int fd;

    *text = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, why_len, "%s: cannot open: %s", path,
                 csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "%s: not a regular file", path);
        close(fd);
        return CSAM_ERR_IO;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0
        || (st.st_uid != 0 && st.st_uid != geteuid())) {
        snprintf(why, why_len,
                 "%s: writable by its group or others, or owned by another "
                 "user than root: refusing to run it",
                 path);
        close(fd);
        return CSAM_ERR_INSECURE;
    }
    if (st.st_size > CSAM_STORE_MIGRATION_MAX_BYTES) {
        snprintf(why, why_len, "%s: too large for a migration", path);
        close(fd);
        return CSAM_ERR_IO;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return CSAM_ERR_NOMEM;
    }
    while (len < (size_t)st.st_size) {
        got = read(fd, buf + len, (size_t)st.st_size - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    if (len != (size_t)st.st_size) {
        snprintf(why, why_len, "%s: read failed", path);
        free(buf);
        return CSAM_ERR_IO;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        snprintf(why, why_len, "%s: not a text file", path);
        free(buf);
        return CSAM_ERR_IO;
    }
    {
        csam_result res = csam_file_check_dirs(path, why, why_len);

        if (res != CSAM_OK) {
            free(buf);
            return res;
        }
    }
    *text = buf;
    return CSAM_OK;
}

/* NNN_name.sql: three digits, '_', [a-z0-9_]+, ".sql"; 0 otherwise. */
static int csam_store_migration_version(const char *name)
{
    size_t len = strlen(name), i;

    if (len < 9 || len >= sizeof(((struct csam_store_migration *)0)->file)
        || strcmp(name + len - 4, ".sql") != 0 || name[3] != '_')
        return 0;
    for (i = 0; i < 3; i++)
        if (name[i] < '0' || name[i] > '9')
            return 0;
    for (i = 4; i < len - 4; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
            return 0;
    return (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
}

/* The migration's first line, when it is a comment, for "what an upgrade
 * would apply"; a licence line before it is not its title. */
static void csam_store_migration_title(const char *text, char *title,
                                       size_t size)
{
    static const char spdx[] = "-- SPDX-License-Identifier:";
    size_t n;

    if (strncmp(text, spdx, sizeof(spdx) - 1) == 0
        && strchr(text, '\n') != NULL)
        text = strchr(text, '\n') + 1;
    n = strcspn(text, "\n");
    title[0] = '\0';
    if (strncmp(text, "-- ", 3) != 0 || n < 3)
        return;
    n -= 3;
    if (n >= size)
        n = size - 1;
    memcpy(title, text + 3, n);
    title[n] = '\0';
}

static csam_result csam_store_migrations_add(struct csam_store_migrations *out,
                                             const char *name, char *why,
                                             size_t why_len)
{
    struct csam_store_migration *m;
    char path[4200];
    char *text = NULL;
    csam_result res;
    int version = csam_store_migration_version(name);

    if (version <= 0) {
        snprintf(why, why_len,
                 "%s/install.sql: '%s' is not a migration name (NNN_name.sql)",
                 out->dir, name);
        return CSAM_ERR_CONFIG;
    }
    if (out->n == CSAM_STORE_MIGRATIONS_MAX
        || (out->n > 0 && out->list[out->n - 1].version >= version)) {
        snprintf(why, why_len,
                 "%s/install.sql: %s: versions must increase, at most %d",
                 out->dir, name, CSAM_STORE_MIGRATIONS_MAX);
        return CSAM_ERR_CONFIG;
    }
    snprintf(path, sizeof(path), "%s/%s", out->dir, name);
    res = csam_store_migration_slurp(path, &text, why, why_len);
    if (res != CSAM_OK)
        return res;
    m = &out->list[out->n++];
    m->version = version;
    snprintf(m->file, sizeof(m->file), "%s", name);
    csam_store_migration_title(text, m->title, sizeof(m->title));
    free(text);
    return CSAM_OK;
}

csam_result csam_store_migrations_read(const char *install_sql,
                                       struct csam_store_migrations *out,
                                       char *why, size_t why_len)
{
    const char *slash;
    char *text = NULL, *line, *next;
    csam_result res = CSAM_OK;

    if (install_sql == NULL || out == NULL || why == NULL || why_len == 0)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    why[0] = '\0';
    slash = strrchr(install_sql, '/');
    if (slash == NULL || (size_t)(slash - install_sql) >= sizeof(out->dir)) {
        snprintf(why, why_len, "%s: not an absolute path", install_sql);
        return CSAM_ERR_CONFIG;
    }
    snprintf(out->dir, sizeof(out->dir), "%.*s", (int)(slash - install_sql),
             install_sql);
    res = csam_store_migration_slurp(install_sql, &text, why, why_len);
    if (res != CSAM_OK)
        return res;
    for (line = text; res == CSAM_OK && line != NULL; line = next) {
        char *end;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(line, "\\ir ", 4) != 0)
            continue;
        line += 4;
        end = line + strlen(line);
        while (end > line && (end[-1] == ' ' || end[-1] == '\r'))
            *--end = '\0';
        res = csam_store_migrations_add(out, line, why, why_len);
    }
    free(text);
    if (res == CSAM_OK && out->n == 0) {
        snprintf(why, why_len, "%s: names no migration", install_sql);
        res = CSAM_ERR_CONFIG;
    }
    return res;
}

/* clang-format off */
static const struct csam_store_stmt csam_store_migrations_stmt_present = {
    "csam_store_migrations_present",
    "SELECT to_regclass('csam_schema_version') IS NOT NULL AS present",
    0, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_store_migrations_stmt_version = {
    "csam_store_migrations_version",
    "SELECT coalesce(max(version), 0) AS version FROM csam_schema_version",
    0, CSAM_STORE_RETRY};
static const struct csam_store_stmt csam_store_migrations_stmt_lock = {
    "csam_store_migrations_lock",
    /* install.sql's own lock: psql and csam-admin take turns */
    "SELECT pg_advisory_xact_lock(4242001)", 0, 0};
/* clang-format on */

csam_result csam_store_schema_version(csam_store *store, int64_t *version)
{
    csam_store_rows *rows = NULL;
    csam_result res;
    int present;

    if (version == NULL)
        return CSAM_ERR_INVALID;
    *version = 0;
    /* Asked first: a missing table would fail the transaction around. */
    res = csam_store_exec(store, &csam_store_migrations_stmt_present, NULL,
                          &rows);
    if (res != CSAM_OK)
        return res;
    present = csam_store_get_bool(rows, 0, "present");
    csam_store_rows_free(rows);
    if (!present)
        return CSAM_OK;
    res = csam_store_exec(store, &csam_store_migrations_stmt_version, NULL,
                          &rows);
    if (res != CSAM_OK)
        return res;
    *version = csam_store_get_int64(rows, 0, "version", 0);
    csam_store_rows_free(rows);
    return CSAM_OK;
}

static csam_result
csam_store_migrations_run(csam_store *store,
                          const struct csam_store_migrations *list,
                          size_t *applied, char *why, size_t why_len)
{
    int64_t version = 0;
    csam_result res;
    size_t i;

    res = csam_store_exec(store, &csam_store_migrations_stmt_lock, NULL, NULL);
    if (res == CSAM_OK)
        res = csam_store_schema_version(store, &version);
    for (i = 0; res == CSAM_OK && i < list->n; i++) {
        const struct csam_store_migration *m = &list->list[i];
        char path[4200], msg[512];
        char *text = NULL;

        if (m->version <= version)
            continue;
        snprintf(path, sizeof(path), "%s/%s", list->dir, m->file);
        res = csam_store_migration_slurp(path, &text, why, why_len);
        if (res != CSAM_OK)
            break;
        res = csam_store_run_script(store, text, msg, sizeof(msg));
        free(text);
        if (res != CSAM_OK) {
            snprintf(why, why_len, "%s: %s", path, msg);
            break;
        }
        (*applied)++;
    }
    return res;
}

csam_result csam_store_migrations_apply(
    csam_store *store, const struct csam_store_migrations *list,
    size_t *applied, int64_t *version, char *why, size_t why_len)
{
    csam_result res;

    if (store == NULL || list == NULL || applied == NULL || version == NULL
        || why == NULL || why_len == 0)
        return CSAM_ERR_INVALID;
    *applied = 0;
    why[0] = '\0';
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_migrations_run(store, list, applied, why, why_len);
    if (res == CSAM_OK)
        res = csam_store_schema_version(store, version);
    if (res != CSAM_OK) {
        csam_store_rollback(store);
        *applied = 0;
        return res;
    }
    res = csam_store_commit(store);
    if (res != CSAM_OK)
        *applied = 0;
    return res;
}
