/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directives and the per-server configuration merge.
 *
 * Every directive that mirrors a csam.conf key goes through one handler,
 * csam_config_cmd_setting(), whose cmd->info is that key: the value is
 * validated by csam_config_set(), the same code pam_csam uses for the file,
 * and kept as text.  The typed struct csam_config is built at startup from
 * the defaults, then CSAMConfigFile, then these values (runtime.c), so a
 * directive always wins over the file whatever their order.
 */
#include <errno.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_strings.h"
#include "apr_uri.h"

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

void *csam_config_create_server(apr_pool_t *p, server_rec *s)
{
    struct csam_mod_server *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->settings = apr_table_make(p, 8);
    conf->origins = apr_table_make(p, 8);
    conf->session_cache_ttl = -1;
    conf->cookie_secure = -1;
    conf->pool_max = -1;
    conf->argon2_max = -1;
    return conf;
}

void *csam_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    const struct csam_mod_server *base = basev;
    const struct csam_mod_server *add = addv;
    struct csam_mod_server *conf = apr_pcalloc(p, sizeof(*conf));

    /* One entry per key, the virtual host's when it set one: runtime.c
     * applies every entry in turn, so a duplicate would let the main
     * server's value win. */
    conf->settings = apr_table_copy(p, base->settings);
    apr_table_overlap(conf->settings, add->settings, APR_OVERLAP_TABLES_SET);
    conf->origins = apr_table_copy(p, base->origins);
    apr_table_overlap(conf->origins, add->origins, APR_OVERLAP_TABLES_SET);
    conf->config_file = add->config_file ? add->config_file : base->config_file;
    conf->terms_version = add->terms_version ? add->terms_version
                                             : base->terms_version;
    conf->session_cache_ttl = add->session_cache_ttl >= 0
                                  ? add->session_cache_ttl
                                  : base->session_cache_ttl;
    conf->cookie_secure = add->cookie_secure >= 0 ? add->cookie_secure
                                                  : base->cookie_secure;
    conf->pool_max = add->pool_max >= 0 ? add->pool_max : base->pool_max;
    conf->argon2_max = add->argon2_max >= 0 ? add->argon2_max
                                            : base->argon2_max;
    conf->argon2_slots = add->argon2_slots ? add->argon2_slots
                                           : base->argon2_slots;
    /* A virtual host that sets nothing shares the main server's run-time
     * state, and so its connection pool. */
    conf->inherits = apr_is_empty_table(add->settings)
                     && add->config_file == NULL && add->terms_version == NULL
                     && add->session_cache_ttl < 0 && add->cookie_secure < 0
                     && add->pool_max < 0 && add->argon2_max < 0
                     && add->argon2_slots == NULL;
    return conf;
}

/* The signature of httpd's create_dir_config hook.
 * NOLINTNEXTLINE(readability-non-const-parameter) */
void *csam_config_create_dir(apr_pool_t *p, char *dir)
{
    struct csam_mod_dir *conf = apr_pcalloc(p, sizeof(*conf));

    (void)dir;
    conf->identity_headers = -1;
    conf->expose_national_number = -1;
    return conf;
}

void *csam_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const struct csam_mod_dir *base = basev;
    const struct csam_mod_dir *add = addv;
    struct csam_mod_dir *conf = apr_pcalloc(p, sizeof(*conf));

    conf->identity_headers = add->identity_headers >= 0
                                 ? add->identity_headers
                                 : base->identity_headers;
    /* A source and its variable name go together. */
    if (add->identity_source != CSAM_MOD_IDENTITY_UNSET) {
        conf->identity_source = add->identity_source;
        conf->identity_env = add->identity_env;
    } else {
        conf->identity_source = base->identity_source;
        conf->identity_env = base->identity_env;
    }
    if (add->identity_given != NULL) {
        conf->identity_given = add->identity_given;
        conf->identity_family = add->identity_family;
    } else {
        conf->identity_given = base->identity_given;
        conf->identity_family = base->identity_family;
    }
    conf->expose_national_number = add->expose_national_number >= 0
                                       ? add->expose_national_number
                                       : base->expose_national_number;
    return conf;
}

