/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMS delivery: the settings (their rules are base's sms_setting.c), the
 * text from its template, and the two transports (HTTP POST with libcurl,
 * a command run without a shell).
 *
 * The SMS text carries a security code and the settings may carry a
 * gateway token: both go to libcurl or to the command and nowhere else.
 * Buffers that held them are wiped before they are freed.
 */
/* posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34),
 * posix_spawn_file_actions_addchdir_np (glibc >= 2.29), pipe2 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <unistr.h>

#include "crypto.h"
#include "sms.h"
#include "validate.h"

#define CSAM_SMS_KIND_MAX 32
/* Connecting is what hangs when a gateway is down or firewalled: it gets
 * at most this much of the whole timeout. */
#define CSAM_SMS_CONNECT_MAX 10L

static void csam_sms_free_secret(char *s)
{
    if (s != NULL) {
        csam_wipe(s, strlen(s));
        free(s);
    }
}

/* ---------------------------------------------------------------- settings */

static int csam_sms_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}

csam_result csam_sms_from_config(const struct csam_config *cfg,
                                 struct csam_sms *out, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (cfg == NULL || out == NULL) {
        csam_error_set(err, errlen, "no configuration");
        return CSAM_ERR_CONFIG;
    }
    out->url = cfg->sms_url;
    out->body = cfg->sms_body;
    out->encoding = cfg->sms_content_type != NULL
                            && strcmp(cfg->sms_content_type, CSAM_SMS_FORM_TYPE)
                                   == 0
                        ? CSAM_SMS_FORM
                        : CSAM_SMS_JSON;
    out->auth = cfg->sms_auth;
    out->command = cfg->sms_command;
    out->timeout = cfg->sms_timeout;
    out->countries = cfg->sms_countries;
    return csam_sms_settings_check(cfg->sms_transport, cfg->sms_url,
                                   cfg->sms_body, cfg->sms_command,
                                   &out->transport, err, errlen);
}

/* ---------------------------------------------------------------- text */

/* UTF-8, 1..CSAM_SMS_TEXT_MAX bytes, no control character but '\n'. */
static int csam_sms_text_ok(const char *text)
{
    size_t i, len;

    if (text == NULL)
        return 0;
    len = strnlen(text, CSAM_SMS_TEXT_MAX + 1);
    if (len == 0 || len > CSAM_SMS_TEXT_MAX
        || u8_check((const uint8_t *)text, len) != NULL)
        return 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if ((c < 0x20 && c != '\n') || c == 0x7f)
            return 0;
    }
    return 1;
}

static csam_result csam_sms_read(const struct csam_template_dirs *dirs,
                                 const char *lang, const char *kind, char **out)
{
    char rel[80];

    snprintf(rel, sizeof(rel), "sms/%s/%s.txt", lang, kind);
    return csam_template_load(dirs, CSAM_TEMPLATE_ANY, rel, out, NULL, NULL, 0);
}

csam_result csam_sms_compose(const struct csam_template_dirs *dirs,
                             const char *lang, const char *kind,
                             const struct csam_tvar *vars, size_t nvars,
                             char **text)
{
    char *tmpl = NULL;
    char *out = NULL;
    csam_result res;
    size_t i, len;

    if (text != NULL)
        *text = NULL;
    if (text == NULL || dirs == NULL || kind == NULL || kind[0] == '\0')
        return CSAM_ERR_INVALID;
    /* kinds become file names: [a-z_] only, so no path is smuggled in */
    for (i = 0; kind[i] != '\0'; i++)
        if (i >= CSAM_SMS_KIND_MAX
            || !((kind[i] >= 'a' && kind[i] <= 'z') || kind[i] == '_'))
            return CSAM_ERR_INVALID;
    if (lang == NULL || csam_language_check(lang) != CSAM_OK)
        lang = "fr";
    res = csam_sms_read(dirs, lang, kind, &tmpl);
    if (res == CSAM_ERR_NOT_FOUND && strcmp(lang, "fr") != 0)
        res = csam_sms_read(dirs, "fr", kind, &tmpl);
    if (res == CSAM_ERR_NOT_FOUND)
        res = CSAM_ERR_IO; /* the contract: no template is an I/O error */
    if (res != CSAM_OK)
        return res;
    res = csam_template_render(tmpl, vars, nvars, CSAM_ESCAPE_NONE, &out);
    free(tmpl);
    if (res != CSAM_OK)
        return res;
    len = strlen(out);
    while (len > 0
           && (out[len - 1] == '\n' || out[len - 1] == '\r'
               || out[len - 1] == ' '))
        out[--len] = '\0';
    if (!csam_sms_text_ok(out)) {
        csam_sms_free_secret(out);
        return CSAM_ERR_INVALID;
    }
    *text = out;
    return CSAM_OK;
}

