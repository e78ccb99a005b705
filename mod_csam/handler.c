/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The csam handler: routes a request under CSAMHandlerPath to the JSON API,
 * a page or the stylesheet.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

#include "mod_csam.h"
#include "api.h"
#include "page.h"

APLOG_USE_MODULE(csam);

/* The page of a handler without configuration: no template is loaded, so
 * it is this one, in the four languages, never Apache's own 500. */
static const char csam_handler_unconfigured_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"fr\"><head><meta charset=\"utf-8\">"
    "<title>CSAM</title></head><body><main>\n"
    "<h1>Service indisponible</h1>"
    "<p>Ce service n'est pas disponible pour le moment.</p>\n"
    "<h1 lang=\"nl\">Dienst niet beschikbaar</h1>"
    "<p lang=\"nl\">Deze dienst is momenteel niet beschikbaar.</p>\n"
    "<h1 lang=\"de\">Dienst nicht verfügbar</h1>"
    "<p lang=\"de\">Dieser Dienst ist derzeit nicht verfügbar.</p>\n"
    "<h1 lang=\"en\">Service unavailable</h1>"
    "<p lang=\"en\">This service is not available at the moment.</p>\n"
    "</main></body></html>\n";

/* SetHandler csam where no CSAM directive is: the administrator's mistake,
 * logged; the client gets 503 in the handler's own form, JSON on the API
 * (DESIGN 3.1: never an HTML error page there), a page elsewhere.  The
 * handler path is unknown here, so any ".../api" or ".../api/..." is the
 * API. */
static int csam_handler_unconfigured(request_rec *r)
{
    const char *api = strstr(r->uri, "/api");

    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "CSAM00002: SetHandler csam in a server without CSAM "
                  "configuration (CSAMDatabase, CSAMPublicURL, ...)");
    ap_discard_request_body(r);
    if (api != NULL && (api[4] == '\0' || api[4] == '/'))
        return csam_api_error(r, CSAM_ERR_DB, NULL);
    r->status = HTTP_SERVICE_UNAVAILABLE;
    ap_set_content_type(r, "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'");
    if (!r->header_only)
        ap_rputs(csam_handler_unconfigured_page, r);
    return OK;
}

int csam_handler(request_rec *r)
{
    struct csam_mod_runtime *rt;
    const char *base;
    const char *sub;
    size_t blen;

    if (r->handler == NULL || strcmp(r->handler, "csam") != 0)
        return DECLINED;
    rt = csam_runtime_get(r);
    if (rt == NULL)
        return csam_handler_unconfigured(r);
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
