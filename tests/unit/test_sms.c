/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMS: the sms_* settings and their cross-checks (one rule for the
 * configuration check and the delivery settings), the text templates, the
 * body template's escaping, E.164 recipients, and each transport's error
 * paths: a real HTTP exchange with a one-shot server forked here (status
 * 500, a redirect, no answer, nobody listening) and real commands (exit 1,
 * hanging, not absolute, missing), with the code and the auth never in
 * an error message.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* by path: "config.h" alone finds autoconf's header in the build tree */
#include "../../common/base/config.h"
#include "sms.h"
#include "validate.h"

#define CSAM_TEST_CODE "480213"
#define CSAM_TEST_TOKEN "t0k3n-s3cr3t"
#define CSAM_TEST_TEXT "CSAM: code " CSAM_TEST_CODE
#define CSAM_TEST_ODD_TEXT                                                     \
    "code " CSAM_TEST_CODE " 'q' \"d\" $HOME; `id` \\\nline 2"

static char csam_test_dir[] = "/tmp/csam-test-sms.XXXXXX";

/* The shipped templates of data_dir alone, no administrator's directory. */
static csam_result csam_test_sms_compose(const char *data_dir, const char *lang,
                                         const char *kind,
                                         const struct csam_tvar *vars,
                                         size_t nvars, char **text)
{
    const struct csam_template_dirs dirs = {NULL, data_dir};

    return csam_sms_compose(&dirs, lang, kind, vars, nvars, text);
}

static int csam_test_setup(void **state)
{
    (void)state;
    if (mkdtemp(csam_test_dir) == NULL)
        return -1;
    csam_smtp_init(); /* libcurl's global init, as the hosts do */
    return 0;
}

static int csam_test_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", csam_test_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static double csam_test_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Neither the code nor the auth appears in err. */
static void csam_test_clean_err(const char *err)
{
    assert_true(err[0] != '\0');
    if (strstr(err, CSAM_TEST_CODE) != NULL
        || strstr(err, CSAM_TEST_TOKEN) != NULL)
        fail_msg("secret in error message: %s", err);
}

/* ---------------------------------------------------------------- config */

static void csam_test_set(struct csam_config *cfg, const char *key,
                          const char *value, csam_result want)
{
    char err[CSAM_CONFIG_ERRLEN] = "";
    csam_result got = csam_config_set(cfg, key, value, err, sizeof(err));

    if (got != want)
        fail_msg("%s = %s: %s (%s)", key, value, csam_result_name(got), err);
    if (got != CSAM_OK) {
        assert_non_null(strstr(err, key));
        /* sms_url and sms_auth may hold a token: never echoed (values
         * short enough to be words of the reason are not telling) */
        if ((strcmp(key, "sms_url") == 0 || strcmp(key, "sms_auth") == 0)
            && strlen(value) > 12 && strstr(err, value) != NULL)
            fail_msg("%s: value echoed in '%s'", key, err);
    }
}

