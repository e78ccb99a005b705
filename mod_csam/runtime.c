/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Startup: turn each configured server's directives into the run-time state
 * requests use (typed settings, the secret, the common-password list, the
 * page templates), refusing to start on any bad value with a message that
 * names the directive.  Runs in the parent as root, before httpd drops
 * privileges, which is when the secret file must be read (DESIGN 3.5).
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_core.h"
#include "unixd.h"

#include "apr_file_info.h"
#include "apr_strings.h"
#include "apr_version.h"
#include "apu_version.h"

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

#define CSAM_RUNTIME_TERMS_DEFAULT "1"
/* Label under the cookie-signing purpose for the key that seals cookies. */
#define CSAM_RUNTIME_COOKIE_LABEL "mod_csam/cookie-seal/v1"

static apr_status_t csam_runtime_free_config(void *data)
{
    csam_config_free(data);
    return APR_SUCCESS;
}

static apr_status_t csam_runtime_free_services(void *data)
{
    struct csam_mod_runtime *rt = data;

    csam_services_free(rt->services);
    rt->services = NULL;
    rt->secret = NULL;
    csam_wipe(rt->cookie_key, sizeof(rt->cookie_key));
    csam_wipe(rt->cookie_key_previous, sizeof(rt->cookie_key_previous));
    rt->has_cookie_key_previous = 0;
    return APR_SUCCESS;
}

/* What csam_services_open could not load, naming the directive behind
 * it. */
static const char *
csam_runtime_services_error(apr_pool_t *p, const struct csam_mod_runtime *rt,
                            const struct csam_services_error *err)
{
    switch (err->part) {
    case CSAM_SERVICES_PREVIOUS_SECRET:
        return apr_psprintf(p, "CSAMPreviousSecretFile: '%s': %s",
                            rt->config.previous_secret_file, err->msg);
    case CSAM_SERVICES_SECRET:
        return apr_psprintf(p, "CSAMSecretFile: '%s': %s",
                            rt->config.secret_file, err->msg);
    case CSAM_SERVICES_SMS: return csam_config_explain(p, err->msg);
    case CSAM_SERVICES_COMMON_PASSWORDS:
        return apr_psprintf(p,
                            "CSAMDataDir: cannot read the list of "
                            "common passwords '%s'",
                            err->path);
    case CSAM_SERVICES_RESERVED_OWN:
        return apr_psprintf(p,
                            "CSAMReservedUsernames: cannot read the "
                            "list of reserved usernames '%s'",
                            err->path);
    case CSAM_SERVICES_RESERVED_SHIPPED:
        return apr_psprintf(p,
                            "CSAMDataDir: cannot read the list of "
                            "reserved usernames '%s'",
                            err->path);
    }
    return apr_psprintf(p, "cannot load the services: %s", err->msg);
}

/* The secret, the SMS settings, the relay and the word lists, freed with
 * p; and the key that seals cookies, derived from the secret. */
static const char *csam_runtime_services(apr_pool_t *p,
                                         struct csam_mod_runtime *rt)
{
    struct csam_services_error err;

    if (csam_services_open(&rt->config, CSAM_SERVICES_LISTS, &rt->services,
                           &err)
        != CSAM_OK)
        return csam_runtime_services_error(p, rt, &err);
    rt->secret = csam_services_secret(rt->services);
    apr_pool_cleanup_register(p, rt, csam_runtime_free_services,
                              apr_pool_cleanup_null);
    if (csam_keyed_hash(rt->secret, CSAM_PURPOSE_COOKIE_SIGN,
                        CSAM_RUNTIME_COOKIE_LABEL,
                        strlen(CSAM_RUNTIME_COOKIE_LABEL), rt->cookie_key)
        != CSAM_OK)
        return "cannot derive the cookie key from the secret";
    rt->has_cookie_key_previous = 0;
    if (csam_secret_previous(rt->secret) != NULL) {
        if (csam_keyed_hash(csam_secret_previous(rt->secret),
                            CSAM_PURPOSE_COOKIE_SIGN, CSAM_RUNTIME_COOKIE_LABEL,
                            strlen(CSAM_RUNTIME_COOKIE_LABEL),
                            rt->cookie_key_previous)
            != CSAM_OK)
            return "cannot derive the cookie key from the previous secret";
        rt->has_cookie_key_previous = 1;
    }
    return NULL;
}