/* JSON string contents (the template holds the quotes). */
static void csam_sms_escape_json(const char *s, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(out + n, "\\u00", 4);
            n += 4;
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0x0f];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

/* application/x-www-form-urlencoded, as browsers send forms. */
static void csam_sms_escape_form(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (csam_sms_is_alnum((char)c) || c == '-' || c == '.' || c == '_'
            || c == '*') {
            out[n++] = (char)c;
        } else if (c == ' ') {
            out[n++] = '+';
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 0x0f];
        }
    }
    out[n] = '\0';
}

static char *csam_sms_escape(enum csam_sms_encoding encoding, const char *s)
{
    /* \u00XX is the longest escape of a byte: 6 */
    char *out = malloc(6 * strlen(s) + 1);

    if (out == NULL)
        return NULL;
    if (encoding == CSAM_SMS_FORM)
        csam_sms_escape_form(s, out);
    else
        csam_sms_escape_json(s, out);
    return out;
}

csam_result csam_sms_body_render(const struct csam_sms *sms, const char *to,
                                 const char *text, char **out)
{
    struct csam_tvar vars[2];
    char *to_esc = NULL;
    char *text_esc = NULL;
    csam_result res = CSAM_ERR_NOMEM;

    if (out != NULL)
        *out = NULL;
    if (sms == NULL || to == NULL || out == NULL || !csam_sms_text_ok(text)
        || !csam_sms_body_ok(sms->body))
        return CSAM_ERR_INVALID;
    to_esc = csam_sms_escape(sms->encoding, to);
    text_esc = csam_sms_escape(sms->encoding, text);
    if (to_esc != NULL && text_esc != NULL) {
        vars[0].name = "to";
        vars[0].value = to_esc;
        vars[1].name = "text";
        vars[1].value = text_esc;
        res = csam_template_render(sms->body, vars, 2, CSAM_ESCAPE_NONE, out);
    }
    free(to_esc);
    csam_sms_free_secret(text_esc);
    return res;
}

/* ---------------------------------------------------------------- http */

/* The gateway's answer is not needed, only its status: drop it.  The
 * signature is libcurl's CURLOPT_WRITEFUNCTION's, data not const. */
/* NOLINTNEXTLINE(readability-non-const-parameter) */
static size_t csam_sms_discard(char *data, size_t size, size_t nmemb, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * nmemb;
}

/* Authorization for libcurl: a header for bearer, user and password
 * options for basic.  Everything set here is malloc'd and wiped after. */
struct csam_sms_auth {
    char *header;
    char *user;
    char *password;
};

static csam_result csam_sms_auth_split(const char *auth,
                                       struct csam_sms_auth *out)
{
    const char *colon;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (auth == NULL)
        return CSAM_OK;
    if (!csam_sms_auth_ok(auth))
        return CSAM_ERR_INVALID;
    if (strncasecmp(auth, "bearer ", 7) == 0) {
        n = strlen(auth + 7) + sizeof("Authorization: Bearer ");
        out->header = malloc(n);
        if (out->header == NULL)
            return CSAM_ERR_NOMEM;
        snprintf(out->header, n, "Authorization: Bearer %s", auth + 7);
        return CSAM_OK;
    }
    colon = strchr(auth + 6, ':');
    n = (size_t)(colon - (auth + 6));
    out->user = malloc(n + 1);
    out->password = strdup(colon + 1);
    if (out->user == NULL || out->password == NULL)
        return CSAM_ERR_NOMEM;
    memcpy(out->user, auth + 6, n);
    out->user[n] = '\0';
    return CSAM_OK;
}

static void csam_sms_auth_free(struct csam_sms_auth *a)
{
    csam_sms_free_secret(a->header);
    csam_sms_free_secret(a->user);
    csam_sms_free_secret(a->password);
    memset(a, 0, sizeof(*a));
}

