/*
 * The self-management page (DESIGN 2.4, 3.2): /csam/keys.
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

int csam_page_keys(request_rec *r, struct csam_mod_runtime *rt)
{
    ap_discard_request_body(r);
    return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                             "unavailable", HTTP_SERVICE_UNAVAILABLE);
}
