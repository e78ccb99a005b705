/* SPDX-License-Identifier: Apache-2.0 */
/* mod_csam's sealed cookie reader (mod_csam/cookie.c): an input is the
 * Cookie header a browser sends.  The browser anchor is opened from it,
 * then the flow cookie under that anchor and under a known one, then a
 * CSRF token checked against both. */

#include "apr_strings.h"

#include "fuzz.h"
#include "httpd_stubs.h"
#include "mod_stubs.h"

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