static csam_result csam_sms_http(const struct csam_sms *sms, const char *to,
                                 const char *text, long timeout, char *err,
                                 size_t errlen)
{
    struct csam_sms_auth auth;
    struct curl_slist *headers = NULL, *more;
    char *body = NULL;
    CURL *curl = NULL;
    CURLcode code;
    long status = 0;
    csam_result res;

    if (sms->url == NULL || !csam_sms_url_ok(sms->url)) {
        csam_error_set(err, errlen, "sms_url is not set or not acceptable");
        return CSAM_ERR_INVALID;
    }
    res = csam_sms_auth_split(sms->auth, &auth);
    if (res == CSAM_OK)
        res = csam_sms_body_render(sms, to, text, &body);
    if (res != CSAM_OK) {
        csam_error_set(err, errlen,
                       res == CSAM_ERR_NOMEM ? "out of memory"
                                             : "sms_auth, sms_body or the text "
                                               "is not acceptable");
        goto out;
    }
    res = CSAM_ERR_NOMEM;
    headers = curl_slist_append(NULL, sms->encoding == CSAM_SMS_FORM
                                          ? "Content-Type: " CSAM_SMS_FORM_TYPE
                                          : "Content-Type: " CSAM_SMS_JSON_TYPE
                                            "; charset=utf-8");
    /* no "Expect: 100-continue" round trip for a few hundred bytes */
    more = headers != NULL ? curl_slist_append(headers, "Expect:") : NULL;
    if (more != NULL && auth.header != NULL)
        more = curl_slist_append(more, auth.header);
    curl = more != NULL ? curl_easy_init() : NULL;
    if (curl == NULL) {
        csam_error_set(err, errlen, "out of memory");
        goto out;
    }
    res = CSAM_ERR_MAIL;
    if (curl_easy_setopt(curl, CURLOPT_URL, sms->url) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_POST, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)strlen(body))
               != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_USERAGENT, "csam") != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, csam_sms_discard)
               != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK
        /* No proxy: only the configuration decides where a code goes,
         * never http_proxy, HTTPS_PROXY, ALL_PROXY or NO_PROXY from the
         * environment (a setuid PAM host keeps its caller's). */
        || curl_easy_setopt(curl, CURLOPT_PROXY, "") != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_NOPROXY, "*") != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout) != CURLE_OK
        || curl_easy_setopt(
               curl, CURLOPT_CONNECTTIMEOUT,
               timeout < CSAM_SMS_CONNECT_MAX ? timeout : CSAM_SMS_CONNECT_MAX)
               != CURLE_OK
        /* no SIGALRM-based DNS timeouts inside httpd's threads */
        || curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || (auth.user != NULL
            && (curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC)
                    != CURLE_OK
                || curl_easy_setopt(curl, CURLOPT_USERNAME, auth.user)
                       != CURLE_OK
                || curl_easy_setopt(curl, CURLOPT_PASSWORD, auth.password)
                       != CURLE_OK))) {
        csam_error_set(err, errlen, "libcurl refused an option");
        goto out;
    }
    code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        /* curl_easy_strerror() is a fixed text: it cannot carry the URL */
        csam_error_set(err, errlen, "SMS gateway did not answer: %s",
                       curl_easy_strerror(code));
        goto out;
    }
    if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK
        || status < 200 || status >= 300) {
        csam_error_set(err, errlen,
                       "SMS gateway refused the message "
                       "(HTTP status %ld)",
                       status);
        goto out;
    }
    res = CSAM_OK;

out:
    if (curl != NULL)
        curl_easy_cleanup(curl);
    /* the list holds a copy of the Authorization header */
    for (more = headers; more != NULL; more = more->next)
        csam_wipe(more->data, strlen(more->data));
    curl_slist_free_all(headers);
    csam_sms_free_secret(body);
    csam_sms_auth_free(&auth);
    return res;
}

/* ---------------------------------------------------------------- command */

static double csam_sms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *csam_sms_spawn_reason(int e)
{
    switch (e) {
    case ENOENT: return "not found";
    case EACCES: return "permission denied";
    case ENOEXEC: return "not an executable";
    case EAGAIN: return "too many processes";
    case ENOMEM: return "out of memory";
    }
    return "cannot be started";
}

