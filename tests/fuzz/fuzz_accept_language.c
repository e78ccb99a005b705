/* SPDX-License-Identifier: Apache-2.0 */
/* The Accept-Language negotiation of mod_csam's pages and of the online
 * procedure's mails (mod_csam/page.c, csam_page_lang_negotiate and
 * csam_page_lang_index): an input is the header's value.  The answer is
 * always one of the four languages; a header naming exactly one of them
 * (the input as a bare tag) gets that one. */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"

#include "apr_strings.h"

#include "fuzz.h"
#include "request_stubs.h"
#include "mod_csam.h"
#include "mod_stubs.h"
#include "page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    request_rec *r;
    char *in = fuzz_cstring(data, size);
    int lang, idx;

    if (in == NULL)
        return 0;
    (void)fuzz_mod_runtime(&pool);
    r = fuzz_mod_request(pool);
    apr_table_setn(r->headers_in, "Accept-Language", in);
    lang = csam_page_lang_negotiate(r);
    if (lang < 0 || lang >= CSAM_MOD_NLANG)
        abort();
    idx = csam_page_lang_index(in);
    if (idx >= CSAM_MOD_NLANG || idx < -1
        || (idx >= 0 && strcasecmp(in, csam_mod_languages[idx]) != 0))
        abort();
    /* "nl" alone, or "NL": that language, whatever the default. */
    if (idx >= 0 && lang != idx)
        abort();
    apr_pool_destroy(r->pool);
    free(in);
    return 0;
}