/* A mail relay URL with its user:password replaced, for messages. */
static const char *csam_config_redact_url(apr_pool_t *p, const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *host, *at, *slash;

    if (scheme_end == NULL)
        return url;
    host = scheme_end + 3;
    at = strchr(host, '@');
    slash = strchr(host, '/');
    if (at == NULL || (slash != NULL && slash < at))
        return url;
    return apr_pstrcat(p, apr_pstrmemdup(p, url, (apr_size_t)(host - url)),
                       "***", at, NULL);
}

/* libpq's own parser (through the store), so a typo is caught at
 * startup, not at the first request.  The message names the fault, not
 * the (secret-bearing) string. */
static const char *csam_config_check_conninfo(cmd_parms *cmd, const char *value)
{
    char why[256];

    if (csam_store_conninfo_check(value, why, sizeof(why)) == CSAM_OK)
        return NULL;
    return apr_psprintf(cmd->pool, "%s: not a libpq connection string: %s",
                        cmd->cmd->name, why);
}

/* Links in e-mails are built from this, never from Host: it must be an
 * absolute http(s) URL with a host. */
static const char *csam_config_check_public_url(cmd_parms *cmd,
                                                const char *value)
{
    apr_uri_t uri;

    if (apr_uri_parse(cmd->pool, value, &uri) != APR_SUCCESS
        || uri.scheme == NULL || uri.hostname == NULL || uri.hostname[0] == '\0'
        || (strcasecmp(uri.scheme, "https") != 0
            && strcasecmp(uri.scheme, "http") != 0)
        || uri.query != NULL || uri.fragment != NULL)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an absolute http:// or "
                            "https:// URL",
                            cmd->cmd->name, value);
    return NULL;
}

/* Values that are file names are taken relative to ServerRoot, as httpd's
 * own file directives are. */
static int csam_config_is_path(const char *key)
{
    return strcmp(key, "secret_file") == 0
           || strcmp(key, "previous_secret_file") == 0
           || strcmp(key, "data_dir") == 0 || strcmp(key, "templates_dir") == 0
           || strcmp(key, "mail_ca_file") == 0
           || strcmp(key, "reserved_usernames") == 0;
}

static const char *csam_config_cmd_setting(cmd_parms *cmd, void *dconf,
                                           const char *value)
{
    struct csam_mod_server *conf = ap_get_module_config(
        cmd->server->module_config, &csam_module);
    const char *key = cmd->info;
    const char *shown = value;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    struct csam_config scratch;
    char msg[CSAM_CONFIG_ERRLEN] = "";
    csam_result res;

    (void)dconf;
    if (err != NULL)
        return err;
    if (csam_config_is_path(key)) {
        value = ap_server_root_relative(cmd->pool, value);
        if (value == NULL)
            return apr_psprintf(cmd->pool, "%s: invalid path '%s'",
                                cmd->cmd->name, shown);
    }
    if (strcmp(key, "database") == 0) {
        err = csam_config_check_conninfo(cmd, value);
        shown = "(connection string)";
    } else if (strcmp(key, "public_url") == 0) {
        err = csam_config_check_public_url(cmd, value);
    } else if (strcmp(key, "mail_relay") == 0) {
        shown = csam_config_redact_url(cmd->pool, value);
    } else if (strcmp(key, "sms_url") == 0) {
        /* Gateways often take their API key in the query. */
        shown = "(URL not shown)";
    }
    if (err != NULL)
        return err;

    if (csam_config_init(&scratch) != CSAM_OK)
        return apr_psprintf(cmd->pool, "%s: out of memory", cmd->cmd->name);
    res = csam_config_set(&scratch, key, value, msg, sizeof(msg));
    csam_config_free(&scratch);
    if (res != CSAM_OK)
        return apr_psprintf(cmd->pool, "%s: bad value '%s': %s", cmd->cmd->name,
                            shown, msg[0] ? msg : csam_result_name(res));

    apr_table_set(conf->settings, key, value);
    apr_table_setn(conf->origins, key, cmd->cmd->name);
    return NULL;
}

