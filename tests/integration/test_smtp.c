/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMTP delivery against the real SMTP server run-with-services starts
 * (tests/lib/smtp_server.py): what arrives in the Maildir is what a relay
 * would have received.  For TLS, the test makes its own CA and relay
 * certificate with openssl and starts three more of those servers: one
 * that offers AUTH without TLS (and logs any attempt), one that requires
 * STARTTLS and one speaking TLS from the start (smtps), both requiring
 * AUTH.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mail.h"

#define CSAM_TEST_FROM "CSAM Mes clés numériques <noreply@example.be>"

/* The shipped templates of data_dir alone, no administrator's directory. */
static csam_result csam_test_mail_compose(const char *data_dir,
                                          const char *lang, const char *kind,
                                          const struct csam_tvar *vars,
                                          size_t nvars,
                                          struct csam_mail_content *out)
{
    const struct csam_template_dirs dirs = {NULL, data_dir};

    return csam_mail_compose(&dirs, lang, kind, vars, nvars, out, NULL, 0);
}

static int csam_test_tls_setup(void);

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
    if (csam_test_url == NULL || csam_test_dead_url == NULL || maildir == NULL)
        return -1;
    snprintf(csam_test_new, sizeof(csam_test_new), "%s/new", maildir);
    snprintf(csam_test_data_dir, sizeof(csam_test_data_dir), "%s/conf",
             src != NULL ? src : ".");
    csam_smtp_init();
    return csam_test_tls_setup();
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

/* ---------------------------------------------------------------- TLS */

#define CSAM_TEST_USER "relayuser"
#define CSAM_TEST_PASSWORD "s3cret-relay-pw"

/* One smtp_server.py of ours: its port, Maildir and AUTH log. */
struct csam_test_relay {
    pid_t pid;
    int port;
    char maildir[4096];
    char auth_log[4096];
};

enum {
    CSAM_RELAY_CLEAR_AUTH,
    CSAM_RELAY_STARTTLS,
    CSAM_RELAY_SMTPS,
    CSAM_RELAY_COUNT
};

static char csam_tls_dir[2048];
static char csam_tls_ca[4200], csam_tls_other_ca[4200];
static struct csam_test_relay csam_relays[CSAM_RELAY_COUNT];

/* A test CA, a relay certificate it signed (localhost and 127.0.0.1),
 * and a second CA that signed nothing of the relay's. */
static int csam_test_make_certs(void)
{
    char cmd[16384];

    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'\n"
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj '/CN=CSAM test CA' -keyout ca.key -out ca.pem\n"
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj '/CN=CSAM other CA' -keyout other.key -out other-ca.pem\n"
             "openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' "
             "-keyout relay.key -out relay.csr\n"
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext\n"
             "openssl x509 -req -in relay.csr -CA ca.pem -CAkey ca.key "
             "-CAcreateserial -days 2 -extfile ext -out relay.pem\n",
             csam_tls_dir);
    /* openssl's chatter on stderr is not the test's */
    strncat(cmd, " 2>/dev/null", sizeof(cmd) - strlen(cmd) - 1);
    return system(cmd) == 0 ? 0 : -1;
}

/* Starts smtp_server.py with extra arguments (NULL-terminated) and reads
 * the port it reports. */