static void test_config_keys(void **state)
{
    struct csam_config cfg;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    assert_string_equal(cfg.sms_transport, "none");
    assert_null(cfg.sms_url);
    assert_string_equal(cfg.sms_body,
                        "{\"to\":\"{{to}}\",\"text\":\"{{text}}\"}");
    assert_string_equal(cfg.sms_content_type, "application/json");
    assert_null(cfg.sms_auth);
    assert_null(cfg.sms_command);
    assert_int_equal(cfg.sms_timeout, 10);
    assert_string_equal(cfg.totp_issuer, "CSAM");

    csam_test_set(&cfg, "sms_transport", "http", CSAM_OK);
    csam_test_set(&cfg, "sms_transport", "command", CSAM_OK);
    csam_test_set(&cfg, "sms_transport", "HTTP", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_transport", "smpp", CSAM_ERR_CONFIG);

    csam_test_set(&cfg, "sms_url", "https://sms.example.be/v1/send", CSAM_OK);
    csam_test_set(&cfg, "sms_url", "https://sms.example.be:8443/send?key=abc",
                  CSAM_OK);
    csam_test_set(&cfg, "sms_url", "http://127.0.0.1:9999/send", CSAM_OK);
    csam_test_set(&cfg, "sms_url", "http://[::1]:9999/", CSAM_OK);
    csam_test_set(&cfg, "sms_url", "http://localhost/send", CSAM_OK);
    /* the code (and often a token) in clear over a network: refused */
    csam_test_set(&cfg, "sms_url", "http://sms.example.be/send",
                  CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url", "http://127.0.0.2/send", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url",
                  "https://user:" CSAM_TEST_TOKEN "@sms.example.be/",
                  CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url", "https://sms.example.be/#x",
                  CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url", "https://sms.example.be/a b",
                  CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url", "ftp://sms.example.be/", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url", "https://", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url", "https://x.be:0/", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_url", "https://x.be:70000/", CSAM_ERR_CONFIG);
    assert_string_equal(cfg.sms_url, "http://localhost/send");

    csam_test_set(&cfg, "sms_body", "to={{to}}&text={{text}}", CSAM_OK);
    csam_test_set(&cfg, "sms_body",
                  "{\"from\":\"CSAM\",\"to\":[\"{{to}}\"],"
                  "\"body\":\"{{{text}}}\"}",
                  CSAM_OK);
    csam_test_set(&cfg, "sms_body", "to={{to}}", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_body", "text={{text}}", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_body", "to={{to}}&text={{text}}&x={{code}}",
                  CSAM_ERR_CONFIG);

    csam_test_set(&cfg, "sms_content_type", "application/x-www-form-urlencoded",
                  CSAM_OK);
    csam_test_set(&cfg, "sms_content_type", "application/json", CSAM_OK);
    csam_test_set(&cfg, "sms_content_type", "text/plain", CSAM_ERR_CONFIG);

    csam_test_set(&cfg, "sms_auth", "bearer " CSAM_TEST_TOKEN, CSAM_OK);
    csam_test_set(&cfg, "sms_auth", "Bearer " CSAM_TEST_TOKEN, CSAM_OK);
    csam_test_set(&cfg, "sms_auth", "basic csam:" CSAM_TEST_TOKEN, CSAM_OK);
    csam_test_set(&cfg, "sms_auth", "basic " CSAM_TEST_TOKEN, CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_auth", "basic :" CSAM_TEST_TOKEN, CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_auth", "token " CSAM_TEST_TOKEN, CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_auth", "bearer " CSAM_TEST_TOKEN " x",
                  CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_auth", "bearer ", CSAM_ERR_CONFIG);

    csam_test_set(&cfg, "sms_command", "/usr/local/bin/send-sms", CSAM_OK);
    csam_test_set(&cfg, "sms_command", "send-sms", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_command", "./send-sms", CSAM_ERR_CONFIG);

    csam_test_set(&cfg, "sms_timeout", "1", CSAM_OK);
    csam_test_set(&cfg, "sms_timeout", "120", CSAM_OK);
    csam_test_set(&cfg, "sms_timeout", "0", CSAM_ERR_CONFIG);
    csam_test_set(&cfg, "sms_timeout", "121", CSAM_ERR_CONFIG);

    csam_test_set(&cfg, "totp_issuer", "Mes clés numériques", CSAM_OK);
    csam_test_set(&cfg, "totp_issuer", "CSAM: portail", CSAM_ERR_CONFIG);
    csam_config_free(&cfg);
}

static void test_config_cross_checks(void **state)
{
    struct csam_config cfg;
    struct csam_sms sms;
    char err[CSAM_CONFIG_ERRLEN];

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    csam_test_set(&cfg, "mail_from", "noreply@example.be", CSAM_OK);
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)), CSAM_OK);
    assert_int_equal(csam_sms_from_config(&cfg, &sms, err, sizeof(err)),
                     CSAM_OK);
    assert_int_equal(sms.transport, CSAM_SMS_NONE);

    csam_test_set(&cfg, "sms_transport", "http", CSAM_OK);
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "sms_url"));
    csam_test_set(&cfg, "sms_url",
                  "https://sms.example.be/send?k=" CSAM_TEST_TOKEN, CSAM_OK);
    csam_test_set(&cfg, "sms_auth", "bearer " CSAM_TEST_TOKEN, CSAM_OK);
    csam_test_set(&cfg, "sms_content_type", "application/x-www-form-urlencoded",
                  CSAM_OK);
    csam_test_set(&cfg, "sms_timeout", "7", CSAM_OK);
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)), CSAM_OK);
    assert_int_equal(csam_sms_from_config(&cfg, &sms, err, sizeof(err)),
                     CSAM_OK);
    assert_int_equal(sms.transport, CSAM_SMS_HTTP);
    assert_ptr_equal(sms.url, cfg.sms_url);
    assert_ptr_equal(sms.auth, cfg.sms_auth);
    assert_ptr_equal(sms.body, cfg.sms_body);
    assert_int_equal(sms.encoding, CSAM_SMS_FORM);
    assert_int_equal(sms.timeout, 7);
    assert_ptr_equal(sms.countries, cfg.sms_countries);
    assert_string_equal(sms.countries, CSAM_PHONE_COUNTRIES_DEFAULT);
    csam_test_set(&cfg, "sms_countries", "32 352", CSAM_OK);
    csam_test_set(&cfg, "sms_countries", "32 35", CSAM_ERR_CONFIG);
    assert_int_equal(csam_sms_from_config(&cfg, &sms, err, sizeof(err)),
                     CSAM_OK);
    assert_string_equal(sms.countries, "32 352");

    csam_test_set(&cfg, "sms_transport", "command", CSAM_OK);
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "sms_command"));
    csam_test_set(&cfg, "sms_command", "/usr/local/bin/send-sms", CSAM_OK);
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)), CSAM_OK);

    /* fields set directly (as a host may) are checked too */
    free(cfg.sms_transport);
    cfg.sms_transport = strdup("smpp");
    assert_non_null(cfg.sms_transport);
    assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                     CSAM_ERR_CONFIG);
    assert_non_null(strstr(err, "sms_transport"));
    csam_config_free(&cfg);
}