/* A setting whose value is a list of words ("CSAMSMSCountries 32 33 352",
 * or quoted as one argument): the words joined by single spaces, then the
 * one handler above, so the list is checked by the same code as
 * sms_countries in csam.conf.  Quotes are dropped: no list word may hold
 * one, so nothing a valid value needs is lost, and what is left of an
 * invalid one is still refused there. */
static const char *csam_config_cmd_words(cmd_parms *cmd, void *dconf,
                                         const char *args)
{
    char *joined = apr_palloc(cmd->pool, strlen(args) + 1);
    char *w = joined;

    for (; *args != '\0'; args++) {
        if (*args == '"' || *args == '\'')
            continue;
        if (*args == ' ' || *args == '\t') {
            if (w > joined && w[-1] != ' ')
                *w++ = ' ';
            continue;
        }
        *w++ = *args;
    }
    if (w > joined && w[-1] == ' ')
        w--;
    *w = '\0';
    if (*joined == '\0')
        return apr_psprintf(cmd->pool, "%s needs at least one value",
                            cmd->cmd->name);
    return csam_config_cmd_setting(cmd, dconf, joined);
}

static const char *csam_config_cmd_file(cmd_parms *cmd, void *dconf,
                                        const char *value)
{
    struct csam_mod_server *conf = ap_get_module_config(
        cmd->server->module_config, &csam_module);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);

    (void)dconf;
    if (err != NULL)
        return err;
    conf->config_file = ap_server_root_relative(cmd->pool, value);
    if (conf->config_file == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->cmd->name,
                            value);
    return NULL;
}

/* Recorded with each acceptance of the terms: short and printable. */
static const char *csam_config_cmd_terms(cmd_parms *cmd, void *dconf,
                                         const char *value)
{
    struct csam_mod_server *conf = ap_get_module_config(
        cmd->server->module_config, &csam_module);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    size_t len = strlen(value);

    (void)dconf;
    if (err != NULL)
        return err;
    if (len == 0 || len > 32
        || strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789._-")
               != len)
        return apr_psprintf(cmd->pool,
                            "%s: bad value '%s': 1 to 32 characters among "
                            "letters, digits, '.', '_' and '-'",
                            cmd->cmd->name, value);
    conf->terms_version = value;
    return NULL;
}

/* A whole number from min to max for a server-only directive: digits
 * only (no sign, no blank), range-checked; the message names the
 * directive, the value and the range ("UNIT from MIN[MIN_NOTE] to MAX"). */
static const char *csam_config_server_count(cmd_parms *cmd, const char *value,
                                            int min, int max, const char *unit,
                                            const char *min_note, int *out)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    apr_int64_t n;
    char *end = NULL;

    if (err != NULL)
        return err;
    errno = 0;
    n = apr_strtoi64(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < min || n > max
        || value[0] == '+' || value[0] == '-' || value[0] == ' ')
        return apr_psprintf(cmd->pool, "%s: bad value '%s': %s from %d%s to %d",
                            cmd->cmd->name, value, unit, min, min_note, max);
    *out = (int)n;
    return NULL;
}

static struct csam_mod_server *csam_config_server(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &csam_module);
}

/* Seconds a validated session may be served from a child's cache. */
static const char *csam_config_cmd_cache_ttl(cmd_parms *cmd, void *dconf,
                                             const char *value)
{
    (void)dconf;
    return csam_config_server_count(
        cmd, value, 0, CSAM_MOD_SESSION_CACHE_TTL_MAX, "seconds", " (no cache)",
        &csam_config_server(cmd)->session_cache_ttl);
}

