/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON API's files: api.c routes, api_util.c holds what every endpoint
 * shares (this header's helpers), api_activation.c, api_login.c,
 * api_keys.c and api_helpdesk.c hold the endpoints.
 */
#ifndef CSAM_MOD_API_H
#define CSAM_MOD_API_H

#include <jansson.h>

#include "httpd.h"

#include "mod_csam.h"

/* Where httpd's own error answers on the API's paths (and a Require
 * csam-key refusal of an API client) are sent: an ErrorDocument set per
 * request, under the handler path. */
#define CSAM_API_ERROR_PATH "/api/v1/error"
/* A request note: Require csam-key refused the session's key, so the
 * error endpoint answers 403 forbidden whatever status httpd chose. */
#define CSAM_API_KEY_REFUSED_NOTE "csam-key-refused"

enum csam_api_type { CSAM_API_STRING, CSAM_API_BOOLEAN, CSAM_API_OBJECT };

/* One accepted field of a request body; a list ends with name NULL.
 * Strings longer than max bytes (0: no limit but the body's) are refused. */
struct csam_api_field {
    const char *name;
    enum csam_api_type type;
    int required;
    size_t max;
    const struct csam_api_field *sub; /* CSAM_API_OBJECT */
};

/* Check the Content-Type, read the body (64 KiB at most) and parse it as a
 * JSON object holding only the fields of spec, of their types, with no
 * control characters in strings.  On success *out is the object (owned by
 * r->pool, its strings wiped when it goes) and OK is returned; otherwise an
 * error response was written and *out is NULL: return the value returned. */
int csam_api_read(request_rec *r, const struct csam_api_field *spec,
                  json_t **out);

/* An endpoint that takes no body: none, or a JSON one with no field
 * ({}); a declared Content-Type other than JSON is 415, a body over
 * 64 KiB 413.  1 when the endpoint goes on; 0 when an answer was
 * written, *rv being what the handler returns. */
int csam_api_bodiless(request_rec *r, int *rv);

/* The string field `name` of obj, or NULL. */
const char *csam_api_string(json_t *obj, const char *name);

/* Hand json to r->pool (decref'd with it); returns json. */
json_t *csam_api_own(request_rec *r, json_t *json);

/* Write body with status; returns what the handler returns. */
int csam_api_send(request_rec *r, int status, json_t *body);

/* Write {"error", "message"} with status. */
int csam_api_fail(request_rec *r, int status, const char *error,
                  const char *message);

/* Write the error response for a core result, with attempts_left and
 * retry_after from att (may be NULL) where they apply. */
int csam_api_error(request_rec *r, csam_result res,
                   const struct csam_attempts *att);

/* The engine for this request, or a 503 written: returns NULL then, with
 * *rv what the handler returns. */
csam_engine *csam_api_engine(request_rec *r, int *rv);

/* What an endpoint asks of its request before it calls the engine. */
struct csam_api_prelude {
    const struct csam_api_field *fields; /* the body; NULL: none (dropped) */
    const char *key_field;    /* a key type name the body must hold (400
                                 invalid_request otherwise), or NULL */
    const char *handle_field; /* a flow handle the body must hold, of a
                                 token's shape (answered as expired
                                 otherwise, like any unknown one), or NULL */
};

/* What the prelude hands the endpoint. */
struct csam_api_call {
    json_t *body;                /* NULL when the prelude takes no body */
    enum csam_key_type key_type; /* CSAM_KEY_NONE without key_field */
    const char *handle;          /* NULL without handle_field */
    csam_engine *engine;
};

/* The prelude every endpoint repeats: read and check the body, its key
 * type and its handle, in that order, then take the request's engine.
 * 1 when the endpoint goes on; 0 when an answer was written, *rv being
 * what the handler returns. */
int csam_api_begin(request_rec *r, const struct csam_api_prelude *pre,
                   struct csam_api_call *call, int *rv);

/* A credentials outcome living as long as r->pool (freed and wiped with
 * it), and the 202 {next, otpauth_uri?, secret?} that answers one. */
struct csam_credentials_outcome *csam_api_outcome(request_rec *r);
int csam_api_send_outcome(request_rec *r,
                          const struct csam_credentials_outcome *out);

/* A JSON array of the key type names in mask. */
json_t *csam_api_key_types(unsigned mask);

/* An RFC 3339 UTC time for Unix seconds, in r->pool. */
const char *csam_api_time(request_rec *r, apr_int64_t unix_seconds);

/* 204 with the API's headers and no body. */
int csam_api_no_content(request_rec *r);

/* The request's live session, checked in the database; otherwise 401
 * unauthenticated (or 503) is written and 0 returned with *rv what the
 * handler returns. */
int csam_api_session(request_rec *r, struct csam_session_info *out, int *rv);

/* The officer endpoints' gate (DESIGN 3.1; api_officer.c): the
 * administrator's own
 * authentication names the officer; without it there is no open desk,
 * and a citizen's AuthType CSAM session is never one.  0 when r->user is
 * an officer whose name can be recorded; otherwise 403 forbidden was
 * written (the body discarded) and *rv is what the handler returns. */
int csam_api_officer_refused(request_rec *r, int *rv);

/* The JSON array [{type, status, activated_at}] of keys (api_keys.c). */
json_t *csam_api_key_list(const struct csam_key_info *keys, size_t n);

/* Registration and activation endpoints (api_activation.c). */
int csam_api_registrations(request_rec *r);
int csam_api_activation_open(request_rec *r);
/* POST /online: the online procedure (DESIGN 2.6). */
int csam_api_online(request_rec *r);
int csam_api_activation_key(request_rec *r);
int csam_api_activation_credentials(request_rec *r);
int csam_api_activation_confirm(request_rec *r);
int csam_api_activation_resend(request_rec *r);

/* The helpdesk's endpoints (api_helpdesk.c): GET registrations?
 * national_number=, and the paths below registrations/ and accounts/
 * (csam_api_helpdesk_route answers those, or 0 when path is none of
 * them). */
int csam_api_helpdesk_find(request_rec *r);
int csam_api_helpdesk_route(request_rec *r, const char *path, int *rv);

/* Login, session and self-management endpoints (api_login.c,
 * api_keys.c). */
int csam_api_login(request_rec *r);
int csam_api_login_challenge(request_rec *r);
int csam_api_login_verify(request_rec *r);
int csam_api_me(request_rec *r);
int csam_api_logout(request_rec *r);
int csam_api_keys_list(request_rec *r);
int csam_api_keys_add(request_rec *r);
int csam_api_keys_confirm(request_rec *r);
int csam_api_key_delete(request_rec *r, const char *type);
int csam_api_password(request_rec *r);

#endif
