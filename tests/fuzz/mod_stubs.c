/* SPDX-License-Identifier: Apache-2.0 */
/* An APR pool, a runtime and request records for the fuzz targets of
 * mod_csam's sources (mod_stubs.h). */
#include <stdlib.h>

#include "apr_strings.h"

#include "crypto.h"
#include "mod_stubs.h"

struct csam_mod_runtime *fuzz_mod_runtime(apr_pool_t **pool)
{
    static const unsigned char bytes[48] = "0123456789abcdef0123456789abcdef"
                                           "the fuzz secret";
    static apr_pool_t *root;
    static struct csam_mod_runtime rt;

    if (root == NULL) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&root, NULL) != APR_SUCCESS
            || csam_secret_from_bytes(bytes, sizeof(bytes), &rt.secret)
                   != CSAM_OK
            || csam_keyed_hash(rt.secret, CSAM_PURPOSE_COOKIE_SIGN, "fuzz", 4,
                               rt.cookie_key)
                   != CSAM_OK)
            abort();
        rt.config.handler_path = apr_pstrdup(root, "/csam");
    }
    *pool = root;
    return &rt;
}

request_rec *fuzz_mod_request(apr_pool_t *pool)
{
    apr_pool_t *p;
    request_rec *r;

    if (apr_pool_create(&p, pool) != APR_SUCCESS)
        abort();
    r = apr_pcalloc(p, sizeof(*r));
    r->pool = p;
    r->headers_in = apr_table_make(p, 4);
    r->headers_out = apr_table_make(p, 4);
    r->err_headers_out = apr_table_make(p, 4);
    r->notes = apr_table_make(p, 4);
    return r;
}