/* input: the read end of the pipe that carries the text, at least 3. */
static int csam_sms_spawn_setup(posix_spawn_file_actions_t *fa,
                                posix_spawnattr_t *attr, int input)
{
    static const int defaults[] = {SIGPIPE, SIGCHLD, SIGHUP,  SIGINT, SIGQUIT,
                                   SIGTERM, SIGALRM, SIGUSR1, SIGUSR2};
    sigset_t set;
    size_t i;

    /* The text arrives on stdin (arguments are public in ps and /proc);
     * the command's output could quote the code: it goes nowhere. */
    if (posix_spawn_file_actions_adddup2(fa, input, 0) != 0
        || posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0)
               != 0
        || posix_spawn_file_actions_adddup2(fa, 1, 2) != 0)
        return 0;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    /* httpd's or sshd's descriptors (sockets, the database) are not the
     * command's business */
    if (posix_spawn_file_actions_addclosefrom_np(fa, 3) != 0)
        return 0;
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 29)
    /* not the caller's working directory (su keeps the invoking user's) */
    if (posix_spawn_file_actions_addchdir_np(fa, "/") != 0)
        return 0;
#endif
    sigemptyset(&set);
    for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        sigaddset(&set, defaults[i]);
    /* its own process group, so a timeout kills what it started too;
     * the host's ignored signals and mask are not inherited */
    if (posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP
                                           | POSIX_SPAWN_SETSIGDEF
                                           | POSIX_SPAWN_SETSIGMASK)
            != 0
        || posix_spawnattr_setpgroup(attr, 0) != 0
        || posix_spawnattr_setsigdefault(attr, &set) != 0)
        return 0;
    sigemptyset(&set);
    return posix_spawnattr_setsigmask(attr, &set) == 0;
}

/* A pipe for the text: both ends close-on-exec (another thread may spawn
 * a program meanwhile), the read end at 3 or above so that the dup2 onto
 * stdin really makes a new descriptor, the write end non-blocking.
 * 0, or an errno value. */
