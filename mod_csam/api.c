/*
 * The JSON API of the registration desk and of activation (DESIGN 3.1):
 * each endpoint checks its body against its field list, calls one engine
 * flow and answers; errors go through csam_api_error(), the one mapping.
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

/* Generous edge bounds: the engine applies the real limits and answers
 * with the precise error (invalid_email, weak_password, ...). */
#define CSAM_API_TEXT_MAX 1024
#define CSAM_API_TOKEN_MAX 128
/* csam_registrations.created_by and csam_audit.actor hold this much. */
#define CSAM_API_OFFICER_MAX 255

static const struct csam_api_field csam_api_document_fields[] = {
    {"type", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"number", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

static const struct csam_api_field csam_api_registration_fields[] = {
    {"national_number", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"first_name", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"last_name", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"birth_date", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"document", CSAM_API_OBJECT, 1, 0, csam_api_document_fields},
    {"email", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"language", CSAM_API_STRING, 0, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

static const struct csam_api_field csam_api_open_fields[] = {
    {"token", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"activation_code", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

static const struct csam_api_field csam_api_key_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"key_type", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"accept_terms", CSAM_API_BOOLEAN, 1, 0, NULL},
    {"phone", CSAM_API_STRING, 0, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

static const struct csam_api_field csam_api_credentials_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"username", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    /* No edge bound below the body's: a long password is weak_password. */
    {"password", CSAM_API_STRING, 1, 0, NULL},
    {"password_repeat", CSAM_API_STRING, 1, 0, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

static const struct csam_api_field csam_api_confirm_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"code", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

static const struct csam_api_field csam_api_resend_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

csam_engine *csam_api_engine(request_rec *r, int *rv)
{
    csam_engine *engine = NULL;

    if (csam_pool_engine(r, &engine) != APR_SUCCESS) {
        *rv = csam_api_error(r, CSAM_ERR_DB, NULL);
        return NULL;
    }
    return engine;
}

static int csam_api_registrations(request_rec *r)
{
    struct csam_registration reg;
    struct csam_registration_receipt receipt;
    csam_engine *engine;
    json_t *body, *doc, *reply;
    csam_result res;
    int rv;

    /* The administrator's own authentication names the officer; without
     * it there is no open registration desk, and a citizen's session is
     * never one. */
    switch (csam_auth_officer(r)) {
    case CSAM_OFFICER_OK:
        break;
    case CSAM_OFFICER_CITIZEN:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00900: registration refused to a user "
                      "authenticated by AuthType CSAM: a citizen is never "
                      "an officer (give the desk the officers' own "
                      "AuthType)");
        ap_discard_request_body(r);
        return csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                             "Registration needs an officer; a citizen's "
                             "session is not one.");
    default:
        ap_discard_request_body(r);
        return csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                             "Registration needs an authenticated officer.");
    }
    /* The officer's name goes into the audit trail (at most 255 bytes of
     * text): a longer one, e.g. a certificate DN, is refused here rather
     * than failing in the database. */
    if (csam_text_check(r->user, CSAM_API_OFFICER_MAX) != CSAM_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00019: the authenticated user's name is not "
                      "usable as an officer name (over %d bytes or not "
                      "text)", CSAM_API_OFFICER_MAX);
        ap_discard_request_body(r);
        return csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                             "This officer name cannot be recorded.");
    }
    rv = csam_api_read(r, csam_api_registration_fields, &body);
    if (body == NULL)
        return rv;
    doc = json_object_get(body, "document");
    memset(&reg, 0, sizeof(reg));
    reg.national_number = csam_api_string(body, "national_number");
    reg.first_name = csam_api_string(body, "first_name");
    reg.last_name = csam_api_string(body, "last_name");
    reg.birth_date = csam_api_string(body, "birth_date");
    reg.document_type = csam_api_string(doc, "type");
    reg.document_number = csam_api_string(doc, "number");
    reg.email = csam_api_string(body, "email");
    reg.language = csam_api_string(body, "language");

    engine = csam_api_engine(r, &rv);
    if (engine == NULL)
        return rv;
    memset(&receipt, 0, sizeof(receipt));
    res = csam_engine_register(engine, r->user, csam_http_source(r), &reg,
                               &receipt);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CSAM00014: registration %" APR_INT64_T_FMT
                  " recorded by officer %s", (apr_int64_t)receipt
                  .registration_id, r->user);
    reply = csam_api_own(r, json_pack("{s:I, s:s, s:s}", "registration_id",
                                      (json_int_t)receipt.registration_id,
                                      "activation_code",
                                      receipt.activation_code, "expires_at",
                                      receipt.expires_at));
    csam_wipe(receipt.activation_code, sizeof(receipt.activation_code));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_CREATED, reply);
}

