/*
 * The csam handler: routes a request under CSAMHandlerPath to the JSON API,
 * a page or the stylesheet.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "mod_csam.h"
#include "page.h"

APLOG_USE_MODULE(csam);

int csam_handler(request_rec *r)
{
    struct csam_mod_runtime *rt;
    const char *base;
    const char *sub;
    size_t blen;

    if (r->handler == NULL || strcmp(r->handler, "csam") != 0)
        return DECLINED;
    rt = csam_runtime_get(r);
    if (rt == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00002: SetHandler csam in a server without CSAM "
                      "configuration (CSAMDatabase, CSAMPublicURL, ...)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    base = rt->config.handler_path;
    blen = strlen(base);
    if (strncmp(r->uri, base, blen) != 0
        || (r->uri[blen] != '/' && r->uri[blen] != '\0')) {
        /* SetHandler csam mounted elsewhere than CSAMHandlerPath says:
         * a configuration mistake worth seeing. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00003: SetHandler csam outside CSAMHandlerPath "
                      "%s: set CSAMHandlerPath to where the handler is "
                      "mounted",
                      base);
        return HTTP_NOT_FOUND;
    }
    sub = r->uri + blen;
    if (strcmp(sub, "/api") == 0 || strncmp(sub, "/api/", 5) == 0)
        return csam_api_handle(r, rt, sub);
    if (strcmp(sub, "/static/csam.css") == 0)
        return csam_page_stylesheet(r, rt);
    if (strcmp(sub, "/registration") == 0
        || strcmp(sub, "/registration/letter") == 0
        || strcmp(sub, "/registration/helpdesk") == 0)
        return csam_page_registration(r, rt, sub);
    if (strcmp(sub, "/activate") == 0)
        return csam_page_activate(r, rt);
    if (strcmp(sub, "/online") == 0)
        return csam_page_online(r, rt);
    if (strcmp(sub, "/login") == 0)
        return csam_page_login(r, rt);
    if (strcmp(sub, "/logout") == 0)
        return csam_page_logout(r, rt);
    if (strcmp(sub, "/keys") == 0)
        return csam_page_keys(r, rt);
    return HTTP_NOT_FOUND;
}
