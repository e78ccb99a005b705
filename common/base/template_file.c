/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Template files: the bounded reader, and the lookup in the
 * administrator's directory before the shipped one (template_file.h).
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_check.h"
#include "log.h"
#include "template_file.h"

#define CSAM_TEMPLATE_MAX (256 * 1024)
#define CSAM_TEMPLATE_REL_MAX 128
/* The shipped tree is three levels deep (pages/<lang>/messages.txt); one
 * more is room, and a bound keeps a symbolic-link loop or a huge tree
 * from stalling startup. */
#define CSAM_TEMPLATE_DEPTH_MAX 4
#define CSAM_TEMPLATE_ENTRIES_MAX 10000

/* Read an open file; closes fd. */
static csam_result csam_template_read_fd(int fd, char **out)
{
    struct stat st;
    char *data = NULL;
    size_t got = 0;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0
        || st.st_size > CSAM_TEMPLATE_MAX)
        goto io;
    /* one byte more than allowed, to notice a file that grew */
    data = malloc(CSAM_TEMPLATE_MAX + 2);
    if (data == NULL) {
        close(fd);
        return CSAM_ERR_NOMEM;
    }
    for (;;) {
        ssize_t n = read(fd, data + got, CSAM_TEMPLATE_MAX + 1 - got);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto io;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > CSAM_TEMPLATE_MAX)
            goto io;
    }
    close(fd);
    data[got] = '\0';
    /* a NUL would silently cut the template short */
    if (memchr(data, '\0', got) != NULL) {
        free(data);
        return CSAM_ERR_IO;
    }
    *out = data;
    return CSAM_OK;

io:
    free(data);
    close(fd);
    return CSAM_ERR_IO;
}

/* O_NONBLOCK: a FIFO put where a template belongs must not hang startup
 * (it is refused as not a regular file). */
