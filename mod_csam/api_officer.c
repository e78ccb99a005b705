/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The officer endpoints' gate (DESIGN 3.1), shared by the registration
 * desk (api_activation.c) and the helpdesk (api_helpdesk.c): who
 * authenticated the request decides (auth.c), the answer is the API's.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

#include "mod_csam.h"
#include "api.h"

APLOG_USE_MODULE(csam);

/* csam_registrations.created_by and csam_audit.actor hold this much. */
#define CSAM_API_OFFICER_MAX 255

int csam_api_officer_refused(request_rec *r, int *rv)
{
    switch (csam_auth_officer(r)) {
    case CSAM_OFFICER_OK: break;
    case CSAM_OFFICER_CITIZEN:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00900: registration desk refused to a user "
                      "authenticated by AuthType CSAM: a citizen is never "
                      "an officer (give the desk the officers' own "
                      "AuthType)");
        ap_discard_request_body(r);
        *rv = csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                            "The registration desk needs an officer; a "
                            "citizen's session is not one.");
        return 1;
    default:
        ap_discard_request_body(r);
        *rv = csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                            "The registration desk needs an authenticated "
                            "officer.");
        return 1;
    }
    /* The officer's name goes into the audit trail (at most 255 bytes of
     * text): a longer one, e.g. a certificate DN, is refused here rather
     * than failing in the database. */
    if (csam_text_check(r->user, CSAM_API_OFFICER_MAX) != CSAM_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00019: the authenticated user's name is not "
                      "usable as an officer name (over %d bytes or not "
                      "text)",
                      CSAM_API_OFFICER_MAX);
        ap_discard_request_body(r);
        *rv = csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                            "This officer name cannot be recorded.");
        return 1;
    }
    return 0;
}