static int csam_sms_pipe(int fds[2])
{
    int e;

    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    if (fds[0] < 3) {
        int moved = fcntl(fds[0], F_DUPFD_CLOEXEC, 3);

        e = errno;
        close(fds[0]);
        fds[0] = moved;
        if (moved < 0) {
            close(fds[1]);
            return e;
        }
    }
    if (fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0) {
        e = errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    return 0;
}

/* Writes text to the command's stdin until deadline.  A command that
 * closes its input early makes the write fail with EPIPE, not kill the
 * host: httpd ignores SIGPIPE, but su or sshd running pam_csam may not,
 * so the signal is blocked in this thread while writing and a SIGPIPE it
 * raised is taken off the thread's pending set.  The command's exit status
 * decides whether the SMS went; what was written is not looked at. */
static void csam_sms_feed(int fd, const char *text, double deadline)
{
    sigset_t pipe_only, saved, pending;
    size_t len = strlen(text), done = 0;
    int was_pending, broken = 0;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_only, &saved) != 0)
        return;
    was_pending = sigpending(&pending) == 0
                  && sigismember(&pending, SIGPIPE) == 1;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);

        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* a full pipe: the command is not reading */
            struct pollfd p = {fd, POLLOUT, 0};
            double left = deadline - csam_sms_now();

            if (left <= 0)
                break;
            (void)poll(&p, 1, (int)(left * 1000.0) + 1);
        } else {
            broken = n < 0 && errno == EPIPE;
            break;
        }
    }
    if (broken && !was_pending) {
        static const struct timespec zero = {0, 0};

        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/* Waits for pid until deadline; 1 with *status, 0 on timeout, -1 when the
 * child is gone without a status (someone else reaped it). */
static int csam_sms_wait(pid_t pid, double deadline, int *status)
{
    struct timespec pause = {0, 5000000};

    for (;;) {
        pid_t got = waitpid(pid, status, WNOHANG);

        if (got == pid)
            return 1;
        if (got < 0 && errno != EINTR)
            return -1;
        if (csam_sms_now() >= deadline)
            return 0;
        nanosleep(&pause, NULL);
        if (pause.tv_nsec < 50000000)
            pause.tv_nsec *= 2;
    }
}

static csam_result csam_sms_command(const struct csam_sms *sms, const char *to,
                                    const char *text, long timeout, char *err,
                                    size_t errlen)
{
    /* A fixed environment, never the host's: inside setuid su it is the
     * invoking user's (PERL5OPT, PYTHONPATH, LD_PRELOAD, BASH_ENV, ...)
     * and the command runs as root.  A PATH the command can rely on. */
    static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    static char env_lang[] = "LANG=C.UTF-8";
    char *envp[] = {env_path, env_lang, NULL};
    char *argv[3];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    double deadline;
    pid_t pid;
    int e, status = 0, got, fds[2];

    if (sms->command == NULL || sms->command[0] != '/') {
        csam_error_set(err, errlen, "sms_command is not an absolute path");
        return CSAM_ERR_INVALID;
    }
    if (!csam_sms_text_ok(text)) {
        csam_error_set(err, errlen, "the text is not acceptable");
        return CSAM_ERR_INVALID;
    }
    /* posix_spawn's prototype predates const; nothing writes to these */
    argv[0] = (char *)sms->command;
    argv[1] = (char *)to;
    argv[2] = NULL;
    e = csam_sms_pipe(fds);
    if (e != 0) {
        csam_error_set(err, errlen,
                       "sms_command: no pipe for its input "
                       "(errno %d)",
                       e);
        return CSAM_ERR_MAIL;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        close(fds[0]);
        close(fds[1]);
        csam_error_set(err, errlen, "out of memory");
        return CSAM_ERR_NOMEM;
    }
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        close(fds[0]);
        close(fds[1]);
        csam_error_set(err, errlen, "out of memory");
        return CSAM_ERR_NOMEM;
    }
    deadline = csam_sms_now() + (double)timeout;
    e = csam_sms_spawn_setup(&fa, &attr, fds[0])
            ? posix_spawn(&pid, sms->command, &fa, &attr, argv, envp)
            : ENOMEM;
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (e != 0) {
        close(fds[1]);
        csam_error_set(err, errlen, "sms_command %s", csam_sms_spawn_reason(e));
        return CSAM_ERR_MAIL;
    }
    csam_sms_feed(fds[1], text, deadline);
    /* end of file: a command reading to the end may go on */
    close(fds[1]);
    got = csam_sms_wait(pid, deadline, &status);
    if (got == 0) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        csam_error_set(err, errlen,
                       "sms_command did not finish within %ld "
                       "s: killed",
                       timeout);
        return CSAM_ERR_MAIL;
    }
    if (got < 0) {
        csam_error_set(err, errlen,
                       "sms_command's exit status was lost "
                       "(reaped elsewhere)");
        return CSAM_ERR_MAIL;
    }
    if (WIFSIGNALED(status)) {
        csam_error_set(err, errlen, "sms_command killed by signal %d",
                       WTERMSIG(status));
        return CSAM_ERR_MAIL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        csam_error_set(err, errlen, "sms_command exited with status %d",
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return CSAM_ERR_MAIL;
    }
    return CSAM_OK;
}

/* ---------------------------------------------------------------- send */

csam_result csam_sms_send_err(const struct csam_sms *sms,
                              const struct csam_message *msg, char *err,
                              size_t errlen)
{
    char to[CSAM_PHONE_SIZE];
    long timeout;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (sms == NULL || msg == NULL) {
        csam_error_set(err, errlen, "no SMS settings or message");
        return CSAM_ERR_INVALID;
    }
    /* Checked again here, not only where a number is entered: a number
     * stored before sms_countries was narrowed gets no more SMS. */
    if (csam_phone_check(msg->to, sms->countries, to) != CSAM_OK) {
        csam_error_set(err, errlen,
                       "recipient is not a phone number of a "
                       "country in sms_countries");
        return CSAM_ERR_PHONE;
    }
    timeout = sms->timeout > 0 ? sms->timeout : 10;
    switch (sms->transport) {
    case CSAM_SMS_HTTP:
        return csam_sms_http(sms, to, msg->text, timeout, err, errlen);
    case CSAM_SMS_COMMAND:
        return csam_sms_command(sms, to, msg->text, timeout, err, errlen);
    case CSAM_SMS_NONE: break;
    }
    csam_error_set(err, errlen,
                   "no SMS transport is configured "
                   "(sms_transport = none)");
    return CSAM_ERR_MAIL;
}

csam_result csam_sms_send(const struct csam_sms *sms,
                          const struct csam_message *msg)
{
    return csam_sms_send_err(sms, msg, NULL, 0);
}

csam_result csam_sms_sender(void *ctx, const struct csam_message *msg)
{
    return csam_sms_send((const struct csam_sms *)ctx, msg);
}
