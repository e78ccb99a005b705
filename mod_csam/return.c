/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Return paths (DESIGN 3.2, 3.3): where a browser goes back to after the
 * login page.  One rule, applied where a path enters (AuthType CSAM takes
 * the request's own path; the login page takes a query or form value) and
 * again where it leaves (the redirect), so that no value a link or a form
 * carries can send the browser to another site (no open redirect) or put
 * anything unsafe in a header or a page.
 */
#include <string.h>

#include "httpd.h"

#include "apr_strings.h"

#include "mod_csam.h"

/* The characters of RFC 3986 URI references.  Not in it: controls (CR,
 * LF, the TAB browsers strip), space, backslash, quotes, angle brackets
 * and every non-ASCII byte; each has no place in a Location header, and
 * some turn a local path into another host. */
static const char csam_return_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "-._~:/?#[]@!$&'()*+,;=%";

int csam_return_safe(const char *value)
{
    size_t i, len;

    if (value == NULL)
        return 0;
    len = strlen(value);
    /* "//host" and "/\host" are taken by browsers as another host; a
     * scheme ("https:", "javascript:") needs a first character other
     * than "/". */
    if (len < 1 || len > CSAM_MOD_RETURN_MAX || value[0] != '/'
        || value[1] == '/' || value[1] == '\\')
        return 0;
    for (i = 0; i < len; i++)
        if (strchr(csam_return_chars, value[i]) == NULL)
            return 0;
    return 1;
}

const char *csam_return_clean(request_rec *r, struct csam_mod_runtime *rt,
                              const char *value)
{
    if (!csam_return_safe(value))
        return apr_pstrcat(r->pool, rt->config.handler_path, "/keys", NULL);
    return apr_pstrdup(r->pool, value);
}

const char *csam_return_of_request(request_rec *r)
{
    const char *path = r->parsed_uri.path;
    const char *ret;

    if (path == NULL)
        return NULL;
    ret = r->args != NULL ? apr_pstrcat(r->pool, path, "?", r->args, NULL)
                          : path;
    return csam_return_safe(ret) ? ret : NULL;
}

/* Percent-encode s for a query value: only unreserved characters and
 * '/' stay as they are. */
static const char *csam_return_query_escape(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s), i, o = 0;
    char *out = apr_palloc(p, 3 * len + 1);

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~' || c == '/') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 0x0f];
        }
    }
    out[o] = '\0';
    return out;
}

const char *csam_return_login_url(request_rec *r, struct csam_mod_runtime *rt,
                                  const char *ret)
{
    const char *login = apr_pstrcat(r->pool, rt->config.handler_path, "/login",
                                    NULL);

    if (ret == NULL)
        return login;
    return apr_pstrcat(r->pool, login,
                       "?return=", csam_return_query_escape(r->pool, ret),
                       NULL);
}
