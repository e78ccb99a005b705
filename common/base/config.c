/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed settings and the csam.conf parser (DESIGN 3.5).
 *
 * Every key goes through one table and one setter, whether it comes from
 * csam.conf or from an Apache directive, so a value is validated the same
 * way whichever door it came in by.  Messages name the key and the reason,
 * never the value: database conninfo strings and relay URLs carry
 * passwords, and a value echoed into a log is a value leaked.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file_check.h"
#include "log.h"
#include "mailbox.h"
#include "sms_setting.h"
#include "totp_key.h"
#include "validate.h"

#ifndef CSAM_PKGDATADIR
#define CSAM_PKGDATADIR "/usr/share/csam"
#endif
#ifndef CSAM_SYSCONFDIR
#define CSAM_SYSCONFDIR "/etc"
#endif

#define CSAM_CONFIG_LINE_MAX 4096   /* bytes per csam.conf line */
#define CSAM_CONFIG_LINES_MAX 10000 /* a bigger file is not a csam.conf */
#define CSAM_CONFIG_VALUE_MAX 4000  /* bytes per value */
#define CSAM_CONFIG_URL_MAX 2048
#define CSAM_CONFIG_TEXT_REASON "must be UTF-8 text without control characters"
#define CSAM_CONFIG_PATH_REASON "must be an absolute path"

