/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_csam's directives and per-server merge (mod_csam/config.c), called
 * directly as httpd would: each handler gets a cmd_parms made here, the
 * merge gets two server configurations.  The two httpd core functions
 * config.c calls are provided below with the behaviour httpd documents,
 * since they live in the httpd binary, not in a library.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "httpd.h"
#include "http_config.h"

#include "apr_general.h"
#include "apr_strings.h"

#include "httpd_stubs.h"
#include "mod_csam.h"

struct test_ctx {
    apr_pool_t *pool;
    server_rec server;
    void *module_config[1];
    struct csam_mod_server *conf;
};

static int test_setup(void **state)
{
    struct test_ctx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    assert_int_equal(apr_pool_create(&t->pool, NULL), APR_SUCCESS);
    csam_module.module_index = 0;
    t->server.module_config = (struct ap_conf_vector_t *)t->module_config;
    t->conf = csam_config_create_server(t->pool, &t->server);
    t->module_config[0] = t->conf;
    *state = t;
    return 0;
}

static int test_teardown(void **state)
{
    struct test_ctx *t = *state;

    apr_pool_destroy(t->pool);
    free(t);
    return 0;
}

static const command_rec *test_find_cmd(const char *name)
{
    const command_rec *c;

    for (c = csam_config_cmds; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0)
            break;
    /* Never NULL: at worst the table's end, after a failed assertion. */
    assert_non_null(c->name);
    return c;
}

/* Run directive `name value` in server context (path NULL) or in a
 * <Location path>; returns the handler's error or NULL. */
static const char *test_directive_in(struct test_ctx *t, const char *name,
                                     const char *value, char *path)
{
    const command_rec *c = test_find_cmd(name);
    cmd_parms cmd;

    memset(&cmd, 0, sizeof(cmd));
    cmd.info = c->cmd_data;
    cmd.cmd = c;
    cmd.pool = t->pool;
    cmd.temp_pool = t->pool;
    cmd.server = &t->server;
    cmd.path = path;
    /* RAW_ARGS: httpd hands over the rest of the line, as value here */
    if (c->args_how == RAW_ARGS)
        /* cppcheck-suppress returnDanglingLifetime ; the message is
         * allocated in cmd.pool, it does not point into cmd */
        return c->AP_RAW_ARGS(&cmd, NULL, value);
    assert_int_equal(c->args_how, TAKE1);
    /* cppcheck-suppress returnDanglingLifetime ; the message is
     * allocated in cmd.pool, it does not point into cmd */
    return c->AP_TAKE1(&cmd, NULL, value);
}

static const char *test_directive(struct test_ctx *t, const char *name,
                                  const char *value)
{
    return test_directive_in(t, name, value, NULL);
}

static void test_create_is_unset(void **state)
{
    struct test_ctx *t = *state;

    assert_true(apr_is_empty_table(t->conf->settings));
    assert_null(t->conf->config_file);
    assert_null(t->conf->terms_version);
    assert_null(t->conf->rt);
    assert_int_equal(t->conf->session_cache_ttl, -1);
    assert_int_equal(t->conf->cookie_secure, -1);
}

static void test_contract_directives_exist(void **state)
{
    static const char *const names[] = {
        "CSAMDatabase",  "CSAMSecretFile", "CSAMPublicURL",
        "CSAMMailRelay", "CSAMMailFrom",   "CSAMConfigFile",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const command_rec *c = test_find_cmd(names[i]);

        /* Server-wide settings: never in .htaccess or <Directory>. */
        assert_int_equal(c->req_override, RSRC_CONF);
        assert_non_null(c->errmsg);
    }
}

/* Every directive that names a csam.conf key names one the core knows:
 * a typo in the table would make the directive refuse every value as an
 * "unknown key" or, worse, set nothing. */
static void test_every_setting_key_is_known(void **state)
{
    const command_rec *c;
    struct csam_config cfg;
    char msg[CSAM_CONFIG_ERRLEN];
    int n = 0;

    (void)state;
    assert_int_equal(csam_config_init(&cfg), CSAM_OK);
    for (c = csam_config_cmds; c->name != NULL; c++) {
        if (c->cmd_data == NULL)
            continue;
        msg[0] = '\0';
        /* An empty value is refused for every key, with the key named. */
        assert_int_not_equal(
            csam_config_set(&cfg, c->cmd_data, "", msg, sizeof(msg)), CSAM_OK);
        assert_null(strstr(msg, "unknown key"));
        assert_non_null(strstr(msg, (const char *)c->cmd_data));
        n++;
    }
    csam_config_free(&cfg);
    assert_true(n >= 20);
}

static char *test_read_file(const char *rel)
{
    const char *srcdir = getenv("CSAM_SRCDIR");
    char path[4096];
    char *buf;
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", srcdir ? srcdir : ".", rel);
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    buf = calloc(1, 256 * 1024);
    assert_non_null(buf);
    n = fread(buf, 1, 256 * 1024 - 1, f);
    fclose(f);
    assert_true(n > 0);
    return buf;
}

