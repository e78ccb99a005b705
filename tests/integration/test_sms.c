/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMS through the HTTP transport to a real HTTP gateway on loopback
 * (tests/lib/sms_sink.py, which records every POST as a file): what the
 * gateway received is what an operator's gateway would have.  Uses the
 * sink run-with-services started when it exports CSAM_TEST_SMS_URL and
 * CSAM_TEST_SMS_DIR, else starts one of its own on a free port.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto.h"
#include "sms.h"

#define CSAM_TEST_TOKEN "gw-t0ken-9f8e7d"
#define CSAM_TEST_PHONE "0470 12 34 56"
#define CSAM_TEST_E164 "+32470123456"

static char csam_test_url[256];  /* http://127.0.0.1:PORT */
static char csam_test_dir[4096]; /* where the sink records */
static char csam_test_data_dir[4096];
static pid_t csam_test_sink = -1; /* ours, or -1 */
static char csam_test_own_dir[] = "/tmp/csam-test-sink.XXXXXX";

/* The shipped templates of data_dir alone, no administrator's directory. */
static csam_result csam_test_sms_compose(const char *data_dir, const char *lang,
                                         const char *kind,
                                         const struct csam_tvar *vars,
                                         size_t nvars, char **text)
{
    const struct csam_template_dirs dirs = {NULL, data_dir};

    return csam_sms_compose(&dirs, lang, kind, vars, nvars, text);
}