/* Strict integer: optional '-', digits only, the whole string, in range. */
static int csam_config_parse_long(const char *value, long min, long max,
                                  long *out)
{
    char *end;
    long v;

    if (!(value[0] == '-' || (value[0] >= '0' && value[0] <= '9')))
        return 0;
    errno = 0;
    v = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0')
        return 0;
    if (v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int csam_config_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}

/* RFC 3986 pchar, plus '/' as the segment separator. */
static int csam_config_is_path_char(char c)
{
    return csam_config_is_alnum(c)
           || (c != '\0' && strchr("-._~%!$&'()*+,;=:@/", c) != NULL);
}

static int csam_config_public_url_ok(const char *value)
{
    const char *rest;
    const char *slash;
    size_t len = strlen(value);
    size_t i;

    if (len > CSAM_CONFIG_URL_MAX)
        return 0;
    if (strncmp(value, "https://", 8) == 0)
        rest = value + 8;
    else if (strncmp(value, "http://", 7) == 0)
        rest = value + 7;
    else
        return 0;
    slash = strchr(rest, '/');
    if (!csam_authority_check(
            rest, slash ? (size_t)(slash - rest) : strlen(rest), NULL))
        return 0;
    if (slash != NULL) {
        /* a base path: no query, no fragment, no empty or dot segment */
        for (i = 0; slash[i] != '\0'; i++)
            if (!csam_config_is_path_char(slash[i]))
                return 0;
        if (value[len - 1] == '/' || strstr(slash, "//") != NULL
            || strstr(slash, "/./") != NULL || strstr(slash, "/../") != NULL)
            return 0;
        if (strcmp(value + len - 2, "/.") == 0
            || (len >= 3 && strcmp(value + len - 3, "/..") == 0))
            return 0;
    }
    return 1;
}

/* smtp[s]://[user[:password]@]host[:port][/ehlo-domain] */
static int csam_config_relay_ok(const char *value)
{
    const char *rest;
    const char *end;
    const char *at;
    size_t i;

    if (strlen(value) > CSAM_CONFIG_URL_MAX)
        return 0;
    if (strncmp(value, "smtps://", 8) == 0)
        rest = value + 8;
    else if (strncmp(value, "smtp://", 7) == 0)
        rest = value + 7;
    else
        return 0;
    for (i = 0; rest[i] != '\0'; i++)
        if ((unsigned char)rest[i] <= ' ' || rest[i] == 0x7f || rest[i] == '?'
            || rest[i] == '#')
            return 0;
    end = strchr(rest, '/');
    if (end == NULL)
        end = rest + strlen(rest);
    /* userinfo: the last '@' before the path (passwords are %-encoded) */
    at = NULL;
    for (i = 0; rest + i < end; i++)
        if (rest[i] == '@')
            at = rest + i;
    if (at != NULL) {
        if (at == rest)
            return 0;
        rest = at + 1;
    }
    return csam_authority_check(rest, (size_t)(end - rest), NULL);
}

/* "/csam", "/portal/csam": segments of unreserved characters. */
static int csam_config_url_path_ok(const char *value)
{
    size_t i;
    size_t len = strlen(value);

    if (len < 2 || len > 256 || value[0] != '/' || value[len - 1] == '/')
        return 0;
    for (i = 1; i < len; i++) {
        char c = value[i];

        if (c == '/') {
            if (value[i - 1] == '/')
                return 0;
            continue;
        }
        if (!(csam_config_is_alnum(c) || c == '-' || c == '.' || c == '_'
              || c == '~'))
            return 0;
    }
    return strstr(value, "/./") == NULL && strstr(value, "/../") == NULL
           && strcmp(value + len - 2, "/.") != 0
           && (len < 3 || strcmp(value + len - 3, "/..") != 0);
}

static int csam_config_text_ok(const char *value)
{
    (void)value; /* UTF-8 without control characters, checked for all */
    return 1;
}

static int csam_config_absolute_ok(const char *value)
{
    return value[0] == '/';
}

/* A POSIX portable user or group name, as useradd/groupadd take it. */
static int csam_config_group_ok(const char *value)
{
    size_t i, len = strlen(value);

    if (len == 0 || len > 32 || value[0] == '-')
        return 0;
    for (i = 0; i < len; i++)
        if (!(csam_config_is_alnum(value[i]) || value[i] == '_'
              || value[i] == '-' || value[i] == '.'
              || (value[i] == '$' && i == len - 1)))
            return 0;
    return 1;
}

static int csam_config_mailbox_ok(const char *value)
{
    char name[CSAM_MAILBOX_NAME_MAX + 1];
    char addr[CSAM_EMAIL_MAX + 1];

    return csam_mail_mailbox_parse(value, name, sizeof(name), addr,
                                   sizeof(addr))
           == CSAM_OK;
}

/* A key is a string accepted by its check function (after the UTF-8 and
 * control-character check every value passes), or an integer in range. */
struct csam_config_key {
    const char *name;
    size_t offset;
    int (*check)(const char *value); /* NULL: an integer */
    const char *reason;              /* why check refused a value */
    long min, max;                   /* integers */
    int secret;   /* the value may hold a password: never echo it */
    int optional; /* may stay unset (no default) */
};

/* Laid out by hand: clang-format 14 takes these braces for a block and
 * #name for a directive. */
/* clang-format off */
#define CSAM_CONFIG_STR(name, check, reason, secret, optional) \
    {#name, offsetof(struct csam_config, name), check, reason, 0, 0, \
     secret, optional}
#define CSAM_CONFIG_NUM(name, min, max) \
    {#name, offsetof(struct csam_config, name), NULL, NULL, min, max, 0, 0}
/* clang-format on */

/* Ranges: wide enough for any sane deployment, narrow enough that a typo
 * (a TTL in milliseconds, a missing digit) is caught at startup. */
static const struct csam_config_key csam_config_keys[] = {
    CSAM_CONFIG_STR(database, csam_config_text_ok, CSAM_CONFIG_TEXT_REASON, 1,
                    0),
    CSAM_CONFIG_STR(secret_file, csam_config_absolute_ok,
                    CSAM_CONFIG_PATH_REASON, 0, 0),
    CSAM_CONFIG_STR(secret_group, csam_config_group_ok, "must be a group name",
                    0, 1),
    CSAM_CONFIG_STR(previous_secret_file, csam_config_absolute_ok,
                    CSAM_CONFIG_PATH_REASON, 0, 1),
    /* public_url is only needed where links are made: see
     * csam_config_check_web() */
    CSAM_CONFIG_STR(public_url, csam_config_public_url_ok,
                    "must be an absolute http:// or https:// URL without "
                    "query, fragment or trailing '/'",
                    0, 1),
    CSAM_CONFIG_STR(mail_relay, csam_config_relay_ok,
                    "must be an smtp:// or smtps:// URL", 1, 0),
    CSAM_CONFIG_STR(mail_from, csam_config_mailbox_ok,
                    "must be an e-mail address, optionally with a display "
                    "name (\"Name <address>\")",
                    0, 0),
    CSAM_CONFIG_STR(data_dir, csam_config_absolute_ok, CSAM_CONFIG_PATH_REASON,
                    0, 0),
    CSAM_CONFIG_STR(templates_dir, csam_config_absolute_ok,
                    CSAM_CONFIG_PATH_REASON, 0, 0),
    CSAM_CONFIG_STR(handler_path, csam_config_url_path_ok,
                    "must be a URL path starting with '/' without a "
                    "trailing '/'",
                    0, 0),
    /* libpq counts a connect_timeout of 1 as 2 */
    CSAM_CONFIG_NUM(db_connect_timeout, 2, 60),
    CSAM_CONFIG_NUM(db_statement_timeout, 1, 60),
    CSAM_CONFIG_NUM(activation_ttl, 3600, 31536000),
    CSAM_CONFIG_NUM(flow_ttl, 60, 86400),
    CSAM_CONFIG_NUM(code_ttl, 30, 3600),
    CSAM_CONFIG_NUM(code_attempts, 1, 20),
    CSAM_CONFIG_NUM(resend_cooldown, 0, 3600),
    CSAM_CONFIG_NUM(lockout_threshold, 1, 1000),
    CSAM_CONFIG_NUM(lockout_duration, 1, 86400),
    CSAM_CONFIG_NUM(delay_max, 1, 3600),
    CSAM_CONFIG_NUM(session_idle, 60, 86400),
    CSAM_CONFIG_NUM(session_absolute, 60, 2592000),
    CSAM_CONFIG_NUM(password_min, 8, 1024),
    CSAM_CONFIG_NUM(password_max, 8, 1024),
    CSAM_CONFIG_NUM(argon2_t_cost, 1, 64),
    CSAM_CONFIG_NUM(argon2_m_cost, 1024, 4194304),
    CSAM_CONFIG_NUM(argon2_parallelism, 1, 64),
    CSAM_CONFIG_NUM(mail_timeout, 1, 600),
    CSAM_CONFIG_STR(mail_ca_file, csam_config_absolute_ok,
                    CSAM_CONFIG_PATH_REASON, 0, 1),
    /* 0: every key added asks for the password */
    CSAM_CONFIG_NUM(reauth_after, 0, 86400),
    CSAM_CONFIG_STR(reserved_usernames, csam_config_absolute_ok,
                    CSAM_CONFIG_PATH_REASON, 0, 1),
    CSAM_CONFIG_STR(sms_transport, csam_sms_transport_ok,
                    "must be none, http or command", 0, 0),
    /* gateways often take their API key in the query string */
    CSAM_CONFIG_STR(sms_url, csam_sms_url_ok,
                    "must be an https:// URL without user, password or "
                    "fragment (http:// only to 127.0.0.1, [::1], localhost)",
                    1, 1),
    CSAM_CONFIG_STR(sms_body, csam_sms_body_ok,
                    "must name {{to}} and {{text}} and no other variable", 0,
                    0),
    CSAM_CONFIG_STR(sms_content_type, csam_sms_content_type_ok,
                    "must be application/json or "
                    "application/x-www-form-urlencoded",
                    0, 0),
    CSAM_CONFIG_STR(sms_auth, csam_sms_auth_ok,
                    "must be 'bearer TOKEN' or 'basic USER:PASSWORD'", 1, 1),
    CSAM_CONFIG_STR(sms_command, csam_config_absolute_ok,
                    CSAM_CONFIG_PATH_REASON, 0, 1),
    CSAM_CONFIG_NUM(sms_timeout, 1, 120),
    CSAM_CONFIG_STR(sms_countries, csam_phone_countries_ok,
                    "must be country calling codes separated by spaces, "
                    "such as \"32 33 352\" (1 to 3 digits each, as ITU-T "
                    "E.164 assigns them)",
                    0, 0),
    /* days; 0 keeps the audit trail for ever */
    CSAM_CONFIG_NUM(audit_retention, 0, 36500),
    CSAM_CONFIG_STR(totp_issuer, csam_totp_key_issuer_ok,
                    "must be 1 to 64 bytes of text without ':'", 0, 0),
};

#define CSAM_CONFIG_NKEYS                                                      \
    (sizeof(csam_config_keys) / sizeof(csam_config_keys[0]))

static char **csam_config_str_field(struct csam_config *cfg,
                                    const struct csam_config_key *key)
{
    return (char **)(void *)((char *)cfg + key->offset);
}

static long *csam_config_long_field(struct csam_config *cfg,
                                    const struct csam_config_key *key)
{
    return (long *)(void *)((char *)cfg + key->offset);
}

static const struct csam_config_key *csam_config_find(const char *name)
{
    size_t i;

    for (i = 0; i < CSAM_CONFIG_NKEYS; i++)
        if (strcmp(csam_config_keys[i].name, name) == 0)
            return &csam_config_keys[i];
    return NULL;
}

const char *csam_config_key_name(size_t index)
{
    return index < CSAM_CONFIG_NKEYS ? csam_config_keys[index].name : NULL;
}

csam_result csam_config_init(struct csam_config *cfg)
{
    static const struct {
        size_t offset;
        const char *value;
    } strings[] = {
        {offsetof(struct csam_config, database), "service=csam"},
        {offsetof(struct csam_config, secret_file), "/etc/csam/secret.key"},
        {offsetof(struct csam_config, mail_relay), "smtp://127.0.0.1:25"},
        {offsetof(struct csam_config, data_dir), CSAM_PKGDATADIR},
        {offsetof(struct csam_config, templates_dir),
         CSAM_SYSCONFDIR "/csam/templates"},
        {offsetof(struct csam_config, handler_path), "/csam"},
        {offsetof(struct csam_config, sms_transport), "none"},
        {offsetof(struct csam_config, sms_body),
         "{\"to\":\"{{to}}\",\"text\":\"{{text}}\"}"},
        {offsetof(struct csam_config, sms_content_type), "application/json"},
        {offsetof(struct csam_config, sms_countries),
         CSAM_PHONE_COUNTRIES_DEFAULT},
        {offsetof(struct csam_config, totp_issuer), "CSAM"},
    };
    size_t i;

    if (cfg == NULL)
        return CSAM_ERR_INVALID;
    memset(cfg, 0, sizeof(*cfg));
    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        char **field = (char **)(void *)((char *)cfg + strings[i].offset);

        *field = strdup(strings[i].value);
        if (*field == NULL) {
            csam_config_free(cfg);
            return CSAM_ERR_NOMEM;
        }
    }
    cfg->public_url = NULL;
    cfg->mail_from = NULL;
    cfg->activation_ttl = 2592000;
    cfg->flow_ttl = 1800;
    cfg->code_ttl = 600;
    cfg->code_attempts = 5;
    cfg->resend_cooldown = 60;
    cfg->lockout_threshold = 10;
    cfg->lockout_duration = 900;
    cfg->delay_max = 60;
    cfg->session_idle = 1800;
    cfg->session_absolute = 43200;
    cfg->password_min = 12;
    cfg->password_max = 128;
    cfg->argon2_t_cost = 2;
    cfg->argon2_m_cost = 19456;
    cfg->argon2_parallelism = 1;
    cfg->mail_timeout = 30;
    cfg->reauth_after = 300;
    cfg->sms_timeout = 10;
    /* With these, a hung database answers a web request within 4.5 s
     * and a PAM authentication within 6.5 s (csam.conf(5)). */
    cfg->db_connect_timeout = 2;
    cfg->db_statement_timeout = 2;
    cfg->audit_retention = 400;
    return CSAM_OK;
}

void csam_config_free(struct csam_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < CSAM_CONFIG_NKEYS; i++) {
        char **field;

        if (csam_config_keys[i].check == NULL)
            continue;
        field = csam_config_str_field(cfg, &csam_config_keys[i]);
        if (*field != NULL) {
            /* conninfo and relay URLs may carry passwords */
            if (csam_config_keys[i].secret)
                memset(*field, 0, strlen(*field));
            free(*field);
        }
    }
    memset(cfg, 0, sizeof(*cfg));
}

