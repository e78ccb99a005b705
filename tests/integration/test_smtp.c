/*
 * SMTP delivery against the real SMTP server run-with-services starts
 * (tests/lib/smtp_server.py): what arrives in the Maildir is what a relay
 * would have received.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail.h"

#define CSAM_TEST_FROM "CSAM Mes clés numériques <noreply@example.be>"

static const char *csam_test_url;
static const char *csam_test_dead_url;
static char csam_test_new[4096];
static char csam_test_data_dir[4096];

static int csam_test_setup(void **state)
{
    const char *maildir = getenv("CSAM_TEST_MAILDIR");
    const char *src = getenv("CSAM_SRCDIR");

    (void)state;
    csam_test_url = getenv("CSAM_TEST_SMTP_URL");
    csam_test_dead_url = getenv("CSAM_TEST_DEAD_SMTP_URL");
    if (csam_test_url == NULL || csam_test_dead_url == NULL
        || maildir == NULL)
        return -1;
    snprintf(csam_test_new, sizeof(csam_test_new), "%s/new", maildir);
    snprintf(csam_test_data_dir, sizeof(csam_test_data_dir), "%s/conf",
             src != NULL ? src : ".");
    csam_smtp_init();
    return 0;
}

static int csam_test_count(void)
{
    DIR *dir = opendir(csam_test_new);
    struct dirent *e;
    int n = 0;

    if (dir == NULL)
        return 0;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* Removes and returns the only message in new/ (malloc'd). */
static char *csam_test_take(void)
{
    DIR *dir = opendir(csam_test_new);
    struct dirent *e;
    char path[8192];
    char *data = NULL;
    int found = 0;

    assert_non_null(dir);
    while ((e = readdir(dir)) != NULL) {
        FILE *fp;
        long size;

        if (e->d_name[0] == '.')
            continue;
        found++;
        snprintf(path, sizeof(path), "%s/%s", csam_test_new, e->d_name);
        fp = fopen(path, "rb");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, 0, SEEK_END), 0);
        size = ftell(fp);
        rewind(fp);
        free(data);
        data = malloc((size_t)size + 1);
        assert_non_null(data);
        assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
        data[size] = '\0';
        fclose(fp);
        assert_int_equal(remove(path), 0);
    }
    closedir(dir);
    assert_int_equal(found, 1);
    return data;
}

/* Quoted-printable soft breaks and =XX undone, in place (boundaries, which
 * hold "=_", pass through). */