/* What each transport needs is one rule (csam_sms_settings_check): the
 * delivery settings refuse what it refuses with its message, and so does
 * the configuration check where its single-key checks (run first) let a
 * configuration through: a missing sms_url or sms_command. */
static void test_settings_one_rule(void **state)
{
    static const struct {
        const char *transport, *url, *body, *command, *message;
        int config_too;
    } cases[] = {
        {"smpp", NULL, NULL, NULL,
         "sms_transport must be none, http or command", 0},
        {"http", NULL, NULL, NULL,
         "sms_transport = http needs sms_url (https://, or http:// to "
         "loopback)",
         1},
        {"http", "http://sms.example.be/send", NULL, NULL,
         "sms_transport = http needs sms_url (https://, or http:// to "
         "loopback)",
         0},
        {"http", "https://sms.example.be/send", "{\"to\":\"{{to}}\"}", NULL,
         "sms_body must name {{to}} and {{text}} and no other variable", 0},
        {"http", "https://sms.example.be/send", "{{to}} {{text}} {{code}}",
         NULL, "sms_body must name {{to}} and {{text}} and no other variable",
         0},
        {"command", NULL, NULL, "send-sms",
         "sms_transport = command needs sms_command (an absolute path)", 0},
        {"command", NULL, NULL, NULL,
         "sms_transport = command needs sms_command (an absolute path)", 1},
    };
    char err[CSAM_CONFIG_ERRLEN];
    enum csam_sms_transport transport;
    struct csam_config cfg;
    struct csam_sms sms;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(csam_sms_settings_check(
                             cases[i].transport, cases[i].url, cases[i].body,
                             cases[i].command, NULL, err, sizeof(err)),
                         CSAM_ERR_CONFIG);
        assert_string_equal(err, cases[i].message);

        assert_int_equal(csam_config_init(&cfg), CSAM_OK);
        csam_test_set(&cfg, "mail_from", "noreply@example.be", CSAM_OK);
        /* set directly, as a host may, past csam_config_set's checks */
        free(cfg.sms_transport);
        free(cfg.sms_url);
        free(cfg.sms_command);
        cfg.sms_transport = strdup(cases[i].transport);
        cfg.sms_url = cases[i].url ? strdup(cases[i].url) : NULL;
        cfg.sms_command = cases[i].command ? strdup(cases[i].command) : NULL;
        if (cases[i].body != NULL) { /* else the default, which is fine */
            free(cfg.sms_body);
            cfg.sms_body = strdup(cases[i].body);
        }
        assert_int_equal(csam_sms_from_config(&cfg, &sms, err, sizeof(err)),
                         CSAM_ERR_CONFIG);
        assert_string_equal(err, cases[i].message);
        if (cases[i].config_too) {
            assert_int_equal(csam_config_check(&cfg, err, sizeof(err)),
                             CSAM_ERR_CONFIG);
            assert_string_equal(err, cases[i].message);
        }
        csam_config_free(&cfg);
    }
    assert_int_equal(csam_sms_settings_check(
                         "http", "https://sms.example.be/send",
                         "{{to}} {{text}}", NULL, &transport, err, sizeof(err)),
                     CSAM_OK);
    assert_int_equal(transport, CSAM_SMS_HTTP);
    assert_int_equal(csam_sms_settings_check(NULL, NULL, NULL, NULL, &transport,
                                             err, sizeof(err)),
                     CSAM_OK);
    assert_int_equal(transport, CSAM_SMS_NONE);
    assert_int_equal(csam_sms_settings_check("command", NULL, NULL,
                                             "/usr/local/bin/send-sms",
                                             &transport, err, sizeof(err)),
                     CSAM_OK);
    assert_int_equal(transport, CSAM_SMS_COMMAND);
}