static int csam_config_value_ok(const struct csam_config_key *key,
                                const char *value)
{
    return csam_text_check(value, CSAM_CONFIG_VALUE_MAX) == CSAM_OK
           && key->check(value);
}

csam_result csam_config_set(struct csam_config *cfg, const char *key,
                            const char *value, char *err, size_t errlen)
{
    const struct csam_config_key *k;
    char **field;
    char *copy;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg == NULL || key == NULL || value == NULL) {
        csam_error_set(err, errlen, "missing key or value");
        return CSAM_ERR_CONFIG;
    }
    k = csam_config_find(key);
    if (k == NULL) {
        /* the key is echoed only when it is a plausible key name */
        size_t i, n = strlen(key);
        int plain = n > 0 && n <= 64;

        for (i = 0; plain && i < n; i++)
            if (!(csam_config_is_alnum(key[i]) || key[i] == '_'))
                plain = 0;
        if (plain)
            csam_error_set(err, errlen, "unknown key '%s'", key);
        else
            csam_error_set(err, errlen, "unknown key");
        return CSAM_ERR_CONFIG;
    }
    if (value[0] == '\0') {
        csam_error_set(err, errlen, "key '%s': empty value", k->name);
        return CSAM_ERR_CONFIG;
    }
    if (k->check == NULL) {
        long v;

        if (!csam_config_parse_long(value, k->min, k->max, &v)) {
            csam_error_set(err, errlen,
                           "key '%s': must be an integer from %ld to %ld",
                           k->name, k->min, k->max);
            return CSAM_ERR_CONFIG;
        }
        *csam_config_long_field(cfg, k) = v;
        return CSAM_OK;
    }
    if (!csam_config_value_ok(k, value)) {
        csam_error_set(err, errlen, "key '%s': %s", k->name, k->reason);
        return CSAM_ERR_CONFIG;
    }
    copy = strdup(value);
    if (copy == NULL) {
        csam_error_set(err, errlen, "out of memory");
        return CSAM_ERR_NOMEM;
    }
    field = csam_config_str_field(cfg, k);
    if (*field != NULL) {
        if (k->secret)
            memset(*field, 0, strlen(*field));
        free(*field);
    }
    *field = copy;
    return CSAM_OK;
}

