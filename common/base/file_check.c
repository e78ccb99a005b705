/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a trusted file lives: the directories above it (file_check.h).
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_check.h"
#include "log.h"

/* getgrnam_r's buffer; a group with more members than fit is looked up
 * again with a larger one, up to this. */
#define CSAM_FILE_GROUP_BUF_MAX (1024 * 1024)

static csam_result csam_file_check_dir(const char *file, const char *dir,
                                       char *err, size_t errlen)
{
    struct stat st;

    if (stat(dir, &st) != 0) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: directory %s: cannot stat: %s", file,
                       dir, csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        csam_error_set(err, errlen, "%s: %s is not a directory", file, dir);
        return CSAM_ERR_IO;
    }
    /* The owner is not judged: a checkout in a user's home, run as root
     * (the demo), is that user's to protect; a directory that a group or
     * everyone can write is nobody's. */
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0
        && !(st.st_uid == 0 && (st.st_mode & S_ISVTX) != 0)) {
        csam_error_set(err, errlen,
                       "%s: directory %s is writable by group or others "
                       "(mode %04o): they can replace the file",
                       file, dir, (unsigned)(st.st_mode & 07777));
        return CSAM_ERR_INSECURE;
    }
    return CSAM_OK;
}

csam_result csam_file_check_dirs(const char *path, char *err, size_t errlen)
{
    char *real;
    char *slash;
    csam_result res = CSAM_OK;

    if (path == NULL) {
        csam_error_set(err, errlen, "no path given");
        return CSAM_ERR_IO;
    }
    /* The directories that really hold the file: a symbolic link in a
     * safe directory to a file in an unsafe one is judged by the latter. */
    real = realpath(path, NULL);
    if (real == NULL) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: cannot resolve: %s", path,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    while (res == CSAM_OK && (slash = strrchr(real, '/')) != NULL) {
        if (slash == real) {
            res = csam_file_check_dir(path, "/", err, errlen);
            break;
        }
        *slash = '\0';
        res = csam_file_check_dir(path, real, err, errlen);
    }
    free(real);
    return res;
}

int csam_file_group_allowed(unsigned long gid, const char *group)
{
    struct group grp, *found = NULL;
    size_t size = 1024;
    char *buf = NULL;
    int allowed = 0;
    int rc;

    if (gid == 0)
        return 1;
    if (group == NULL || group[0] == '\0')
        return 0;
    for (;;) {
        char *bigger = realloc(buf, size);

        if (bigger == NULL)
            break;
        buf = bigger;
        rc = getgrnam_r(group, &grp, buf, size, &found);
        if (rc == ERANGE && size < CSAM_FILE_GROUP_BUF_MAX) {
            size *= 2;
            continue;
        }
        allowed = rc == 0 && found != NULL
                  && (unsigned long)found->gr_gid == gid;
        break;
    }
    free(buf);
    return allowed;
}
