/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /csam/online, the online procedure's start (DESIGN 2.6, 3.2): a citizen
 * whom Apache already identified (the eID's certificate through mod_ssl,
 * itsme through an OpenID Connect module: CSAMIdentitySource) goes to the
 * key choice with no desk and no paper code.
 *
 * GET explains the procedure and offers one button.  Its POST (CSRF)
 * asks identity.c who the person is, opens the procedure and hands the
 * activation to the activation pages exactly as the paper code does: a
 * sealed flow cookie bound to this browser and 303 to /csam/activate,
 * which takes over (key, credentials, codes, done).  Without an identity,
 * or with a number that is none, the answer is 403 and a page saying to
 * identify with eID or itsme; nothing is recorded.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"

APLOG_USE_MODULE(csam);

static int csam_page_online_show(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_page pg;

    if (csam_page_init(&pg, r, rt, csam_page_lang_negotiate(r)) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_var(&pg, "action",
                  apr_pstrcat(r->pool, rt->config.handler_path, "/online",
                              NULL));
    return csam_page_send(&pg, CSAM_PAGE_ONLINE, HTTP_OK, 0);
}

static int csam_page_online_refused(request_rec *r, struct csam_mod_runtime *rt)
{
    return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                             "online_identity", HTTP_FORBIDDEN);
}

static int csam_page_online_post(request_rec *r, struct csam_mod_runtime *rt)
{
    char handle[CSAM_TOKEN_SIZE] = "";
    struct csam_procedure proc;
    struct csam_identity who;
    csam_engine *engine = NULL;
    const char *browser;
    apr_table_t *form;
    csam_result res;
    int rv;

    rv = csam_page_read_form(r, &form);
    if (rv != OK)
        return rv;
    if (!csam_page_csrf_ok(r, rt, form))
        return csam_page_message(r, rt, csam_page_lang_negotiate(r), "csrf",
                                 HTTP_FORBIDDEN);
    browser = csam_cookie_browser(r, rt, 0);
    if (browser == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (!csam_identity_get(r, &who))
        return csam_page_online_refused(r, rt);
    if (csam_pool_engine(r, &engine) != APR_SUCCESS)
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    memset(&proc, 0, sizeof(proc));
    res = csam_engine_online_open(engine, csam_http_source(r), &who, handle,
                                  &proc);
    switch (res) {
    case CSAM_OK: break;
    case CSAM_ERR_NATIONAL_NUMBER:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01009: online procedure refused (page): %s gave "
                      "a number that is no national register or BIS number",
                      who.source_name);
        return csam_page_online_refused(r, rt);
    case CSAM_ERR_DB:
    case CSAM_ERR_SCHEMA:
    case CSAM_ERR_BUSY:
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    default:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM01010: online procedure failed: %s",
                      csam_result_name(res));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CSAM01011: online procedure opened (page; %s, %s account)",
                  who.source_name, proc.existing ? "existing" : "new");
    rv = csam_page_activate_online(r, rt, browser, handle, &proc);
    csam_wipe(handle, sizeof(handle));
    return rv;
}

int csam_page_online(request_rec *r, struct csam_mod_runtime *rt)
{
    if (r->method_number == M_GET)
        return csam_page_online_show(r, rt);
    if (r->method_number == M_POST)
        return csam_page_online_post(r, rt);
    ap_discard_request_body(r);
    apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
    return HTTP_METHOD_NOT_ALLOWED;
}