static int csam_config_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parse one line in place.  Returns 0 for a blank or comment line, 1 with
 * *key and *value set, -1 with a reason in err. */
static int csam_config_split(char *line, char **key, char **value, char *err,
                             size_t errlen)
{
    char *p = line;
    char *end;
    char *eq;
    size_t len;

    while (csam_config_is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    eq = strchr(p, '=');
    if (eq == NULL) {
        csam_error_set(err, errlen, "expected 'key = value'");
        return -1;
    }
    end = eq;
    while (end > p && csam_config_is_blank(end[-1]))
        end--;
    *end = '\0';
    if (end == p) {
        csam_error_set(err, errlen, "missing key before '='");
        return -1;
    }
    *key = p;

    p = eq + 1;
    while (csam_config_is_blank(*p))
        p++;
    len = strlen(p);
    while (len > 0 && csam_config_is_blank(p[len - 1]))
        p[--len] = '\0';
    /* "..." keeps inner spaces; the quotes go only when they wrap the
     * whole value, so '"CSAM" <noreply@example.be>' stays as written. */
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p[len - 1] = '\0';
        p++;
    } else if (len == 1 && p[0] == '"') {
        csam_error_set(err, errlen, "unterminated quote");
        return -1;
    }
    *value = p;
    return 1;
}

