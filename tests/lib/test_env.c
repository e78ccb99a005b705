/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for integration tests (see test_env.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_env.h"

static void csam_test_die(const char *what)
{
    fprintf(stderr, "test setup failed: %s\n", what);
    exit(99);
}

static const char *csam_test_need(const char *name)
{
    const char *v = getenv(name);

    if (v == NULL || v[0] == '\0') {
        fprintf(stderr,
                "%s is not set: run this test under "
                "tests/lib/run-with-services (make check)\n",
                name);
        exit(77);
    }
    return v;
}

void csam_test_env_get(struct csam_test_env *env)
{
    env->pg = csam_test_need("CSAM_TEST_PG");
    env->pg_web = csam_test_need("CSAM_TEST_PG_WEB");
    env->pg_pam = csam_test_need("CSAM_TEST_PG_PAM");
    env->pg_ctl = csam_test_need("CSAM_TEST_PG_CTL");
    env->smtp_url = csam_test_need("CSAM_TEST_SMTP_URL");
    env->dead_smtp_url = csam_test_need("CSAM_TEST_DEAD_SMTP_URL");
    env->maildir = csam_test_need("CSAM_TEST_MAILDIR");
    env->tmpdir = csam_test_need("CSAM_TEST_TMPDIR");
    env->secret_file = csam_test_need("CSAM_TEST_SECRET_FILE");
    env->srcdir = csam_test_need("CSAM_SRCDIR");
    env->sms_url = getenv("CSAM_TEST_SMS_URL");
    env->sms_dir = getenv("CSAM_TEST_SMS_DIR");
}

int csam_test_pg_ctl(const struct csam_test_env *env, const char *action)
{
    char cmd[4096];

    snprintf(cmd, sizeof(cmd), "'%s' %s", env->pg_ctl, action);
    return system(cmd);
}

PGconn *csam_test_pg_connect(const struct csam_test_env *env)
{
    PGconn *conn = PQconnectdb(env->pg);

    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s", conn != NULL ? PQerrorMessage(conn) : "");
        csam_test_die("cannot connect to the test database");
    }
    return conn;
}

long long csam_test_pg_value(PGconn *conn, const char *sql, const char *param)
{
    const char *values[1] = {param};
    long long v = -1;
    PGresult *res;

    res = PQexecParams(conn, sql, param != NULL ? 1 : 0, NULL,
                       param != NULL ? values : NULL, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0
        && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else if (PQresultStatus(res) == PGRES_COMMAND_OK)
        v = strtoll(PQcmdTuples(res), NULL, 10);
    else if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "query failed: %s", PQerrorMessage(conn));
    PQclear(res);
    return v;
}

static void csam_test_set(struct csam_config *cfg, const char *key,
                          const char *value)
{
    char err[CSAM_CONFIG_ERRLEN];

    if (csam_config_set(cfg, key, value, err, sizeof(err)) != CSAM_OK) {
        fprintf(stderr, "%s: %s\n", key, err);
        csam_test_die("configuration");
    }
}

/* Everything libcsam logged, so tests can check that no secret reached a
 * log: the whole of it, however long (a buffer that started again when
 * full would let "not in the log" checks see only its tail).  Two engines
 * in two threads log at once: a mutex keeps it whole. */
static char *csam_test_logbuf;
static size_t csam_test_logcap;
static size_t csam_test_loglen;
static pthread_mutex_t csam_test_loglock = PTHREAD_MUTEX_INITIALIZER;