/* ---------------------------------------------------------------- text */

static void csam_test_data_dir(char *out, size_t size)
{
    const char *src = getenv("CSAM_SRCDIR");

    snprintf(out, size, "%s/conf", src != NULL ? src : ".");
}

/* The code is the text's only run of 6 to 8 digits (DESIGN 3.6). */
static void csam_test_only_run(const char *text, const char *code)
{
    size_t i = 0, runs = 0;

    while (text[i] != '\0') {
        size_t n = 0;

        while (text[i + n] >= '0' && text[i + n] <= '9')
            n++;
        if (n >= 6 && n <= 8) {
            assert_true(strncmp(text + i, code, n) == 0);
            runs++;
        }
        i += n > 0 ? n : 1;
    }
    assert_int_equal(runs, 1);
}

static void test_compose(void **state)
{
    static const char *const langs[] = {"fr", "nl", "de", "en"};
    const struct csam_tvar vars[] = {
        {"code", CSAM_TEST_CODE}, {"minutes", "10"}, {"first_name", "Jan"}};
    char dir[4096];
    char *text = NULL, *fr = NULL;
    size_t i;

    (void)state;
    csam_test_data_dir(dir, sizeof(dir));
    assert_int_equal(csam_test_sms_compose(dir, "fr", "code", vars, 3, &fr),
                     CSAM_OK);
    for (i = 0; i < 4; i++) {
        assert_int_equal(csam_test_sms_compose(dir, langs[i], "code", vars, 3,
                                               &text),
                         CSAM_OK);
        csam_test_only_run(text, CSAM_TEST_CODE);
        /* one SMS part even in UCS-2 would be 70; GSM-7 allows 160 */
        assert_true(strlen(text) <= 160);
        assert_null(strchr(text, '\n'));
        assert_null(strstr(text, "{{"));
        if (i > 0)
            assert_string_not_equal(text, fr);
        free(text);
    }
    /* unknown language: French */
    assert_int_equal(csam_test_sms_compose(dir, "xx", "code", vars, 3, &text),
                     CSAM_OK);
    assert_string_equal(text, fr);
    free(text);
    free(fr);

    assert_int_equal(csam_test_sms_compose(dir, "fr", "nosuchkind", vars, 3,
                                           &text),
                     CSAM_ERR_IO);
    assert_null(text);
    assert_int_equal(csam_test_sms_compose(dir, "fr", "../mail/fr/code", vars,
                                           3, &text),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_test_sms_compose("/nonexistent", "fr", "code", vars,
                                           3, &text),
                     CSAM_ERR_IO);
    /* the template needs {{code}}: without it, an error, not an SMS */
    assert_int_equal(csam_test_sms_compose(dir, "fr", "code", vars + 1, 2,
                                           &text),
                     CSAM_ERR_INVALID);
}

static void test_body_escaping(void **state)
{
    struct csam_sms sms;
    char *body = NULL;

    (void)state;
    memset(&sms, 0, sizeof(sms));
    sms.body = "{\"to\":\"{{to}}\",\"text\":\"{{text}}\"}";
    sms.encoding = CSAM_SMS_JSON;
    assert_int_equal(csam_sms_body_render(&sms, "+32470123456",
                                          "a \"quoted\" \\ line\nnext é {{to}}",
                                          &body),
                     CSAM_OK);
    assert_string_equal(body, "{\"to\":\"+32470123456\",\"text\":"
                              "\"a \\\"quoted\\\" \\\\ line\\n"
                              "next é {{to}}\"}");
    free(body);

    sms.body = "to={{to}}&text={{text}}&from=CSAM";
    sms.encoding = CSAM_SMS_FORM;
    assert_int_equal(csam_sms_body_render(&sms, "+32470123456",
                                          "a&b=c d+e%\"f\"\né", &body),
                     CSAM_OK);
    assert_string_equal(body, "to=%2B32470123456&text=a%26b%3Dc+d%2Be%25"
                              "%22f%22%0A%C3%A9&from=CSAM");
    free(body);

    /* control characters other than '\n' are not SMS text */
    assert_int_equal(csam_sms_body_render(&sms, "+32470123456", "a\rb", &body),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_sms_body_render(&sms, "+32470123456", "a\x01", &body),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_sms_body_render(&sms, "+32470123456", "", &body),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_sms_body_render(&sms, "+32470123456", "\xc3\x28",
                                          &body),
                     CSAM_ERR_INVALID);
    assert_null(body);
}

