/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The csam_device cookie (DESIGN 4, OWASP "device cookies"): a browser
 * that completed a login for an account keeps a known-device token of
 * that account, and the engine counts that browser's failures on its own,
 * so that guesses from anywhere else never lock it out.
 *
 * The cookie is sealed as the flow cookies are (cookie.c: AES-256-GCM,
 * tamper-evident, unreadable in the browser), but bound to its name only,
 * not to the per-browser id, which ends with the browser session: a device
 * cookie lives CSAM_LOGIN_DEVICE_TTL.  It holds the username it was made
 * for, so a token is only ever offered for its own account (the engine
 * checks that too, against the database); a browser keeps the device of
 * the last account that logged in on it.  The token itself is stored in
 * the database as a keyed hash only.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_strings.h"

#include <jansson.h>

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

#define CSAM_DEVICE_COOKIE "csam_device"
/* What the seal binds the cookie to instead of a browser id. */
#define CSAM_DEVICE_BINDING "known-device/v1"

static apr_status_t csam_device_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

const char *csam_device_token(request_rec *r, struct csam_mod_runtime *rt,
                              const char *username)
{
    char *text = csam_cookie_get(r, rt, CSAM_DEVICE_COOKIE,
                                 CSAM_DEVICE_BINDING);
    const char *user, *token;
    json_t *dev;

    if (text == NULL || username == NULL
        || (dev = json_loads(text, 0, NULL)) == NULL)
        return NULL;
    apr_pool_cleanup_register(r->pool, dev, csam_device_decref,
                              apr_pool_cleanup_null);
    user = json_string_value(json_object_get(dev, "u"));
    token = json_string_value(json_object_get(dev, "d"));
    if (user == NULL || token == NULL || strcmp(user, username) != 0
        || !csam_token_valid(token))
        return NULL;
    return token;
}

void csam_device_set(request_rec *r, struct csam_mod_runtime *rt,
                     const char *username, const char *token)
{
    json_t *dev = json_pack("{s:s, s:s}", "u", username, "d", token);
    char *text = dev != NULL ? json_dumps(dev, JSON_COMPACT) : NULL;

    json_decref(dev);
    if (text == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00753: cannot make the csam_device cookie");
        return;
    }
    csam_cookie_set(r, rt, CSAM_DEVICE_COOKIE, CSAM_DEVICE_BINDING, text,
                    CSAM_LOGIN_DEVICE_TTL);
    csam_wipe(text, strlen(text));
    free(text);
}
