/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where templates come from: the administrator's directory before the
 * shipped one, file by file; its files checked as configuration (a file
 * or directory others can write is refused, never replaced by the
 * shipped one); the startup walk; and a mail composed from one
 * administrator's part and two shipped ones.
 */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail.h"
#include "template_file.h"

struct csam_test_tree {
    char root[64];
    char own[128];
    char data[128];
};

static void csam_test_mkdir(const char *path)
{
    assert_int_equal(mkdir(path, 0755), 0);
    /* the umask may have taken bits away: exactly 0755 */
    assert_int_equal(chmod(path, 0755), 0);
}

/* Write root-relative name (its directories made 0755) with mode. */
static void csam_test_put(const char *root, const char *name, const char *text,
                          mode_t mode)
{
    char path[512];
    char *slash;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", root, name);
    for (slash = strchr(path + strlen(root) + 1, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        struct stat st;

        *slash = '\0';
        if (stat(path, &st) != 0)
            csam_test_mkdir(path);
        *slash = '/';
    }
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static int csam_test_setup(void **state)
{
    struct csam_test_tree *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    snprintf(t->root, sizeof(t->root), "/tmp/csam-test-tfile.XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->own, sizeof(t->own), "%s/etc", t->root);
    snprintf(t->data, sizeof(t->data), "%s/share", t->root);
    csam_test_mkdir(t->own);
    csam_test_mkdir(t->data);
    csam_test_put(t->data, "templates/mail/fr/hello.subject", "Bonjour\n",
                  0644);
    csam_test_put(t->data, "templates/mail/fr/hello.txt",
                  "Bonjour {{first_name}}\n", 0644);
    csam_test_put(t->data, "templates/mail/fr/hello.html",
                  "<p>Bonjour {{first_name}}</p>\n", 0644);
    csam_test_put(t->data, "templates/mail/nl/hello.subject", "Hallo\n", 0644);
    csam_test_put(t->data, "templates/mail/nl/hello.txt",
                  "Hallo {{first_name}}\n", 0644);
    csam_test_put(t->data, "templates/mail/nl/hello.html",
                  "<p>Hallo {{first_name}}</p>\n", 0644);
    *state = t;
    return 0;
}

static int csam_test_teardown(void **state)
{
    struct csam_test_tree *t = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
    assert_int_equal(system(cmd), 0);
    free(t);
    return 0;
}

static void test_own_file_wins_the_rest_shipped(void **state)
{
    struct csam_test_tree *t = *state;
    const struct csam_template_dirs dirs = {t->own, t->data};
    enum csam_template_origin from;
    char err[512];
    char *out = NULL;

    csam_test_put(t->own, "mail/nl/hello.subject", "Gemeente: hallo\n", 0644);
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY,
                                        "mail/nl/hello.subject", &out, &from,
                                        err, sizeof(err)),
                     CSAM_OK);
    assert_string_equal(out, "Gemeente: hallo\n");
    assert_int_equal(from, CSAM_TEMPLATE_OWN);
    free(out);
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY,
                                        "mail/nl/hello.txt", &out, &from, err,
                                        sizeof(err)),
                     CSAM_OK);
    assert_string_equal(out, "Hallo {{first_name}}\n");
    assert_int_equal(from, CSAM_TEMPLATE_SHIPPED);
    free(out);
    /* asked for one place only */
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_SHIPPED,
                                        "mail/nl/hello.subject", &out, &from,
                                        err, sizeof(err)),
                     CSAM_OK);
    assert_string_equal(out, "Hallo\n");
    free(out);
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_OWN,
                                        "mail/nl/hello.txt", &out, &from, err,
                                        sizeof(err)),
                     CSAM_ERR_NOT_FOUND);
    assert_null(out);
    /* in neither */
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY,
                                        "mail/de/hello.txt", &out, &from, err,
                                        sizeof(err)),
                     CSAM_ERR_NOT_FOUND);

    /* the composed mail: the administrator's subject, the shipped bodies */
    {
        const struct csam_tvar vars[] = {{"first_name", "Jan"}};
        struct csam_mail_content c;

        assert_int_equal(csam_mail_compose(&dirs, "nl", "hello", vars, 1, &c,
                                           err, sizeof(err)),
                         CSAM_OK);
        assert_string_equal(c.subject, "Gemeente: hallo");
        assert_string_equal(c.text, "Hallo Jan\n");
        assert_string_equal(c.html, "<p>Hallo Jan</p>\n");
        csam_mail_content_free(&c);
        /* fr has no override: all shipped */
        assert_int_equal(csam_mail_compose(&dirs, "fr", "hello", vars, 1, &c,
                                           err, sizeof(err)),
                         CSAM_OK);
        assert_string_equal(c.subject, "Bonjour");
        csam_mail_content_free(&c);
    }

    /* no administrator's directory at all: shipped */
    {
        char absent[256];
        const struct csam_template_dirs none = {absent, t->data};

        snprintf(absent, sizeof(absent), "%s/nothing-here", t->root);
        assert_int_equal(csam_template_load(&none, CSAM_TEMPLATE_ANY,
                                            "mail/nl/hello.subject", &out,
                                            &from, err, sizeof(err)),
                         CSAM_OK);
        assert_string_equal(out, "Hallo\n");
        free(out);
        assert_int_equal(csam_template_dirs_check(&none, err, sizeof(err)),
                         CSAM_OK);
    }
}