/* Reads one line into buf (without its '\n').  Returns 1 for a line, 0 at
 * end of file, -1 for a line too long or holding a NUL byte. */
static int csam_config_getline(FILE *fp, char *buf, size_t size, int *eof)
{
    size_t n = 0;
    int c;
    int bad = 0;

    if (*eof)
        return 0;
    for (;;) {
        c = getc(fp);
        if (c == EOF) {
            *eof = 1;
            if (n == 0 && !bad)
                return ferror(fp) ? -2 : 0;
            break;
        }
        if (c == '\n')
            break;
        if (c == '\0')
            bad = 1;
        if (n + 1 < size)
            buf[n++] = (char)c;
        else
            bad = 1;
    }
    buf[n] = '\0';
    if (ferror(fp))
        return -2;
    return bad ? -1 : 1;
}

/* 1 if a libpq conninfo carries a password: a password= keyword, or a
 * postgresql:// URI with one in its userinfo or its query. */
static int csam_config_conninfo_has_password(const char *conninfo)
{
    const char *p;

    if (strncmp(conninfo, "postgresql://", 13) == 0
        || strncmp(conninfo, "postgres://", 11) == 0) {
        const char *auth = strstr(conninfo, "://") + 3;
        const char *end = auth + strcspn(auth, "/?#");
        const char *at = NULL;

        for (p = auth; p < end; p++)
            if (*p == '@')
                at = p;
        if (at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL)
            return 1;
        return strstr(conninfo, "password=") != NULL;
    }
    /* keyword = value pairs: "password" as a whole keyword */
    for (p = strstr(conninfo, "password"); p != NULL;
         p = strstr(p + 1, "password")) {
        const char *q = p + 8;

        if (p != conninfo && !(p[-1] == ' ' || p[-1] == '\t'))
            continue;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '=')
            return 1;
    }
    return 0;
}