static void test_e164(void **state)
{
    static const struct {
        const char *in, *out;
    } good[] = {
        {"0470 12 34 56", "+32470123456"},
        {"0470/12.34.56", "+32470123456"},
        {"+32 470 12 34 56", "+32470123456"},
        {"+32 (0)470 12 34 56", "+32470123456"},
        {"0032470123456", "+32470123456"},
        {"02 740 79 92", "+3227407992"},
        {"+33 6 12 34 56 78", "+33612345678"},
        {"+352 621 123 456", "+352621123456"},
    };
    static const char *const bad[] = {
        "",
        "470123456",
        "+32 0470 12 34 56",
        "+32 570 12 34 56",
        "0470 12 34 567",
        "+1234567",
        "+1234567890123456",
        "0470-12-34-56x",
        "+32 470 12 34 56\n",
        "++32470123456",
    };
    char out[CSAM_PHONE_SIZE];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (csam_phone_normalize(good[i].in, out) != CSAM_OK)
            fail_msg("'%s' refused", good[i].in);
        assert_string_equal(out, good[i].out);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (csam_phone_normalize(bad[i], out) != CSAM_ERR_PHONE)
            fail_msg("'%s' accepted as %s", bad[i], out);
}

/* ---------------------------------------------------------------- http */

/* A listening socket on a free loopback port. */
static int csam_test_listen(int *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Forks a server that takes one request on fd, writes it to capture and
 * answers with response; returns its pid. */
static pid_t csam_test_serve(int fd, const char *response, const char *capture)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[16384];
        size_t n = 0;
        const char *end = NULL, *cl;
        long want = -1;
        FILE *fp;
        int c = accept(fd, NULL, NULL);

        if (c < 0)
            _exit(1);
        while (n < sizeof(buf) - 1) {
            ssize_t got = read(c, buf + n, sizeof(buf) - 1 - n);

            if (got <= 0)
                break;
            n += (size_t)got;
            buf[n] = '\0';
            if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
                cl = strstr(buf, "Content-Length: ");
                want = cl != NULL ? strtol(cl + 16, NULL, 10) : 0;
            }
            if (end != NULL && (long)(n - (size_t)(end + 4 - buf)) >= want)
                break;
        }
        buf[n] = '\0';
        fp = fopen(capture, "w");
        if (fp != NULL) {
            fputs(buf, fp);
            fclose(fp);
        }
        if (write(c, response, strlen(response)) < 0)
            _exit(1);
        close(c);
        _exit(0);
    }
    return pid;
}

static char *csam_test_slurp(const char *path)
{
    static char buf[16384];
    FILE *fp = fopen(path, "r");
    size_t n;

    assert_non_null(fp);
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void csam_test_http_sms(struct csam_sms *sms, char *url, size_t size,
                               int port, const char *path)
{
    memset(sms, 0, sizeof(*sms));
    snprintf(url, size, "http://127.0.0.1:%d%s", port, path);
    sms->transport = CSAM_SMS_HTTP;
    sms->url = url;
    sms->body = "{\"to\":\"{{to}}\",\"text\":\"{{text}}\"}";
    sms->encoding = CSAM_SMS_JSON;
    sms->auth = "bearer " CSAM_TEST_TOKEN;
    sms->timeout = 5;
}

static void test_http_status(void **state)
{
    static const struct {
        const char *response;
        csam_result want;
        const char *why;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
         "ok",
         CSAM_OK, NULL},
        {"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n"
         "Connection: close\r\n\r\n",
         CSAM_OK, NULL},
        {"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
         "Connection: close\r\n\r\noops",
         CSAM_ERR_MAIL, "HTTP status 500"},
        {"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
         "Connection: close\r\n\r\n",
         CSAM_ERR_MAIL, "HTTP status 401"},
        /* a redirect is not followed, and not a success */
        {"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n"
         "Content-Length: 0\r\nConnection: close\r\n\r\n",
         CSAM_ERR_MAIL, "HTTP status 302"},
        /* garbage instead of HTTP */
        {"SMTP 220 hello\r\n", CSAM_ERR_MAIL, "did not answer"},
    };
    char url[128], capture[4200], err[CSAM_SMS_ERRLEN];
    struct csam_message msg;
    struct csam_sms sms;
    size_t i;

    (void)state;
    snprintf(capture, sizeof(capture), "%s/request", csam_test_dir);
    memset(&msg, 0, sizeof(msg));
    msg.to = "0470 12 34 56";
    msg.text = CSAM_TEST_TEXT;
    msg.secret = CSAM_TEST_CODE;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int port, fd = csam_test_listen(&port), status;
        pid_t pid = csam_test_serve(fd, cases[i].response, capture);
        csam_result got;
        const char *req;

        csam_test_http_sms(&sms, url, sizeof(url), port, "/v1/send?k=1");
        got = csam_sms_send_err(&sms, &msg, err, sizeof(err));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(fd);
        if (got != cases[i].want)
            fail_msg("case %zu: %s (%s)", i, csam_result_name(got), err);
        req = csam_test_slurp(capture);
        assert_true(strncmp(req, "POST /v1/send?k=1 HTTP/1.1\r\n", 28) == 0);
        assert_non_null(
            strstr(req, "\r\nAuthorization: Bearer " CSAM_TEST_TOKEN "\r\n"));
        assert_non_null(strstr(req, "\r\nContent-Type: application/json"));
        assert_non_null(strstr(req, "\r\n\r\n{\"to\":\"+32470123456\","
                                    "\"text\":\"" CSAM_TEST_TEXT "\"}"));
        if (cases[i].why != NULL) {
            csam_test_clean_err(err);
            if (strstr(err, cases[i].why) == NULL)
                fail_msg("case %zu: '%s' not in '%s'", i, cases[i].why, err);
        }
    }
}

