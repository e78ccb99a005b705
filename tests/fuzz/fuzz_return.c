/* SPDX-License-Identifier: Apache-2.0 */
/* Return paths (mod_csam/return.c): a value from a query or a form.  What
 * csam_return_clean() gives back is always a safe local path. */
#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "fuzz.h"
#include "mod_stubs.h"

module AP_MODULE_DECLARE_DATA csam_module;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    struct csam_mod_runtime *rt = fuzz_mod_runtime(&pool);
    request_rec *r = fuzz_mod_request(pool);
    char *in = apr_pstrmemdup(r->pool, (const char *)data, size);
    const char *clean = csam_return_clean(r, rt, in);

    if (!csam_return_safe(clean) || clean[0] != '/' || clean[1] == '/'
        || strpbrk(clean, "\r\n\\\" <>") != NULL)
        abort();
    apr_pool_destroy(r->pool);
    return 0;
}