/* An override others can write is refused, never quietly replaced by the
 * shipped file (a mail is then not sent). */
static void test_unsafe_own_file_refused(void **state)
{
    struct csam_test_tree *t = *state;
    const struct csam_template_dirs dirs = {t->own, t->data};
    const struct csam_tvar vars[] = {{"first_name", "Jan"}};
    enum csam_template_origin from;
    struct csam_mail_content c;
    char err[512];
    char *out = NULL;

    csam_test_put(t->own, "mail/nl/hello.txt", "Hallo!\n", 0666);
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY,
                                        "mail/nl/hello.txt", &out, &from, err,
                                        sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_null(out);
    assert_int_equal(from, CSAM_TEMPLATE_OWN);
    assert_non_null(strstr(err, "/etc/mail/nl/hello.txt"));
    assert_non_null(strstr(err, "writable by group or others (mode 0666)"));
    assert_int_equal(csam_mail_compose(&dirs, "nl", "hello", vars, 1, &c, err,
                                       sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_null(c.subject);
    assert_int_equal(csam_template_dirs_check(&dirs, err, sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, "hello.txt"));
}

static void test_unsafe_own_dir_refused(void **state)
{
    struct csam_test_tree *t = *state;
    const struct csam_template_dirs dirs = {t->own, t->data};
    char path[512], err[512];
    char *out = NULL;

    csam_test_put(t->own, "mail/nl/hello.txt", "Hallo!\n", 0644);
    assert_int_equal(csam_template_dirs_check(&dirs, err, sizeof(err)),
                     CSAM_OK);
    snprintf(path, sizeof(path), "%s/mail/nl", t->own);
    assert_int_equal(chmod(path, 0775), 0);
    /* whoever can write the directory can swap the file */
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY,
                                        "mail/nl/hello.txt", &out, NULL, err,
                                        sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_int_equal(csam_template_dirs_check(&dirs, err, sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, path));
    assert_int_equal(chmod(path, 0755), 0);

    assert_int_equal(chmod(t->own, 0777), 0);
    assert_int_equal(csam_template_dirs_check(&dirs, err, sizeof(err)),
                     CSAM_ERR_INSECURE);
    assert_non_null(strstr(err, "mode 0777"));
    assert_int_equal(chmod(t->own, 0755), 0);

    /* a FIFO where a template belongs: refused, without hanging */
    snprintf(path, sizeof(path), "%s/mail/nl/hello.html", t->own);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY,
                                        "mail/nl/hello.html", &out, NULL, err,
                                        sizeof(err)),
                     CSAM_ERR_IO);
    unlink(path);
    /* the administrator's "directory" is a file */
    {
        const struct csam_template_dirs file = {path, t->data};

        csam_test_put(t->own, "mail/nl/hello.html", "x", 0644);
        assert_int_equal(csam_template_dirs_check(&file, err, sizeof(err)),
                         CSAM_ERR_IO);
        assert_non_null(strstr(err, "not a directory"));
    }
}

/* Names come from the code, but none reads outside the tree. */
static void test_names_stay_inside(void **state)
{
    struct csam_test_tree *t = *state;
    const struct csam_template_dirs dirs = {t->own, t->data};
    static const char *const bad[] = {
        "",          "/etc/passwd", "mail/../../x",      "mail//fr",
        "mail/./fr", "mail/fr/",    "Mail/fr/hello.txt", "mail/fr/hello txt",
        "..",
    };
    char *out = NULL;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY, bad[i],
                                            &out, NULL, NULL, 0),
                         CSAM_ERR_INVALID);
    assert_int_equal(csam_template_load(&dirs, CSAM_TEMPLATE_ANY, NULL, &out,
                                        NULL, NULL, 0),
                     CSAM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_own_file_wins_the_rest_shipped,
                                        csam_test_setup, csam_test_teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_own_file_refused,
                                        csam_test_setup, csam_test_teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_own_dir_refused,
                                        csam_test_setup, csam_test_teardown),
        cmocka_unit_test_setup_teardown(test_names_stay_inside, csam_test_setup,
                                        csam_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