static double csam_test_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts sms_sink.py --port 0 and reads "ready PORT" from it. */
static int csam_test_start_sink(void)
{
    const char *src = getenv("CSAM_SRCDIR");
    char script[4096], line[64];
    int fds[2];
    FILE *fp;
    int port = 0;

    if (mkdtemp(csam_test_own_dir) == NULL || pipe(fds) != 0)
        return -1;
    snprintf(csam_test_dir, sizeof(csam_test_dir), "%s/sms", csam_test_own_dir);
    snprintf(script, sizeof(script), "%s/tests/lib/sms_sink.py",
             src != NULL ? src : ".");
    csam_test_sink = fork();
    if (csam_test_sink < 0)
        return -1;
    if (csam_test_sink == 0) {
        char log[4200];
        FILE *lf;

        /* its request log stays out of the test's output */
        snprintf(log, sizeof(log), "%s/sink.log", csam_test_own_dir);
        lf = fopen(log, "w");
        if (lf != NULL)
            dup2(fileno(lf), 2);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/usr/bin/python3", "python3", script, "--port", "0", "--dir",
              csam_test_dir, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    fp = fdopen(fds[0], "r");
    if (fp == NULL)
        return -1;
    if (fgets(line, sizeof(line), fp) == NULL
        || sscanf(line, "ready %d", &port) != 1 || port <= 0) {
        fclose(fp);
        return -1;
    }
    fclose(fp);
    snprintf(csam_test_url, sizeof(csam_test_url), "http://127.0.0.1:%d", port);
    return 0;
}

static int csam_test_setup(void **state)
{
    const char *url = getenv("CSAM_TEST_SMS_URL");
    const char *dir = getenv("CSAM_TEST_SMS_DIR");
    const char *src = getenv("CSAM_SRCDIR");

    (void)state;
    snprintf(csam_test_data_dir, sizeof(csam_test_data_dir), "%s/conf",
             src != NULL ? src : ".");
    csam_smtp_init();
    if (url != NULL && dir != NULL) {
        snprintf(csam_test_url, sizeof(csam_test_url), "%s", url);
        snprintf(csam_test_dir, sizeof(csam_test_dir), "%s", dir);
        return 0;
    }
    return csam_test_start_sink();
}

static void csam_test_stop_sink(void)
{
    int status;

    if (csam_test_sink > 0) {
        kill(csam_test_sink, SIGTERM);
        waitpid(csam_test_sink, &status, 0);
        csam_test_sink = -1;
    }
}

static int csam_test_teardown(void **state)
{
    char cmd[4200];

    (void)state;
    csam_test_stop_sink();
    if (strcmp(csam_test_own_dir + strlen(csam_test_own_dir) - 6, "XXXXXX")
        != 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", csam_test_own_dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

/* Names of the recorded messages, sorted (they sort by arrival). */
static size_t csam_test_list(char names[][64], size_t max)
{
    DIR *dir = opendir(csam_test_dir);
    struct dirent *e;
    size_t n = 0, i, j;

    if (dir == NULL)
        return 0;
    while ((e = readdir(dir)) != NULL && n < max)
        if (e->d_name[0] != '.' && strlen(e->d_name) < 64)
            memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    closedir(dir);
    for (i = 1; i < n; i++)
        for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char tmp[64];

            memcpy(tmp, names[j], 64);
            memcpy(names[j], names[j - 1], 64);
            memcpy(names[j - 1], tmp, 64);
        }
    return n;
}

static size_t csam_test_count(void)
{
    static char names[512][64];

    return csam_test_list(names, 512);
}

/* The newest recorded message, parsed. */
static json_t *csam_test_last(void)
{
    static char names[512][64];
    char path[4200];
    json_error_t jerr;
    size_t n = csam_test_list(names, 512);
    json_t *rec;

    assert_true(n > 0);
    snprintf(path, sizeof(path), "%s/%s", csam_test_dir, names[n - 1]);
    rec = json_load_file(path, 0, &jerr);
    if (rec == NULL)
        fail_msg("%s: %s", path, jerr.text);
    return rec;
}

static const char *csam_test_header(json_t *rec, const char *name)
{
    json_t *headers = json_object_get(rec, "headers");
    const char *key;
    json_t *value;

    json_object_foreach(headers, key, value)
    {
        if (strcasecmp(key, name) == 0)
            return json_string_value(value);
    }
    return NULL;
}

/* The only run of 6-8 digits in text, as a mail or SMS reader finds it. */
static void csam_test_find_code(const char *text, char out[9])
{
    size_t i = 0, found = 0;

    out[0] = '\0';
    while (text[i] != '\0') {
        size_t n = 0;

        while (text[i + n] >= '0' && text[i + n] <= '9')
            n++;
        if (n >= 6 && n <= 8) {
            memcpy(out, text + i, n);
            out[n] = '\0';
            found++;
        }
        i += n > 0 ? n : 1;
    }
    assert_int_equal(found, 1);
}

static void csam_test_sms(struct csam_sms *sms, char *url, size_t size,
                          const char *path)
{
    memset(sms, 0, sizeof(*sms));
    snprintf(url, size, "%s%s", csam_test_url, path);
    sms->transport = CSAM_SMS_HTTP;
    sms->url = url;
    sms->body = "{\"to\":\"{{to}}\",\"text\":\"{{text}}\",\"from\":\"CSAM\"}";
    sms->encoding = CSAM_SMS_JSON;
    sms->auth = "bearer " CSAM_TEST_TOKEN;
    sms->timeout = 10;
}

/* A code SMS composed from the shipped template and sent as the engine
 * sends (through the csam_send_fn), read back from the gateway. */
static void test_json_bearer(void **state)
{
    static const char *const langs[] = {"fr", "nl", "de", "en"};
    char url[512], code[9], found[9];
    struct csam_message msg;
    struct csam_sms sms;
    size_t i, before;

    (void)state;
    csam_test_sms(&sms, url, sizeof(url), "/v1/messages?account=csam");
    for (i = 0; i < 4; i++) {
        struct csam_tvar vars[2] = {{"code", NULL}, {"minutes", "10"}};
        char *text = NULL;
        json_t *rec, *body;
        json_error_t jerr;

        assert_int_equal(csam_security_code_new(6, code, sizeof(code)),
                         CSAM_OK);
        vars[0].value = code;
        assert_int_equal(csam_test_sms_compose(csam_test_data_dir, langs[i],
                                               "code", vars, 2, &text),
                         CSAM_OK);
        memset(&msg, 0, sizeof(msg));
        msg.to = CSAM_TEST_PHONE;
        msg.text = text;
        msg.kind = "code";
        msg.secret = code;
        before = csam_test_count();
        assert_int_equal(csam_sms_sender(&sms, &msg), CSAM_OK);
        /* recorded before the gateway answered */
        assert_int_equal(csam_test_count(), before + 1);

        rec = csam_test_last();
        assert_string_equal(json_string_value(json_object_get(rec, "method")),
                            "POST");
        assert_string_equal(json_string_value(json_object_get(rec, "path")),
                            "/v1/messages?account=csam");
        assert_string_equal(csam_test_header(rec, "Authorization"),
                            "Bearer " CSAM_TEST_TOKEN);
        assert_string_equal(csam_test_header(rec, "Content-Type"),
                            "application/json; charset=utf-8");
        body = json_loads(json_string_value(json_object_get(rec, "body")), 0,
                          &jerr);
        if (body == NULL)
            fail_msg("body is not JSON: %s", jerr.text);
        assert_string_equal(json_string_value(json_object_get(body, "to")),
                            CSAM_TEST_E164);
        assert_string_equal(json_string_value(json_object_get(body, "text")),
                            text);
        assert_string_equal(json_string_value(json_object_get(body, "from")),
                            "CSAM");
        csam_test_find_code(json_string_value(json_object_get(body, "text")),
                            found);
        assert_string_equal(found, code);
        json_decref(body);
        json_decref(rec);
        csam_wipe(text, strlen(text));
        free(text);
    }
}

/* Percent-decoding of one form value ('+' is a space). */
static void csam_test_form_value(const char *body, const char *name, char *out,
                                 size_t size)
{
    size_t nlen = strlen(name), n = 0;
    const char *p = body;

    out[0] = '\0';
    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            p += nlen + 1;
            while (*p != '\0' && *p != '&' && n + 1 < size) {
                if (*p == '+') {
                    out[n++] = ' ';
                    p++;
                } else if (*p == '%' && p[1] != '\0' && p[2] != '\0') {
                    char hex[3] = {p[1], p[2], '\0'};

                    out[n++] = (char)strtol(hex, NULL, 16);
                    p += 3;
                } else {
                    out[n++] = *p++;
                }
            }
            out[n] = '\0';
            return;
        }
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    fail_msg("no %s in %s", name, body);
}

static void test_form_basic(void **state)
{
    static const char text[] =
        "Code 123456 \"quoted\" & more = 100% é\nsecond line";
    char url[512], value[512];
    struct csam_message msg;
    struct csam_sms sms;
    char err[CSAM_SMS_ERRLEN];
    json_t *rec;
    const char *body;

    (void)state;
    csam_test_sms(&sms, url, sizeof(url), "/form");
    sms.body = "to={{to}}&text={{text}}&sender=CSAM";
    sms.encoding = CSAM_SMS_FORM;
    sms.auth = "basic csam:" CSAM_TEST_TOKEN;
    memset(&msg, 0, sizeof(msg));
    msg.to = "+32 (0)470 12 34 56";
    msg.text = text;
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)), CSAM_OK);
    rec = csam_test_last();
    assert_string_equal(csam_test_header(rec, "Content-Type"),
                        "application/x-www-form-urlencoded");
    /* base64("csam:gw-t0ken-9f8e7d") */
    assert_string_equal(csam_test_header(rec, "Authorization"),
                        "Basic Y3NhbTpndy10MGtlbi05ZjhlN2Q=");
    body = json_string_value(json_object_get(rec, "body"));
    csam_test_form_value(body, "to", value, sizeof(value));
    assert_string_equal(value, CSAM_TEST_E164);
    csam_test_form_value(body, "text", value, sizeof(value));
    assert_string_equal(value, text);
    csam_test_form_value(body, "sender", value, sizeof(value));
    assert_string_equal(value, "CSAM");
    json_decref(rec);
}