/* The administrator's references name every directive (STYLE: conf/ is
 * the reference; the man page gives each default), and the module-wide
 * file installed for mods-available offers every server-wide one,
 * commented out. */
static void test_directives_documented(void **state)
{
    char *example = test_read_file("conf/httpd/csam.conf");
    char *man = test_read_file("mod_csam/mod_csam.8");
    char *module_wide = test_read_file(
        "conf/httpd/mods-available/csam.conf.in");
    const command_rec *c;

    (void)state;
    for (c = csam_config_cmds; c->name != NULL; c++) {
        if (strstr(example, c->name) == NULL)
            fail_msg("%s is missing from conf/httpd/csam.conf", c->name);
        if (strstr(man, c->name) == NULL)
            fail_msg("%s is missing from mod_csam/mod_csam.8", c->name);
        if (c->req_override == RSRC_CONF) {
            char line[80];

            snprintf(line, sizeof(line), "\n#%s ", c->name);
            if (strstr(module_wide, line) == NULL)
                fail_msg("%s is missing (commented out) from "
                         "conf/httpd/mods-available/csam.conf.in",
                         c->name);
        }
    }
    free(example);
    free(man);
    free(module_wide);
}

static void test_public_url(void **state)
{
    struct test_ctx *t = *state;
    const char *err;

    assert_null(
        test_directive(t, "CSAMPublicURL", "https://portal.example.be"));
    assert_string_equal(apr_table_get(t->conf->settings, "public_url"),
                        "https://portal.example.be");
    assert_string_equal(apr_table_get(t->conf->origins, "public_url"),
                        "CSAMPublicURL");
    assert_null(
        test_directive(t, "CSAMPublicURL", "http://127.0.0.1:8080/portal"));

    err = test_directive(t, "CSAMPublicURL", "portal.example.be");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMPublicURL"));
    assert_non_null(strstr(err, "portal.example.be"));
    assert_non_null(test_directive(t, "CSAMPublicURL", "/csam"));
    assert_non_null(test_directive(t, "CSAMPublicURL", "ftp://example.be"));
    assert_non_null(test_directive(t, "CSAMPublicURL", "https://"));
    assert_non_null(
        test_directive(t, "CSAMPublicURL", "https://example.be/?next=x"));
    assert_non_null(
        test_directive(t, "CSAMPublicURL", "https://example.be/#top"));
    assert_non_null(test_directive(t, "CSAMPublicURL", "https://example.be/"));
    /* A refused value leaves the last good one. */
    assert_string_equal(apr_table_get(t->conf->settings, "public_url"),
                        "http://127.0.0.1:8080/portal");
}

static void test_database(void **state)
{
    struct test_ctx *t = *state;
    const char *err;

    assert_null(test_directive(t, "CSAMDatabase", "service=csam"));
    assert_null(
        test_directive(t, "CSAMDatabase", "host=/run/postgresql dbname=csam"));
    assert_null(test_directive(t, "CSAMDatabase",
                               "postgresql://csam@db.example.be/csam"));
    assert_string_equal(apr_table_get(t->conf->settings, "database"),
                        "postgresql://csam@db.example.be/csam");

    /* libpq's own parser refuses these; the message never repeats the
     * string, which may hold a password. */
    err = test_directive(t, "CSAMDatabase", "password=hunter2 host='db");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMDatabase"));
    assert_null(strstr(err, "hunter2"));
    err = test_directive(t, "CSAMDatabase", "password=hunter2 dbname");
    assert_non_null(err);
    assert_null(strstr(err, "hunter2"));
    err = test_directive(t, "CSAMDatabase", "passwd=hunter2");
    assert_non_null(err);
    assert_null(strstr(err, "hunter2"));
}

static void test_mail_relay(void **state)
{
    struct test_ctx *t = *state;
    const char *err;

    assert_null(test_directive(t, "CSAMMailRelay", "smtp://127.0.0.1:25"));
    assert_null(test_directive(t, "CSAMMailRelay",
                               "smtps://mailer:s3cret@relay.example.be"));
    err = test_directive(t, "CSAMMailRelay",
                         "http://mailer:s3cret@relay.example.be");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMMailRelay"));
    assert_null(strstr(err, "s3cret"));
    err = test_directive(t, "CSAMMailRelay", "smtp://relay.example.be:99999");
    assert_non_null(err);
}

static void test_mail_from(void **state)
{
    struct test_ctx *t = *state;

    assert_null(test_directive(t, "CSAMMailFrom",
                               "CSAM Mes clés numériques "
                               "<noreply@example.be>"));
    assert_null(test_directive(t, "CSAMMailFrom", "noreply@example.be"));
    assert_non_null(test_directive(t, "CSAMMailFrom", "not an address"));
    assert_non_null(test_directive(t, "CSAMMailFrom",
                                   "x <a@example.be>\r\nBcc: b@example.be"));
}

