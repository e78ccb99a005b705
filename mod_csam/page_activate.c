/*
 * The citizen's activation pages, in the seeds' order: paper code, key
 * choice and terms, username and password, the e-mailed code, done.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "mod_csam.h"
#include "page.h"

APLOG_USE_MODULE(csam);

int csam_page_activate(request_rec *r, struct csam_mod_runtime *rt)
{
    return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                             "unavailable", HTTP_SERVICE_UNAVAILABLE);
}