struct csam_runtime_apply {
    struct csam_mod_runtime *rt;
    const struct csam_mod_server *conf;
    apr_pool_t *p;
    const char *error;
};

static int csam_runtime_apply_one(void *ctx, const char *key, const char *value)
{
    struct csam_runtime_apply *a = ctx;
    char msg[CSAM_CONFIG_ERRLEN] = "";

    if (csam_config_set(&a->rt->config, key, value, msg, sizeof(msg))
        == CSAM_OK)
        return 1;
    a->error = apr_psprintf(a->p, "%s: %s",
                            apr_table_get(a->conf->origins, key), msg);
    return 0;
}

/* The mail templates are read when a mail is sent; their French set, the
 * fallback of every language, is checked now (the administrator's file or
 * the shipped one, as a mail would take it) so that a wrong CSAMDataDir or
 * an unsafe override stops httpd instead of failing the first
 * registration. */
static const char *
csam_runtime_check_mail(apr_pool_t *p, const struct csam_template_dirs *dirs)
{
    static const char *const kinds[] = {"activation", "code"};
    static const char *const parts[] = {".subject", ".txt", ".html"};
    size_t i, j;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        for (j = 0; j < sizeof(parts) / sizeof(parts[0]); j++) {
            const char *rel = apr_pstrcat(p, "mail/fr/", kinds[i], parts[j],
                                          NULL);
            enum csam_template_origin from;
            char why[CSAM_CONFIG_ERRLEN];
            char *text = NULL;
            csam_result res = csam_template_load(
                dirs, CSAM_TEMPLATE_ANY, rel, &text, &from, why, sizeof(why));

            free(text);
            if (res == CSAM_ERR_NOT_FOUND)
                return apr_psprintf(p,
                                    "CSAMDataDir: mail template "
                                    "'%s/templates/%s' not found",
                                    dirs->data_dir, rel);
            if (res != CSAM_OK)
                return apr_psprintf(p, "%s: mail template %s (%s)",
                                    from == CSAM_TEMPLATE_OWN
                                        ? "CSAMTemplatesDir"
                                        : "CSAMDataDir",
                                    why, csam_result_name(res));
        }
    return NULL;
}

/* The administrator's templates, all of them, before any is used: one
 * that others could change stops httpd, naming it. */
static const char *
csam_runtime_check_templates(apr_pool_t *p,
                             const struct csam_template_dirs *dirs)
{
    char why[CSAM_CONFIG_ERRLEN];
    csam_result res = csam_template_dirs_check(dirs, why, sizeof(why));

    if (res != CSAM_OK)
        return apr_psprintf(p, "CSAMTemplatesDir (templates_dir): %s (%s)", why,
                            csam_result_name(res));
    return NULL;
}

/* A CA file that is not there would fail every mail, one by one, long
 * after startup: say so now. */
static const char *csam_runtime_check_ca(apr_pool_t *p, const char *ca_file)
{
    apr_finfo_t finfo;
    apr_status_t rv;
    char ebuf[128];

    if (ca_file == NULL)
        return NULL;
    rv = apr_stat(&finfo, ca_file, APR_FINFO_TYPE, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p,
                            "CSAMMailCAFile (mail_ca_file): cannot read "
                            "'%s': %s",
                            ca_file, apr_strerror(rv, ebuf, sizeof(ebuf)));
    if (finfo.filetype != APR_REG)
        return apr_psprintf(p,
                            "CSAMMailCAFile (mail_ca_file): '%s' is not "
                            "a file",
                            ca_file);
    return NULL;
}

