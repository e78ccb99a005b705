/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The replay driver: runs a fuzz target (fuzz.h) on every file of its
 * corpus, without libFuzzer, so that make check replays every seed and
 * every crash kept as a regression case with whatever compiler built the
 * tree (under --enable-sanitizers, with ASan and UBSan watching).
 *
 *   fuzz_<name> [FILE|DIR]...
 *
 * Without arguments: $CSAM_SRCDIR/tests/fuzz/corpus/<name>/, the name
 * taken from the program's own ("fuzz_" and libtool's "lt-" removed).  An
 * empty corpus is a failure: a target that replays nothing proves nothing.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* A corpus file is small: libFuzzer's default -max_len is 4096; the
 * limit leaves room for hand-made seeds. */
#define REPLAY_FILE_MAX (1024 * 1024)

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (fp == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    buf = malloc(REPLAY_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(fp);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    n = fread(buf, 1, REPLAY_FILE_MAX + 1, fp);
    if (ferror(fp) || n > REPLAY_FILE_MAX) {
        fprintf(stderr, "replay: %s: read error or larger than %d bytes\n",
                path, REPLAY_FILE_MAX);
        fclose(fp);
        free(buf);
        return -1;
    }
    fclose(fp);
    /* The target sees exactly n bytes: a copy of that size, so that a
     * read past the input's end is one past an allocation. */
    {
        uint8_t *exact = malloc(n > 0 ? n : 1);

        if (exact == NULL) {
            free(buf);
            fprintf(stderr, "replay: out of memory\n");
            return -1;
        }
        memcpy(exact, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

static int replay_sort(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; the count in *count. */
static int replay_dir(const char *dir, unsigned *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **more = realloc(names,
                                  (cap = cap ? cap * 2 : 64) * sizeof(*names));

            if (more == NULL) {
                rc = -1;
                break;
            }
            names = more;
        }
        if ((names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2)) == NULL) {
            rc = -1;
            break;
        }
        sprintf(names[n++], "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), replay_sort);
    for (i = 0; i < n; i++) {
        struct stat st;

        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static int replay_path(const char *path, unsigned *count)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode))
        return replay_dir(path, count);
    if (replay_file(path) != 0)
        return -1;
    (*count)++;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int i;

    if (argc > 1) {
        for (i = 1; i < argc; i++)
            if (replay_path(argv[i], &count) != 0)
                return 1;
    } else {
        const char *srcdir = getenv("CSAM_SRCDIR");
        const char *name = strrchr(argv[0], '/');
        char dir[4096];

        name = name != NULL ? name + 1 : argv[0];
        if (strncmp(name, "lt-", 3) == 0)
            name += 3;
        if (strncmp(name, "fuzz_", 5) == 0)
            name += 5;
        if (srcdir == NULL)
            srcdir = ".";
        if ((size_t)snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
                             srcdir, name)
            >= sizeof(dir)) {
            fprintf(stderr, "replay: corpus path too long\n");
            return 1;
        }
        if (replay_path(dir, &count) != 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "replay: no input to replay\n");
        return 1;
    }
    printf("replay: %u inputs, no crash\n", count);
    return 0;
}