/* 1 if smtp[s]://user:password@host: userinfo with a ':'. */
static int csam_config_relay_has_password(const char *relay)
{
    const char *auth = strstr(relay, "://");
    const char *end, *p;

    if (auth == NULL)
        return 0;
    auth += 3;
    end = auth + strcspn(auth, "/");
    for (p = end; p > auth; p--)
        if (p[-1] == '@')
            return memchr(auth, ':', (size_t)(p - 1 - auth)) != NULL;
    return 0;
}

/* The first credential cfg holds among the keys seen[] says the file set,
 * by key name; NULL when none. */
static const char *csam_config_credential(const struct csam_config *cfg,
                                          const char *seen)
{
    const struct csam_config_key *k;

    if ((k = csam_config_find("database")) != NULL && seen[k - csam_config_keys]
        && cfg->database != NULL
        && csam_config_conninfo_has_password(cfg->database))
        return "database";
    if ((k = csam_config_find("mail_relay")) != NULL
        && seen[k - csam_config_keys] && cfg->mail_relay != NULL
        && csam_config_relay_has_password(cfg->mail_relay))
        return "mail_relay";
    if ((k = csam_config_find("sms_auth")) != NULL && seen[k - csam_config_keys]
        && cfg->sms_auth != NULL)
        return "sms_auth";
    if ((k = csam_config_find("sms_url")) != NULL && seen[k - csam_config_keys]
        && cfg->sms_url != NULL && strchr(cfg->sms_url, '?') != NULL)
        return "sms_url";
    return NULL;
}

/* Checks are made on the open descriptor, so the file read is the file
 * checked (no race between stat and open). */