static void csam_test_log(void *ctx, enum csam_log_level level,
                          const char *message)
{
    size_t n = strlen(message);

    (void)ctx;
    pthread_mutex_lock(&csam_test_loglock);
    if (csam_test_loglen + n + 2 > csam_test_logcap) {
        size_t cap = csam_test_logcap ? csam_test_logcap : 1 << 16;
        char *grown;

        while (csam_test_loglen + n + 2 > cap)
            cap *= 2;
        grown = realloc(csam_test_logbuf, cap);
        if (grown == NULL) {
            pthread_mutex_unlock(&csam_test_loglock);
            csam_test_die("no memory for the captured log");
        }
        csam_test_logbuf = grown;
        csam_test_logcap = cap;
    }
    memcpy(csam_test_logbuf + csam_test_loglen, message, n);
    csam_test_loglen += n;
    csam_test_logbuf[csam_test_loglen++] = '\n';
    csam_test_logbuf[csam_test_loglen] = '\0';
    pthread_mutex_unlock(&csam_test_loglock);
    if (level <= CSAM_LOG_WARNING || getenv("CSAM_TEST_VERBOSE") != NULL)
        fprintf(stderr, "[libcsam %d] %s\n", (int)level, message);
}

int csam_test_log_contains(const char *needle)
{
    int found;

    pthread_mutex_lock(&csam_test_loglock);
    found = csam_test_loglen > 0 && strstr(csam_test_logbuf, needle) != NULL;
    pthread_mutex_unlock(&csam_test_loglock);
    return found;
}

size_t csam_test_log_length(void)
{
    size_t n;

    pthread_mutex_lock(&csam_test_loglock);
    n = csam_test_loglen;
    pthread_mutex_unlock(&csam_test_loglock);
    return n;
}

struct csam_logger csam_test_logger(void)
{
    struct csam_logger logger = {csam_test_log, NULL};

    return logger;
}

void csam_test_ctx_reengine(struct csam_test_ctx *ctx)
{
    struct csam_engine_deps deps;

    csam_engine_free(ctx->engine);
    ctx->engine = NULL;
    memset(&deps, 0, sizeof(deps));
    deps.config = &ctx->config;
    deps.secret = ctx->secret;
    deps.store = ctx->store;
    deps.common_passwords = ctx->common;
    deps.reserved_usernames = ctx->reserved;
    deps.sender.fn = csam_smtp_sender;
    deps.sender.ctx = &ctx->smtp;
    if (ctx->sms.transport != CSAM_SMS_NONE) {
        deps.sms.fn = csam_sms_sender;
        deps.sms.ctx = &ctx->sms;
    }
    deps.logger.fn = csam_test_log;
    if (csam_engine_new(&deps, &ctx->engine) != CSAM_OK)
        csam_test_die("csam_engine_new");
}

void csam_test_ctx_open(struct csam_test_ctx *ctx, int dead_smtp)
{
    csam_test_ctx_open_as(ctx, dead_smtp, NULL);
}

void csam_test_ctx_open_as(struct csam_test_ctx *ctx, int dead_smtp,
                           const char *conninfo)
{
    struct csam_logger logger = {csam_test_log, NULL};
    char path[4096], err[256];

    memset(ctx, 0, sizeof(*ctx));
    csam_test_env_get(&ctx->env);
    if (csam_config_init(&ctx->config) != CSAM_OK)
        csam_test_die("csam_config_init");
    snprintf(path, sizeof(path), "%s/conf", ctx->env.srcdir);
    csam_test_set(&ctx->config, "database",
                  conninfo != NULL ? conninfo : ctx->env.pg_web);
    csam_test_set(&ctx->config, "data_dir", path);
    /* no administrator's templates: the machine's /etc is not the test's */
    snprintf(path, sizeof(path), "%s/conf/no-templates-here", ctx->env.srcdir);
    csam_test_set(&ctx->config, "templates_dir", path);
    csam_test_set(&ctx->config, "public_url", "https://portal.example.be");
    csam_test_set(&ctx->config, "mail_relay",
                  dead_smtp ? ctx->env.dead_smtp_url : ctx->env.smtp_url);
    csam_test_set(&ctx->config, "mail_from",
                  "CSAM Mes clés numériques <noreply@example.be>");
    csam_test_set(&ctx->config, "mail_timeout", "10");
    if (csam_secret_load(ctx->env.secret_file, &ctx->secret, err, sizeof(err))
        != CSAM_OK) {
        fprintf(stderr, "%s\n", err);
        csam_test_die("csam_secret_load");
    }
    snprintf(path, sizeof(path), "%s/conf/common-passwords.txt",
             ctx->env.srcdir);
    if (csam_wordlist_load(path, &ctx->common) != CSAM_OK)
        csam_test_die("csam_wordlist_load");
    snprintf(path, sizeof(path), "%s/conf/reserved-usernames.txt",
             ctx->env.srcdir);
    if (csam_wordlist_load(path, &ctx->reserved) != CSAM_OK)
        csam_test_die("csam_wordlist_load reserved");
    if (csam_store_open(ctx->config.database, &logger, &ctx->store) != CSAM_OK)
        csam_test_die("csam_store_open");
    ctx->smtp.relay = ctx->config.mail_relay;
    ctx->smtp.from = ctx->config.mail_from;
    ctx->smtp.timeout = ctx->config.mail_timeout;
    ctx->smtp.ca_file = ctx->config.mail_ca_file;
    csam_test_ctx_reengine(ctx);
}