static void test_http_basic_and_form(void **state)
{
    char url[128], capture[4200], err[CSAM_SMS_ERRLEN];
    struct csam_message msg;
    struct csam_sms sms;
    int port, fd = csam_test_listen(&port), status;
    pid_t pid;
    const char *req;

    (void)state;
    snprintf(capture, sizeof(capture), "%s/request", csam_test_dir);
    pid = csam_test_serve(fd,
                          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n",
                          capture);
    csam_test_http_sms(&sms, url, sizeof(url), port, "/");
    sms.auth = "basic csam:" CSAM_TEST_TOKEN;
    sms.body = "to={{to}}&text={{text}}";
    sms.encoding = CSAM_SMS_FORM;
    memset(&msg, 0, sizeof(msg));
    msg.to = "+32470123456";
    msg.text = CSAM_TEST_TEXT;
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)), CSAM_OK);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fd);
    req = csam_test_slurp(capture);
    /* base64("csam:t0k3n-s3cr3t") */
    assert_non_null(strstr(req, "\r\nAuthorization: Basic "
                                "Y3NhbTp0MGszbi1zM2NyM3Q=\r\n"));
    assert_non_null(strstr(req, "\r\nContent-Type: "
                                "application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(
        req, "\r\n\r\nto=%2B32470123456&text=CSAM%3A+code+" CSAM_TEST_CODE));
}

static void test_http_no_answer(void **state)
{
    char url[128], err[CSAM_SMS_ERRLEN];
    struct csam_message msg;
    struct csam_sms sms;
    int port, fd = csam_test_listen(&port);
    double t0;

    (void)state;
    memset(&msg, 0, sizeof(msg));
    msg.to = "+32470123456";
    msg.text = CSAM_TEST_TEXT;
    /* listening, never accepting: the connection is made, no answer */
    csam_test_http_sms(&sms, url, sizeof(url), port, "/send");
    sms.timeout = 1;
    t0 = csam_test_now();
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_true(csam_test_now() - t0 < 4.0);
    csam_test_clean_err(err);
    assert_non_null(strstr(err, "did not answer"));
    close(fd);

    /* nobody listening any more */
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    csam_test_clean_err(err);

    /* https to a port that speaks nothing: fails, never falls back */
    fd = csam_test_listen(&port);
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/send", port);
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    close(fd);
}