static csam_result csam_config_check_file(int fd, const char *path,
                                          int require_secure, mode_t *mode,
                                          char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: cannot stat: %s", path,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        csam_error_set(err, errlen, "%s: not a regular file", path);
        return CSAM_ERR_IO;
    }
    if (require_secure) {
        if (st.st_uid != 0) {
            csam_error_set(err, errlen, "%s: not owned by root", path);
            return CSAM_ERR_INSECURE;
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
            csam_error_set(err, errlen, "%s: writable by group or others",
                           path);
            return CSAM_ERR_INSECURE;
        }
    }
    *mode = st.st_mode;
    /* Whoever can write a directory above it can swap the file. */
    return csam_file_check_dirs(path, err, errlen);
}

csam_result csam_config_load(struct csam_config *cfg, const char *path,
                             int require_secure, char *err, size_t errlen)
{
    char seen[CSAM_CONFIG_NKEYS];
    unsigned lines_seen[CSAM_CONFIG_NKEYS];
    char *line = NULL;
    char reason[CSAM_CONFIG_ERRLEN];
    csam_result res = CSAM_OK;
    FILE *fp = NULL;
    unsigned lineno = 0;
    const char *credential;
    mode_t mode = 0;
    int fd;
    int eof = 0;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg == NULL || path == NULL) {
        csam_error_set(err, errlen, "no configuration file given");
        return CSAM_ERR_CONFIG;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        char ebuf[128];

        csam_error_set(err, errlen, "%s: cannot open: %s", path,
                       csam_log_errno(errno, ebuf, sizeof(ebuf)));
        return CSAM_ERR_IO;
    }
    res = csam_config_check_file(fd, path, require_secure, &mode, err, errlen);
    if (res != CSAM_OK) {
        close(fd);
        return res;
    }
    fp = fdopen(fd, "r");
    if (fp == NULL) {
        close(fd);
        csam_error_set(err, errlen, "%s: out of memory", path);
        return CSAM_ERR_NOMEM;
    }
    line = malloc(CSAM_CONFIG_LINE_MAX + 1);
    if (line == NULL) {
        csam_error_set(err, errlen, "%s: out of memory", path);
        res = CSAM_ERR_NOMEM;
        goto out;
    }
    memset(seen, 0, sizeof(seen));
    memset(lines_seen, 0, sizeof(lines_seen));

    for (;;) {
        char *key, *value;
        const struct csam_config_key *k;
        int got;

        got = csam_config_getline(fp, line, CSAM_CONFIG_LINE_MAX + 1, &eof);
        if (got == 0)
            break;
        lineno++;
        if (got == -2) {
            csam_error_set(err, errlen, "%s:%u: read error", path, lineno);
            res = CSAM_ERR_IO;
            goto out;
        }
        if (got == -1) {
            csam_error_set(err, errlen,
                           "%s:%u: line longer than %d bytes or holding "
                           "a NUL byte",
                           path, lineno, CSAM_CONFIG_LINE_MAX);
            res = CSAM_ERR_CONFIG;
            goto out;
        }
        if (lineno > CSAM_CONFIG_LINES_MAX) {
            csam_error_set(err, errlen, "%s:%u: more than %d lines", path,
                           lineno, CSAM_CONFIG_LINES_MAX);
            res = CSAM_ERR_CONFIG;
            goto out;
        }
        got = csam_config_split(line, &key, &value, reason, sizeof(reason));
        if (got == 0)
            continue;
        if (got < 0) {
            csam_error_set(err, errlen, "%s:%u: %s", path, lineno, reason);
            res = CSAM_ERR_CONFIG;
            goto out;
        }
        k = csam_config_find(key);
        if (k != NULL && seen[k - csam_config_keys]) {
            /* a second line would silently win: almost always a mistake,
             * sometimes an attack on an appended file */
            csam_error_set(err, errlen,
                           "%s:%u: key '%s' already set on line %u", path,
                           lineno, k->name, lines_seen[k - csam_config_keys]);
            res = CSAM_ERR_CONFIG;
            goto out;
        }
        res = csam_config_set(cfg, key, value, reason, sizeof(reason));
        if (res != CSAM_OK) {
            csam_error_set(err, errlen, "%s:%u: %s", path, lineno, reason);
            goto out;
        }
        seen[k - csam_config_keys] = 1;
        lines_seen[k - csam_config_keys] = lineno;
    }
    /* Every local user can read a mode 0644 file: it must hold nothing
     * that opens the database, the relay or the gateway. */
    if ((mode & S_IROTH) != 0
        && (credential = csam_config_credential(cfg, seen)) != NULL) {
        csam_error_set(
            err, errlen,
            "%s: readable by others and holds a credential "
            "(%s, line %u): make it 0600 or 0640",
            path, credential,
            lines_seen[csam_config_find(credential) - csam_config_keys]);
        res = CSAM_ERR_INSECURE;
    }