void csam_test_ctx_close(struct csam_test_ctx *ctx)
{
    csam_engine_free(ctx->engine);
    csam_store_close(ctx->store);
    csam_wordlist_free(ctx->common);
    csam_wordlist_free(ctx->reserved);
    csam_secret_free(ctx->secret);
    csam_config_free(&ctx->config);
    memset(ctx, 0, sizeof(*ctx));
}

void csam_test_nrn(int yy, int mm, int dd, int serial, char *nrn, char *birth)
{
    unsigned long base;
    unsigned check;

    yy = ((yy % 100) + 100) % 100;
    mm = mm < 1 || mm > 12 ? 1 : mm;
    dd = dd < 1 || dd > 28 ? 1 : dd;
    serial = ((serial % 997) + 997) % 997 + 1;
    base = ((unsigned long)yy * 10000 + (unsigned long)mm * 100
            + (unsigned long)dd)
               * 1000
           + (unsigned long)serial;
    check = 97 - (unsigned)(base % 97);
    snprintf(nrn, 12, "%09lu%02u", base % 1000000000UL, check % 100);
    snprintf(birth, 11, "19%02d-%02d-%02d", yy, mm, dd);
}

/* ---- the Maildir ----------------------------------------------------- */

static char *csam_test_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)len + 1);
    if (buf != NULL) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* 1 if the stored message was sent to `to` (the server records RCPT TO in
 * X-Csam-Envelope-To). */
static int csam_test_mail_is_to(const char *raw, const char *to)
{
    char header[512];

    snprintf(header, sizeof(header), "X-Csam-Envelope-To: %s\r", to);
    if (strstr(raw, header) != NULL)
        return 1;
    snprintf(header, sizeof(header), "X-Csam-Envelope-To: %s\n", to);
    return strstr(raw, header) != NULL;
}

/* Visit the mails to `to`; with take, return the newest one (by mtime,
 * then name) removed from the Maildir. */
static int csam_test_mail_scan(const struct csam_test_env *env, const char *to,
                               char **take)
{
    char dir[4096], path[8192], best[8192] = "";
    struct timespec best_time = {0, 0};
    struct dirent *de;
    struct stat st;
    int count = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/new", env->maildir);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char *raw;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0)
            continue;
        raw = csam_test_read_file(path);
        if (raw == NULL)
            continue;
        if (csam_test_mail_is_to(raw, to)) {
            count++;
            if (best[0] == '\0' || st.st_mtim.tv_sec > best_time.tv_sec
                || (st.st_mtim.tv_sec == best_time.tv_sec
                    && st.st_mtim.tv_nsec > best_time.tv_nsec)
                || (st.st_mtim.tv_sec == best_time.tv_sec
                    && st.st_mtim.tv_nsec == best_time.tv_nsec
                    && strcmp(path, best) > 0)) {
                snprintf(best, sizeof(best), "%s", path);
                best_time = st.st_mtim;
            }
        }
        free(raw);
    }
    closedir(d);
    if (take != NULL && best[0] != '\0') {
        *take = csam_test_read_file(best);
        unlink(best);
    }
    return count;
}

