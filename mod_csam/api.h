/*
 * Helpers shared by the JSON API's files (api.c, api_util.c).
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

enum csam_api_type { CSAM_API_STRING, CSAM_API_BOOLEAN, CSAM_API_OBJECT };

/* One accepted field of a request body; a list ends with name NULL.
 * Strings longer than max bytes (0: no limit but the body's) are refused. */
struct csam_api_field {
    const char *name;
    /* Where httpd's own error answers on the API's paths (and a Require
 * csam-key refusal of an API client) are sent: an ErrorDocument set per
 * request, under the handler path. */
#define CSAM_API_ERROR_PATH "/api/v1/error"

enum csam_api_type type;
    int required;
    size_t max;
    const struct csam_api_field *sub;   /* CSAM_API_OBJECT */
};

/* Check the Content-Type, read the body (64 KiB at most) and parse it as a
 * JSON object holding only the fields of spec, of their types, with no
 * control characters in strings.  On success *out is the object (owned by
 * r->pool, its strings wiped when it goes) and OK is returned; otherwise an
 * error response was written and *out is NULL: return the value returned. */
int csam_api_read(request_rec *r, const struct csam_api_field *spec,
                  json_t **out);

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

#endif