json_t *csam_api_key_types(unsigned mask)
{
    static const enum csam_key_type all[] = {CSAM_KEY_EMAIL, CSAM_KEY_SMS,
                                             CSAM_KEY_TOTP};
    json_t *list = json_array();
    size_t i;

    for (i = 0; list != NULL && i < sizeof(all) / sizeof(all[0]); i++)
        if (mask & (unsigned)all[i])
            json_array_append_new(list,
                                  json_string(csam_key_type_name(all[i])));
    return list;
}

static int csam_api_activation_open(request_rec *r)
{
    char handle[CSAM_TOKEN_SIZE] = "";
    struct csam_attempts att = {-1, 0};
    unsigned key_types = 0;
    csam_engine *engine;
    const char *token;
    json_t *body, *reply;
    csam_result res;
    int rv;

    rv = csam_api_read(r, csam_api_open_fields, &body);
    if (body == NULL)
        return rv;
    token = csam_api_string(body, "token");
    /* A token of the wrong shape is as unknown as any other. */
    if (!csam_token_valid(token))
        return csam_api_error(r, CSAM_ERR_EXPIRED, NULL);
    engine = csam_api_engine(r, &rv);
    if (engine == NULL)
        return rv;
    res = csam_engine_activation_open(engine, csam_http_source(r), token,
                                      csam_api_string(body,
                                                      "activation_code"),
                                      handle, &key_types, &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    reply = csam_api_own(r, json_pack("{s:s, s:o}", "activation", handle,
                                      "key_types",
                                      csam_api_key_types(key_types)));
    csam_wipe(handle, sizeof(handle));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

/* The handle of an activation in progress, or NULL when its shape is
 * wrong (answered as expired, like any unknown handle). */
static const char *csam_api_handle_of(json_t *body)
{
    const char *handle = csam_api_string(body, "activation");

    return csam_token_valid(handle) ? handle : NULL;
}

static int csam_api_next(request_rec *r, int status, enum csam_step next)
{
    json_t *reply = csam_api_own(r, json_pack("{s:s}", "next",
                                              csam_step_name(next)));

    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, status, reply);
}

static int csam_api_activation_key(request_rec *r)
{
    csam_engine *engine;
    enum csam_key_type type;
    const char *handle;
    json_t *body;
    csam_result res;
    int rv;

    rv = csam_api_read(r, csam_api_key_fields, &body);
    if (body == NULL)
        return rv;
    type = csam_key_type_parse(csam_api_string(body, "key_type"));
    if (type == CSAM_KEY_NONE)
        return csam_api_fail(r, HTTP_BAD_REQUEST, "invalid_request",
                             "key_type must be email, sms or totp.");
    handle = csam_api_handle_of(body);
    if (handle == NULL)
        return csam_api_error(r, CSAM_ERR_EXPIRED, NULL);
    engine = csam_api_engine(r, &rv);
    if (engine == NULL)
        return rv;
    res = csam_engine_activation_key(
        engine, csam_http_source(r), handle, type,
        json_is_true(json_object_get(body, "accept_terms")),
        csam_api_string(body, "phone"), csam_runtime_get(r)->terms_version);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    return csam_api_next(r, HTTP_OK, CSAM_STEP_CREDENTIALS);
}

static apr_status_t csam_api_free_outcome(void *data)
{
    csam_credentials_outcome_free(data);
    return APR_SUCCESS;
}

static int csam_api_activation_credentials(request_rec *r)
{
    struct csam_credentials_outcome *outcome;
    csam_engine *engine;
    const char *handle;
    json_t *body, *reply;
    csam_result res;
    int rv;

    rv = csam_api_read(r, csam_api_credentials_fields, &body);
    if (body == NULL)
        return rv;
    handle = csam_api_handle_of(body);
    if (handle == NULL)
        return csam_api_error(r, CSAM_ERR_EXPIRED, NULL);
    engine = csam_api_engine(r, &rv);
    if (engine == NULL)
        return rv;
    outcome = apr_pcalloc(r->pool, sizeof(*outcome));
    apr_pool_cleanup_register(r->pool, outcome, csam_api_free_outcome,
                              apr_pool_cleanup_null);
    res = csam_engine_activation_credentials(
        engine, csam_http_source(r), handle,
        csam_api_string(body, "username"), csam_api_string(body, "password"),
        csam_api_string(body, "password_repeat"), outcome);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &outcome->attempts);
    reply = csam_api_own(r, json_pack("{s:s}", "next",
                                      csam_step_name(outcome->next)));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (outcome->otpauth_uri != NULL && outcome->totp_secret != NULL) {
        json_object_set_new(reply, "otpauth_uri",
                            json_string(outcome->otpauth_uri));
        json_object_set_new(reply, "secret",
                            json_string(outcome->totp_secret));
    }
    return csam_api_send(r, HTTP_ACCEPTED, reply);
}