/* Database connections a child keeps for this configuration, at most. */
static const char *csam_config_cmd_pool_max(cmd_parms *cmd, void *dconf,
                                            const char *value)
{
    (void)dconf;
    return csam_config_server_count(cmd, value, 1, CSAM_MOD_POOL_MAX_MAX,
                                    "connections", "",
                                    &csam_config_server(cmd)->pool_max);
}

/* Argon2id runs the server makes at once for this configuration, at
 * most. */
static const char *csam_config_cmd_argon2_max(cmd_parms *cmd, void *dconf,
                                              const char *value)
{
    (void)dconf;
    return csam_config_server_count(cmd, value, 1, CSAM_MOD_ARGON2_MAX_MAX,
                                    "runs", "",
                                    &csam_config_server(cmd)->argon2_max);
}

/* The file of the slots, under DefaultRuntimeDir when relative (Debian's
 * is /run/apache2, on tmpfs).  Whether the file is on a memory file
 * system is checked when it is mapped, in post_config. */
static const char *csam_config_cmd_argon2_slots(cmd_parms *cmd, void *dconf,
                                                const char *value)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);
    const char *path;

    (void)dconf;
    if (err != NULL)
        return err;
    path = ap_runtime_dir_relative(cmd->pool, value);
    if (value[0] == '\0' || path == NULL)
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": not a file name: ", value, NULL);
    csam_config_server(cmd)->argon2_slots = path;
    return NULL;
}

static const char *csam_config_cmd_cookie_secure(cmd_parms *cmd, void *dconf,
                                                 int on)
{
    struct csam_mod_server *conf = ap_get_module_config(
        cmd->server->module_config, &csam_module);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_LOC_FILE);

    (void)dconf;
    if (err != NULL)
        return err;
    conf->cookie_secure = on ? 1 : 0;
    return NULL;
}

static const char *csam_config_cmd_identity_headers(cmd_parms *cmd, void *dconf,
                                                    int on)
{
    struct csam_mod_dir *conf = dconf;

    (void)cmd;
    conf->identity_headers = on ? 1 : 0;
    return NULL;
}

/* An environment variable name for the identity directives: 1 to
 * CSAM_MOD_IDENTITY_ENV_MAX letters, digits and '_'.  Never HTTP_*: httpd
 * and CGI put request headers in the environment under that prefix, and
 * a request header never names a person (DESIGN 3.3).  An error message
 * or NULL. */
static const char *csam_config_env_name(cmd_parms *cmd, const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > CSAM_MOD_IDENTITY_ENV_MAX
        || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_")
               != len)
        return apr_psprintf(cmd->pool,
                            "%s: bad variable name '%s': 1 to %d letters, "
                            "digits and '_'",
                            cmd->cmd->name, name, CSAM_MOD_IDENTITY_ENV_MAX);
    if (strncasecmp(name, "HTTP_", 5) == 0)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' would be a request header (HTTP_*); "
                            "name the variable the authentication module "
                            "sets",
                            cmd->cmd->name, name);
    return NULL;
}

/* CSAMIdentitySource ssl-client-cert | env NAME */
static const char *csam_config_cmd_identity_source(cmd_parms *cmd, void *dconf,
                                                   const char *kind,
                                                   const char *name)
{
    struct csam_mod_dir *conf = dconf;
    const char *err;

    if (strcasecmp(kind, "ssl-client-cert") == 0) {
        if (name != NULL)
            return apr_psprintf(cmd->pool,
                                "%s ssl-client-cert takes no variable name "
                                "('%s')",
                                cmd->cmd->name, name);
        conf->identity_source = CSAM_MOD_IDENTITY_CERT;
        conf->identity_env = NULL;
        return NULL;
    }
    if (strcasecmp(kind, "env") == 0) {
        if (name == NULL)
            return apr_psprintf(cmd->pool,
                                "%s env needs the name of the variable the "
                                "authentication module sets (e.g. "
                                "OIDC_CLAIM_national_number)",
                                cmd->cmd->name);
        err = csam_config_env_name(cmd, name);
        if (err != NULL)
            return err;
        conf->identity_source = CSAM_MOD_IDENTITY_ENV;
        conf->identity_env = name;
        return NULL;
    }
    return apr_psprintf(cmd->pool,
                        "%s: bad value '%s': ssl-client-cert or env NAME",
                        cmd->cmd->name, kind);
}

