/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maildir reading for test tools.  Mails are small and few: each is read
 * whole (at most 1 MiB) and parsed just enough to find the text/plain
 * part of the engine's multipart/alternative message.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maildir.h"

#define CSAM_MAILDIR_MAIL_MAX (1024 * 1024)
#define CSAM_MAILDIR_POLL_MS 20
#define CSAM_MAILDIR_TOKEN_LEN 43

/* The seen names are kept sorted: a loop of a thousand logins must not
 * spend its time comparing file names. */
static size_t csam_maildir_find(const struct csam_maildir *md, const char *name,
                                int *found)
{
    size_t lo = 0, hi = md->nseen;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(md->seen[mid], name);

        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int csam_maildir_is_seen(const struct csam_maildir *md, const char *name)
{
    int found;

    csam_maildir_find(md, name, &found);
    return found;
}

static int csam_maildir_mark(struct csam_maildir *md, const char *name)
{
    int found;
    size_t at = csam_maildir_find(md, name, &found);
    char *copy;

    if (found)
        return 0;
    if (md->nseen == CSAM_MAILDIR_SEEN_MAX)
        return -1;
    copy = strdup(name);
    if (copy == NULL)
        return -1;
    memmove(&md->seen[at + 1], &md->seen[at],
            (md->nseen - at) * sizeof(md->seen[0]));
    md->seen[at] = copy;
    md->nseen++;
    return 0;
}

int csam_maildir_open(struct csam_maildir *md, const char *path)
{
    char dirpath[4096];
    struct dirent *de;
    DIR *dir;
    int rc = 0;

    md->path = path;
    md->nseen = 0;
    snprintf(dirpath, sizeof(dirpath), "%s/new", path);
    dir = opendir(dirpath);
    if (dir == NULL)
        return 0; /* nothing delivered yet */
    while (rc == 0 && (de = readdir(dir)) != NULL)
        if (de->d_name[0] != '.')
            rc = csam_maildir_mark(md, de->d_name);
    closedir(dir);
    return rc;
}

void csam_maildir_close(struct csam_maildir *md)
{
    while (md->nseen > 0)
        free(md->seen[--md->nseen]);
}

static char *csam_maildir_read(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    size_t n;

    if (fp == NULL)
        return NULL;
    buf = malloc(CSAM_MAILDIR_MAIL_MAX + 1);
    if (buf != NULL) {
        n = fread(buf, 1, CSAM_MAILDIR_MAIL_MAX, fp);
        buf[n] = '\0';
    }
    fclose(fp);
    return buf;
}

/* 1 when a header line names `to` as a recipient. */
static int csam_maildir_addressed_to(const char *mail, const char *to)
{
    const char *end = strstr(mail, "\r\n\r\n");
    const char *line = mail;
    size_t tolen = strlen(to);

    if (end == NULL)
        end = mail + strlen(mail);
    while (line < end) {
        const char *eol = strstr(line, "\r\n");
        const char *p;

        if (eol == NULL || eol > end)
            eol = end;
        if (strncmp(line, "To:", 3) == 0
            || strncmp(line, "X-Csam-Envelope-To:", 19) == 0) {
            for (p = line; p + tolen <= eol; p++)
                if (strncmp(p, to, tolen) == 0)
                    return 1;
        }
        line = eol + 2;
    }
    return 0;
}

static int csam_maildir_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The text/plain part with quoted-printable undone, decoded in place;
 * NULL when there is none. */
static char *csam_maildir_text_part(char *mail)
{
    char *part = strstr(mail, "Content-Type: text/plain");
    char *body, *end, *in, *out;

    if (part == NULL)
        return NULL;
    body = strstr(part, "\r\n\r\n");
    if (body == NULL)
        return NULL;
    body += 4;
    end = strstr(body, "\r\n--");
    if (end != NULL)
        *end = '\0';
    for (in = out = body; *in != '\0'; in++) {
        if (in[0] == '=' && in[1] == '\r' && in[2] == '\n') {
            in += 2; /* soft line break */
        } else if (in[0] == '=' && csam_maildir_hex(in[1]) >= 0
                   && csam_maildir_hex(in[2]) >= 0) {
            *out++ = (char)(csam_maildir_hex(in[1]) * 16
                            + csam_maildir_hex(in[2]));
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return body;
}

static int csam_maildir_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int csam_maildir_find_token(const char *text, char *out, size_t outlen)
{
    const char *p = strstr(text, "activate?t=");
    size_t n = 0;

    if (p == NULL)
        return -1;
    p += strlen("activate?t=");
    while (csam_maildir_b64url(p[n]) && n + 1 < outlen) {
        out[n] = p[n];
        n++;
    }
    out[n] = '\0';
    return n == CSAM_MAILDIR_TOKEN_LEN ? 0 : -1;
}

/* DESIGN 3.6: a code is the only run of 6 to 8 digits in the text. */
static int csam_maildir_find_code(const char *text, char *out, size_t outlen)
{
    const char *p = text;
    int found = 0;

    while (*p != '\0') {
        size_t n = 0;

        while (p[n] >= '0' && p[n] <= '9')
            n++;
        if (n == 0) {
            p++;
            continue;
        }
        if (n >= 6 && n <= 8) {
            if (found || n >= outlen)
                return -1;
            memcpy(out, p, n);
            out[n] = '\0';
            found = 1;
        }
        p += n;
    }
    return found ? 0 : -1;
}

int csam_maildir_await(struct csam_maildir *md, const char *to,
                       enum csam_maildir_want want, long timeout_ms, char *out,
                       size_t outlen)
{
    const struct timespec pause = {0, CSAM_MAILDIR_POLL_MS * 1000000L};
    char dirpath[4096], path[8192];
    long waited;

    snprintf(dirpath, sizeof(dirpath), "%s/new", md->path);
    for (waited = 0; waited <= timeout_ms; waited += CSAM_MAILDIR_POLL_MS) {
        DIR *dir = opendir(dirpath);
        struct dirent *de;

        while (dir != NULL && (de = readdir(dir)) != NULL) {
            char *mail, *text;
            int rc = -1;

            if (de->d_name[0] == '.' || csam_maildir_is_seen(md, de->d_name))
                continue;
            snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
            mail = csam_maildir_read(path);
            if (mail == NULL || !csam_maildir_addressed_to(mail, to)) {
                free(mail);
                continue;
            }
            if (csam_maildir_mark(md, de->d_name) == 0) {
                text = csam_maildir_text_part(mail);
                if (text != NULL)
                    rc = want == CSAM_MAILDIR_TOKEN
                             ? csam_maildir_find_token(text, out, outlen)
                             : csam_maildir_find_code(text, out, outlen);
            }
            free(mail);
            closedir(dir);
            return rc;
        }
        if (dir != NULL)
            closedir(dir);
        nanosleep(&pause, NULL);
    }
    return -1;
}