out:
    if (line != NULL) {
        /* the last line read may have held the relay's password */
        memset(line, 0, CSAM_CONFIG_LINE_MAX + 1);
        free(line);
    }
    fclose(fp);
    return res;
}

csam_result csam_config_check(const struct csam_config *cfg, char *err,
                              size_t errlen)
{
    size_t i;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg == NULL) {
        csam_error_set(err, errlen, "no configuration");
        return CSAM_ERR_CONFIG;
    }
    for (i = 0; i < CSAM_CONFIG_NKEYS; i++) {
        const struct csam_config_key *k = &csam_config_keys[i];
        const char *s;

        if (k->check == NULL) {
            long v = *csam_config_long_field((struct csam_config *)cfg, k);

            if (v < k->min || v > k->max) {
                csam_error_set(err, errlen, "%s must be from %ld to %ld",
                               k->name, k->min, k->max);
                return CSAM_ERR_CONFIG;
            }
            continue;
        }
        s = *csam_config_str_field((struct csam_config *)cfg, k);
        if (s == NULL) {
            if (k->optional)
                continue;
            csam_error_set(err, errlen, "%s is not set", k->name);
            return CSAM_ERR_CONFIG;
        }
        if (!csam_config_value_ok(k, s)) {
            csam_error_set(err, errlen, "%s %s", k->name, k->reason);
            return CSAM_ERR_CONFIG;
        }
    }
    if (cfg->password_min > cfg->password_max) {
        csam_error_set(err, errlen,
                       "password_min (%ld) is greater than password_max "
                       "(%ld)",
                       cfg->password_min, cfg->password_max);
        return CSAM_ERR_CONFIG;
    }
    if (cfg->session_idle > cfg->session_absolute) {
        csam_error_set(err, errlen,
                       "session_idle (%ld) is greater than "
                       "session_absolute (%ld)",
                       cfg->session_idle, cfg->session_absolute);
        return CSAM_ERR_CONFIG;
    }
    if (cfg->argon2_m_cost < 8 * cfg->argon2_parallelism) {
        csam_error_set(err, errlen,
                       "argon2_m_cost must be at least 8 KiB per lane "
                       "(argon2_parallelism)");
        return CSAM_ERR_CONFIG;
    }
    if (cfg->code_ttl > cfg->activation_ttl) {
        csam_error_set(err, errlen, "code_ttl is greater than activation_ttl");
        return CSAM_ERR_CONFIG;
    }
    /* the transport chosen has what it needs (sms_url, ...) */
    if (csam_sms_settings_check(cfg->sms_transport, cfg->sms_url, cfg->sms_body,
                                cfg->sms_command, NULL, err, errlen)
        != CSAM_OK)
        return CSAM_ERR_CONFIG;
    return CSAM_OK;
}

csam_result csam_config_check_web(const struct csam_config *cfg, char *err,
                                  size_t errlen)
{
    csam_result res = csam_config_check(cfg, err, errlen);

    if (res != CSAM_OK)
        return res;
    if (cfg->public_url == NULL) {
        csam_error_set(err, errlen,
                       "public_url is not set: links in e-mails need it "
                       "(never taken from the Host: header)");
        return CSAM_ERR_CONFIG;
    }
    return CSAM_OK;
}
