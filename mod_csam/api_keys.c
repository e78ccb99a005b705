/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON API of self-management (DESIGN 2.4): a logged-in citizen's
 * keys (list, add another type through the confirm step, deactivate one
 * but never the last) and password change.  Every call checks the session
 * in the database, not the child's cache: a session ended on another node
 * a moment ago must not change the account.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "api.h"

APLOG_USE_MODULE(csam);

#define CSAM_API_KEYS_TEXT_MAX 1024
#define CSAM_API_KEYS_CODE_MAX 64

static const struct csam_api_field csam_api_keys_add_fields[] = {
    {"key_type", CSAM_API_STRING, 1, CSAM_API_KEYS_TEXT_MAX, NULL},
    {"accept_terms", CSAM_API_BOOLEAN, 1, 0, NULL},
    {"phone", CSAM_API_STRING, 0, CSAM_API_KEYS_TEXT_MAX, NULL},
    /* needed when the session is older than CSAMReauthAfter */
    {"password", CSAM_API_STRING, 0, 0, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_keys_confirm_fields[] = {
    {"key_type", CSAM_API_STRING, 1, CSAM_API_KEYS_TEXT_MAX, NULL},
    {"code", CSAM_API_STRING, 1, CSAM_API_KEYS_CODE_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_password_fields[] = {
    {"current_password", CSAM_API_STRING, 1, 0, NULL},
    {"password", CSAM_API_STRING, 1, 0, NULL},
    {"password_repeat", CSAM_API_STRING, 1, 0, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_prelude csam_api_keys_add_prelude = {
    csam_api_keys_add_fields, "key_type", NULL};
static const struct csam_api_prelude csam_api_keys_confirm_prelude = {
    csam_api_keys_confirm_fields, "key_type", NULL};
static const struct csam_api_prelude csam_api_password_prelude = {
    csam_api_password_fields, NULL, NULL};
static const struct csam_api_prelude csam_api_keys_no_body_prelude = {
    NULL, NULL, NULL};

json_t *csam_api_key_list(const struct csam_key_info *keys, size_t n)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; list != NULL && i < n && i < CSAM_KEYS_MAX; i++) {
        const char *name = csam_key_type_name(keys[i].type);

        json_array_append_new(
            list, json_pack("{s:s, s:s, s:o}", "type", name ? name : "",
                            "status", keys[i].status, "activated_at",
                            keys[i].activated_at[0]
                                ? json_string(keys[i].activated_at)
                                : json_null()));
    }
    return list;
}

int csam_api_keys_list(request_rec *r)
{
    struct csam_key_info keys[CSAM_KEYS_MAX];
    struct csam_session_info info;
    struct csam_api_call call;
    json_t *reply;
    csam_result res;
    size_t n = 0;
    int rv;

    if (!csam_api_session(r, &info, &rv)
        || !csam_api_begin(r, &csam_api_keys_no_body_prelude, &call, &rv))
        return rv;
    res = csam_engine_keys_list(call.engine, info.username, keys, CSAM_KEYS_MAX,
                                &n);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    reply = csam_api_own(r, json_pack("{s:o}", "keys",
                                      csam_api_key_list(keys, n)));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

int csam_api_keys_add(request_rec *r)
{
    struct csam_credentials_outcome *outcome;
    struct csam_attempts att = {-1, 0};
    struct csam_session_info info;
    struct csam_api_call call;
    csam_result res;
    int rv;

    if (!csam_api_session(r, &info, &rv)
        || !csam_api_begin(r, &csam_api_keys_add_prelude, &call, &rv))
        return rv;
    res = csam_engine_session_reauth(call.engine, csam_http_source(r), &info,
                                     csam_api_string(call.body, "password"),
                                     &att);
    if (res == CSAM_ERR_BAD_CREDENTIALS)
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM00800: wrong password asked again to add a key "
                      "for account %s",
                      info.username);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    outcome = csam_api_outcome(r);
    res = csam_engine_key_add(
        call.engine, csam_http_source(r), info.username, call.key_type,
        json_is_true(json_object_get(call.body, "accept_terms")),
        csam_api_string(call.body, "phone"), csam_runtime_get(r)->terms_version,
        outcome);
    if (res == CSAM_ERR_TOO_SOON)
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM00801: key add for account %s refused: a code "
                      "was sent less than CSAMResendCooldown ago",
                      info.username);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &outcome->attempts);
    return csam_api_send_outcome(r, outcome);
}

int csam_api_keys_confirm(request_rec *r)
{
    struct csam_attempts att = {-1, 0};
    struct csam_session_info info;
    struct csam_api_call call;
    json_t *reply;
    csam_result res;
    int rv;

    if (!csam_api_session(r, &info, &rv)
        || !csam_api_begin(r, &csam_api_keys_confirm_prelude, &call, &rv))
        return rv;
    res = csam_engine_key_confirm(call.engine, csam_http_source(r),
                                  info.username, call.key_type,
                                  csam_api_string(call.body, "code"), &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    reply = csam_api_own(r, json_pack("{s:s, s:s}", "key_type",
                                      csam_key_type_name(call.key_type),
                                      "status", "active"));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

int csam_api_key_delete(request_rec *r, const char *type_name)
{
    struct csam_session_info info;
    struct csam_api_call call;
    enum csam_key_type type;
    csam_result res;
    int rv;

    if (!csam_api_session(r, &info, &rv))
        return rv;
    ap_discard_request_body(r);
    type = csam_key_type_parse(type_name);
    if (type == CSAM_KEY_NONE)
        return csam_api_fail(r, HTTP_NOT_FOUND, "not_found",
                             "No such key type (email, sms, totp).");
    if (!csam_api_begin(r, &csam_api_keys_no_body_prelude, &call, &rv))
        return rv;
    res = csam_engine_key_deactivate(call.engine, csam_http_source(r),
                                     info.username, type);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    /* The sessions that key opened are dead in the database: every child
     * of this node forgets what it cached (other nodes within the TTL). */
    csam_session_cache_flush(csam_runtime_get(r));
    /* This very session among them: the browser drops its cookie. */
    if (info.key_type == type)
        csam_session_cookie_clear(r, csam_runtime_get(r));
    return csam_api_no_content(r);
}

int csam_api_password(request_rec *r)
{
    struct csam_mod_runtime *rt = csam_runtime_get(r);
    struct csam_session_info info;
    struct csam_api_call call;
    csam_result res;
    int rv;

    if (!csam_api_session(r, &info, &rv)
        || !csam_api_begin(r, &csam_api_password_prelude, &call, &rv))
        return rv;
    res = csam_engine_password_change(
        call.engine, csam_http_source(r), info.username,
        csam_api_string(call.body, "current_password"),
        csam_api_string(call.body, "password"),
        csam_api_string(call.body, "password_repeat"),
        csam_session_cookie_get(r));
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    /* The account's other sessions are dead in the database: every child
     * of this node forgets what it cached (other nodes within the TTL). */
    csam_session_cache_flush(rt);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CSAM00027: password changed for %s", info.username);
    return csam_api_no_content(r);
}
