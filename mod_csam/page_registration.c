/*
 * The registration desk's pages: the officer's form and the printable
 * letter with the activation code.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "mod_csam.h"
#include "page.h"

APLOG_USE_MODULE(csam);

int csam_page_registration(request_rec *r, struct csam_mod_runtime *rt,
                           const char *path)
{
    (void)path;
    return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                             "unavailable", HTTP_SERVICE_UNAVAILABLE);
}