/* The module's own directives, their defaults applied. */
static void csam_runtime_defaults(struct csam_mod_runtime *rt,
                                  const struct csam_mod_server *conf)
{
    rt->terms_version = conf->terms_version ? conf->terms_version
                                            : CSAM_RUNTIME_TERMS_DEFAULT;
    rt->secure_cookies = strncasecmp(rt->config.public_url, "https:", 6) == 0
                         || conf->cookie_secure == 1;
    rt->session_cache_ttl = conf->session_cache_ttl >= 0
                                ? conf->session_cache_ttl
                                : CSAM_MOD_SESSION_CACHE_TTL_DEFAULT;
    rt->pool_max = conf->pool_max > 0 ? conf->pool_max
                                      : CSAM_MOD_POOL_MAX_DEFAULT;
    rt->argon2_max = conf->argon2_max > 0 ? conf->argon2_max
                                          : CSAM_MOD_ARGON2_MAX_DEFAULT;
    rt->argon2_slots_file = conf->argon2_slots;
}

/* Build the run-time state of one server; an error message or NULL. */
static const char *csam_runtime_build(apr_pool_t *p, server_rec *s,
                                      const struct csam_mod_server *conf,
                                      struct csam_mod_runtime **out)
{
    struct csam_mod_runtime *rt = apr_pcalloc(p, sizeof(*rt));
    struct csam_runtime_apply apply = {rt, conf, p, NULL};
    struct csam_template_dirs dirs;
    char msg[CSAM_CONFIG_ERRLEN] = "";
    const char *err;

    rt->server = s;
    if (csam_config_init(&rt->config) != CSAM_OK)
        return "out of memory";
    apr_pool_cleanup_register(p, &rt->config, csam_runtime_free_config,
                              apr_pool_cleanup_null);
    /* Started as root, httpd takes settings (a database password among
     * them) only from a file that only root can change, as pam_csam
     * does. */
    if (conf->config_file != NULL
        && csam_config_load(&rt->config, conf->config_file, geteuid() == 0, msg,
                            sizeof(msg))
               != CSAM_OK)
        return apr_psprintf(p, "CSAMConfigFile: %s", msg);
    /* Directives after the file, so they win whatever their order. */
    apr_table_do(csam_runtime_apply_one, &apply, conf->settings, NULL);
    if (apply.error != NULL)
        return apply.error;
    if (csam_config_check_web(&rt->config, msg, sizeof(msg)) != CSAM_OK)
        return csam_config_explain(p, msg);
    /* The file's conninfo has not met libpq's parser yet. */
    if (csam_store_conninfo_check(rt->config.database, msg, sizeof(msg))
        != CSAM_OK)
        return apr_psprintf(p,
                            "CSAMDatabase: not a libpq connection "
                            "string: %s",
                            msg);

    err = csam_runtime_services(p, rt);
    if (err != NULL)
        return err;

    dirs.own = rt->config.templates_dir;
    dirs.data_dir = rt->config.data_dir;
    err = csam_runtime_check_templates(p, &dirs);
    if (err == NULL)
        err = csam_page_load(p, &dirs, &rt->pages);
    if (err == NULL)
        err = csam_runtime_check_mail(p, &dirs);
    if (err != NULL)
        return err;

    err = csam_runtime_check_ca(p, rt->config.mail_ca_file);
    if (err != NULL)
        return err;
    csam_runtime_defaults(rt, conf);
    *out = rt;
    return NULL;
}

/* CSAMDatabase names a service (service=csam is the default) that no
 * service file libpq will read defines: every connection would fail, and
 * say so only at the first request.  The files are the system's and the
 * one in the home of the user the children run as (libpq finds the home
 * in the password database; the modules hide HOME and PGSERVICEFILE
 * while they connect). */
