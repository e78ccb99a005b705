/* SPDX-License-Identifier: Apache-2.0 */
/* httpd's functions for the programs that link mod_csam's sources without
 * httpd (httpd_stubs.h). */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_cookies.h"

#include "apr_strings.h"
#include "apr_tables.h"

#include "httpd_stubs.h"

module AP_MODULE_DECLARE_DATA csam_module;

int csam_test_httpd_logged;

AP_DECLARE(void)
ap_log_rerror_(const char *file, int line, int module_index, int level,
               apr_status_t status, const request_rec *r, const char *fmt, ...)
{
    (void)file;
    (void)line;
    (void)module_index;
    (void)level;
    (void)status;
    (void)r;
    (void)fmt;
    csam_test_httpd_logged++;
}

AP_DECLARE(apr_status_t)
ap_cookie_read(request_rec *r, const char *name, const char **val, int remove)
{
    const char *h = apr_table_get(r->headers_in, "Cookie");
    char *copy, *pair, *last = NULL;

    (void)remove;
    *val = NULL;
    if (h == NULL)
        return APR_SUCCESS;
    copy = apr_pstrdup(r->pool, h);
    for (pair = apr_strtok(copy, ";", &last); pair != NULL;
         pair = apr_strtok(NULL, ";", &last)) {
        char *eq;

        while (*pair == ' ')
            pair++;
        eq = strchr(pair, '=');
        if (eq != NULL && (size_t)(eq - pair) == strlen(name)
            && strncmp(pair, name, strlen(name)) == 0) {
            *val = eq + 1;
            break;
        }
    }
    return APR_SUCCESS;
}

/* httpd: refuse a directive in a <Directory>, <Location> or <Files>
 * section when the caller forbids it (cmd->path is the section's path). */
AP_DECLARE(const char *)
ap_check_cmd_context(cmd_parms *cmd, unsigned forbidden)
{
    if ((forbidden & NOT_IN_DIR_LOC_FILE) && cmd->path != NULL)
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " cannot occur within a section", NULL);
    return NULL;
}

/* httpd: a relative file name is taken relative to ServerRoot. */
AP_DECLARE(char *) ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    if (fname[0] == '/')
        return apr_pstrdup(p, fname);
    return apr_pstrcat(p, CSAM_TEST_SERVER_ROOT "/", fname, NULL);
}

/* httpd: a relative file name is taken relative to DefaultRuntimeDir
 * (here: no DefaultRuntimeDir, so ServerRoot's "logs", httpd's own
 * default). */
AP_DECLARE(char *) ap_runtime_dir_relative(apr_pool_t *p, const char *fname)
{
    if (fname[0] == '/')
        return apr_pstrdup(p, fname);
    return apr_pstrcat(p, CSAM_TEST_SERVER_ROOT "/logs/", fname, NULL);
}
