/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON API's edge: the one mapping of core results to HTTP statuses and
 * API error codes, reading and checking request bodies against a field
 * list, and writing JSON responses.
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

struct csam_api_mapping {
    csam_result res;
    int status;
    const char *error;
    const char *message;
};

/* DESIGN 3.1: every core result the API can meet, once. */
static const struct csam_api_mapping csam_api_mappings[] = {
    {CSAM_ERR_INVALID, HTTP_BAD_REQUEST, "invalid_request",
     "The request is malformed."},
    {CSAM_ERR_NATIONAL_NUMBER, HTTP_BAD_REQUEST, "invalid_national_number",
     "The national register or BIS number is not valid, or does not match "
     "the birth date."},
    {CSAM_ERR_EMAIL, HTTP_BAD_REQUEST, "invalid_email",
     "The e-mail address is not valid."},
    {CSAM_ERR_PHONE, HTTP_BAD_REQUEST, "invalid_phone",
     "The phone number is not valid, or SMS cannot be sent to its "
     "country."},
    {CSAM_ERR_USERNAME, HTTP_BAD_REQUEST, "invalid_username",
     "The username must have 3 to 64 characters among lower-case letters, "
     "digits, '.', '_' and '-'."},
    {CSAM_ERR_TERMS, HTTP_BAD_REQUEST, "terms_not_accepted",
     "The terms of use must be accepted."},
    {CSAM_ERR_PASSWORD_MISMATCH, HTTP_BAD_REQUEST, "password_mismatch",
     "The two passwords differ."},
    {CSAM_ERR_WEAK_PASSWORD, HTTP_BAD_REQUEST, "weak_password",
     "The password does not meet the password policy."},
    {CSAM_ERR_BAD_CODE, HTTP_UNAUTHORIZED, "invalid_code",
     "The code is not correct."},
    {CSAM_ERR_BAD_CREDENTIALS, HTTP_UNAUTHORIZED, "invalid_credentials",
     "The username or the password is not correct."},
    {CSAM_ERR_STATE, HTTP_FORBIDDEN, "forbidden",
     "This step is not allowed now."},
    {CSAM_ERR_USERNAME_TAKEN, HTTP_CONFLICT, "username_taken",
     "This username is already in use."},
    /* A recovery (DESIGN 2.7): a request error, not a taken name. */
    {CSAM_ERR_USERNAME_KEPT, HTTP_BAD_REQUEST, "invalid_request",
     "This account keeps its username: leave 'username' out, or give the "
     "account's own."},
    {CSAM_ERR_EXPIRED, HTTP_GONE, "expired",
     "This link or activation is no longer valid."},
    {CSAM_ERR_LOCKED, HTTP_LOCKED, "locked", "Too many attempts."},
    {CSAM_ERR_TOO_SOON, HTTP_TOO_MANY_REQUESTS, "too_many_requests",
     "A code was sent a moment ago: wait before asking for another."},
    /* The body also says "password_required": true (csam_api_error). */
    {CSAM_ERR_REAUTH, HTTP_FORBIDDEN, "forbidden",
     "This session was opened a while ago: give the password again "
     "(field 'password')."},
    {CSAM_ERR_NOT_FOUND, HTTP_NOT_FOUND, "not_found", "Not found."},
    {CSAM_ERR_MAIL, HTTP_BAD_GATEWAY, "mail_unavailable",
     "The message could not be sent; nothing was changed. Try again "
     "later."},
    {CSAM_ERR_DB, HTTP_SERVICE_UNAVAILABLE, "unavailable",
     "The service is temporarily unavailable."},
    {CSAM_ERR_SCHEMA, HTTP_SERVICE_UNAVAILABLE, "unavailable",
     "The service is temporarily unavailable."},
    {CSAM_ERR_BUSY, HTTP_SERVICE_UNAVAILABLE, "unavailable",
     "The service is temporarily unavailable."},
};

static const struct csam_api_mapping csam_api_internal = {
    CSAM_ERR_CONFIG, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
    "Internal error."};

static const struct csam_api_mapping *csam_api_mapping_of(csam_result res)
{
    size_t i;

    for (i = 0; i < sizeof(csam_api_mappings) / sizeof(csam_api_mappings[0]);
         i++)
        if (csam_api_mappings[i].res == res)
            return &csam_api_mappings[i];
    return &csam_api_internal;
}