static void test_send_refusals(void **state)
{
    char url[128], err[CSAM_SMS_ERRLEN];
    struct csam_message msg;
    struct csam_sms sms;

    (void)state;
    memset(&msg, 0, sizeof(msg));
    msg.to = "+32470123456";
    msg.text = CSAM_TEST_TEXT;
    csam_test_http_sms(&sms, url, sizeof(url), 9, "/");

    sms.transport = CSAM_SMS_NONE;
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_non_null(strstr(err, "sms_transport"));
    sms.transport = CSAM_SMS_HTTP;

    msg.to = "12345";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_PHONE);
    assert_null(strstr(err, "12345"));
    msg.to = NULL;
    assert_int_equal(csam_sms_sender(&sms, &msg), CSAM_ERR_PHONE);
    /* numbers of other countries: refused before any gateway is asked
     * (port 9 would answer "did not answer"), whatever was stored */
    msg.to = "+44 7700 900123";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_PHONE);
    assert_non_null(strstr(err, "sms_countries"));
    assert_null(strstr(err, "7700"));
    msg.to = "+882 1234 5678";
    assert_int_equal(csam_sms_sender(&sms, &msg), CSAM_ERR_PHONE);
    msg.to = "+32470123456";
    sms.countries = "33 352";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_PHONE);
    sms.countries = "33 32";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    sms.countries = NULL;

    sms.url = "http://sms.example.be/";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_INVALID);
    sms.url = url;
    sms.auth = "token x";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_INVALID);
    sms.auth = NULL;
    msg.text = "two\r\nlines";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_INVALID);
    msg.text = NULL;
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_sms_send_err(NULL, &msg, err, sizeof(err)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_sms_send_err(&sms, NULL, err, sizeof(err)),
                     CSAM_ERR_INVALID);
}

/* ---------------------------------------------------------------- command */

static const char *csam_test_script(const char *name, const char *body,
                                    mode_t mode)
{
    static char path[4200];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", csam_test_dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/sh\n%s\n", body);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* Every NAME=value of env (space-separated) is one a shell adds itself
 * or one csam_sms_command sets. */