static int csam_api_activation_confirm(request_rec *r)
{
    struct csam_attempts att = {-1, 0};
    struct csam_activated done;
    csam_engine *engine;
    const char *handle;
    json_t *body, *reply;
    csam_result res;
    int rv;

    rv = csam_api_read(r, csam_api_confirm_fields, &body);
    if (body == NULL)
        return rv;
    handle = csam_api_handle_of(body);
    if (handle == NULL)
        return csam_api_error(r, CSAM_ERR_EXPIRED, NULL);
    engine = csam_api_engine(r, &rv);
    if (engine == NULL)
        return rv;
    memset(&done, 0, sizeof(done));
    res = csam_engine_activation_confirm(engine, csam_http_source(r), handle,
                                         csam_api_string(body, "code"), &done,
                                         &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    reply = csam_api_own(r, json_pack("{s:s, s:s, s:s}", "username",
                                      done.username, "key_type",
                                      csam_key_type_name(done.key_type)
                                          ? csam_key_type_name(done.key_type)
                                          : "",
                                      "status", "active"));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

static int csam_api_activation_resend(request_rec *r)
{
    struct csam_attempts att = {-1, 0};
    csam_engine *engine;
    const char *handle;
    json_t *body;
    csam_result res;
    int rv;

    rv = csam_api_read(r, csam_api_resend_fields, &body);
    if (body == NULL)
        return rv;
    handle = csam_api_handle_of(body);
    if (handle == NULL)
        return csam_api_error(r, CSAM_ERR_EXPIRED, NULL);
    engine = csam_api_engine(r, &rv);
    if (engine == NULL)
        return rv;
    res = csam_engine_activation_resend(engine, csam_http_source(r), handle,
                                        &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    return csam_api_next(r, HTTP_ACCEPTED, CSAM_STEP_CONFIRM);
}

static const struct csam_api_field csam_api_no_fields[] = {
    {NULL, CSAM_API_STRING, 0, 0, NULL}
};

/* POST /logout needs no body (DESIGN 3.1).  One that is sent is JSON like
 * every body of the API, and so is a declared Content-Type: a form or
 * text/plain post, which any other site's page can make, is 415. */
static int csam_api_logout_route(request_rec *r)
{
    json_t *body;
    int rv;

    if (ap_request_has_body(r)) {
        rv = csam_api_read(r, csam_api_no_fields, &body);
        if (body == NULL)
            return rv;
    }
    else if (apr_table_get(r->headers_in, "Content-Type") != NULL
             && !csam_http_content_type_is(r, "application/json")) {
        ap_discard_request_body(r);
        return csam_api_fail(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                             "unsupported_media_type",
                             "Logout takes no body, or a JSON one.");
    }
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
    int method;                 /* M_GET also serves HEAD */
    int (*handle)(request_rec *r);
};

static const struct csam_api_route csam_api_routes[] = {
    {"/api/v1/registrations", M_POST, csam_api_registrations},
    {"/api/v1/activation", M_POST, csam_api_activation_open},
    {"/api/v1/activation/key", M_POST, csam_api_activation_key},
    {"/api/v1/activation/credentials", M_POST,
     csam_api_activation_credentials},
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

    (void)rt;
    /* Reached by an internal redirect (ErrorDocument), as a GET. */
    if (strcmp(path, CSAM_API_ERROR_PATH) == 0)
        return csam_api_foreign_error(r);
    for (i = 0; i < sizeof(csam_api_routes) / sizeof(csam_api_routes[0]);
         i++) {
        const struct csam_api_route *rt_i = &csam_api_routes[i];

        if (strcmp(path, rt_i->path) != 0)
            continue;
        if (r->method_number == rt_i->method)
            return rt_i->handle(r);
        allow = allow == NULL
                    ? (rt_i->method == M_GET ? "GET, HEAD" : "POST")
                    : apr_pstrcat(r->pool, allow, ", ",
                                  rt_i->method == M_GET ? "GET, HEAD"
                                                        : "POST",
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
    ap_discard_request_body(r);
    return csam_api_fail(r, HTTP_NOT_FOUND, "not_found",
                         "No such API endpoint.");
}
