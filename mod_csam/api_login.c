/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON API of login and of the session itself (DESIGN 3.1): password,
 * then the key, then the code, which opens a session (Set-Cookie
 * csam_session) and makes the client a known device of the account (Set-
 * Cookie csam_device, offered again at the next login: its failures then
 * count on their own); who the session is; logout.
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

/* Edge bounds only: the engine applies the real rules. */
#define CSAM_API_LOGIN_TEXT_MAX 1024
#define CSAM_API_LOGIN_TOKEN_MAX 128
#define CSAM_API_LOGIN_CODE_MAX 64

static const struct csam_api_field csam_api_login_fields[] = {
    {"username", CSAM_API_STRING, 1, CSAM_API_LOGIN_TEXT_MAX, NULL},
    /* No bound below the body's: the password's own limit answers. */
    {"password", CSAM_API_STRING, 1, 0, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_challenge_fields[] = {
    {"login", CSAM_API_STRING, 1, CSAM_API_LOGIN_TOKEN_MAX, NULL},
    {"key_type", CSAM_API_STRING, 1, CSAM_API_LOGIN_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_verify_fields[] = {
    {"login", CSAM_API_STRING, 1, CSAM_API_LOGIN_TOKEN_MAX, NULL},
    {"code", CSAM_API_STRING, 1, CSAM_API_LOGIN_CODE_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_prelude csam_api_login_prelude = {
    csam_api_login_fields, NULL, NULL};
static const struct csam_api_prelude csam_api_challenge_prelude = {
    csam_api_challenge_fields, "key_type", "login"};
static const struct csam_api_prelude csam_api_verify_prelude = {
    csam_api_verify_fields, NULL, "login"};
static const struct csam_api_prelude csam_api_no_body_prelude = {NULL, NULL,
                                                                 NULL};

int csam_api_login(request_rec *r)
{
    char handle[CSAM_TOKEN_SIZE] = "";
    struct csam_attempts att = {-1, 0};
    struct csam_api_call call;
    unsigned key_types = 0;
    const char *username;
    json_t *reply;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_login_prelude, &call, &rv))
        return rv;
    username = csam_api_string(call.body, "username");
    res = csam_engine_login_password_device(
        call.engine, csam_http_source(r),
        csam_device_token(r, csam_runtime_get(r), username), username,
        csam_api_string(call.body, "password"), handle, &key_types, &att);
    if (res != CSAM_OK) {
        /* A count of attempts left exists for known accounts only: it
         * would tell them from unknown usernames. */
        if (res == CSAM_ERR_BAD_CREDENTIALS)
            att.attempts_left = -1;
        return csam_api_error(r, res, &att);
    }
    reply = csam_api_own(r,
                         json_pack("{s:s, s:o}", "login", handle, "key_types",
                                   csam_api_key_types(key_types)));
    csam_wipe(handle, sizeof(handle));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

int csam_api_login_challenge(request_rec *r)
{
    struct csam_attempts att = {-1, 0};
    struct csam_login_code sent;
    struct csam_api_call call;
    json_t *reply;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_challenge_prelude, &call, &rv))
        return rv;
    res = csam_engine_login_code(call.engine, csam_http_source(r), call.handle,
                                 call.key_type, &sent, &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    /* A code sent moments ago (for this login or an abandoned one) was
     * taken over: the client learns it was not sent again, and when. */
    reply = csam_api_own(r, json_pack("{s:s, s:b}", "key_type",
                                      csam_key_type_name(call.key_type),
                                      "reused", sent.reused));
    if (reply != NULL && sent.sent_at > 0)
        json_object_set_new(reply, "sent_at",
                            json_string(csam_api_time(r, sent.sent_at)));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_ACCEPTED, reply);
}

int csam_api_login_verify(request_rec *r)
{
    struct csam_attempts att = {-1, 0};
    struct csam_session_ticket ticket;
    struct csam_api_call call;
    const char *key;
    json_t *reply;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_verify_prelude, &call, &rv))
        return rv;
    memset(&ticket, 0, sizeof(ticket));
    res = csam_engine_login_verify(
        call.engine, csam_http_source(r), call.handle,
        csam_api_string(call.body, "code"), &ticket, &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    csam_session_cookie_set(r, csam_runtime_get(r), &ticket);
    if (ticket.device[0] != '\0')
        csam_device_set(r, csam_runtime_get(r), ticket.info.username,
                        ticket.device);
    csam_wipe(ticket.cookie, sizeof(ticket.cookie));
    csam_wipe(ticket.device, sizeof(ticket.device));
    key = csam_key_type_name(ticket.info.key_type);
    reply = csam_api_own(r, json_pack("{s:s, s:s}", "username",
                                      ticket.info.username, "key_type",
                                      key ? key : ""));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

int csam_api_me(request_rec *r)
{
    struct csam_key_info keys[CSAM_KEYS_MAX];
    struct csam_session_info info;
    struct csam_api_call call;
    json_t *list, *reply;
    const char *key;
    csam_result res;
    size_t n = 0;
    int rv;

    if (!csam_api_session(r, &info, &rv)
        || !csam_api_begin(r, &csam_api_no_body_prelude, &call, &rv))
        return rv;
    res = csam_engine_keys_list(call.engine, info.username, keys, CSAM_KEYS_MAX,
                                &n);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    list = csam_api_key_list(keys, n);
    key = csam_key_type_name(info.key_type);
    reply = csam_api_own(r, json_pack("{s:s, s:s, s:s, s:s, s:o}", "username",
                                      info.username, "key_type", key ? key : "",
                                      "auth_time",
                                      csam_api_time(r, info.auth_time),
                                      "subject", info.subject, "keys", list));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

int csam_api_logout(request_rec *r)
{
    struct csam_session_info info;
    csam_result res;
    int rv;

    if (!csam_api_session(r, &info, &rv))
        return rv;
    ap_discard_request_body(r);
    res = csam_session_end(r, csam_runtime_get(r));
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "CSAM00026: logout of %s",
                  info.username);
    return csam_api_no_content(r);
}