int csam_test_mail_count(const struct csam_test_env *env, const char *to)
{
    return csam_test_mail_scan(env, to, NULL);
}

static int csam_test_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Quoted-printable decoding of the whole message: soft line breaks
 * removed, =XX decoded; anything else kept as it is. */
static void csam_test_qp_decode(char *s)
{
    char *w = s;

    while (*s != '\0') {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        } else if (s[0] == '=' && s[1] == '\n') {
            s += 2;
        } else if (s[0] == '=' && csam_test_hex((unsigned char)s[1]) >= 0
                   && csam_test_hex((unsigned char)s[2]) >= 0) {
            *w++ = (char)(csam_test_hex((unsigned char)s[1]) * 16
                          + csam_test_hex((unsigned char)s[2]));
            s += 3;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
}

char *csam_test_mail_take(const struct csam_test_env *env, const char *to)
{
    char *mail = NULL;
    int i;

    for (i = 0; i < 50 && mail == NULL; i++) {
        csam_test_mail_scan(env, to, &mail);
        if (mail == NULL) {
            struct timespec ts = {0, 100 * 1000 * 1000};

            nanosleep(&ts, NULL);
        }
    }
    if (mail != NULL)
        csam_test_qp_decode(mail);
    return mail;
}

char *csam_test_mail_text(const char *mail)
{
    const char *p = mail, *start, *end;
    char *out;

    /* The part whose headers say text/plain; its body runs from the blank
     * line to the next boundary line. */
    while ((p = strstr(p, "ontent-Type: text/plain")) != NULL) {
        start = strstr(p, "\r\n\r\n");
        if (start == NULL)
            return NULL;
        start += 4;
        end = strstr(start, "\r\n--");
        if (end == NULL)
            end = start + strlen(start);
        out = malloc((size_t)(end - start) + 1);
        if (out == NULL)
            return NULL;
        memcpy(out, start, (size_t)(end - start));
        out[end - start] = '\0';
        return out;
    }
    return NULL;
}

int csam_test_mail_code(const char *mail, char *code, size_t size)
{
    char *text = csam_test_mail_text(mail);
    const char *p;
    int found = 0;
    size_t n;

    if (text == NULL)
        return -1;
    for (p = text; *p != '\0';) {
        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        for (n = 0; isdigit((unsigned char)p[n]); n++)
            ;
        if (n >= 6 && n <= 8) {
            found++;
            if (n < size) {
                memcpy(code, p, n);
                code[n] = '\0';
            }
        } else if (n > 8) {
            found += 2;
        }
        p += n;
    }
    free(text);
    return found == 1 ? 0 : -1;
}

int csam_test_mail_token(const char *mail, char token[CSAM_TOKEN_SIZE])
{
    const char *p = strstr(mail, "activate?t=");
    size_t n;

    if (p == NULL)
        return -1;
    p += strlen("activate?t=");
    for (n = 0; n < CSAM_TOKEN_LEN; n++) {
        if (!isalnum((unsigned char)p[n]) && p[n] != '-' && p[n] != '_')
            return -1;
        token[n] = p[n];
    }
    token[n] = '\0';
    return csam_token_valid(token) ? 0 : -1;
}

/* ---- citizens -------------------------------------------------------- */

static void csam_test_expect(csam_result got, csam_result want,
                             const char *what)
{
    if (got != want) {
        fprintf(stderr, "%s: got %s, expected %s\n", what,
                csam_result_name(got), csam_result_name(want));
        csam_test_die(what);
    }
}

void csam_test_citizen_init(struct csam_test_citizen *c, const char *tag,
                            int serial)
{
    memset(c, 0, sizeof(*c));
    csam_test_nrn(60 + serial % 30, 1 + serial % 12, 1 + serial % 28, serial,
                  c->nrn, c->birth);
    snprintf(c->email, sizeof(c->email), "%s.%d@citizen.example.be", tag,
             serial);
    snprintf(c->username, sizeof(c->username), "%s%d", tag, serial);
    snprintf(c->password, sizeof(c->password), "Zq8-vintage-Lantern-%d",
             serial);
    c->reg.national_number = c->nrn;
    c->reg.first_name = "Am\xc3\xa9lie";
    c->reg.last_name = "Dupont";
    c->reg.birth_date = c->birth;
    c->reg.document_type = "eid";
    c->reg.document_number = "592-1234567-89";
    c->reg.email = c->email;
    c->reg.language = "fr";
}

csam_result csam_test_register(struct csam_test_ctx *ctx,
                               struct csam_test_citizen *c)
{
    csam_result res;
    char *mail;

    res = csam_engine_register(ctx->engine, "officer.test", "192.0.2.10",
                               &c->reg, &c->receipt);
    if (res != CSAM_OK)
        return res;
    mail = csam_test_mail_take(&ctx->env, c->email);
    if (mail == NULL || csam_test_mail_token(mail, c->token) != 0)
        csam_test_die("no activation mail with a link");
    free(mail);
    return CSAM_OK;
}

void csam_test_take_code(struct csam_test_ctx *ctx, const char *to, char *code,
                         size_t size)
{
    char *mail = csam_test_mail_take(&ctx->env, to);

    if (mail == NULL || csam_test_mail_code(mail, code, size) != 0)
        csam_test_die("no mail with exactly one code");
    free(mail);
}

void csam_test_activate(struct csam_test_ctx *ctx, struct csam_test_citizen *c)
{
    struct csam_credentials_outcome outcome;
    struct csam_attempts att;
    struct csam_activated done;
    unsigned types = 0;
    char code[16];
    char *mail;

    csam_test_expect(csam_test_register(ctx, c), CSAM_OK, "register");
    csam_test_expect(csam_engine_activation_open(
                         ctx->engine, "192.0.2.20", c->token,
                         c->receipt.activation_code, c->handle, &types, &att),
                     CSAM_OK, "activation_open");
    csam_test_expect(csam_engine_activation_key(ctx->engine, "192.0.2.20",
                                                c->handle, CSAM_KEY_EMAIL, 1,
                                                NULL, "2024-01"),
                     CSAM_OK, "activation_key");
    memset(&outcome, 0, sizeof(outcome));
    csam_test_expect(csam_engine_activation_credentials(
                         ctx->engine, "192.0.2.20", c->handle, c->username,
                         c->password, c->password, &outcome),
                     CSAM_OK, "activation_credentials");
    csam_credentials_outcome_free(&outcome);
    csam_test_take_code(ctx, c->email, code, sizeof(code));
    csam_test_expect(csam_engine_activation_confirm(ctx->engine, "192.0.2.20",
                                                    c->handle, code, &done,
                                                    &att),
                     CSAM_OK, "activation_confirm");
    mail = csam_test_mail_take(&ctx->env, c->email);
    if (mail == NULL)
        csam_test_die("no key_activated notice");
    free(mail);
}

void csam_test_login_to_code(struct csam_test_ctx *ctx,
                             const struct csam_test_citizen *c,
                             const char *source, char handle[CSAM_TOKEN_SIZE],
                             char *code, size_t size)
{
    struct csam_attempts att;
    unsigned types = 0;

    csam_test_expect(csam_engine_login_password(ctx->engine, source,
                                                c->username, c->password,
                                                handle, &types, &att),
                     CSAM_OK, "login_password");
    if (types != CSAM_KEY_EMAIL || !csam_token_valid(handle))
        csam_test_die("login_password: no e-mail key or no handle");
    csam_test_expect(csam_engine_login_challenge(ctx->engine, source, handle,
                                                 CSAM_KEY_EMAIL, &att),
                     CSAM_OK, "login_challenge");
    csam_test_take_code(ctx, c->email, code, size);
}

void csam_test_login(struct csam_test_ctx *ctx,
                     const struct csam_test_citizen *c, const char *source,
                     struct csam_session_ticket *t)
{
    char handle[CSAM_TOKEN_SIZE], code[16];
    struct csam_attempts att;

    csam_test_login_to_code(ctx, c, source, handle, code, sizeof(code));
    csam_test_expect(csam_engine_login_verify(ctx->engine, source, handle, code,
                                              t, &att),
                     CSAM_OK, "login_verify");
}

void csam_test_ctx_sms(struct csam_test_ctx *ctx, const char *url_suffix)
{
    static char url[512];
    char err[256];

    if (url_suffix == NULL) {
        csam_test_set(&ctx->config, "sms_transport", "none");
        memset(&ctx->sms, 0, sizeof(ctx->sms));
        csam_test_ctx_reengine(ctx);
        return;
    }
    if (ctx->env.sms_url == NULL || ctx->env.sms_dir == NULL) {
        fprintf(stderr, "CSAM_TEST_SMS_URL is not set\n");
        exit(77);
    }
    snprintf(url, sizeof(url), "%s%s", ctx->env.sms_url, url_suffix);
    csam_test_set(&ctx->config, "sms_transport", "http");
    csam_test_set(&ctx->config, "sms_url", url);
    csam_test_set(&ctx->config, "sms_timeout", "5");
    if (csam_sms_from_config(&ctx->config, &ctx->sms, err, sizeof(err))
        != CSAM_OK) {
        fprintf(stderr, "%s\n", err);
        csam_test_die("csam_sms_from_config");
    }
    csam_test_ctx_reengine(ctx);
}

/* The newest file of the SMS directory that names `to`; path filled. */
static int csam_test_sms_find(const struct csam_test_env *env, const char *to,
                              char *path, size_t size, int *count)
{
    char best[256] = "", file[4096], buf[65536];
    struct dirent *de;
    DIR *dir;
    FILE *f;
    size_t n;

    *count = 0;
    if (env->sms_dir == NULL || (dir = opendir(env->sms_dir)) == NULL)
        return -1;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(best))
            continue;
        snprintf(file, sizeof(file), "%s/%s", env->sms_dir, de->d_name);
        if ((f = fopen(file, "r")) == NULL)
            continue;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (strstr(buf, to) == NULL)
            continue;
        (*count)++;
        /* <time_ns>.<seq>.json: same length until 2286, so the newest is
         * the greatest name. */
        if (strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    closedir(dir);
    if (best[0] == '\0')
        return -1;
    snprintf(path, size, "%s/%s", env->sms_dir, best);
    return 0;
}

int csam_test_sms_count(const struct csam_test_env *env, const char *to)
{
    char path[4096];
    int count;

    (void)csam_test_sms_find(env, to, path, sizeof(path), &count);
    return count;
}

int csam_test_sms_code(const struct csam_test_env *env, const char *to,
                       char *code, size_t size)
{
    char path[4096], buf[65536];
    size_t n, i, j;
    int count;
    FILE *f;

    if (csam_test_sms_find(env, to, path, sizeof(path), &count) != 0
        || (f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The one run of exactly 6 digits (the port and the phone are not). */
    for (i = 0; i < n; i = j) {
        j = i;
        while (j < n && isdigit((unsigned char)buf[j]))
            j++;
        if (j - i == 6 && (i == 0 || buf[i - 1] != '+') && size > 6) {
            memcpy(code, buf + i, 6);
            code[6] = '\0';
            unlink(path);
            return 0;
        }
        if (j == i)
            j++;
    }
    return -1;
}

int csam_test_totp(const char *secret, long long t, char code[8])
{
    char cmd[256], line[64];
    size_t i;
    FILE *p;
    int ok;

    for (i = 0; secret[i] != '\0'; i++)
        if (!isalnum((unsigned char)secret[i]))
            return -1;
    if (t > 0)
        snprintf(cmd, sizeof(cmd), "oathtool --totp -b -N '@%lld' %s", t,
                 secret);
    else
        snprintf(cmd, sizeof(cmd), "oathtool --totp -b %s", secret);
    if ((p = popen(cmd, "r")) == NULL)
        return -1;
    ok = fgets(line, sizeof(line), p) != NULL;
    if (pclose(p) != 0 || !ok || strlen(line) < 6)
        return -1;
    memcpy(code, line, 6);
    code[6] = '\0';
    return 0;
}
