/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP helpers the pages, the API and the hooks share: security
 * headers, bounded body reading, the client's address, the libcsam logger
 * and the removal of client-supplied identity headers.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "apr_strings.h"

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

const char *const csam_mod_languages[CSAM_MOD_NLANG] = {"fr", "nl", "de", "en"};

void csam_http_security_headers(request_rec *r, int no_store)
{
    /* err_headers_out: kept on error responses and redirects too. */
    apr_table_t *h = r->err_headers_out;

    apr_table_setn(h, "Content-Security-Policy",
                   "default-src 'none'; style-src 'self'; img-src 'self'; "
                   "form-action 'self'; frame-ancestors 'none'; "
                   "base-uri 'none'");
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "Referrer-Policy", "no-referrer");
    apr_table_setn(h, "X-Frame-Options", "DENY");
    if (no_store)
        apr_table_setn(h, "Cache-Control", "no-store");
}

static apr_status_t csam_http_wipe_body(void *data)
{
    char *body = data;

    csam_wipe(body, CSAM_MOD_BODY_MAX + 1);
    return APR_SUCCESS;
}

int csam_http_read_body(request_rec *r, char **body, apr_size_t *len)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_size_t total = 0;
    char *buf;
    /* cppcheck-suppress unreadVariable ; kept defined although the loop's
     * first test always assigns it */
    long n = 0;
    int rv;

    *body = NULL;
    *len = 0;
    if (cl != NULL) {
        apr_off_t declared;
        char *end;

        /* httpd already refused a malformed Content-Length. */
        if (apr_strtoff(&declared, cl, &end, 10) == APR_SUCCESS
            && declared > CSAM_MOD_BODY_MAX) {
            r->connection->keepalive = AP_CONN_CLOSE;
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }
    rv = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (rv != OK)
        return rv;
    /* Passwords pass through this buffer: it is wiped with the request. */
    buf = apr_palloc(r->pool, CSAM_MOD_BODY_MAX + 1);
    apr_pool_cleanup_register(r->pool, buf, csam_http_wipe_body,
                              apr_pool_cleanup_null);
    if (ap_should_client_block(r)) {
        while (total <= CSAM_MOD_BODY_MAX
               && (n = ap_get_client_block(r, buf + total,
                                           CSAM_MOD_BODY_MAX + 1 - total))
                      > 0)
            total += (apr_size_t)n;
        if (total > CSAM_MOD_BODY_MAX) {
            r->connection->keepalive = AP_CONN_CLOSE;
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (n < 0)
            return HTTP_BAD_REQUEST;
    }
    buf[total] = '\0';
    *body = buf;
    *len = total;
    return OK;
}

int csam_http_content_type_is(const request_rec *r, const char *type)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    size_t tlen = strlen(type);
    const char *p;

    if (ct == NULL)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, type, tlen) != 0)
        return 0;
    p = ct + tlen;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return 1;
    if (*p != ';')
        return 0;
    /* Only a charset parameter is expected, and only UTF-8 is read. */
    p = ap_strcasestr(p, "charset");
    if (p == NULL)
        return 1;
    p += strlen("charset");
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return 0;
    while (*p == ' ' || *p == '\t' || *p == '"')
        p++;
    return strncasecmp(p, "utf-8", 5) == 0
           && (p[5] == '\0' || p[5] == '"' || p[5] == ';' || p[5] == ' ');
}

const char *csam_http_source(const request_rec *r)
{
    return r->useragent_ip;
}

/* The core's lines that operators' tools read (fail2ban, a SIEM: DESIGN
 * 3.7) start with fixed words; each kind gets its own stable tag here,
 * every other line of the core CSAM00001.  The first match wins, so a
 * longer prefix comes before a shorter one it starts with. */
static const struct csam_http_tag {
    const char *prefix;
    const char *tag;
} csam_http_tags[] = {
    {"web login refused (wrong password or unknown name)", "CSAM01040"},
    {"web login refused (inside the delay)", "CSAM01041"},
    {"web login refused (wrong code)", "CSAM01042"},
    {"web login refused (code attempts exhausted)", "CSAM01043"},
    {"web login refused (", "CSAM01044"}, /* a lock: name, account, ... */
    {"lock: login name", "CSAM01050"},
    {"lock: account ", "CSAM01051"},
    {"lock: source ", "CSAM01052"},
    {"lock: known device ", "CSAM01053"},
    {"desk: officer ", "CSAM01060"},
    {"helpdesk: officer ", "CSAM01061"},
};

static const char *csam_http_tag_of(const char *message)
{
    size_t i;

    for (i = 0; i < sizeof(csam_http_tags) / sizeof(csam_http_tags[0]); i++)
        if (strncmp(message, csam_http_tags[i].prefix,
                    strlen(csam_http_tags[i].prefix))
            == 0)
            return csam_http_tags[i].tag;
    return "CSAM00001";
}

static void csam_http_log(void *ctx, enum csam_log_level level,
                          const char *message)
{
    request_rec *r = ctx;

    /* csam_log_level uses syslog's numbers, as APLOG_* do. */
    ap_log_rerror(APLOG_MARK, (int)level, 0, r, "%s: %s",
                  csam_http_tag_of(message), message);
}

struct csam_logger csam_http_logger(request_rec *r)
{
    struct csam_logger logger = {csam_http_log, r};

    return logger;
}

/* 1 if name starts with "X-CSAM-" in any case, with '-' or '_' as the
 * separators: CGI turns both into '_', and proxies pass both on. */
static int csam_http_is_identity_header(const char *name)
{
    return (name[0] == 'x' || name[0] == 'X')
           && (name[1] == '-' || name[1] == '_')
           && strncasecmp(name + 2, "csam", 4) == 0
           && (name[6] == '-' || name[6] == '_');
}

static int csam_http_collect_identity(void *ctx, const char *key,
                                      const char *value)
{
    apr_array_header_t *names = ctx;

    (void)value;
    if (csam_http_is_identity_header(key))
        APR_ARRAY_PUSH(names, const char *) = key;
    return 1;
}

int csam_http_strip_identity(request_rec *r)
{
    apr_array_header_t *names = apr_array_make(r->pool, 2,
                                               sizeof(const char *));
    const char **list;
    int i;

    /* Collected first: a table must not change under apr_table_do. */
    apr_table_do(csam_http_collect_identity, names, r->headers_in, NULL);
    /* elts is allocated for const char * items: the cast is aligned. */
    list = (const char **)(void *)names->elts;
    for (i = 0; i < names->nelts; i++) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "CSAM00017: removed a client-supplied identity header");
        apr_table_unset(r->headers_in, list[i]);
    }
    return DECLINED;
}

int csam_http_redirect_identity(request_rec *r)
{
    /* Only internal redirects: a subrequest shares its parent's headers,
     * which its parent may still proxy on. */
    if (r->prev == NULL || r->main != NULL)
        return DECLINED;
    apr_table_unset(r->subprocess_env, "REDIRECT_CSAM_NATIONAL_NUMBER");
    if (apr_table_get(r->subprocess_env, "CSAM_NATIONAL_NUMBER") == NULL)
        apr_table_unset(r->headers_in, "X-CSAM-National-Number");
    return DECLINED;
}