static int csam_template_open(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

csam_result csam_template_read(const char *path, char **out)
{
    int fd;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (path == NULL)
        return CSAM_ERR_INVALID;
    fd = csam_template_open(path);
    if (fd < 0)
        return CSAM_ERR_IO;
    return csam_template_read_fd(fd, out);
}

/* A name under templates/: lower-case letters, digits, '.', '_', '-' and
 * '/', no empty, "." or ".." segment.  Names come from the code, but a
 * rule here keeps a mistake from reading outside the tree. */
static int csam_template_rel_ok(const char *rel)
{
    size_t i, len, seg = 0;

    if (rel == NULL)
        return 0;
    len = strnlen(rel, CSAM_TEMPLATE_REL_MAX + 1);
    if (len == 0 || len > CSAM_TEMPLATE_REL_MAX)
        return 0;
    for (i = 0; i <= len; i++) {
        char c = rel[i];

        if (c == '/' || c == '\0') {
            size_t n = i - seg;

            if (n == 0 || (n == 1 && rel[seg] == '.')
                || (n == 2 && rel[seg] == '.' && rel[seg + 1] == '.'))
                return 0;
            seg = i + 1;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* The administrator's file or directory: owned by root or by whoever we
 * run as (who could change it anyway), writable by nobody else. */
static csam_result csam_template_owner_check(const char *path,
                                             const struct stat *st, char *err,
                                             size_t errlen)
{
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        csam_error_set(err, errlen,
                       "%s: owned by uid %lu, neither root nor the user "
                       "this runs as",
                       path, (unsigned long)st->st_uid);
        return CSAM_ERR_INSECURE;
    }
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        csam_error_set(err, errlen,
                       "%s: writable by group or others (mode %04o): an "
                       "override must be writable by its owner alone",
                       path, (unsigned)(st->st_mode & 07777));
        return CSAM_ERR_INSECURE;
    }
    return CSAM_OK;
}

/* The administrator's copy of rel: CSAM_ERR_NOT_FOUND when there is none
 * (the directory itself may be absent).  Checks are made on the open
 * descriptor, so the file read is the file checked. */
static csam_result csam_template_load_own(const char *own, const char *rel,
                                          char **out, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    csam_result res;
    int fd;

    if (own == NULL)
        return CSAM_ERR_NOT_FOUND;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", own, rel)
        >= sizeof(path)) {
        csam_error_set(err, errlen, "%s/%s: path too long", own, rel);
        return CSAM_ERR_INVALID;
    }
    fd = csam_template_open(path);
    if (fd < 0) {
        char ebuf[128];

        if (errno == ENOENT || errno == ENOTDIR)
            return CSAM_ERR_NOT_FOUND;
        /* There but unreadable: fail, rather than send the shipped text
         * where the administrator put another. */
        csam_error_set(err, errlen, "%s: cannot open: %s", path,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        csam_error_set(err, errlen, "%s: not a regular file", path);
        return CSAM_ERR_IO;
    }
    res = csam_template_owner_check(path, &st, err, errlen);
    if (res == CSAM_OK)
        res = csam_file_check_dirs(path, err, errlen);
    if (res != CSAM_OK) {
        close(fd);
        return res;
    }
    res = csam_template_read_fd(fd, out);
    if (res == CSAM_ERR_IO)
        csam_error_set(err, errlen, "%s: unreadable or larger than %d bytes",
                       path, CSAM_TEMPLATE_MAX);
    return res;
}

static csam_result csam_template_load_shipped(const char *data_dir,
                                              const char *rel, char **out,
                                              char *err, size_t errlen)
{
    char path[4096];
    csam_result res;
    int fd;

    if (data_dir == NULL)
        return CSAM_ERR_NOT_FOUND;
    if ((size_t)snprintf(path, sizeof(path), "%s/templates/%s", data_dir, rel)
        >= sizeof(path)) {
        csam_error_set(err, errlen, "%s/templates/%s: path too long", data_dir,
                       rel);
        return CSAM_ERR_INVALID;
    }
    fd = csam_template_open(path);
    if (fd < 0) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: cannot open: %s", path,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return errno == ENOENT || errno == ENOTDIR ? CSAM_ERR_NOT_FOUND
                                                   : CSAM_ERR_IO;
    }
    res = csam_template_read_fd(fd, out);
    if (res == CSAM_ERR_IO)
        csam_error_set(err, errlen,
                       "%s: not a regular file, unreadable or larger "
                       "than %d bytes",
                       path, CSAM_TEMPLATE_MAX);
    return res;
}

csam_result csam_template_load(const struct csam_template_dirs *dirs,
                               enum csam_template_origin where, const char *rel,
                               char **out, enum csam_template_origin *found,
                               char *err, size_t errlen)
{
    csam_result res = CSAM_ERR_NOT_FOUND;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (found != NULL)
        *found = CSAM_TEMPLATE_ANY;
    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (dirs == NULL || !csam_template_rel_ok(rel)) {
        csam_error_set(err, errlen, "not a template name");
        return CSAM_ERR_INVALID;
    }
    if (where != CSAM_TEMPLATE_SHIPPED) {
        res = csam_template_load_own(dirs->own, rel, out, err, errlen);
        if (res != CSAM_ERR_NOT_FOUND && found != NULL)
            *found = CSAM_TEMPLATE_OWN;
        if (res != CSAM_ERR_NOT_FOUND || where == CSAM_TEMPLATE_OWN)
            return res;
    }
    res = csam_template_load_shipped(dirs->data_dir, rel, out, err, errlen);
    if (found != NULL)
        *found = CSAM_TEMPLATE_SHIPPED;
    return res;
}

/* Directories of the administrator's tree still to be listed: a short
 * list (the shipped layout has a dozen), walked without recursion. */
#define CSAM_TEMPLATE_DIRS_MAX 256

struct csam_template_todo {
    char *path[CSAM_TEMPLATE_DIRS_MAX];
    int depth[CSAM_TEMPLATE_DIRS_MAX];
    size_t n;
};

/* One directory: each entry checked, subdirectories put on todo. */
static csam_result csam_template_walk_one(const char *dir, int depth,
                                          struct csam_template_todo *todo,
                                          size_t *entries, char *err,
                                          size_t errlen)
{
    csam_result res = CSAM_OK;
    struct dirent *de;
    DIR *d = opendir(dir);

    if (d == NULL) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: cannot list: %s", dir,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    while (res == CSAM_OK && (de = readdir(d)) != NULL) {
        char path[4096];
        struct stat lst, st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (++*entries > CSAM_TEMPLATE_ENTRIES_MAX) {
            csam_error_set(err, errlen, "%s: more than %d entries", dir,
                           CSAM_TEMPLATE_ENTRIES_MAX);
            res = CSAM_ERR_IO;
            break;
        }
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name)
            >= sizeof(path)) {
            csam_error_set(err, errlen, "%s: path too long", dir);
            res = CSAM_ERR_IO;
            break;
        }
        if (lstat(path, &lst) != 0 || stat(path, &st) != 0) {
            char ebuf[128];

            csam_error_set(err, errlen, "%s: cannot stat: %s", path,
                           csam_log_errno(errno, ebuf, sizeof(ebuf)));
            res = CSAM_ERR_IO;
            break;
        }
        res = csam_template_owner_check(path, &st, err, errlen);
        /* a link's target is read through directories of its own */
        if (res == CSAM_OK && S_ISLNK(lst.st_mode))
            res = csam_file_check_dirs(path, err, errlen);
        /* links are followed when read, not when walked: no loop */
        if (res != CSAM_OK || !S_ISDIR(lst.st_mode))
            continue;
        if (depth >= CSAM_TEMPLATE_DEPTH_MAX
            || todo->n >= CSAM_TEMPLATE_DIRS_MAX) {
            csam_error_set(err, errlen,
                           "%s: deeper than %d levels or more than %d "
                           "directories",
                           path, CSAM_TEMPLATE_DEPTH_MAX,
                           CSAM_TEMPLATE_DIRS_MAX);
            res = CSAM_ERR_IO;
            break;
        }
        todo->path[todo->n] = strdup(path);
        if (todo->path[todo->n] == NULL) {
            res = CSAM_ERR_NOMEM;
            break;
        }
        todo->depth[todo->n++] = depth + 1;
    }
    closedir(d);
    return res;
}