static void test_gateway_refuses(void **state)
{
    char url[512], err[CSAM_SMS_ERRLEN];
    struct csam_message msg;
    struct csam_sms sms;
    size_t before = csam_test_count();

    (void)state;
    csam_test_sms(&sms, url, sizeof(url), "/status/500");
    memset(&msg, 0, sizeof(msg));
    msg.to = CSAM_TEST_E164;
    msg.text = "CSAM: code 918273";
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_non_null(strstr(err, "HTTP status 500"));
    assert_null(strstr(err, "918273"));
    assert_null(strstr(err, CSAM_TEST_TOKEN));
    assert_int_equal(csam_test_count(), before + 1);

    csam_test_sms(&sms, url, sizeof(url), "/status/429");
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_non_null(strstr(err, "HTTP status 429"));
}

/* Sequential SMS, each with its own code: every one arrives, in order,
 * and the time per SMS is printed (loopback, a fresh connection each). */
static void test_many(void **state)
{
    enum { N = 50 };
    static char names[512][64];
    char url[512], codes[N][9], text[64], path[4200];
    struct csam_message msg;
    struct csam_sms sms;
    size_t before = csam_test_count(), n, i;
    double t0, t1;

    (void)state;
    csam_test_sms(&sms, url, sizeof(url), "/many");
    memset(&msg, 0, sizeof(msg));
    msg.to = CSAM_TEST_E164;
    msg.text = text;
    t0 = csam_test_now();
    for (i = 0; i < N; i++) {
        assert_int_equal(csam_security_code_new(6, codes[i], 9), CSAM_OK);
        snprintf(text, sizeof(text), "CSAM: code %.8s", codes[i]);
        assert_int_equal(csam_sms_send(&sms, &msg), CSAM_OK);
    }
    t1 = csam_test_now();
    printf("# %d SMS over HTTP to the loopback sink: %.2f ms each\n", N,
           (t1 - t0) * 1000.0 / N);
    n = csam_test_list(names, 512);
    assert_int_equal(n, before + N);
    for (i = 0; i < N; i++) {
        json_t *rec, *body;
        char found[9];

        snprintf(path, sizeof(path), "%s/%s", csam_test_dir, names[before + i]);
        rec = json_load_file(path, 0, NULL);
        assert_non_null(rec);
        body = json_loads(json_string_value(json_object_get(rec, "body")), 0,
                          NULL);
        assert_non_null(body);
        csam_test_find_code(json_string_value(json_object_get(body, "text")),
                            found);
        assert_string_equal(found, codes[i]);
        json_decref(body);
        json_decref(rec);
    }
}

