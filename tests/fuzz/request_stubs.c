/* SPDX-License-Identifier: Apache-2.0 */
/* httpd's functions and mod_csam's out-of-reach ones for the fuzz targets
 * of mod_csam's request-level sources (request_stubs.h); the log, cookie and
 * directive functions and the module record come from
 * tests/lib/httpd_stubs.c. */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_cookies.h"

#include "apr_lib.h"
#include "apr_strings.h"

#include "request_stubs.h"
#include "mod_csam.h"
#include "mod_stubs.h"

static struct {
    const char *data;
    size_t len, pos;
} fuzz_body;

static char fuzz_response[1 << 16];
static size_t fuzz_response_len;

void fuzz_httpd_body(const char *data, size_t len)
{
    fuzz_body.data = data;
    fuzz_body.len = len;
    fuzz_body.pos = 0;
    fuzz_response_len = 0;
    fuzz_response[0] = '\0';
}

const char *fuzz_httpd_response(size_t *len)
{
    *len = fuzz_response_len;
    return fuzz_response;
}

AP_DECLARE(int) ap_setup_client_block(request_rec *r, int read_policy)
{
    (void)r;
    (void)read_policy;
    return OK;
}

AP_DECLARE(int) ap_should_client_block(request_rec *r)
{
    (void)r;
    return fuzz_body.pos < fuzz_body.len;
}

AP_DECLARE(long)
ap_get_client_block(request_rec *r, char *buffer, apr_size_t bufsiz)
{
    size_t n = fuzz_body.len - fuzz_body.pos;

    (void)r;
    if (n > bufsiz)
        n = bufsiz;
    if (n > FUZZ_BODY_PIECE)
        n = FUZZ_BODY_PIECE;
    if (n > 0)
        memcpy(buffer, fuzz_body.data + fuzz_body.pos, n);
    fuzz_body.pos += n;
    return (long)n;
}

AP_DECLARE(int) ap_discard_request_body(request_rec *r)
{
    (void)r;
    fuzz_body.pos = fuzz_body.len;
    return OK;
}

AP_DECLARE(int) ap_request_has_body(request_rec *r)
{
    (void)r;
    return fuzz_body.len > 0;
}

AP_DECLARE(void) ap_set_content_type(request_rec *r, const char *ct)
{
    r->content_type = ct;
}

AP_DECLARE(void) ap_set_content_length(request_rec *r, apr_off_t length)
{
    r->clength = length;
}

AP_DECLARE(int) ap_rwrite(const void *buf, int nbyte, request_rec *r)
{
    size_t n = (size_t)nbyte;

    (void)r;
    if (n > sizeof(fuzz_response) - 1 - fuzz_response_len)
        n = sizeof(fuzz_response) - 1 - fuzz_response_len;
    memcpy(fuzz_response + fuzz_response_len, buf, n);
    fuzz_response_len += n;
    fuzz_response[fuzz_response_len] = '\0';
    return nbyte;
}

/* httpd: the first occurrence of s2 in s1, ignoring case. */
AP_DECLARE(char *) ap_strcasestr(const char *s1, const char *s2)
{
    size_t n = strlen(s2);

    for (; *s1 != '\0'; s1++)
        if (strncasecmp(s1, s2, n) == 0)
            return (char *)s1;
    return n == 0 ? (char *)s1 : NULL;
}

/* httpd: control characters, '"' and '\\' escaped for a log line. */
AP_DECLARE(char *) ap_escape_logitem(apr_pool_t *p, const char *str)
{
    char *out, *o;

    if (str == NULL)
        return NULL;
    o = out = apr_palloc(p, 4 * strlen(str) + 1);
    for (; *str != '\0'; str++) {
        unsigned char c = (unsigned char)*str;

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            o += apr_snprintf(o, 5, "\\x%02x", c);
        } else
            *o++ = (char)c;
    }
    *o = '\0';
    return out;
}

/* httpd: '+' is a space, %XX a byte; a bad escape or an encoded NUL is
 * HTTP_BAD_REQUEST. */
AP_DECLARE(int) ap_unescape_urlencoded(char *query)
{
    char *in = query, *out = query;

    for (; *in != '\0'; in++, out++) {
        if (*in == '+')
            *out = ' ';
        else if (*in == '%') {
            char hex[3];

            if (!apr_isxdigit(in[1]) || !apr_isxdigit(in[2]))
                return HTTP_BAD_REQUEST;
            hex[0] = in[1];
            hex[1] = in[2];
            hex[2] = '\0';
            *out = (char)strtol(hex, NULL, 16);
            if (*out == '\0')
                return HTTP_BAD_REQUEST;
            in += 2;
        } else
            *out = *in;
    }
    *out = '\0';
    return OK;
}

/* ---- mod_csam's, from sources the targets do not link ------------------ */

struct csam_mod_runtime *csam_runtime_get(const request_rec *r)
{
    apr_pool_t *pool;

    (void)r;
    return fuzz_mod_runtime(&pool);
}

/* The officer check of auth.c: an authenticated user that is no CSAM
 * session (fuzz_identity sets r->user and an AuthType of its own). */
enum csam_officer csam_auth_officer(request_rec *r)
{
    if (r->user == NULL)
        return CSAM_OFFICER_NONE;
    return CSAM_OFFICER_OK;
}

int csam_session_fresh(request_rec *r, struct csam_mod_runtime *rt,
                       struct csam_session_info *out)
{
    (void)r;
    (void)rt;
    (void)out;
    abort();
}

const char *csam_session_cookie_get(request_rec *r)
{
    (void)r;
    abort();
}

void csam_session_cookie_clear(request_rec *r, struct csam_mod_runtime *rt)
{
    (void)r;
    (void)rt;
    abort();
}

apr_status_t csam_pool_engine(request_rec *r, csam_engine **out)
{
    (void)r;
    (void)out;
    abort();
}