/* Every directory and file under own. */
static csam_result csam_template_walk(const char *own, char *err, size_t errlen)
{
    struct csam_template_todo todo;
    csam_result res;
    size_t entries = 0;

    todo.n = 0;
    res = csam_template_walk_one(own, 1, &todo, &entries, err, errlen);
    while (todo.n > 0) {
        char *dir = todo.path[--todo.n];

        if (res == CSAM_OK)
            res = csam_template_walk_one(dir, todo.depth[todo.n], &todo,
                                         &entries, err, errlen);
        free(dir);
    }
    return res;
}

csam_result csam_template_dirs_check(const struct csam_template_dirs *dirs,
                                     char *err, size_t errlen)
{
    struct stat st;
    csam_result res;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (dirs == NULL)
        return CSAM_ERR_INVALID;
    if (dirs->own == NULL)
        return CSAM_OK;
    if (stat(dirs->own, &st) != 0) {
        char ebuf[128];

        if (errno == ENOENT)
            return CSAM_OK;
        csam_error_set(err, errlen, "%s: cannot stat: %s", dirs->own,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        csam_error_set(err, errlen, "%s: not a directory", dirs->own);
        return CSAM_ERR_IO;
    }
    res = csam_template_owner_check(dirs->own, &st, err, errlen);
    if (res == CSAM_OK)
        res = csam_file_check_dirs(dirs->own, err, errlen);
    if (res == CSAM_OK)
        res = csam_template_walk(dirs->own, err, errlen);
    return res;
}
