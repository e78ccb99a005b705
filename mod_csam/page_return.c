/*
 * The `return` path of the login page (DESIGN 3.2, 3.3): cleaned both when
 * the page shows it and when it redirects, so that no value a link or a
 * form carries can send the browser to another site (no open redirect) or
 * put anything unsafe in a header or a page.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_escape.h"
#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"

APLOG_USE_MODULE(csam);

static const char csam_page_return_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "-._~:/?#[]@!$&'()*+,;=%";

static const char *csam_page_return_default(request_rec *r,
                                            struct csam_mod_runtime *rt)
{
    return apr_pstrcat(r->pool, rt->config.handler_path, "/keys", NULL);
}

const char *csam_page_return_clean(request_rec *r, struct csam_mod_runtime *rt,
                                   const char *value)
{
    size_t i, len;

    if (value == NULL)
        return csam_page_return_default(r, rt);
    len = strlen(value);
    /* "//host" and "/\host" are taken by browsers as another host; a
     * scheme ("https:", "javascript:") needs a first character other
     * than "/". */
    if (len < 1 || len > CSAM_PAGE_RETURN_MAX || value[0] != '/' ||
        value[1] == '/' || value[1] == '\\')
        return csam_page_return_default(r, rt);
    /* Only the characters of RFC 3986 URI references: no controls (CR,
     * LF, the TAB browsers strip), no space, no backslash, no quote or
     * angle bracket, no non-ASCII byte.  Each of those has no place in a
     * Location header, and some turn a local path into another host. */
    for (i = 0; i < len; i++)
        if (strchr(csam_page_return_chars, value[i]) == NULL)
            return csam_page_return_default(r, rt);
    return apr_pstrdup(r->pool, value);
}

const char *csam_page_login_url(request_rec *r, struct csam_mod_runtime *rt,
                                const char *ret)
{
    const char *login =
        apr_pstrcat(r->pool, rt->config.handler_path, "/login", NULL);

    if (ret == NULL)
        return login;
    return apr_pstrcat(r->pool, login,
                       "?return=", apr_pescape_urlencoded(r->pool, ret), NULL);
}
