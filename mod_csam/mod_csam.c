/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_csam: Belgian CSAM digital keys for Apache httpd 2.4.
 *
 * The module record and hook registration only; each job lives in its own
 * file (see mod_csam.h).
 */
#include "httpd.h"
#include "http_config.h"
#include "http_request.h"
#include "http_log.h"
#include "http_protocol.h"

#include "mod_csam.h"

/* AP_DECLARE_MODULE below also does APLOG_USE_MODULE(csam). */

static void csam_module_register_hooks(apr_pool_t *p)
{
    /* Identity headers go before any other module can read them. */
    ap_hook_post_read_request(csam_http_strip_identity, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_fixups(csam_http_redirect_identity, NULL, NULL,
                   APR_HOOK_REALLY_FIRST);
    /* check_config, not post_config: it also runs for `apachectl -t`,
     * so a bad value or a missing secret fails the syntax check, and it
     * runs as root, before httpd drops privileges. */
    /* After the location walk (the URI is normalised), before
     * authentication, whose 401 must be JSON on the API too. */
    ap_hook_header_parser(csam_api_claim_errors, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(csam_runtime_check_config, NULL, NULL,
                         APR_HOOK_MIDDLE);
    ap_hook_post_config(csam_runtime_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(csam_session_cache_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_post_config(csam_gate_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(csam_pool_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(csam_session_cache_child_init, NULL, NULL,
                       APR_HOOK_MIDDLE);
    /* The activation link's token never reaches a log line. */
    csam_redact_register(p);
    /* AuthType CSAM and Require csam-key. */
    csam_auth_register(p);
    ap_hook_handler(csam_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

/* One member a line, as httpd's modules write it. */
/* clang-format off */
AP_DECLARE_MODULE(csam) = {
    STANDARD20_MODULE_STUFF,
    csam_config_create_dir,
    csam_config_merge_dir,
    csam_config_create_server,
    csam_config_merge_server,
    csam_config_cmds,
    csam_module_register_hooks,
    0                               /* flags */
};
/* clang-format on */
