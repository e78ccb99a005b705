/* SPDX-License-Identifier: Apache-2.0 */
/* mod_csam's sealed cookie reader (mod_csam/cookie.c): an input is the
 * Cookie header a browser sends.  The browser anchor is opened from it,
 * then the flow cookie under that anchor and under a known one, then a
 * CSRF token checked against both. */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_cookies.h"

#include "apr_strings.h"

#include "fuzz.h"
#include "mod_stubs.h"

module AP_MODULE_DECLARE_DATA csam_module;

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
}

/* httpd: the value of the first cookie called name in the Cookie header. */
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

static const char *const fuzz_browser =
    "Bf3Ks9wQ2xZ7mN1pL5vR8tY4cD6gH0jA2eW9uI3oP7k";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    struct csam_mod_runtime *rt = fuzz_mod_runtime(&pool);
    request_rec *r = fuzz_mod_request(pool);
    char *header = apr_pstrmemdup(r->pool, (const char *)data, size);
    const char *browser;

    apr_table_setn(r->headers_in, "Cookie", header);
    browser = csam_cookie_browser(r, rt, 0);
    if (browser != NULL)
        (void)csam_cookie_get(r, rt, "csam_flow", browser);
    (void)csam_cookie_get(r, rt, "csam_flow", fuzz_browser);
    (void)csam_csrf_check(r, rt, fuzz_browser, header);
    apr_pool_destroy(r->pool);
    return 0;
}
