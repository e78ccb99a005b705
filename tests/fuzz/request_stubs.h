/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the fuzz targets that link mod_csam's request-level sources
 * (fuzz_api.c, fuzz_accept_language.c, fuzz_identity.c): httpd's own
 * functions, which live in the httpd binary and not in a library, with the
 * behaviour httpd documents, the request body served from the fuzzer's
 * input, the response body kept for the target to check; and the few
 * functions of mod_csam's other sources those files name, on paths the
 * targets never take (they abort, so a change that takes them shows).
 */
#ifndef CSAM_TESTS_FUZZ_REQUEST_STUBS_H
#define CSAM_TESTS_FUZZ_REQUEST_STUBS_H

#include <stddef.h>

#include "httpd.h"

/* The request body ap_get_client_block serves, in pieces of at most
 * FUZZ_BODY_PIECE bytes, as the input filters would. */
#define FUZZ_BODY_PIECE 1000
void fuzz_httpd_body(const char *data, size_t len);

/* What the handler wrote with ap_rwrite since the last fuzz_httpd_body,
 * NUL-terminated (in a static buffer; cut at its size). */
const char *fuzz_httpd_response(size_t *len);

#endif