static void csam_runtime_check_service(apr_pool_t *p, server_rec *s,
                                       const struct csam_mod_runtime *rt)
{
    char service[256], buf[1024];
    struct passwd pw, *found = NULL;
    const char *user_file = NULL;

    if (csam_store_conninfo_service(rt->config.database, service,
                                    sizeof(service))
            != CSAM_OK
        || service[0] == '\0')
        return;
    if (getpwuid_r(ap_unixd_config.user_id, &pw, buf, sizeof(buf), &found) == 0
        && found != NULL && pw.pw_dir != NULL)
        user_file = apr_pstrcat(p, pw.pw_dir, "/.pg_service.conf", NULL);
    if (csam_store_service_defined(CSAM_STORE_SYSTEM_SERVICE_FILE, service)
        || (user_file != NULL
            && csam_store_service_defined(user_file, service)))
        return;
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "CSAM01071: CSAMDatabase names service=%s, which neither "
                 "%s nor %s defines: connections to the database will fail "
                 "(define [%s] there, or give CSAMDatabase host=, dbname=, "
                 "user=; mod_csam(8))",
                 service, CSAM_STORE_SYSTEM_SERVICE_FILE,
                 user_file != NULL ? user_file : "~/.pg_service.conf", service);
}

int csam_runtime_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    struct csam_mod_server *main_conf = ap_get_module_config(s->module_config,
                                                             &csam_module);
    server_rec *sv;

    (void)plog;
    for (sv = s; sv != NULL; sv = sv->next) {
        struct csam_mod_server *conf = ap_get_module_config(sv->module_config,
                                                            &csam_module);
        const char *err;

        conf->rt = NULL;
        if (sv != s && conf->inherits) {
            conf->rt = main_conf->rt;
            continue;
        }
        /* The module may be loaded in servers that do not use it. */
        if (apr_is_empty_table(conf->settings) && conf->config_file == NULL)
            continue;
        err = csam_runtime_build(pconf, sv, conf, &conf->rt);
        if (err == NULL && conf->rt == NULL)
            err = "out of memory"; /* a message apr could not allocate */
        if (err != NULL) {
            /* Before the logs are open this goes to stderr, where
             * apachectl shows it. */
            if (sv->defn_name != NULL)
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sv,
                             "CSAM00004: refusing to start: %s (virtual "
                             "host defined at %s:%d)",
                             err, sv->defn_name, sv->defn_line_number);
            else
                ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sv,
                             "CSAM00018: refusing to start: %s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        csam_runtime_check_service(ptemp, sv, conf->rt);
        /* Say once which branding is live: an override left behind in
         * /etc is otherwise found only by reading the pages. */
        {
            apr_finfo_t fi;

            if (apr_stat(&fi, conf->rt->config.templates_dir, APR_FINFO_TYPE,
                         ptemp)
                    == APR_SUCCESS
                && fi.filetype == APR_DIR)
                ap_log_error(APLOG_MARK, APLOG_INFO, 0, sv,
                             "CSAM01080: templates: files under %s are used "
                             "instead of those under %s/templates",
                             conf->rt->config.templates_dir,
                             conf->rt->config.data_dir);
        }
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, sv,
                     "CSAM00005: configured: public URL %s, handler %s, "
                     "data %s, templates %s then %s/templates",
                     conf->rt->config.public_url, conf->rt->config.handler_path,
                     conf->rt->config.data_dir, conf->rt->config.templates_dir,
                     conf->rt->config.data_dir);
    }
    return OK;
}

struct csam_mod_runtime *csam_runtime_get(const request_rec *r)
{
    const struct csam_mod_server *conf = ap_get_module_config(
        r->server->module_config, &csam_module);

    return conf ? conf->rt : NULL;
}

int csam_runtime_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    /* httpd runs post_config twice at startup and again at each restart;
     * libcurl needs one initialisation per process. */
    static int csam_runtime_curl_ready;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (!csam_runtime_curl_ready) {
        if (csam_services_init() != CSAM_OK) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "CSAM00024: cannot initialise libcurl for mail");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        csam_runtime_curl_ready = 1;
    }
    /* Once per start and restart (not in the first of the two passes at
     * startup): what an administrator or a bug report needs first. */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        char versions[512];

        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "CSAM01070: mod_csam %s, with APR %s, APR-util %s, "
                     "jansson %s, %s",
                     CSAM_VERSION, apr_version_string(), apu_version_string(),
                     jansson_version_str(),
                     csam_services_versions(versions, sizeof(versions)));
    }
    return OK;
}