/* A loopback port nobody listens on (bound, read, released). */
static int csam_test_dead_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void csam_test_down(const char *url)
{
    char err[CSAM_SMS_ERRLEN];
    struct csam_message msg;
    struct csam_sms sms;
    char buf[512];
    double t0;

    csam_test_sms(&sms, buf, sizeof(buf), "");
    sms.url = url;
    memset(&msg, 0, sizeof(msg));
    msg.to = CSAM_TEST_E164;
    msg.text = "CSAM: code 918273";
    t0 = csam_test_now();
    assert_int_equal(csam_sms_send_err(&sms, &msg, err, sizeof(err)),
                     CSAM_ERR_MAIL);
    assert_true(csam_test_now() - t0 < 5.0);
    assert_non_null(strstr(err, "did not answer"));
    assert_null(strstr(err, "918273"));
    assert_null(strstr(err, CSAM_TEST_TOKEN));
}

/* Last: no gateway on the port, then a gateway that was there and is
 * gone.  That one is always a sink of our own, started for the purpose
 * when the runner's (run-with-services) serves the other tests: the
 * runner's must stay up. */
static void test_gateway_down(void **state)
{
    char url[512];

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/messages",
             csam_test_dead_port());
    csam_test_down(url);
    if (csam_test_sink <= 0)
        assert_int_equal(csam_test_start_sink(), 0);
    assert_true(csam_test_sink > 0);
    csam_test_stop_sink();
    snprintf(url, sizeof(url), "%s/v1/messages", csam_test_url);
    csam_test_down(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_bearer),
        cmocka_unit_test(test_form_basic),
        cmocka_unit_test(test_gateway_refuses),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_gateway_down),
    };

    return cmocka_run_group_tests(tests, csam_test_setup, csam_test_teardown);
}