static int csam_test_relay_start(struct csam_test_relay *r, const char *name,
                                 const char *const *extra)
{
    const char *src = getenv("CSAM_SRCDIR");
    char server[4096], cert[4200], key[4200];
    const char *argv[24];
    char line[64];
    size_t n = 0, i;
    struct pollfd p;
    int fds[2];
    ssize_t got;

    snprintf(server, sizeof(server), "%s/tests/lib/smtp_server.py",
             src != NULL ? src : ".");
    snprintf(cert, sizeof(cert), "%s/relay.pem", csam_tls_dir);
    snprintf(key, sizeof(key), "%s/relay.key", csam_tls_dir);
    snprintf(r->maildir, sizeof(r->maildir), "%s/%s-mail", csam_tls_dir, name);
    snprintf(r->auth_log, sizeof(r->auth_log), "%s/%s-auth.log", csam_tls_dir,
             name);
    argv[n++] = "/usr/bin/python3";
    argv[n++] = server;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--maildir";
    argv[n++] = r->maildir;
    argv[n++] = "--cert";
    argv[n++] = cert;
    argv[n++] = "--key";
    argv[n++] = key;
    argv[n++] = "--auth";
    argv[n++] = CSAM_TEST_USER ":" CSAM_TEST_PASSWORD;
    argv[n++] = "--auth-log";
    argv[n++] = r->auth_log;
    for (i = 0; extra[i] != NULL; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    if (pipe(fds) != 0)
        return -1;
    r->pid = fork();
    if (r->pid < 0)
        return -1;
    if (r->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    p.fd = fds[0];
    p.events = POLLIN;
    n = 0;
    while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
        if (poll(&p, 1, 15000) <= 0)
            break;
        got = read(fds[0], line + n, sizeof(line) - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fds[0]);
    line[n] = '\0';
    if (sscanf(line, "ready %d", &r->port) != 1) {
        fprintf(stderr, "test_smtp: %s relay did not start\n", name);
        return -1;
    }
    return 0;
}

static int csam_test_tls_setup(void)
{
    const char *tmp = getenv("CSAM_TEST_TMPDIR");
    static const char *const clear[] = {NULL};
    static const char *const starttls[] = {"--tls", "starttls", NULL};
    static const char *const smtps[] = {"--tls", "smtps", NULL};

    if (tmp == NULL)
        return -1;
    snprintf(csam_tls_dir, sizeof(csam_tls_dir), "%s/smtp-tls-%ld", tmp,
             (long)getpid());
    if (mkdir(csam_tls_dir, 0700) != 0 || csam_test_make_certs() != 0)
        return -1;
    snprintf(csam_tls_ca, sizeof(csam_tls_ca), "%s/ca.pem", csam_tls_dir);
    snprintf(csam_tls_other_ca, sizeof(csam_tls_other_ca), "%s/other-ca.pem",
             csam_tls_dir);
    if (csam_test_relay_start(&csam_relays[CSAM_RELAY_CLEAR_AUTH], "clear",
                              clear)
            != 0
        || csam_test_relay_start(&csam_relays[CSAM_RELAY_STARTTLS], "starttls",
                                 starttls)
               != 0
        || csam_test_relay_start(&csam_relays[CSAM_RELAY_SMTPS], "smtps", smtps)
               != 0)
        return -1;
    return 0;
}

static int csam_test_teardown(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < CSAM_RELAY_COUNT; i++) {
        if (csam_relays[i].pid > 0) {
            kill(csam_relays[i].pid, SIGTERM);
            while (waitpid(csam_relays[i].pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
    }
    return 0;
}

static int csam_test_files_in(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int csam_test_relay_mails(const struct csam_test_relay *r)
{
    char path[4200];

    snprintf(path, sizeof(path), "%s/new", r->maildir);
    return csam_test_files_in(path);
}

/* The relay's AUTH log ("" when nobody tried). */
static const char *csam_test_auth_log(const struct csam_test_relay *r)
{
    static char buf[4096];
    FILE *fp = fopen(r->auth_log, "r");
    size_t n;

    buf[0] = '\0';
    if (fp == NULL)
        return buf;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void csam_test_relay_url(char *url, size_t size, const char *scheme,
                                const struct csam_test_relay *r,
                                int credentials)
{
    snprintf(url, size, "%s://%slocalhost:%d", scheme,
             credentials ? CSAM_TEST_USER ":" CSAM_TEST_PASSWORD "@" : "",
             r->port);
}

static const struct csam_message csam_tls_msg = {
    "jan@example.org", "Test", "x\n", "<p>x</p>\n", "code", NULL};

/* Credentials and a relay that offers AUTH but no STARTTLS (or an
 * attacker who removed the offer): nothing is sent, the password never
 * leaves in clear, and the failure is CSAM_ERR_MAIL (502 upstream). */
static void test_credentials_require_tls(void **state)
{
    const struct csam_test_relay *r = &csam_relays[CSAM_RELAY_CLEAR_AUTH];
    struct csam_smtp smtp = {NULL, CSAM_TEST_FROM, 5, NULL};
    char url[512], err[256];

    (void)state;
    csam_test_relay_url(url, sizeof(url), "smtp", r, 1);
    smtp.relay = url;
    assert_int_equal(csam_smtp_send_err(&smtp, &csam_tls_msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_null(strstr(err, CSAM_TEST_PASSWORD));
    assert_null(strstr(err, CSAM_TEST_USER));
    assert_string_equal(csam_test_auth_log(r), "");
    assert_int_equal(csam_test_relay_mails(r), 0);
    /* the same with the test CA trusted: TLS is required, not a CA */
    smtp.ca_file = csam_tls_ca;
    assert_int_equal(csam_smtp_send(&smtp, &csam_tls_msg), CSAM_ERR_MAIL);
    assert_string_equal(csam_test_auth_log(r), "");
    assert_int_equal(csam_test_relay_mails(r), 0);
    /* (without credentials, a relay without STARTTLS still takes mail in
     * clear, as before: test_send_code_mail) */
}

/* smtp:// with credentials to a relay that offers STARTTLS: TLS, the
 * certificate checked against mail_ca_file, AUTH inside it. */
static void test_starttls_with_credentials(void **state)
{
    const struct csam_test_relay *r = &csam_relays[CSAM_RELAY_STARTTLS];
    struct csam_smtp smtp = {NULL, CSAM_TEST_FROM, 10, NULL};
    char url[512];

    (void)state;
    csam_test_relay_url(url, sizeof(url), "smtp", r, 1);
    smtp.relay = url;
    smtp.ca_file = csam_tls_ca;
    assert_int_equal(csam_smtp_send(&smtp, &csam_tls_msg), CSAM_OK);
    assert_int_equal(csam_test_relay_mails(r), 1);
    assert_string_equal(csam_test_auth_log(r), "tls=1 ok=1\n");
    /* by IP address too: the certificate names 127.0.0.1 */
    snprintf(url, sizeof(url), "smtp://%s:%s@127.0.0.1:%d", CSAM_TEST_USER,
             CSAM_TEST_PASSWORD, r->port);
    assert_int_equal(csam_smtp_send(&smtp, &csam_tls_msg), CSAM_OK);
    assert_int_equal(csam_test_relay_mails(r), 2);
}

static void test_smtps_with_credentials(void **state)
{
    const struct csam_test_relay *r = &csam_relays[CSAM_RELAY_SMTPS];
    struct csam_smtp smtp = {NULL, CSAM_TEST_FROM, 10, NULL};
    char url[512];

    (void)state;
    csam_test_relay_url(url, sizeof(url), "smtps", r, 1);
    smtp.relay = url;
    smtp.ca_file = csam_tls_ca;
    assert_int_equal(csam_smtp_send(&smtp, &csam_tls_msg), CSAM_OK);
    assert_int_equal(csam_test_relay_mails(r), 1);
    assert_string_equal(csam_test_auth_log(r), "tls=1 ok=1\n");
}

/* A certificate that does not chain to the trusted CAs: no AUTH, no mail,
 * whether the CA file names another CA or the system store is used. */
static void test_wrong_ca(void **state)
{
    static const int which[] = {CSAM_RELAY_STARTTLS, CSAM_RELAY_SMTPS};
    struct csam_smtp smtp = {NULL, CSAM_TEST_FROM, 10, NULL};
    char url[512], err[256], before[4096];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
        const struct csam_test_relay *r = &csam_relays[which[i]];
        int mails = csam_test_relay_mails(r);

        snprintf(before, sizeof(before), "%s", csam_test_auth_log(r));
        csam_test_relay_url(url, sizeof(url),
                            which[i] == CSAM_RELAY_SMTPS ? "smtps" : "smtp", r,
                            1);
        smtp.relay = url;
        smtp.ca_file = csam_tls_other_ca;
        assert_int_equal(csam_smtp_send_err(&smtp, &csam_tls_msg, err,
                                            sizeof(err)),
                         CSAM_ERR_MAIL);
        assert_null(strstr(err, CSAM_TEST_PASSWORD));
        smtp.ca_file = NULL;
        assert_int_equal(csam_smtp_send(&smtp, &csam_tls_msg), CSAM_ERR_MAIL);
        /* a missing CA file is a failure too, not "trust anything" */
        smtp.ca_file = "/nonexistent/ca.pem";
        assert_int_equal(csam_smtp_send(&smtp, &csam_tls_msg), CSAM_ERR_MAIL);
        assert_string_equal(csam_test_auth_log(r), before);
        assert_int_equal(csam_test_relay_mails(r), mails);
    }
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
    assert_int_equal(csam_test_mail_compose(csam_test_data_dir, "fr", "code",
                                            vars, 3, &c),
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
    assert_non_null(
        strstr(got, "X-Csam-Envelope-From: noreply@example.be\r\n"));
    assert_non_null(
        strstr(got, "X-Csam-Envelope-To: anais.dupont@example.org\r\n"));
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

/* A citizen's address with a domain typed in Unicode: the relay sees
 * its A-label form in RCPT TO and in the To header (no SMTPUTF8). */
static void test_send_idn_domain(void **state)
{
    struct csam_smtp smtp = {csam_test_url, CSAM_TEST_FROM, 10, NULL};
    const struct csam_message msg = {"Citoyen <citoyen@exemple-été.be>",
                                     "Test IDN",
                                     "x",
                                     "<p>x</p>",
                                     "test",
                                     NULL};
    char *got;

    (void)state;
    assert_int_equal(csam_test_count(), 0);
    assert_int_equal(csam_smtp_send(&smtp, &msg), CSAM_OK);
    got = csam_test_take();
    assert_non_null(
        strstr(got, "X-Csam-Envelope-To: citoyen@xn--exemple-t-i4ab.be\r\n"));
    assert_non_null(
        strstr(got, "\r\nTo: Citoyen <citoyen@xn--exemple-t-i4ab.be>\r\n"));
    assert_null(strstr(got, "été"));
    free(got);
}

static void test_sender_callback(void **state)
{
    const struct csam_smtp smtp = {csam_test_url, "noreply@example.be", 10,
                                   NULL};
    const struct csam_message msg = {"jan@example.org",  "Plain subject",
                                     "Hallo\n",          "<p>Hallo</p>\n",
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
                                     "<p>x</p>\n",      "code", "123456"};
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

static void test_refused_before_sending(void **state)
{
    struct csam_smtp smtp = {NULL, CSAM_TEST_FROM, 5, NULL};
    struct csam_message msg = {"jan@example.org",
                               "Test\r\nBcc: x@example.org",
                               "x\n",
                               "<p>x</p>\n",
                               "code",
                               NULL};

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
        cmocka_unit_test(test_send_idn_domain),
        cmocka_unit_test(test_sender_callback),
        cmocka_unit_test(test_dead_relay),
        cmocka_unit_test(test_credentials_require_tls),
        cmocka_unit_test(test_starttls_with_credentials),
        cmocka_unit_test(test_smtps_with_credentials),
        cmocka_unit_test(test_wrong_ca),
        cmocka_unit_test(test_refused_before_sending),
    };

    if (getenv("CSAM_TEST_SMTP_URL") == NULL) {
        fprintf(stderr,
                "test_smtp: run it under tests/lib/run-with-services\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, csam_test_setup, csam_test_teardown);
}
