/* SPDX-License-Identifier: Apache-2.0 */
/* The online procedure's identity source: the arguments of the
 * CSAMIdentitySource and CSAMIdentityNames directives (mod_csam/config.c),
 * then the person that source names for a request (mod_csam/identity.c).
 * An input is lines:
 *   1  CSAMIdentitySource's arguments (ssl-client-cert | env NAME)
 *   2  CSAMIdentityNames' arguments (GIVEN_VAR FAMILY_VAR), or empty
 *   3  the user another module authenticated, or empty for none
 *   4  5  6  the values of the source's variable, the given and the family
 *      name variables
 *   7  Accept-Language
 *   8… the client certificate (PEM) mod_ssl verified, or nothing
 * A variable the directives accept is a name of letters, digits and '_'
 * but no HTTP_*; the identity found holds the bounds identity.c
 * promises. */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "mod_ssl.h"

#include "apr_hooks.h"
#include "apr_optional.h"
#include "apr_strings.h"

#include "fuzz.h"
#include "request_stubs.h"
#include "mod_csam.h"
#include "mod_stubs.h"
#include "page.h"
#include "validate.h"

static const char *fuzz_pem;

/* mod_ssl's lookup, for a connection whose client certificate (the
 * input's) it verified; none verified when the input has none. */
static char *ssl_var_lookup(apr_pool_t *p, server_rec *s, conn_rec *c,
                            request_rec *r, char *var)
{
    (void)s;
    (void)c;
    (void)r;
    if (strcmp(var, "SSL_CLIENT_VERIFY") == 0)
        return apr_pstrdup(p, fuzz_pem[0] != '\0' ? "SUCCESS" : "NONE");
    if (strcmp(var, "SSL_CLIENT_CERT") == 0)
        return fuzz_pem[0] != '\0' ? apr_pstrdup(p, fuzz_pem) : NULL;
    return NULL;
}

/* The directive `name` of mod_csam's table. */
static const command_rec *fuzz_cmd(const char *name)
{
    const command_rec *c;

    for (c = csam_config_cmds; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    abort();
}

/* Up to max words of line split at spaces and tabs, as httpd hands a
 * directive's arguments; the count, or max + 1 when there are more. */
static int fuzz_words(char *line, char **words, int max)
{
    int n = 0;
    char *last = NULL, *w;

    for (w = apr_strtok(line, " \t", &last); w != NULL;
         w = apr_strtok(NULL, " \t", &last)) {
        if (n == max)
            return max + 1;
        words[n++] = w;
    }
    return n;
}

/* A variable name the directives may accept. */
static int fuzz_env_name_ok(const char *name)
{
    size_t len = strlen(name);

    return len > 0 && len <= CSAM_MOD_IDENTITY_ENV_MAX
           && strspn(name, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
                  == len
           && strncasecmp(name, "HTTP_", 5) != 0;
}

static const char *fuzz_directive(apr_pool_t *p, struct csam_mod_dir *dir,
                                  const char *name, char *args)
{
    const command_rec *c = fuzz_cmd(name);
    char *words[2] = {NULL, NULL};
    int n = fuzz_words(args, words, 2);
    cmd_parms cmd;

    /* httpd refuses a wrong count before the handler runs. */
    if (n == 0 || n > 2 || (c->args_how == TAKE2 && n != 2))
        return "count";
    memset(&cmd, 0, sizeof(cmd));
    cmd.cmd = c;
    cmd.pool = p;
    cmd.temp_pool = p;
    cmd.path = (char *)"/online";
    /* cppcheck-suppress returnDanglingLifetime ; the message is in p */
    return c->AP_TAKE2(&cmd, dir, words[0], words[1]);
}

static void fuzz_env(request_rec *r, const char *name, const char *value)
{
    if (name != NULL && value[0] != '\0')
        apr_table_setn(r->subprocess_env, name, value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int registered;
    apr_pool_t *pool;
    request_rec *r;
    struct csam_mod_dir *dir;
    void *dir_config[1];
    struct csam_identity who;
    char *line[7], *rest;
    const char *err_source, *err_names;
    int i, found;

    (void)fuzz_mod_runtime(&pool);
    if (!registered) {
        apr_hook_global_pool = pool;
        APR_REGISTER_OPTIONAL_FN(ssl_var_lookup);
        registered = 1;
    }
    if ((line[0] = fuzz_cstring(data, size)) == NULL)
        return 0;
    for (i = 1; i < 7; i++)
        line[i] = fuzz_split(line[i - 1]);
    rest = fuzz_split(line[6]);
    fuzz_pem = rest;

    r = fuzz_mod_request(pool);
    r->subprocess_env = apr_table_make(r->pool, 4);
    r->uri = apr_pstrdup(r->pool, "/online");
    dir = csam_config_create_dir(r->pool, NULL);
    csam_module.module_index = 0;
    dir_config[0] = dir;
    r->per_dir_config = (ap_conf_vector_t *)dir_config;

    err_source = fuzz_directive(r->pool, dir, "CSAMIdentitySource",
                                apr_pstrdup(r->pool, line[0]));
    err_names = line[1][0] != '\0'
                    ? fuzz_directive(r->pool, dir, "CSAMIdentityNames",
                                     apr_pstrdup(r->pool, line[1]))
                    : "none";
    if (err_source == NULL
        && (dir->identity_source == CSAM_MOD_IDENTITY_ENV)
               != (dir->identity_env != NULL))
        abort();
    if (dir->identity_env != NULL && !fuzz_env_name_ok(dir->identity_env))
        abort();
    if (err_names == NULL
        && (!fuzz_env_name_ok(dir->identity_given)
            || !fuzz_env_name_ok(dir->identity_family)))
        abort();

    if (line[2][0] != '\0') {
        r->user = line[2];
        r->ap_auth_type = (char *)"openid-connect";
    }
    fuzz_env(r, dir->identity_env, line[3]);
    fuzz_env(r, dir->identity_given, line[4]);
    fuzz_env(r, dir->identity_family, line[5]);
    apr_table_setn(r->headers_in, "Accept-Language", line[6]);

    found = csam_identity_get(r, &who);
    if (found && err_source != NULL)
        abort();
    if (who.language == NULL || csam_page_lang_index(who.language) < 0)
        abort();
    if (found) {
        if (who.national_number == NULL || who.national_number[0] == '\0'
            || who.source_name == NULL
            || (who.first_name != NULL
                && csam_text_check(who.first_name, 100) != CSAM_OK)
            || (who.last_name != NULL
                && csam_text_check(who.last_name, 100) != CSAM_OK)
            || (who.subject != NULL && strlen(who.subject) > 255))
            abort();
        if (dir->identity_source == CSAM_MOD_IDENTITY_ENV
            && (strncmp(who.source_name, "env:", 4) != 0
                || strcmp(who.source_name + 4, dir->identity_env) != 0
                /* A name variable may be the source's own: an APR
                 * table ignores the case of its keys. */
                || strcmp(who.national_number,
                          apr_table_get(r->subprocess_env, dir->identity_env))
                       != 0))
            abort();
    }
    apr_pool_destroy(r->pool);
    free(line[0]);
    return 0;
}
