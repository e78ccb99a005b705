/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reserved usernames: the shipped list, an administrator's additions read
 * into the same list, and the rule that applies them (any case, root
 * always).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "password.h"
#include "validate.h"

/* The shipped list's path, from the source tree ($CSAM_SRCDIR under make
 * check, else found next to this file). */
static void csam_test_shipped_path(char *path, size_t size)
{
    const char *srcdir = getenv("CSAM_SRCDIR");
    char *slash;

    if (srcdir != NULL) {
        snprintf(path, size, "%s/conf/reserved-usernames.txt", srcdir);
        return;
    }
    snprintf(path, size, "%s", __FILE__);
    slash = strrchr(path, '/');
    if (slash != NULL)
        *slash = '\0';
    strncat(path, "/../../conf/reserved-usernames.txt",
            size - strlen(path) - 1);
}

/* A temporary file holding text; its path in path. */
static void csam_test_write(char *path, const char *text)
{
    FILE *fp;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void test_shipped_list(void **state)
{
    static const char *const reserved[] = {
        "root",          "ROOT",   "Root",       "www-data",
        "postgres",      "sshd",   "nobody",     "admin",
        "Administrator", "daemon", "bin",        "sys",
        "mail",          "backup", "_apt",       "systemd-network",
        "mysql",         "nginx",  "postmaster", "toor"};
    static const char *const free_names[] = {
        "marie.dupont", "jan-peeters", "rooted",      "admin2",
        "www",          "root.",       "postgres-fan"};
    char path[4096];
    const char *one;
    csam_wordlist *list = NULL;
    size_t i;

    (void)state;
    csam_test_shipped_path(path, sizeof(path));
    one = path;
    assert_int_equal(csam_wordlist_load_files(&one, 1, &list), CSAM_OK);
    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (!csam_username_reserved(list, reserved[i]))
            fail_msg("'%s' is not reserved", reserved[i]);
    for (i = 0; i < sizeof(free_names) / sizeof(free_names[0]); i++)
        if (csam_username_reserved(list, free_names[i]))
            fail_msg("'%s' is reserved", free_names[i]);
    assert_false(csam_username_reserved(list, NULL));
    assert_false(csam_username_reserved(list, ""));
    csam_wordlist_free(list);
}

/* Every name of Debian's base-passwd is on the shipped list (skipped
 * where the package is not installed). */
static void test_base_passwd(void **state)
{
    static const char *const files[] = {"/usr/share/base-passwd/passwd.master",
                                        "/usr/share/base-passwd/group.master"};
    char path[4096], line[1024];
    const char *one;
    csam_wordlist *list = NULL;
    size_t i, names = 0;
    FILE *fp;

    (void)state;
    csam_test_shipped_path(path, sizeof(path));
    one = path;
    assert_int_equal(csam_wordlist_load_files(&one, 1, &list), CSAM_OK);
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        fp = fopen(files[i], "r");
        if (fp == NULL)
            continue;
        while (fgets(line, sizeof(line), fp) != NULL) {
            char *colon = strchr(line, ':');

            if (colon == NULL || line[0] == '#')
                continue;
            *colon = '\0';
            if (!csam_username_reserved(list, line))
                fail_msg("base-passwd's '%s' is not reserved", line);
            names++;
        }
        fclose(fp);
    }
    csam_wordlist_free(list);
    if (names == 0)
        skip();
}

/* The administrator's file adds to the shipped list, in any case; a file
 * that cannot be read is an error, never an empty list. */
static void test_extra_file(void **state)
{
    char shipped[4096];
    char extra[] = "/tmp/csam-test-reserved-XXXXXX";
    const char *paths[2];
    csam_wordlist *list = NULL;

    (void)state;
    csam_test_shipped_path(shipped, sizeof(shipped));
    csam_test_write(extra, "# this site's service accounts\n"
                           "ops-team\r\n"
                           "Backup-Robot\n"
                           "\n");
    paths[0] = shipped;
    paths[1] = extra;
    assert_int_equal(csam_wordlist_load_files(paths, 2, &list), CSAM_OK);
    assert_true(csam_username_reserved(list, "ops-team"));
    assert_true(csam_username_reserved(list, "OPS-TEAM"));
    assert_true(csam_username_reserved(list, "backup-robot"));
    assert_true(csam_username_reserved(list, "www-data"));
    assert_false(csam_username_reserved(list, "ops-team2"));
    assert_false(
        csam_username_reserved(list, "# this site's service accounts"));
    csam_wordlist_free(list);

    /* The extra file alone does not stand for the shipped list. */
    assert_int_equal(csam_wordlist_load_files(&paths[1], 1, &list), CSAM_OK);
    assert_false(csam_username_reserved(list, "www-data"));
    assert_true(csam_username_reserved(list, "root"));
    csam_wordlist_free(list);

    assert_int_equal(unlink(extra), 0);
    list = (csam_wordlist *)(void *)extra;
    assert_int_equal(csam_wordlist_load_files(paths, 2, &list), CSAM_ERR_IO);
    assert_null(list);
    assert_int_equal(csam_wordlist_load_files(paths, 0, &list), CSAM_ERR_IO);
    assert_int_equal(csam_wordlist_load_files(NULL, 1, &list), CSAM_ERR_IO);
    assert_int_equal(csam_wordlist_load_files(paths, 1, NULL),
                     CSAM_ERR_INVALID);
}

/* Without any list, root still is. */
static void test_no_list(void **state)
{
    (void)state;
    assert_true(csam_username_reserved(NULL, "root"));
    assert_true(csam_username_reserved(NULL, "rOOt"));
    assert_false(csam_username_reserved(NULL, "www-data"));
    assert_false(csam_username_reserved(NULL, "roots"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_list),
        cmocka_unit_test(test_base_passwd),
        cmocka_unit_test(test_extra_file),
        cmocka_unit_test(test_no_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