static void csam_test_env_only_ours(const char *env)
{
    static const char *const allowed[] = {
        "LANG=", "PATH=", "PWD=", "SHLVL=", "_=", "OLDPWD="};
    const char *p = env;

    while (*p != '\0') {
        size_t i, n = strcspn(p, " ");
        int ok = 0;

        for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
            if (strncmp(p, allowed[i], strlen(allowed[i])) == 0)
                ok = 1;
        if (!ok)
            fail_msg("the command got %.*s", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

static void test_command(void **state)
{
    char body[24000], out[4200], in[4200], env[4200], err[CSAM_SMS_ERRLEN];
    char cmd[4200];
    struct csam_message msg;
    struct csam_sms sms;
    const char *got;
    double t0;
    int leak;

    (void)state;
    snprintf(out, sizeof(out), "%s/args", csam_test_dir);
    snprintf(in, sizeof(in), "%s/stdin", csam_test_dir);
    snprintf(env, sizeof(env), "%s/env", csam_test_dir);
    /* a descriptor of ours, not close-on-exec: the command must not see
     * it (httpd's listeners, the database connection) */
    leak = dup(2);
    assert_true(leak > 2);
    /* hostile variables, as a user running setuid su could set them: the
     * command runs as root there */
    assert_int_equal(setenv("PERL5OPT", "-Mevil", 1), 0);
    assert_int_equal(setenv("PYTHONPATH", "/tmp/evil", 1), 0);
    assert_int_equal(setenv("BASH_ENV", "/tmp/evil.sh", 1), 0);
    assert_int_equal(setenv("LD_LIBRARY_PATH", "/tmp/evil", 1), 0);
    assert_int_equal(setenv("IFS", "x", 1), 0);
    /* each argument as received, what came on stdin, the environment and
     * the working directory it got, whether our descriptor reached it;
     * what it prints goes to /dev/null */
    snprintf(body, sizeof(body),
             "printf '%%s|%%s|%%s|' \"$#\" \"$1\" \"$2\" > '%s'\n"
             "if [ -e /proc/$$/fd/%d ]; then printf 'leak|' >> '%s'; fi\n"
             "pwd >> '%s'\n"
             "cat > '%s'\n"
             "env | sort | tr '\\n' ' ' > '%s'\n"
             "echo \"$1\"; echo \"$1\" >&2",
             out, leak, out, out, in, env);
    memset(&sms, 0, sizeof(sms));
    sms.transport = CSAM_SMS_COMMAND;
    sms.command = csam_test_script("send-ok", body, 0755);
    snprintf(cmd, sizeof(cmd), "%s", sms.command);
    sms.command = cmd;
    sms.timeout = 5;
    memset(&msg, 0, sizeof(msg));
    msg.to = "0470 12 34 56";
    /* no shell: quotes, $, ;, backquotes and newlines arrive as written */
    msg.text = CSAM_TEST_ODD_TEXT;
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)), CSAM_OK);
    close(leak);
    unsetenv("PERL5OPT");
    unsetenv("PYTHONPATH");
    unsetenv("BASH_ENV");
    unsetenv("LD_LIBRARY_PATH");
    unsetenv("IFS");
    /* the number is the one argument: the code is not on the command
     * line, where ps shows it to every local user */
    got = csam_test_slurp(out);
    if (strcmp(got, "1|+32470123456||/\n") != 0)
        fail_msg("arguments: %s", got);
    assert_null(strstr(got, CSAM_TEST_CODE));
    /* the text, exactly, on stdin, then end of file */
    got = csam_test_slurp(in);
    assert_string_equal(got, CSAM_TEST_ODD_TEXT);
    /* a fixed environment, nothing of ours */
    got = csam_test_slurp(env);
    assert_non_null(strstr(got, "PATH=/usr/sbin:/usr/bin:/sbin:/bin "));
    assert_non_null(strstr(got, "LANG=C.UTF-8 "));
    csam_test_env_only_ours(got);

    /* a command that never reads its input and hangs: no wait beyond
     * the timeout for the write either */
    sms.command = csam_test_script("send-deaf", "exec 0<&-; sleep 30", 0755);
    sms.timeout = 1;
    t0 = csam_test_now();
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_true(csam_test_now() - t0 < 4.0);
    assert_non_null(strstr(err, "killed"));
    /* one that closes its input unread and says it sent: its exit status
     * decides, and this process gets no SIGPIPE (the test restores the
     * default action for it) */
    sms.command = csam_test_script("send-ignore", "exec 0<&-; exit 0", 0755);
    sms.timeout = 5;
    {
        void (*saved)(int) = signal(SIGPIPE, SIG_DFL);
        int i;

        for (i = 0; i < 5; i++)
            assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                             CSAM_OK);
        signal(SIGPIPE, saved);
    }

    /* exit 1 */
    sms.command = csam_test_script("send-fail", "exit 1", 0755);
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    csam_test_clean_err(err);
    assert_non_null(strstr(err, "status 1"));

    /* killed by a signal */
    sms.command = csam_test_script("send-signal", "kill -9 $$", 0755);
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_non_null(strstr(err, "signal 9"));

    /* hangs, and so does what it started: both killed at the timeout */
    snprintf(body, sizeof(body), "sleep 30 & echo $! > '%s/child'\nsleep 30",
             csam_test_dir);
    sms.command = csam_test_script("send-hang", body, 0755);
    sms.timeout = 1;
    t0 = csam_test_now();
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_true(csam_test_now() - t0 < 4.0);
    csam_test_clean_err(err);
    assert_non_null(strstr(err, "killed"));
    {
        char child[4200];
        long pid;
        int tries;

        snprintf(child, sizeof(child), "%s/child", csam_test_dir);
        pid = strtol(csam_test_slurp(child), NULL, 10);
        assert_true(pid > 1);
        /* gone, or at most a zombie for init to reap */
        for (tries = 0; tries < 100 && kill((pid_t)pid, 0) == 0; tries++) {
            char stat[64], line[256];
            FILE *fp;

            snprintf(stat, sizeof(stat), "/proc/%ld/stat", pid);
            fp = fopen(stat, "r");
            if (fp == NULL)
                break;
            line[0] = '\0';
            if (fgets(line, sizeof(line), fp) == NULL)
                line[0] = '\0';
            fclose(fp);
            if (strstr(line, ") Z ") != NULL)
                break;
            {
                struct timespec pause = {0, 20000000};

                nanosleep(&pause, NULL);
            }
        }
        assert_true(tries < 100);
    }
    sms.timeout = 5;

    /* not absolute, missing, not executable */
    sms.command = "send-sms";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_INVALID);
    assert_non_null(strstr(err, "absolute"));
    sms.command = NULL;
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_INVALID);
    sms.command = "/nonexistent/send-sms";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_non_null(strstr(err, "not found"));
    /* even root needs an x bit to exec */
    sms.command = csam_test_script("send-noexec", "exit 0", 0644);
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_non_null(strstr(err, "permission denied"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_config_cross_checks),
        cmocka_unit_test(test_settings_one_rule),
        cmocka_unit_test(test_compose),
        cmocka_unit_test(test_body_escaping),
        cmocka_unit_test(test_e164),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_http_basic_and_form),
        cmocka_unit_test(test_http_no_answer),
        cmocka_unit_test(test_send_refusals),
        cmocka_unit_test(test_command),
    };

    /* a gateway closing early must not kill the test with SIGPIPE */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, csam_test_setup, csam_test_teardown);
}
