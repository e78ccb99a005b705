/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd's own functions that mod_csam/cookie.c calls live in the httpd
 * binary, not in a library: the tests and fuzz targets that link
 * cookie.c (tests/unit/test_cookie.c, tests/fuzz/fuzz_cookie.c) link
 * httpd_stubs.c instead (and so do the request-level fuzz targets, beside
 * tests/fuzz/request_stubs.c), which gives them with the behaviour httpd
 * documents, and the module record the log calls name:
 *   ap_cookie_read  the value of the first cookie called name among the
 *                   Cookie header's pairs (remove is ignored);
 *   ap_log_rerror_  counts the call in csam_test_httpd_logged, and writes
 *                   nothing;
 *   ap_check_cmd_context, ap_server_root_relative  as httpd's, with
 *                   CSAM_TEST_SERVER_ROOT as ServerRoot (for the
 *                   directives' tests, tests/unit/test_mod_config.c).
 */
#ifndef CSAM_TESTS_HTTPD_STUBS_H
#define CSAM_TESTS_HTTPD_STUBS_H

#include "httpd.h"
#include "http_config.h"

#include "mod_csam.h" /* csam_module, which httpd_stubs.c defines */

/* The ServerRoot ap_server_root_relative resolves against. */
#define CSAM_TEST_SERVER_ROOT "/srv/httpd-root"

/* How many times ap_log_rerror_ was called; a test resets it to 0. */
extern int csam_test_httpd_logged;

#endif