/* CSAMIdentityNames GIVEN_VAR FAMILY_VAR */
static const char *csam_config_cmd_identity_names(cmd_parms *cmd, void *dconf,
                                                  const char *given,
                                                  const char *family)
{
    struct csam_mod_dir *conf = dconf;
    const char *err = csam_config_env_name(cmd, given);

    if (err == NULL)
        err = csam_config_env_name(cmd, family);
    if (err != NULL)
        return err;
    conf->identity_given = given;
    conf->identity_family = family;
    return NULL;
}

static const char *csam_config_cmd_expose_national_number(cmd_parms *cmd,
                                                          void *dconf, int on)
{
    struct csam_mod_dir *conf = dconf;

    (void)cmd;
    conf->expose_national_number = on ? 1 : 0;
    return NULL;
}

const char *csam_config_directive_of(const char *key)
{
    const command_rec *c;

    for (c = csam_config_cmds; c->name != NULL; c++)
        if (c->cmd_data != NULL && strcmp(c->cmd_data, key) == 0)
            return c->name;
    return NULL;
}

/* Whole words only: "code_ttl" must not match inside "activation_ttl". */
static int csam_config_is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

const char *csam_config_explain(apr_pool_t *p, const char *msg)
{
    const char *out = "";
    const char *w = msg;

    while (*w != '\0') {
        const char *e = w;
        const char *name;

        if (!csam_config_is_word_char(*w)) {
            while (*e != '\0' && !csam_config_is_word_char(*e))
                e++;
            out = apr_pstrcat(p, out, apr_pstrmemdup(p, w, (apr_size_t)(e - w)),
                              NULL);
            w = e;
            continue;
        }
        while (csam_config_is_word_char(*e))
            e++;
        name = csam_config_directive_of(
            apr_pstrmemdup(p, w, (apr_size_t)(e - w)));
        out = apr_pstrcat(
            p, out, name ? name : apr_pstrmemdup(p, w, (apr_size_t)(e - w)),
            NULL);
        w = e;
    }
    return out;
}

#define CSAM_SETTING(name, key, help)                                          \
    AP_INIT_TAKE1(name, csam_config_cmd_setting, (void *)(key), RSRC_CONF, help)