static void test_paths_relative_to_server_root(void **state)
{
    struct test_ctx *t = *state;

    assert_null(test_directive(t, "CSAMSecretFile", "csam/secret.key"));
    assert_string_equal(apr_table_get(t->conf->settings, "secret_file"),
                        CSAM_TEST_SERVER_ROOT "/csam/secret.key");
    assert_null(test_directive(t, "CSAMSecretFile", "/etc/csam/secret.key"));
    assert_string_equal(apr_table_get(t->conf->settings, "secret_file"),
                        "/etc/csam/secret.key");
    assert_null(test_directive(t, "CSAMDataDir", "share/csam"));
    assert_string_equal(apr_table_get(t->conf->settings, "data_dir"),
                        CSAM_TEST_SERVER_ROOT "/share/csam");
    assert_null(test_directive(t, "CSAMConfigFile", "csam.conf"));
    assert_string_equal(t->conf->config_file,
                        CSAM_TEST_SERVER_ROOT "/csam.conf");
}

static void test_numbers(void **state)
{
    struct test_ctx *t = *state;
    const char *err;

    assert_null(test_directive(t, "CSAMCodeAttempts", "5"));
    assert_string_equal(apr_table_get(t->conf->settings, "code_attempts"), "5");
    err = test_directive(t, "CSAMCodeAttempts", "0");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMCodeAttempts"));
    assert_non_null(test_directive(t, "CSAMCodeAttempts", "21"));
    assert_non_null(test_directive(t, "CSAMCodeAttempts", "five"));
    assert_non_null(test_directive(t, "CSAMCodeAttempts", "5x"));
    assert_non_null(test_directive(t, "CSAMCodeAttempts", "-1"));
    assert_non_null(
        test_directive(t, "CSAMCodeAttempts", "99999999999999999999"));
    assert_string_equal(apr_table_get(t->conf->settings, "code_attempts"), "5");

    assert_null(test_directive(t, "CSAMCodeTTL", "600"));
    assert_non_null(test_directive(t, "CSAMCodeTTL", "600000"));
    assert_null(test_directive(t, "CSAMActivationTTL", "2592000"));
    assert_null(test_directive(t, "CSAMFlowTTL", "1800"));
    assert_null(test_directive(t, "CSAMResendCooldown", "60"));
    assert_null(test_directive(t, "CSAMLockoutThreshold", "10"));
    assert_null(test_directive(t, "CSAMLockoutDuration", "900"));
    assert_null(test_directive(t, "CSAMPasswordMin", "12"));
    assert_non_null(test_directive(t, "CSAMPasswordMin", "7"));
}

static void test_server_context_only(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/app";

    assert_non_null(test_directive_in(t, "CSAMPublicURL",
                                      "https://portal.example.be", location));
    assert_non_null(
        test_directive_in(t, "CSAMConfigFile", "/etc/csam.conf", location));
    assert_non_null(test_directive_in(t, "CSAMTermsVersion", "2", location));
    assert_true(apr_is_empty_table(t->conf->settings));
    assert_null(t->conf->config_file);
}

static void test_terms_version(void **state)
{
    struct test_ctx *t = *state;

    assert_null(test_directive(t, "CSAMTermsVersion", "2026-01"));
    assert_string_equal(t->conf->terms_version, "2026-01");
    assert_non_null(test_directive(t, "CSAMTermsVersion", ""));
    assert_non_null(test_directive(t, "CSAMTermsVersion", "v 2"));
    assert_non_null(test_directive(t, "CSAMTermsVersion",
                                   "123456789012345678901234567890123"));
    assert_string_equal(t->conf->terms_version, "2026-01");
}

/* Core messages speak of csam.conf keys; Apache administrators read the
 * directive names instead. */
static void test_explain(void **state)
{
    struct test_ctx *t = *state;

    assert_string_equal(csam_config_explain(t->pool, "code_ttl is greater "
                                                     "than activation_ttl"),
                        "CSAMCodeTTL is greater than CSAMActivationTTL");
    assert_string_equal(csam_config_explain(t->pool, "public_url is not set: "
                                                     "links need it"),
                        "CSAMPublicURL is not set: links need it");
    assert_string_equal(csam_config_explain(t->pool, "x_code_ttl (12)"),
                        "x_code_ttl (12)");
    assert_string_equal(csam_config_directive_of("mail_from"), "CSAMMailFrom");
    assert_null(csam_config_directive_of("nonsense"));
}

/* A second server (a virtual host) with its own configuration vector. */
static struct csam_mod_server *test_vhost(struct test_ctx *t, server_rec *vs,
                                          void **vec)
{
    memset(vs, 0, sizeof(*vs));
    vs->module_config = (struct ap_conf_vector_t *)vec;
    vec[0] = csam_config_create_server(t->pool, vs);
    return vec[0];
}

static const char *test_vhost_directive(struct test_ctx *t,
                                        const server_rec *vs, const char *name,
                                        const char *value)
{
    server_rec saved = t->server;
    const char *err;

    t->server = *vs;
    err = test_directive(t, name, value);
    t->server = saved;
    return err;
}

