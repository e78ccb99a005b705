/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON API's router (DESIGN 3.1): a path and a method to an endpoint
 * (api_activation.c, api_login.c, api_keys.c, api_helpdesk.c), and the JSON
 * answers for the errors httpd itself raises on the API's paths.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "api.h"

APLOG_USE_MODULE(csam);

/* POST /logout needs no body (DESIGN 3.1): csam_api_bodiless. */
static int csam_api_logout_route(request_rec *r)
{
    int rv;

    if (!csam_api_bodiless(r, &rv))
        return rv;
    return csam_api_logout(r);
}

struct csam_api_foreign {
    int status;
    const char *error;
    const char *message;
};

/* Statuses that httpd or another module (the officer's authentication)
 * may answer on the API's paths, and what the API calls them. */
static const struct csam_api_foreign csam_api_foreign_errors[] = {
    {HTTP_BAD_REQUEST, "invalid_request", "The request is malformed."},
    {HTTP_UNAUTHORIZED, "unauthenticated", "Authentication is required."},
    {HTTP_FORBIDDEN, "forbidden", "Access is forbidden."},
    {HTTP_NOT_FOUND, "not_found", "No such API endpoint."},
    {HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
     "This method is not allowed here."},
    {HTTP_REQUEST_TIME_OUT, "invalid_request", "The request took too long."},
    {HTTP_LENGTH_REQUIRED, "invalid_request", "The body needs a length."},
    /* The server's LimitRequestBody may be lower than the API's 64 KiB. */
    {HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large", "The body is too large."},
    {HTTP_REQUEST_URI_TOO_LARGE, "invalid_request", "The URI is too long."},
    {HTTP_INTERNAL_SERVER_ERROR, "internal_error", "Internal error."},
    {HTTP_NOT_IMPLEMENTED, "invalid_request",
     "This method is not implemented."},
    {HTTP_SERVICE_UNAVAILABLE, "unavailable",
     "The service is temporarily unavailable."},
};

int csam_api_claim_errors(request_rec *r)
{
    struct csam_mod_runtime *rt = csam_runtime_get(r);
    const char *base, *target;
    size_t blen, i;

    if (rt == NULL || r->uri == NULL)
        return DECLINED;
    base = rt->config.handler_path;
    blen = strlen(base);
    if (strncmp(r->uri, base, blen) != 0
        || strncmp(r->uri + blen, "/api/", 5) != 0)
        return DECLINED;
    target = apr_pstrcat(r->pool, base, CSAM_API_ERROR_PATH, NULL);
    for (i = 0; i < sizeof(csam_api_foreign_errors)
                        / sizeof(csam_api_foreign_errors[0]);
         i++)
        ap_custom_response(r, csam_api_foreign_errors[i].status, target);
    return DECLINED;
}

/* The JSON answer for an error httpd raised on an API path: the original
 * request's status, with the headers it set (WWW-Authenticate, Allow). */
static int csam_api_foreign_error(request_rec *r)
{
    const request_rec *orig = r->prev;
    size_t i;

    if (orig == NULL)
        return csam_api_fail(r, HTTP_NOT_FOUND, "not_found",
                             "No such API endpoint.");
    while (orig->prev != NULL)
        orig = orig->prev;
    if (apr_table_get(orig->notes, CSAM_API_KEY_REFUSED_NOTE) != NULL)
        return csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                             "This location needs a session opened with "
                             "another key.");
    for (i = 0; i < sizeof(csam_api_foreign_errors)
                        / sizeof(csam_api_foreign_errors[0]);
         i++)
        if (csam_api_foreign_errors[i].status == orig->status)
            return csam_api_fail(r, orig->status,
                                 csam_api_foreign_errors[i].error,
                                 csam_api_foreign_errors[i].message);
    return csam_api_fail(r, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                         "Internal error.");
}

struct csam_api_route {
    const char *path;
    int method; /* M_GET also serves HEAD */
    int (*handle)(request_rec *r);
};

static const struct csam_api_route csam_api_routes[] = {
    {"/api/v1/registrations", M_POST, csam_api_registrations},
    {"/api/v1/online", M_POST, csam_api_online},
    {"/api/v1/registrations", M_GET, csam_api_helpdesk_find},
    {"/api/v1/activation", M_POST, csam_api_activation_open},
    {"/api/v1/activation/key", M_POST, csam_api_activation_key},
    {"/api/v1/activation/credentials", M_POST, csam_api_activation_credentials},
    {"/api/v1/activation/confirm", M_POST, csam_api_activation_confirm},
    {"/api/v1/activation/resend", M_POST, csam_api_activation_resend},
    {"/api/v1/login", M_POST, csam_api_login},
    {"/api/v1/login/challenge", M_POST, csam_api_login_challenge},
    {"/api/v1/login/verify", M_POST, csam_api_login_verify},
    {"/api/v1/me", M_GET, csam_api_me},
    {"/api/v1/logout", M_POST, csam_api_logout_route},
    {"/api/v1/keys", M_GET, csam_api_keys_list},
    {"/api/v1/keys", M_POST, csam_api_keys_add},
    {"/api/v1/keys/confirm", M_POST, csam_api_keys_confirm},
    {"/api/v1/password", M_POST, csam_api_password},
};

#define CSAM_API_KEY_PREFIX "/api/v1/keys/"

static int csam_api_not_allowed(request_rec *r, const char *allow)
{
    ap_discard_request_body(r);
    apr_table_setn(r->err_headers_out, "Allow", allow);
    return csam_api_fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                         "This method is not allowed here.");
}

int csam_api_handle(request_rec *r, struct csam_mod_runtime *rt,
                    const char *path)
{
    const char *allow = NULL;
    size_t i;
    int rv;

    (void)rt;
    /* Reached by an internal redirect (ErrorDocument), as a GET. */
    if (strcmp(path, CSAM_API_ERROR_PATH) == 0)
        return csam_api_foreign_error(r);
    for (i = 0; i < sizeof(csam_api_routes) / sizeof(csam_api_routes[0]); i++) {
        const struct csam_api_route *rt_i = &csam_api_routes[i];

        if (strcmp(path, rt_i->path) != 0)
            continue;
        if (r->method_number == rt_i->method)
            return rt_i->handle(r);
        allow = allow == NULL
                    ? (rt_i->method == M_GET ? "GET, HEAD" : "POST")
                    : apr_pstrcat(r->pool, allow, ", ",
                                  rt_i->method == M_GET ? "GET, HEAD" : "POST",
                                  NULL);
    }
    if (allow != NULL)
        return csam_api_not_allowed(r, allow);
    /* DELETE /api/v1/keys/<type> */
    if (strncmp(path, CSAM_API_KEY_PREFIX, strlen(CSAM_API_KEY_PREFIX)) == 0
        && strchr(path + strlen(CSAM_API_KEY_PREFIX), '/') == NULL
        && path[strlen(CSAM_API_KEY_PREFIX)] != '\0') {
        if (r->method_number != M_DELETE)
            return csam_api_not_allowed(r, "DELETE");
        return csam_api_key_delete(r, path + strlen(CSAM_API_KEY_PREFIX));
    }
    /* registrations/<id>[/resend], accounts/<username>/unlock */
    if (csam_api_helpdesk_route(r, path, &rv))
        return rv;
    ap_discard_request_body(r);
    return csam_api_fail(r, HTTP_NOT_FOUND, "not_found",
                         "No such API endpoint.");
}