const command_rec csam_config_cmds[] = {
    CSAM_SETTING("CSAMDatabase", "database",
                 "libpq connection string of the CSAM database"),
    CSAM_SETTING("CSAMDBConnectTimeout", "db_connect_timeout",
                 "seconds to connect to the database (replaces the "
                 "connection string's connect_timeout)"),
    CSAM_SETTING("CSAMDBStatementTimeout", "db_statement_timeout",
                 "seconds one database statement may take, and what one "
                 "request's statements may wait in all"),
    CSAM_SETTING("CSAMSecretFile", "secret_file",
                 "file holding the secret (at least 32 bytes, mode 0600 or "
                 "0640)"),
    CSAM_SETTING("CSAMPreviousSecretFile", "previous_secret_file",
                 "the secret CSAMSecretFile replaces, still accepted for "
                 "what was made under it while the rollover lasts"),
    CSAM_SETTING("CSAMSecretGroup", "secret_group",
                 "group that may read the secret file besides root's "
                 "(default none)"),
    CSAM_SETTING("CSAMPublicURL", "public_url",
                 "absolute base URL of links in e-mails"),
    CSAM_SETTING("CSAMMailRelay", "mail_relay",
                 "smtp:// or smtps:// URL of the mail relay"),
    CSAM_SETTING("CSAMMailFrom", "mail_from",
                 "sender mailbox of e-mails to citizens"),
    CSAM_SETTING("CSAMDataDir", "data_dir",
                 "directory holding templates/ and common-passwords.txt"),
    CSAM_SETTING("CSAMTemplatesDir", "templates_dir",
                 "the administrator's templates, each file used instead of "
                 "the shipped one (/etc/csam/templates)"),
    CSAM_SETTING("CSAMHandlerPath", "handler_path",
                 "URL path where SetHandler csam is mounted (/csam)"),
    CSAM_SETTING("CSAMActivationTTL", "activation_ttl",
                 "lifetime of the paper code and link, seconds"),
    CSAM_SETTING("CSAMFlowTTL", "flow_ttl",
                 "lifetime of an activation or login in progress, seconds"),
    CSAM_SETTING("CSAMCodeTTL", "code_ttl",
                 "lifetime of an e-mailed or SMS security code, seconds"),
    CSAM_SETTING("CSAMCodeAttempts", "code_attempts",
                 "attempts allowed per code"),
    CSAM_SETTING("CSAMResendCooldown", "resend_cooldown",
                 "minimum seconds between two codes sent"),
    CSAM_SETTING("CSAMLockoutThreshold", "lockout_threshold",
                 "account failures before a temporary lock"),
    CSAM_SETTING("CSAMLockoutDuration", "lockout_duration",
                 "seconds a temporary lock lasts"),
    CSAM_SETTING("CSAMDelayMax", "delay_max",
                 "longest growing delay after failures, seconds"),
    CSAM_SETTING("CSAMSessionIdle", "session_idle",
                 "session idle timeout, seconds"),
    CSAM_SETTING("CSAMSessionAbsolute", "session_absolute",
                 "session absolute lifetime, seconds"),
    CSAM_SETTING("CSAMPasswordMin", "password_min",
                 "minimum password length, characters"),
    CSAM_SETTING("CSAMPasswordMax", "password_max",
                 "maximum password length, characters"),
    CSAM_SETTING("CSAMArgon2TCost", "argon2_t_cost", "Argon2id iterations"),
    CSAM_SETTING("CSAMArgon2MCost", "argon2_m_cost", "Argon2id memory, KiB"),
    CSAM_SETTING("CSAMArgon2Parallelism", "argon2_parallelism",
                 "Argon2id lanes"),
    CSAM_SETTING("CSAMMailTimeout", "mail_timeout", "SMTP timeout, seconds"),
    CSAM_SETTING("CSAMMailCAFile", "mail_ca_file",
                 "PEM file of the CAs trusted for the mail relay's TLS "
                 "certificate (default: the system store)"),
    CSAM_SETTING("CSAMReauthAfter", "reauth_after",
                 "session age, seconds, after which adding a key asks for "
                 "the password again (0: always)"),
    CSAM_SETTING("CSAMReservedUsernames", "reserved_usernames",
                 "file of further usernames no citizen may take, added to "
                 "the shipped list"),
    /* No directive for sms_auth: httpd.conf is commonly readable by
     * every local user, a token belongs in CSAMConfigFile (mode 0600). */
    CSAM_SETTING("CSAMSMSTransport", "sms_transport",
                 "how SMS codes are sent: none, http or command"),
    CSAM_SETTING("CSAMSMSURL", "sms_url",
                 "SMS gateway URL (https, or http to loopback)"),
    CSAM_SETTING("CSAMSMSBody", "sms_body",
                 "body posted to the gateway, with {{to}} and {{text}}"),
    CSAM_SETTING("CSAMSMSContentType", "sms_content_type",
                 "application/json or application/x-www-form-urlencoded"),
    CSAM_SETTING("CSAMSMSCommand", "sms_command",
                 "program run as PROGRAM NUMBER with the text on its standard "
                 "input, absolute path"),
    CSAM_SETTING("CSAMSMSTimeout", "sms_timeout", "seconds one SMS may take"),
    AP_INIT_RAW_ARGS("CSAMSMSCountries", csam_config_cmd_words,
                     (void *)"sms_countries", RSRC_CONF,
                     "country calling codes SMS may be sent to (default: "
                     "Belgium and the other EU/EEA countries)"),
    CSAM_SETTING("CSAMTOTPIssuer", "totp_issuer",
                 "name the authenticator app shows"),
    AP_INIT_TAKE1("CSAMConfigFile", csam_config_cmd_file, NULL, RSRC_CONF,
                  "csam.conf to read before the CSAM* directives"),
    AP_INIT_TAKE1("CSAMTermsVersion", csam_config_cmd_terms, NULL, RSRC_CONF,
                  "version of the terms of use citizens accept"),
    AP_INIT_TAKE1("CSAMSessionCacheTTL", csam_config_cmd_cache_ttl, NULL,
                  RSRC_CONF,
                  "seconds a validated session is served from a child's "
                  "cache (0: no cache; default 5)"),
    AP_INIT_TAKE1("CSAMPoolMax", csam_config_cmd_pool_max, NULL, RSRC_CONF,
                  "database connections each child keeps for this "
                  "configuration, at most (default 10, never more than "
                  "ThreadsPerChild)"),
    AP_INIT_TAKE1("CSAMArgon2Max", csam_config_cmd_argon2_max, NULL, RSRC_CONF,
                  "password checks (Argon2id runs) the server makes at once "
                  "for this configuration, all its children together, at "
                  "most (default 4); more wait up to 2 s, then get 503"),
    AP_INIT_TAKE1("CSAMArgon2Slots", csam_config_cmd_argon2_slots, NULL,
                  RSRC_CONF,
                  "file on a memory file system where the password checks "
                  "take their turns, for servers that share it (default: "
                  "this server's own memory)"),
    AP_INIT_FLAG("CSAMCookieSecure", csam_config_cmd_cookie_secure, NULL,
                 RSRC_CONF,
                 "mark cookies Secure even when CSAMPublicURL is http "
                 "(default: only with https)"),
    AP_INIT_FLAG("CSAMIdentityHeaders", csam_config_cmd_identity_headers, NULL,
                 OR_AUTHCFG,
                 "also pass X-CSAM-User, X-CSAM-Key, X-CSAM-Auth-Time and "
                 "X-CSAM-Subject request headers to a backend (default Off)"),
    /* Not in .htaccess: whoever may write one could name a variable of
     * their own making and pose as anyone. */
    AP_INIT_TAKE12("CSAMIdentitySource", csam_config_cmd_identity_source, NULL,
                   ACCESS_CONF,
                   "where the online procedure takes the national number "
                   "from: ssl-client-cert (subject serialNumber of a client "
                   "certificate mod_ssl verified) or env NAME (a variable "
                   "set by the module that authenticated the request)"),
    AP_INIT_TAKE2("CSAMIdentityNames", csam_config_cmd_identity_names, NULL,
                  ACCESS_CONF,
                  "with CSAMIdentitySource env: the variables holding the "
                  "given and the family name (e.g. OIDC_CLAIM_given_name "
                  "OIDC_CLAIM_family_name)"),
    AP_INIT_FLAG("CSAMExposeNationalNumber",
                 csam_config_cmd_expose_national_number, NULL, OR_AUTHCFG,
                 "give this location's backend the citizen's national "
                 "register number, personal data: CSAM_NATIONAL_NUMBER, and "
                 "X-CSAM-National-Number with CSAMIdentityHeaders On "
                 "(default Off)"),
    {NULL, {NULL}, NULL, 0, RAW_ARGS, NULL}};