int csam_api_status(csam_result res, const char **error)
{
    const struct csam_api_mapping *m = csam_api_mapping_of(res);

    if (error != NULL)
        *error = m->error;
    return m->status;
}

static apr_status_t csam_api_json_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

json_t *csam_api_own(request_rec *r, json_t *json)
{
    if (json != NULL)
        apr_pool_cleanup_register(r->pool, json, csam_api_json_decref,
                                  apr_pool_cleanup_null);
    return json;
}

int csam_api_send(request_rec *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);

    if (text == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    r->status = status;
    ap_set_content_type(r, "application/json; charset=utf-8");
    csam_http_security_headers(r, 1);
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only)
        ap_rputs(text, r);
    /* Responses can carry a code or a handle. */
    csam_wipe(text, strlen(text));
    free(text);
    return OK;
}

int csam_api_fail(request_rec *r, int status, const char *error,
                  const char *message)
{
    json_t *body = csam_api_own(r, json_pack("{s:s, s:s}", "error", error,
                                             "message", message));

    if (body == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, status, body);
}

int csam_api_error(request_rec *r, csam_result res,
                   const struct csam_attempts *att)
{
    const struct csam_api_mapping *m = csam_api_mapping_of(res);
    json_t *body = csam_api_own(r, json_pack("{s:s, s:s}", "error", m->error,
                                             "message", m->message));

    if (body == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (m->status == HTTP_INTERNAL_SERVER_ERROR)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00013: internal error: %s", csam_result_name(res));
    /* Clients may try again soon: the pool reconnects by itself. */
    if (m->status == HTTP_SERVICE_UNAVAILABLE)
        apr_table_setn(r->err_headers_out, "Retry-After",
                       res == CSAM_ERR_BUSY ? "1" : "5");
    if (res == CSAM_ERR_REAUTH)
        json_object_set_new(body, "password_required", json_true());
    if (att != NULL
        && (res == CSAM_ERR_BAD_CODE || res == CSAM_ERR_LOCKED
            || res == CSAM_ERR_BAD_CREDENTIALS || res == CSAM_ERR_TOO_SOON
            || res == CSAM_ERR_USERNAME_TAKEN)) {
        if (att->attempts_left >= 0)
            json_object_set_new(body, "attempts_left",
                                json_integer(att->attempts_left));
        if (att->retry_after > 0) {
            json_object_set_new(body, "retry_after",
                                json_integer(att->retry_after));
            apr_table_setn(r->err_headers_out, "Retry-After",
                           apr_ltoa(r->pool, att->retry_after));
        }
    }
    return csam_api_send(r, m->status, body);
}

/* 1 if s has no C0 control character nor DEL: CR and LF are how header
 * and log injections start, and no field of the API needs them. */
static int csam_api_printable(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

/* A field name worth echoing in a message: short printable ASCII. */
static int csam_api_safe_name(const char *name)
{
    size_t i;

    for (i = 0; name[i] != '\0'; i++)
        if (i >= 64 || (unsigned char)name[i] < 0x20
            || (unsigned char)name[i] > 0x7e)
            return 0;
    return 1;
}

/* One level per CSAM_API_OBJECT in spec, a static table two levels deep; the
 * request's nesting beyond it is refused as an unknown field or a wrong type.
 * NOLINTNEXTLINE(misc-no-recursion) */
static const char *csam_api_check_fields(request_rec *r, json_t *obj,
                                         const struct csam_api_field *spec,
                                         const char *prefix)
{
    const struct csam_api_field *f;
    const char *key;
    json_t *value;

    json_object_foreach(obj, key, value)
    {
        for (f = spec; f->name != NULL; f++)
            if (strcmp(f->name, key) == 0)
                break;
        if (f->name == NULL)
            return csam_api_safe_name(key)
                       ? apr_psprintf(r->pool, "Unknown field '%s%s'.", prefix,
                                      key)
                       : "Unknown field.";
    }
    for (f = spec; f->name != NULL; f++) {
        const char *err;

        value = json_object_get(obj, f->name);
        if (value == NULL || json_is_null(value)) {
            if (f->required)
                return apr_psprintf(r->pool, "Missing field '%s%s'.", prefix,
                                    f->name);
            continue;
        }
        switch (f->type) {
        case CSAM_API_STRING:
            if (!json_is_string(value))
                return apr_psprintf(r->pool,
                                    "Field '%s%s' must be a "
                                    "string.",
                                    prefix, f->name);
            if (f->max > 0 && json_string_length(value) > f->max)
                return apr_psprintf(r->pool, "Field '%s%s' is too long.",
                                    prefix, f->name);
            if (!csam_api_printable(json_string_value(value),
                                    json_string_length(value)))
                return apr_psprintf(r->pool,
                                    "Field '%s%s' has a control "
                                    "character.",
                                    prefix, f->name);
            break;
        case CSAM_API_BOOLEAN:
            if (!json_is_boolean(value))
                return apr_psprintf(r->pool,
                                    "Field '%s%s' must be true or "
                                    "false.",
                                    prefix, f->name);
            break;
        case CSAM_API_OBJECT:
            if (!json_is_object(value))
                return apr_psprintf(r->pool,
                                    "Field '%s%s' must be an "
                                    "object.",
                                    prefix, f->name);
            err = csam_api_check_fields(r, value, f->sub,
                                        apr_pstrcat(r->pool, prefix, f->name,
                                                    ".", NULL));
            if (err != NULL)
                return err;
            break;
        }
    }
    return NULL;
}

/* Strings in a request (passwords among them) are wiped before jansson
 * frees them. */
/* The JSON came from json_loadb, whose parser refuses nesting deeper than
 * JSON_PARSER_MAX_DEPTH (2048).
 * NOLINTNEXTLINE(misc-no-recursion) */
static void csam_api_wipe_strings(json_t *json)
{
    const char *key;
    json_t *value;
    size_t i;

    if (json_is_string(json)) {
        csam_wipe((char *)json_string_value(json), json_string_length(json));
    } else if (json_is_object(json)) {
        json_object_foreach(json, key, value) csam_api_wipe_strings(value);
    } else if (json_is_array(json)) {
        json_array_foreach(json, i, value) csam_api_wipe_strings(value);
    }
}

static apr_status_t csam_api_wipe_request(void *data)
{
    json_t *json = data;

    csam_api_wipe_strings(json);
    json_decref(json);
    return APR_SUCCESS;
}

int csam_api_read(request_rec *r, const struct csam_api_field *spec,
                  json_t **out)
{
    json_error_t jerr;
    json_t *json;
    char *body;
    apr_size_t len;
    const char *err;
    int rv;

    *out = NULL;
    if (!csam_http_content_type_is(r, "application/json")) {
        ap_discard_request_body(r);
        return csam_api_fail(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                             "unsupported_media_type",
                             "The body must be application/json.");
    }
    rv = csam_http_read_body(r, &body, &len);
    if (rv == HTTP_REQUEST_ENTITY_TOO_LARGE)
        return csam_api_fail(r, rv, "too_large",
                             "The body is larger than 64 KiB.");
    if (rv != OK)
        return csam_api_fail(r, HTTP_BAD_REQUEST, "invalid_request",
                             "The body could not be read.");
    /* JSON_REJECT_DUPLICATES: {"code":"a","code":"b"} must not let two
     * layers read two values.  NUL in strings is refused by default. */
    json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL)
        return csam_api_fail(r, HTTP_BAD_REQUEST, "invalid_request",
                             "The body is not valid JSON.");
    apr_pool_cleanup_register(r->pool, json, csam_api_wipe_request,
                              apr_pool_cleanup_null);
    if (!json_is_object(json))
        return csam_api_fail(r, HTTP_BAD_REQUEST, "invalid_request",
                             "The body must be a JSON object.");
    err = csam_api_check_fields(r, json, spec, "");
    if (err != NULL)
        return csam_api_fail(r, HTTP_BAD_REQUEST, "invalid_request", err);
    *out = json;
    return OK;
}

static const struct csam_api_field csam_api_no_fields[] = {
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

/* A body that is sent is JSON like every body of the API, and so is a
 * declared Content-Type: a form or text/plain post, which any other
 * site's page can make, is 415. */
int csam_api_bodiless(request_rec *r, int *rv)
{
    json_t *body;

    if (ap_request_has_body(r)) {
        *rv = csam_api_read(r, csam_api_no_fields, &body);
        return body != NULL;
    }
    if (apr_table_get(r->headers_in, "Content-Type") != NULL
        && !csam_http_content_type_is(r, "application/json")) {
        ap_discard_request_body(r);
        *rv = csam_api_fail(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                            "unsupported_media_type",
                            "This endpoint takes no body, or a JSON one.");
        return 0;
    }
    return 1;
}

const char *csam_api_string(json_t *obj, const char *name)
{
    json_t *value = json_object_get(obj, name);

    return json_is_string(value) ? json_string_value(value) : NULL;
}

const char *csam_api_time(request_rec *r, apr_int64_t unix_seconds)
{
    apr_time_exp_t t;
    char buf[32];
    apr_size_t len = 0;

    if (apr_time_exp_gmt(&t, apr_time_from_sec(unix_seconds)) != APR_SUCCESS
        || apr_strftime(buf, &len, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t)
               != APR_SUCCESS)
        return "";
    return apr_pstrmemdup(r->pool, buf, len);
}

int csam_api_no_content(request_rec *r)
{
    r->status = HTTP_NO_CONTENT;
    ap_set_content_type(r, "application/json; charset=utf-8");
    csam_http_security_headers(r, 1);
    return OK;
}

int csam_api_session(request_rec *r, struct csam_session_info *out, int *rv)
{
    struct csam_mod_runtime *rt = csam_runtime_get(r);
    int state = csam_session_fresh(r, rt, out);

    if (state == 1)
        return 1;
    ap_discard_request_body(r);
    if (state < 0) {
        *rv = csam_api_error(r, CSAM_ERR_DB, NULL);
        return 0;
    }
    /* A dead cookie goes, so the browser stops sending it. */
    if (csam_session_cookie_get(r) != NULL)
        csam_session_cookie_clear(r, rt);
    apr_table_setn(r->err_headers_out, "WWW-Authenticate", "CSAM");
    *rv = csam_api_fail(r, HTTP_UNAUTHORIZED, "unauthenticated",
                        "A session is required: log in first.");
    return 0;
}

csam_engine *csam_api_engine(request_rec *r, int *rv)
{
    csam_engine *engine = NULL;

    if (csam_pool_engine(r, &engine) != APR_SUCCESS) {
        *rv = csam_api_error(r, CSAM_ERR_DB, NULL);
        return NULL;
    }
    return engine;
}

int csam_api_begin(request_rec *r, const struct csam_api_prelude *pre,
                   struct csam_api_call *call, int *rv)
{
    memset(call, 0, sizeof(*call));
    call->key_type = CSAM_KEY_NONE;
    if (pre->fields == NULL)
        ap_discard_request_body(r);
    else {
        *rv = csam_api_read(r, pre->fields, &call->body);
        if (call->body == NULL)
            return 0;
    }
    if (pre->key_field != NULL) {
        call->key_type = csam_key_type_parse(
            csam_api_string(call->body, pre->key_field));
        if (call->key_type == CSAM_KEY_NONE) {
            *rv = csam_api_fail(r, HTTP_BAD_REQUEST, "invalid_request",
                                "key_type must be email, sms or totp.");
            return 0;
        }
    }
    if (pre->handle_field != NULL) {
        /* A handle of the wrong shape is as unknown as any other. */
        call->handle = csam_api_string(call->body, pre->handle_field);
        if (!csam_token_valid(call->handle)) {
            *rv = csam_api_error(r, CSAM_ERR_EXPIRED, NULL);
            return 0;
        }
    }
    call->engine = csam_api_engine(r, rv);
    return call->engine != NULL;
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

static apr_status_t csam_api_free_outcome(void *data)
{
    csam_credentials_outcome_free(data);
    return APR_SUCCESS;
}

struct csam_credentials_outcome *csam_api_outcome(request_rec *r)
{
    struct csam_credentials_outcome *out = apr_pcalloc(r->pool, sizeof(*out));

    apr_pool_cleanup_register(r->pool, out, csam_api_free_outcome,
                              apr_pool_cleanup_null);
    return out;
}

int csam_api_send_outcome(request_rec *r,
                          const struct csam_credentials_outcome *out)
{
    json_t *reply = csam_api_own(r, json_pack("{s:s}", "next",
                                              csam_step_name(out->next)));

    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (out->otpauth_uri != NULL && out->totp_secret != NULL) {
        json_object_set_new(reply, "otpauth_uri",
                            json_string(out->otpauth_uri));
        json_object_set_new(reply, "secret", json_string(out->totp_secret));
    }
    return csam_api_send(r, HTTP_ACCEPTED, reply);
}