static void test_merge(void **state)
{
    struct test_ctx *t = *state;
    server_rec vs;
    void *vec[1];
    struct csam_mod_server *vhost = test_vhost(t, &vs, vec);
    struct csam_mod_server *m;

    assert_null(test_directive(t, "CSAMDatabase", "service=csam"));
    assert_null(
        test_directive(t, "CSAMPublicURL", "https://portal.example.be"));
    assert_null(test_directive(t, "CSAMTermsVersion", "1"));
    assert_null(test_directive(t, "CSAMConfigFile", "/etc/csam/csam.conf"));
    assert_null(test_vhost_directive(t, &vs, "CSAMPublicURL",
                                     "https://other.example.be"));
    assert_null(test_vhost_directive(t, &vs, "CSAMCodeAttempts", "3"));

    m = csam_config_merge_server(t->pool, t->conf, vhost);
    /* The virtual host's own values win, the rest comes from the main
     * server. */
    assert_string_equal(apr_table_get(m->settings, "public_url"),
                        "https://other.example.be");
    assert_string_equal(apr_table_get(m->origins, "public_url"),
                        "CSAMPublicURL");
    assert_string_equal(apr_table_get(m->settings, "database"), "service=csam");
    assert_string_equal(apr_table_get(m->settings, "code_attempts"), "3");
    assert_string_equal(m->terms_version, "1");
    assert_string_equal(m->config_file, "/etc/csam/csam.conf");
    assert_false(m->inherits);
    /* One entry per key: the run-time state applies every entry in turn,
     * so a second public_url (the main server's) would win over the
     * virtual host's. */
    assert_int_equal(apr_table_elts(m->settings)->nelts, 3);
    assert_int_equal(apr_table_elts(m->origins)->nelts, 3);
    /* Merging changed neither input. */
    assert_null(apr_table_get(t->conf->settings, "code_attempts"));
    assert_string_equal(apr_table_get(t->conf->settings, "public_url"),
                        "https://portal.example.be");
    assert_null(apr_table_get(vhost->settings, "database"));
}

