/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMS records for test tools.  Each record is one small JSON file written
 * atomically by the sink (a dot-file renamed into place), so a name that
 * shows up is complete; it is read whole, at most 64 KiB, and searched as
 * text: the number and the code are both plain digits in it, and only the
 * code is a run of 6 to 8 (the number has more, the sink's headers less).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smsdir.h"

#define CSAM_SMSDIR_RECORD_MAX (64 * 1024)
#define CSAM_SMSDIR_POLL_MS 20

static int csam_smsdir_is_record(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 5 && n < CSAM_SMSDIR_NAME_MAX
           && strcmp(name + n - 5, ".json") == 0;
}

/* The oldest record newer than `after` (in name order), or 0. */
static int csam_smsdir_next(const char *path, const char *after,
                            char out[CSAM_SMSDIR_NAME_MAX])
{
    struct dirent *de;
    DIR *dir = opendir(path);
    int found = 0;

    if (dir == NULL)
        return 0;
    while ((de = readdir(dir)) != NULL) {
        if (!csam_smsdir_is_record(de->d_name)
            || strcmp(de->d_name, after) <= 0)
            continue;
        if (!found || strcmp(de->d_name, out) < 0) {
            /* csam_smsdir_is_record() bounded the length */
            memcpy(out, de->d_name, strlen(de->d_name) + 1);
            found = 1;
        }
    }
    closedir(dir);
    return found;
}

static char *csam_smsdir_read(const char *path, const char *name)
{
    char file[4096 + CSAM_SMSDIR_NAME_MAX];
    char *buf;
    size_t n;
    FILE *f;

    snprintf(file, sizeof(file), "%s/%s", path, name);
    f = fopen(file, "rb");
    if (f == NULL)
        return NULL;
    buf = malloc(CSAM_SMSDIR_RECORD_MAX + 1);
    if (buf != NULL) {
        n = fread(buf, 1, CSAM_SMSDIR_RECORD_MAX, f);
        buf[n] = '\0';
    }
    fclose(f);
    return buf;
}

/* The only run of 6 to 8 digits in text. */
static int csam_smsdir_code(const char *text, char *out, size_t outlen)
{
    const char *p = text, *start;
    size_t n;
    int runs = 0;

    while (*p != '\0') {
        if (*p < '0' || *p > '9') {
            p++;
            continue;
        }
        start = p;
        while (*p >= '0' && *p <= '9')
            p++;
        n = (size_t)(p - start);
        if (n < 6 || n > 8)
            continue;
        if (++runs > 1 || n >= outlen)
            return -1;
        memcpy(out, start, n);
        out[n] = '\0';
    }
    return runs == 1 ? 0 : -1;
}

int csam_smsdir_open(struct csam_smsdir *sd, const char *path)
{
    char name[CSAM_SMSDIR_NAME_MAX];
    DIR *dir = opendir(path);

    if (dir == NULL)
        return -1;
    closedir(dir);
    sd->path = path;
    sd->last[0] = '\0';
    while (csam_smsdir_next(path, sd->last, name))
        memcpy(sd->last, name, sizeof(sd->last));
    return 0;
}

int csam_smsdir_await(struct csam_smsdir *sd, const char *to, long timeout_ms,
                      char *out, size_t outlen)
{
    const struct timespec pause = {0, CSAM_SMSDIR_POLL_MS * 1000000L};
    char name[CSAM_SMSDIR_NAME_MAX];
    long waited = 0;
    char *text;
    int rc;

    for (;;) {
        while (csam_smsdir_next(sd->path, sd->last, name)) {
            memcpy(sd->last, name, sizeof(sd->last));
            text = csam_smsdir_read(sd->path, name);
            if (text == NULL)
                continue;
            if (strstr(text, to) == NULL) {
                free(text);
                continue;
            }
            rc = csam_smsdir_code(text, out, outlen);
            free(text);
            return rc;
        }
        if (waited >= timeout_ms)
            return -1;
        nanosleep(&pause, NULL);
        waited += CSAM_SMSDIR_POLL_MS;
    }
}
