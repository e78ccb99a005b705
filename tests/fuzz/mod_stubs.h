/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the fuzz targets of mod_csam's sources (fuzz_cookie.c,
 * fuzz_return.c): an APR pool and runtime made once, and a request record
 * per input.  httpd's own functions live in the httpd binary, not in a
 * library; the two cookie.c calls come from tests/lib/httpd_stubs.c,
 * shared with tests/unit/test_cookie.c.
 */
#ifndef CSAM_TESTS_FUZZ_MOD_STUBS_H
#define CSAM_TESTS_FUZZ_MOD_STUBS_H

#include "httpd.h"

#include "apr_general.h"
#include "apr_pools.h"
#include "apr_tables.h"

#include "mod_csam.h"

/* The runtime of a server with a fixed secret and handler path /csam;
 * aborts when it cannot be made. */
struct csam_mod_runtime *fuzz_mod_runtime(apr_pool_t **pool);

/* A request record in its own subpool of pool, with empty tables. */
request_rec *fuzz_mod_request(apr_pool_t *pool);

#endif