static void test_merge_unset_child_inherits(void **state)
{
    struct test_ctx *t = *state;
    server_rec vs;
    void *vec[1];
    struct csam_mod_server *vhost = test_vhost(t, &vs, vec);
    struct csam_mod_server *m;

    assert_null(test_directive(t, "CSAMDatabase", "service=csam"));
    assert_null(test_directive(t, "CSAMCodeAttempts", "5"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_true(m->inherits);
    assert_string_equal(apr_table_get(m->settings, "database"), "service=csam");

    /* A child that sets a value equal to the default is still "set": it
     * does not inherit (STYLE: never treat "equals the default" as
     * unset). */
    assert_null(test_vhost_directive(t, &vs, "CSAMCodeAttempts", "5"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_false(m->inherits);

    /* Only CSAMTermsVersion set: also its own configuration. */
    vhost = test_vhost(t, &vs, vec);
    assert_null(test_vhost_directive(t, &vs, "CSAMTermsVersion", "2"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_false(m->inherits);
    assert_string_equal(m->terms_version, "2");
}

/* A FLAG directive in server context (path NULL) or a section; dconf is
 * the directory configuration it sets, when it has one. */
static const char *test_flag_in(struct test_ctx *t, const char *name, int on,
                                char *path, void *dconf)
{
    const command_rec *c = test_find_cmd(name);
    cmd_parms cmd;

    memset(&cmd, 0, sizeof(cmd));
    cmd.info = c->cmd_data;
    cmd.cmd = c;
    cmd.pool = t->pool;
    cmd.temp_pool = t->pool;
    cmd.server = &t->server;
    cmd.path = path;
    assert_int_equal(c->args_how, FLAG);
    /* cppcheck-suppress returnDanglingLifetime ; the message is
     * allocated in cmd.pool, it does not point into cmd */
    return c->AP_FLAG(&cmd, dconf, on);
}

static void test_session_cache_ttl(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/app";
    const char *err;

    assert_null(test_directive(t, "CSAMSessionCacheTTL", "0"));
    assert_int_equal(t->conf->session_cache_ttl, 0);
    assert_null(test_directive(t, "CSAMSessionCacheTTL", "300"));
    assert_int_equal(t->conf->session_cache_ttl, 300);
    assert_null(test_directive(t, "CSAMSessionCacheTTL", "5"));
    err = test_directive(t, "CSAMSessionCacheTTL", "301");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMSessionCacheTTL"));
    assert_non_null(strstr(err, "301"));
    assert_non_null(test_directive(t, "CSAMSessionCacheTTL", "-1"));
    assert_non_null(test_directive(t, "CSAMSessionCacheTTL", "5s"));
    assert_non_null(test_directive(t, "CSAMSessionCacheTTL", ""));
    assert_non_null(test_directive(t, "CSAMSessionCacheTTL", " 5"));
    assert_non_null(test_directive(t, "CSAMSessionCacheTTL", "+5"));
    assert_non_null(
        test_directive(t, "CSAMSessionCacheTTL", "99999999999999999999"));
    assert_non_null(test_directive_in(t, "CSAMSessionCacheTTL", "5", location));
    /* A refused value leaves the last good one. */
    assert_int_equal(t->conf->session_cache_ttl, 5);
}

static void test_cookie_secure(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/app";

    assert_null(test_flag_in(t, "CSAMCookieSecure", 1, NULL, NULL));
    assert_int_equal(t->conf->cookie_secure, 1);
    assert_null(test_flag_in(t, "CSAMCookieSecure", 0, NULL, NULL));
    assert_int_equal(t->conf->cookie_secure, 0);
    assert_non_null(test_flag_in(t, "CSAMCookieSecure", 1, location, NULL));
    assert_int_equal(t->conf->cookie_secure, 0);
}

static void test_identity_headers_per_dir(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/app";
    struct csam_mod_dir *outer = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *inner = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *m;

    assert_int_equal(outer->identity_headers, -1);
    /* Unset everywhere: Off when read, and the merge keeps it unset. */
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_int_equal(m->identity_headers, -1);
    assert_null(test_flag_in(t, "CSAMIdentityHeaders", 1, location, outer));
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_int_equal(m->identity_headers, 1);
    /* An inner section's Off wins over an outer On. */
    assert_null(test_flag_in(t, "CSAMIdentityHeaders", 0, location, inner));
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_int_equal(m->identity_headers, 0);
    assert_int_equal(test_find_cmd("CSAMIdentityHeaders")->req_override,
                     OR_AUTHCFG);
}

/* Run `name a [b]` (TAKE12 or TAKE2) in <Location path> on dconf. */
static const char *test_directive2_in(struct test_ctx *t, const char *name,
                                      const char *a, const char *b, char *path,
                                      struct csam_mod_dir *dconf)
{
    const command_rec *c = test_find_cmd(name);
    cmd_parms cmd;

    memset(&cmd, 0, sizeof(cmd));
    cmd.info = c->cmd_data;
    cmd.cmd = c;
    cmd.pool = t->pool;
    cmd.temp_pool = t->pool;
    cmd.server = &t->server;
    cmd.path = path;
    assert_true(c->args_how == TAKE12 || c->args_how == TAKE2);
    /* cppcheck-suppress returnDanglingLifetime ; the message is
     * allocated in cmd.pool, it does not point into cmd */
    return c->AP_TAKE2(&cmd, dconf, a, b);
}

static void test_identity_source(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/csam/online";
    struct csam_mod_dir *d = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *outer = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *m;
    const char *err;

    assert_int_equal(d->identity_source, CSAM_MOD_IDENTITY_UNSET);
    assert_null(d->identity_env);
    /* Never from .htaccess: whoever writes one could pose as anyone. */
    assert_int_equal(test_find_cmd("CSAMIdentitySource")->req_override,
                     ACCESS_CONF);
    assert_int_equal(test_find_cmd("CSAMIdentityNames")->req_override,
                     ACCESS_CONF);

    assert_null(test_directive2_in(t, "CSAMIdentitySource", "ssl-client-cert",
                                   NULL, location, d));
    assert_int_equal(d->identity_source, CSAM_MOD_IDENTITY_CERT);
    assert_null(d->identity_env);
    assert_null(test_directive2_in(t, "CSAMIdentitySource", "env",
                                   "OIDC_CLAIM_national_number", location,
                                   outer));
    assert_int_equal(outer->identity_source, CSAM_MOD_IDENTITY_ENV);
    assert_string_equal(outer->identity_env, "OIDC_CLAIM_national_number");

    /* Refused, with the directive and the value named. */
    err = test_directive2_in(t, "CSAMIdentitySource", "ssl-client-cert",
                             "SSL_CLIENT_S_DN", location, d);
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMIdentitySource"));
    err = test_directive2_in(t, "CSAMIdentitySource", "env", NULL, location, d);
    assert_non_null(err);
    assert_non_null(strstr(err, "needs the name"));
    err = test_directive2_in(t, "CSAMIdentitySource", "header",
                             "X-National-Number", location, d);
    assert_non_null(err);
    assert_non_null(strstr(err, "'header'"));
    {
        char long_name[CSAM_MOD_IDENTITY_ENV_MAX + 2];
        static const char *const bad[] = {"",        "OIDC-CLAIM", "A B", "A=B",
                                          "CLAIM\n", "NRN$",       "é"};
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err = test_directive2_in(t, "CSAMIdentitySource", "env", bad[i],
                                     location, d);
            assert_non_null(err);
            assert_non_null(strstr(err, "bad variable name"));
        }
        memset(long_name, 'A', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_non_null(test_directive2_in(t, "CSAMIdentitySource", "env",
                                           long_name, location, d));
        long_name[CSAM_MOD_IDENTITY_ENV_MAX] = '\0';
        assert_null(test_directive2_in(t, "CSAMIdentitySource", "env",
                                       long_name, location, outer));
        assert_null(test_directive2_in(t, "CSAMIdentitySource", "env",
                                       "OIDC_CLAIM_national_number", location,
                                       outer));
    }
    /* A request header is never a source, in any case. */
    err = test_directive2_in(t, "CSAMIdentitySource", "env",
                             "HTTP_X_NATIONAL_NUMBER", location, d);
    assert_non_null(err);
    assert_non_null(strstr(err, "request header"));
    assert_non_null(test_directive2_in(t, "CSAMIdentitySource", "env",
                                       "http_x_nrn", location, d));
    /* The refusals left the section as it was. */
    assert_int_equal(d->identity_source, CSAM_MOD_IDENTITY_CERT);
    assert_null(d->identity_env);

    /* Merge: the inner section's source and name together, else the
     * outer's. */
    m = csam_config_merge_dir(t->pool, outer, d);
    assert_int_equal(m->identity_source, CSAM_MOD_IDENTITY_CERT);
    assert_null(m->identity_env);
    m = csam_config_merge_dir(t->pool, d, outer);
    assert_int_equal(m->identity_source, CSAM_MOD_IDENTITY_ENV);
    assert_string_equal(m->identity_env, "OIDC_CLAIM_national_number");
    m = csam_config_merge_dir(t->pool, outer,
                              csam_config_create_dir(t->pool, location));
    assert_int_equal(m->identity_source, CSAM_MOD_IDENTITY_ENV);
    assert_string_equal(m->identity_env, "OIDC_CLAIM_national_number");
    m = csam_config_merge_dir(t->pool,
                              csam_config_create_dir(t->pool, location),
                              csam_config_create_dir(t->pool, location));
    assert_int_equal(m->identity_source, CSAM_MOD_IDENTITY_UNSET);
}

static void test_identity_names(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/csam/online";
    struct csam_mod_dir *outer = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *inner = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *m;
    const char *err;

    assert_null(outer->identity_given);
    assert_null(outer->identity_family);
    assert_null(test_directive2_in(t, "CSAMIdentityNames",
                                   "OIDC_CLAIM_given_name",
                                   "OIDC_CLAIM_family_name", location, outer));
    assert_string_equal(outer->identity_given, "OIDC_CLAIM_given_name");
    assert_string_equal(outer->identity_family, "OIDC_CLAIM_family_name");
    err = test_directive2_in(t, "CSAMIdentityNames", "GIVEN", "HTTP_FAMILY",
                             location, inner);
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMIdentityNames"));
    assert_non_null(test_directive2_in(t, "CSAMIdentityNames", "GIVEN name",
                                       "FAMILY", location, inner));
    assert_null(inner->identity_given);
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_string_equal(m->identity_given, "OIDC_CLAIM_given_name");
    assert_string_equal(m->identity_family, "OIDC_CLAIM_family_name");
    assert_null(test_directive2_in(t, "CSAMIdentityNames", "GN", "SN", location,
                                   inner));
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_string_equal(m->identity_given, "GN");
    assert_string_equal(m->identity_family, "SN");
}

/* CSAMExposeNationalNumber: Off unless a section says On, an inner Off
 * wins, and the two per-directory flags do not leak into each other. */
static void test_expose_national_number_per_dir(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/portal";
    struct csam_mod_dir *outer = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *inner = csam_config_create_dir(t->pool, location);
    struct csam_mod_dir *m;

    assert_int_equal(outer->expose_national_number, -1);
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_int_equal(m->expose_national_number, -1);
    assert_null(
        test_flag_in(t, "CSAMExposeNationalNumber", 1, location, outer));
    assert_int_equal(outer->identity_headers, -1);
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_int_equal(m->expose_national_number, 1);
    assert_int_equal(m->identity_headers, -1);
    assert_null(
        test_flag_in(t, "CSAMExposeNationalNumber", 0, location, inner));
    m = csam_config_merge_dir(t->pool, outer, inner);
    assert_int_equal(m->expose_national_number, 0);
    /* A section that says nothing keeps its parent's On. */
    m = csam_config_merge_dir(t->pool, outer,
                              csam_config_create_dir(t->pool, location));
    assert_int_equal(m->expose_national_number, 1);
    assert_int_equal(test_find_cmd("CSAMExposeNationalNumber")->req_override,
                     OR_AUTHCFG);
}

static void test_merge_session_settings(void **state)
{
    struct test_ctx *t = *state;
    server_rec vs;
    void *vec[1];
    struct csam_mod_server *vhost = test_vhost(t, &vs, vec);
    struct csam_mod_server *m;

    assert_null(test_directive(t, "CSAMDatabase", "service=csam"));
    assert_null(test_directive(t, "CSAMSessionCacheTTL", "10"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_int_equal(m->session_cache_ttl, 10);
    assert_int_equal(m->cookie_secure, -1);
    assert_true(m->inherits);
    /* Its own cache bound: its own run-time state. */
    assert_null(test_vhost_directive(t, &vs, "CSAMSessionCacheTTL", "0"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_int_equal(m->session_cache_ttl, 0);
    assert_false(m->inherits);
}

static void test_pool_max(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/app";
    server_rec vs;
    void *vec[1];
    struct csam_mod_server *vhost = test_vhost(t, &vs, vec);
    struct csam_mod_server *m;
    const char *err;

    assert_int_equal(t->conf->pool_max, -1);
    assert_null(test_directive(t, "CSAMPoolMax", "1"));
    assert_int_equal(t->conf->pool_max, 1);
    assert_null(test_directive(t, "CSAMPoolMax", "1024"));
    assert_int_equal(t->conf->pool_max, 1024);
    assert_null(test_directive(t, "CSAMPoolMax", "4"));
    err = test_directive(t, "CSAMPoolMax", "0");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMPoolMax"));
    assert_non_null(strstr(err, "'0'"));
    assert_non_null(test_directive(t, "CSAMPoolMax", "1025"));
    assert_non_null(test_directive(t, "CSAMPoolMax", "-1"));
    assert_non_null(test_directive(t, "CSAMPoolMax", "+4"));
    assert_non_null(test_directive(t, "CSAMPoolMax", " 4"));
    assert_non_null(test_directive(t, "CSAMPoolMax", "4x"));
    assert_non_null(test_directive(t, "CSAMPoolMax", ""));
    assert_non_null(test_directive(t, "CSAMPoolMax", "99999999999999999999"));
    assert_non_null(test_directive_in(t, "CSAMPoolMax", "4", location));
    assert_int_equal(t->conf->pool_max, 4);
    /* A virtual host that sets nothing shares the main pool; its own cap
     * gives it its own. */
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_int_equal(m->pool_max, 4);
    assert_true(m->inherits);
    assert_null(test_vhost_directive(t, &vs, "CSAMPoolMax", "2"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_int_equal(m->pool_max, 2);
    assert_false(m->inherits);
}

/* CSAMArgon2Max: a bounded count, server-only, merged like CSAMPoolMax. */
static void test_argon2_max(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/app";
    server_rec vs;
    void *vec[1];
    struct csam_mod_server *vhost = test_vhost(t, &vs, vec);
    struct csam_mod_server *m;
    const char *err;

    assert_int_equal(t->conf->argon2_max, -1);
    assert_null(test_directive(t, "CSAMArgon2Max", "1"));
    assert_int_equal(t->conf->argon2_max, 1);
    assert_null(test_directive(t, "CSAMArgon2Max", "1024"));
    assert_int_equal(t->conf->argon2_max, 1024);
    assert_null(test_directive(t, "CSAMArgon2Max", "3"));
    err = test_directive(t, "CSAMArgon2Max", "0");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMArgon2Max"));
    assert_non_null(strstr(err, "'0'"));
    assert_non_null(test_directive(t, "CSAMArgon2Max", "1025"));
    assert_non_null(test_directive(t, "CSAMArgon2Max", "-1"));
    assert_non_null(test_directive(t, "CSAMArgon2Max", "+3"));
    assert_non_null(test_directive(t, "CSAMArgon2Max", "3x"));
    assert_non_null(test_directive(t, "CSAMArgon2Max", ""));
    assert_non_null(test_directive_in(t, "CSAMArgon2Max", "3", location));
    assert_int_equal(t->conf->argon2_max, 3);
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_int_equal(m->argon2_max, 3);
    assert_true(m->inherits);
    assert_null(test_vhost_directive(t, &vs, "CSAMArgon2Max", "2"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_int_equal(m->argon2_max, 2);
    assert_false(m->inherits);
}

/* CSAMArgon2Slots: a file name, under DefaultRuntimeDir when relative,
 * server-only; a virtual host that names one has its own state. */
static void test_argon2_slots(void **state)
{
    struct test_ctx *t = *state;
    char location[] = "/app";
    server_rec vs;
    void *vec[1];
    struct csam_mod_server *vhost = test_vhost(t, &vs, vec);
    struct csam_mod_server *m;

    assert_null(t->conf->argon2_slots);
    assert_null(test_directive(t, "CSAMArgon2Slots", "/run/csam/slots"));
    assert_string_equal(t->conf->argon2_slots, "/run/csam/slots");
    assert_null(test_directive(t, "CSAMArgon2Slots", "csam.slots"));
    assert_string_equal(t->conf->argon2_slots,
                        CSAM_TEST_SERVER_ROOT "/logs/csam.slots");
    assert_non_null(test_directive(t, "CSAMArgon2Slots", ""));
    assert_non_null(
        test_directive_in(t, "CSAMArgon2Slots", "/run/x", location));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_string_equal(m->argon2_slots,
                        CSAM_TEST_SERVER_ROOT "/logs/csam.slots");
    assert_true(m->inherits);
    assert_null(test_vhost_directive(t, &vs, "CSAMArgon2Slots", "/run/v"));
    m = csam_config_merge_server(t->pool, t->conf, vhost);
    assert_string_equal(m->argon2_slots, "/run/v");
    assert_false(m->inherits);
}

static void test_sms_directives(void **state)
{
    struct test_ctx *t = *state;
    const char *err;

    assert_null(test_directive(t, "CSAMSMSTransport", "http"));
    assert_string_equal(apr_table_get(t->conf->settings, "sms_transport"),
                        "http");
    assert_string_equal(apr_table_get(t->conf->origins, "sms_transport"),
                        "CSAMSMSTransport");
    err = test_directive(t, "CSAMSMSTransport", "carrier-pigeon");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMSMSTransport"));
    assert_null(
        test_directive(t, "CSAMSMSURL", "https://sms.example.be/v1?key=K3Y"));
    /* A refused URL is not echoed: gateways take their key in it. */
    err = test_directive(t, "CSAMSMSURL", "http://sms.example.be/?key=K3Y");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMSMSURL"));
    assert_null(strstr(err, "K3Y"));
    assert_null(test_directive(t, "CSAMSMSBody", "to={{to}}&text={{text}}"));
    assert_non_null(test_directive(t, "CSAMSMSBody", "{{to}} {{code}}"));
    assert_null(test_directive(t, "CSAMSMSContentType",
                               "application/x-www-form-urlencoded"));
    assert_non_null(test_directive(t, "CSAMSMSContentType", "text/plain"));
    assert_non_null(test_directive(t, "CSAMSMSCommand", "send-sms"));
    assert_null(test_directive(t, "CSAMSMSTimeout", "120"));
    assert_non_null(test_directive(t, "CSAMSMSTimeout", "121"));
    assert_null(test_directive(t, "CSAMTOTPIssuer", "Mes cl\xc3\xa9s"));
    assert_non_null(test_directive(t, "CSAMTOTPIssuer", "a:b"));
    /* The gateway's credentials have no directive (httpd.conf is often
     * readable by all): only CSAMConfigFile gives them. */
    assert_null(csam_config_directive_of("sms_auth"));
    assert_string_equal(csam_config_directive_of("sms_url"), "CSAMSMSURL");

    /* CSAMSMSCountries takes words, quoted or not, checked by the same
     * code as sms_countries in csam.conf */
    assert_null(test_directive(t, "CSAMSMSCountries", "32   33\t352"));
    assert_string_equal(apr_table_get(t->conf->settings, "sms_countries"),
                        "32 33 352");
    assert_string_equal(apr_table_get(t->conf->origins, "sms_countries"),
                        "CSAMSMSCountries");
    assert_null(test_directive(t, "CSAMSMSCountries", "\"+32 +423\""));
    assert_string_equal(apr_table_get(t->conf->settings, "sms_countries"),
                        "+32 +423");
    err = test_directive(t, "CSAMSMSCountries", "32 35");
    assert_non_null(err);
    assert_non_null(strstr(err, "CSAMSMSCountries"));
    assert_non_null(strstr(err, "sms_countries"));
    assert_non_null(test_directive(t, "CSAMSMSCountries", "\"\""));
    assert_non_null(test_directive(t, "CSAMSMSCountries", "32,33"));
    assert_string_equal(apr_table_get(t->conf->settings, "sms_countries"),
                        "+32 +423");
    {
        char location[] = "/csam";

        assert_non_null(
            test_directive_in(t, "CSAMSMSCountries", "32", location));
    }
}

static void test_mail_ca_file(void **state)
{
    struct test_ctx *t = *state;

    assert_null(test_directive(t, "CSAMMailCAFile", "/etc/csam/ca.pem"));
    assert_string_equal(apr_table_get(t->conf->settings, "mail_ca_file"),
                        "/etc/csam/ca.pem");
    /* a file name, so relative to ServerRoot like httpd's own */
    assert_null(test_directive(t, "CSAMMailCAFile", "conf/ca.pem"));
    assert_string_equal(apr_table_get(t->conf->settings, "mail_ca_file"),
                        CSAM_TEST_SERVER_ROOT "/conf/ca.pem");
    {
        char location[] = "/csam";

        assert_non_null(
            test_directive_in(t, "CSAMMailCAFile", "/ca.pem", location));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_is_unset, test_setup,
                                        test_teardown),
        cmocka_unit_test(test_contract_directives_exist),
        cmocka_unit_test(test_every_setting_key_is_known),
        cmocka_unit_test(test_directives_documented),
        cmocka_unit_test_setup_teardown(test_public_url, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_database, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_mail_relay, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_mail_from, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_paths_relative_to_server_root,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_numbers, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_server_context_only, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_terms_version, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_explain, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_merge, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_merge_unset_child_inherits,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_session_cache_ttl, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_cookie_secure, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_identity_headers_per_dir,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_identity_source, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_identity_names, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_expose_national_number_per_dir,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_merge_session_settings, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_pool_max, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_mail_ca_file, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_argon2_max, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_argon2_slots, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_sms_directives, test_setup,
                                        test_teardown),
    };

    if (apr_initialize() != APR_SUCCESS)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