static void csam_test_unqp(char *s)
{
    char *w = s;

    while (*s != '\0') {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        } else if (s[0] == '=' && isxdigit((unsigned char)s[1])
                   && isxdigit((unsigned char)s[2])) {
            char hex[3] = {s[1], s[2], '\0'};

            *w++ = (char)strtol(hex, NULL, 16);
            s += 3;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
}

static void test_send_code_mail(void **state)
{
    const struct csam_tvar vars[] = {
        {"first_name", "Anaïs"}, {"code", "04821937"}, {"minutes", "10"}};
    struct csam_mail_content c;
    struct csam_smtp smtp = {csam_test_url, CSAM_TEST_FROM, 10, NULL};
    struct csam_message msg;
    char *got;

    (void)state;
    assert_int_equal(csam_mail_compose(csam_test_data_dir, "fr", "code", vars,
                                       3, &c),
                     CSAM_OK);
    msg.to = "anais.dupont@example.org";
    msg.subject = c.subject;
    msg.text = c.text;
    msg.html = c.html;
    msg.kind = "code";
    msg.secret = "04821937";
    assert_int_equal(csam_test_count(), 0);
    assert_int_equal(csam_smtp_send(&smtp, &msg), CSAM_OK);

    got = csam_test_take();
    /* the envelope: bare addresses, not the display name */
    assert_non_null(strstr(got, "X-Csam-Envelope-From: noreply@example.be\r\n"));
    assert_non_null(strstr(got,
                           "X-Csam-Envelope-To: anais.dupont@example.org\r\n"));
    assert_non_null(strstr(got, "\r\nTo: <anais.dupont@example.org>\r\n"));
    assert_non_null(strstr(got, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null(strstr(got, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(got, "Content-Type: text/plain; charset=UTF-8"));
    assert_non_null(strstr(got, "Content-Type: text/html; charset=UTF-8"));
    /* the body only: headers hold encoded words, not quoted-printable */
    assert_non_null(strstr(got, "\r\n\r\n"));
    csam_test_unqp(strstr(got, "\r\n\r\n"));
    assert_non_null(strstr(got, "Votre code de sécurité est :"));
    assert_non_null(strstr(got, "    04821937\r\n"));
    free(got);
    csam_mail_content_free(&c);
}

static void test_sender_callback(void **state)
{
    const struct csam_smtp smtp = {csam_test_url, "noreply@example.be", 10, NULL};
    const struct csam_message msg = {"jan@example.org", "Plain subject",
                                     "Hallo\n", "<p>Hallo</p>\n",
                                     "password_changed", NULL};
    struct csam_sender sender = {csam_smtp_sender, (void *)&smtp};
    char *got;

    (void)state;
    assert_int_equal(sender.fn(sender.ctx, &msg), CSAM_OK);
    got = csam_test_take();
    assert_non_null(strstr(got, "\r\nFrom: <noreply@example.be>\r\n"));
    assert_non_null(strstr(got, "\r\nSubject: Plain subject\r\n"));
    free(got);
}

static void test_dead_relay(void **state)
{
    const struct csam_smtp smtp = {csam_test_dead_url, CSAM_TEST_FROM, 5, NULL};
    const struct csam_message msg = {"jan@example.org", "Test", "x\n",
                                     "<p>x</p>\n", "code", "123456"};
    struct timespec t0, t1;
    double secs;
    char err[256];

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(csam_smtp_send(&smtp, &msg), CSAM_ERR_MAIL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* the reason is there for the log, without the URL or the port */
    assert_int_equal(csam_smtp_send_err(&smtp, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_non_null(strstr(err, "onnect"));
    assert_null(strstr(err, strrchr(csam_test_dead_url, ':') + 1));
    assert_null(strstr(err, "127.0.0.1"));
    secs = (double)(t1.tv_sec - t0.tv_sec)
           + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* refused connection: an answer at once, not after the timeout */
    assert_true(secs < 2.0);
}

/* Credentials in an smtp:// URL make STARTTLS mandatory: the test server
 * offers none, so nothing is sent (and the password never goes in clear). */
static void test_credentials_require_tls(void **state)
{
    char url[512], err[256];
    struct csam_smtp smtp = {NULL, CSAM_TEST_FROM, 5, NULL};
    const struct csam_message msg = {"jan@example.org", "Test", "x\n",
                                     "<p>x</p>\n", "code", NULL};

    (void)state;
    assert_true(strncmp(csam_test_url, "smtp://", 7) == 0);
    snprintf(url, sizeof(url), "smtp://user:s3cret@%s", csam_test_url + 7);
    smtp.relay = url;
    assert_int_equal(csam_smtp_send_err(&smtp, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_null(strstr(err, "s3cret"));
    assert_null(strstr(err, "user"));
    assert_int_equal(csam_test_count(), 0);
}

static void test_refused_before_sending(void **state)
{
    struct csam_smtp smtp = {NULL, CSAM_TEST_FROM, 5, NULL};
    struct csam_message msg = {"jan@example.org", "Test\r\nBcc: x@example.org",
                               "x\n", "<p>x</p>\n", "code", NULL};

    (void)state;
    smtp.relay = csam_test_url;
    assert_int_equal(csam_smtp_send(&smtp, &msg), CSAM_ERR_INVALID);
    msg.subject = "Test";
    msg.to = "jan@example.org>\r\nRCPT TO:<x@example.org";
    assert_int_equal(csam_smtp_send(&smtp, &msg), CSAM_ERR_INVALID);
    msg.to = "jan@example.org";
    smtp.relay = "http://127.0.0.1:1";
    assert_int_equal(csam_smtp_send(&smtp, &msg), CSAM_ERR_INVALID);
    smtp.relay = csam_test_url;
    smtp.from = "not a mailbox";
    assert_int_equal(csam_smtp_send(&smtp, &msg), CSAM_ERR_INVALID);
    assert_int_equal(csam_test_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_code_mail),
        cmocka_unit_test(test_sender_callback),
        cmocka_unit_test(test_dead_relay),
        cmocka_unit_test(test_credentials_require_tls),
        cmocka_unit_test(test_refused_before_sending),
    };

    if (getenv("CSAM_TEST_SMTP_URL") == NULL) {
        fprintf(stderr, "test_smtp: run it under tests/lib/run-with-services\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, csam_test_setup, NULL);
}
