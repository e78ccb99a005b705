/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON API's request reader (mod_csam/api_util.c, csam_api_read and
 * csam_api_bodiless, over csam_http_read_body and
 * csam_http_content_type_is of mod_csam/http.c): an input is a
 * Content-Type header's value, a newline, and the request body.  The body
 * is read against two field lists shaped like the API's own (the
 * registration's, with its nested document, and the key choice's, with a
 * boolean); an accepted body must hold what the list requires, a refused
 * one must be answered with an API error in JSON. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httpd.h"
#include "http_config.h"

#include "apr_strings.h"

#include "api.h"
#include "fuzz.h"
#include "request_stubs.h"
#include "mod_csam.h"
#include "mod_stubs.h"

/* As mod_csam/api_activation.c's registration and key choice. */
static const struct csam_api_field fuzz_document_fields[] = {
    {"type", CSAM_API_STRING, 1, 1024, NULL},
    {"number", CSAM_API_STRING, 1, 1024, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field fuzz_registration_fields[] = {
    {"national_number", CSAM_API_STRING, 1, 1024, NULL},
    {"first_name", CSAM_API_STRING, 1, 1024, NULL},
    {"last_name", CSAM_API_STRING, 1, 1024, NULL},
    {"birth_date", CSAM_API_STRING, 1, 1024, NULL},
    {"document", CSAM_API_OBJECT, 1, 0, fuzz_document_fields},
    {"email", CSAM_API_STRING, 1, 1024, NULL},
    {"language", CSAM_API_STRING, 0, 1024, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field fuzz_key_fields[] = {
    {"activation", CSAM_API_STRING, 1, 128, NULL},
    {"key_type", CSAM_API_STRING, 1, 1024, NULL},
    {"accept_terms", CSAM_API_BOOLEAN, 1, 0, NULL},
    {"phone", CSAM_API_STRING, 0, 1024, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

/* Every field of spec is of its type and within its length, and a
 * required one is there; nothing else is (in obj, recursively). */
/* NOLINTNEXTLINE(misc-no-recursion) */
static void fuzz_check_accepted(json_t *obj, const struct csam_api_field *spec)
{
    const struct csam_api_field *f;
    const char *key;
    json_t *value;

    if (!json_is_object(obj))
        abort();
    json_object_foreach(obj, key, value)
    {
        for (f = spec; f->name != NULL; f++)
            if (strcmp(f->name, key) == 0)
                break;
        if (f->name == NULL)
            abort();
    }
    for (f = spec; f->name != NULL; f++) {
        value = json_object_get(obj, f->name);
        if (value == NULL || json_is_null(value)) {
            if (f->required)
                abort();
            continue;
        }
        switch (f->type) {
        case CSAM_API_STRING:
            if (csam_api_string(obj, f->name) == NULL
                || (f->max > 0 && json_string_length(value) > f->max)
                || strlen(json_string_value(value))
                       != json_string_length(value))
                abort();
            break;
        case CSAM_API_BOOLEAN:
            if (!json_is_boolean(value))
                abort();
            break;
        case CSAM_API_OBJECT: fuzz_check_accepted(value, f->sub); break;
        }
    }
}

/* A refusal: one of the reader's statuses and a JSON body naming it. */
static void fuzz_check_refused(const request_rec *r)
{
    static const char *const errors[] = {"invalid_request",
                                         "unsupported_media_type", "too_large"};
    size_t len, i;
    const char *text = fuzz_httpd_response(&len);
    json_t *reply = json_loadb(text, len, 0, NULL);
    const char *error;

    if (r->status != HTTP_BAD_REQUEST
        && r->status != HTTP_UNSUPPORTED_MEDIA_TYPE
        && r->status != HTTP_REQUEST_ENTITY_TOO_LARGE)
        abort();
    if (reply == NULL)
        abort();
    error = json_string_value(json_object_get(reply, "error"));
    for (i = 0; error != NULL && i < sizeof(errors) / sizeof(errors[0]); i++)
        if (strcmp(error, errors[i]) == 0)
            break;
    if (error == NULL || i == sizeof(errors) / sizeof(errors[0])
        || !json_is_string(json_object_get(reply, "message")))
        abort();
    json_decref(reply);
}

/* A request with a connection: a body too large closes it. */
static request_rec *fuzz_request(apr_pool_t *pool, const char *type)
{
    request_rec *r = fuzz_mod_request(pool);

    r->connection = apr_pcalloc(r->pool, sizeof(*r->connection));
    apr_table_setn(r->headers_in, "Content-Type", type);
    return r;
}

static void fuzz_read(apr_pool_t *pool, const char *type, const char *body,
                      size_t len, const struct csam_api_field *spec)
{
    request_rec *r = fuzz_request(pool, type);
    json_t *out = NULL;
    int rv;

    fuzz_httpd_body(body, len);
    rv = csam_api_read(r, spec, &out);
    /* A refusal is answered too: then rv is what writing it returned. */
    if (out != NULL && rv != OK)
        abort();
    if (out != NULL)
        fuzz_check_accepted(out, spec);
    else
        fuzz_check_refused(r);
    apr_pool_destroy(r->pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool;
    request_rec *r;
    char *in, *body;
    size_t len;
    int rv = OK, go_on;

    (void)fuzz_mod_runtime(&pool);
    if ((in = fuzz_cstring(data, size)) == NULL)
        return 0;
    /* The body is the input's bytes after the first newline, NUL bytes
     * included: only the header is a C string. */
    body = fuzz_split(in);
    len = body > in + strlen(in) ? size - (size_t)(body - in) : 0;
    fuzz_read(pool, in, body, len, fuzz_registration_fields);
    fuzz_read(pool, in, body, len, fuzz_key_fields);

    r = fuzz_request(pool, in);
    fuzz_httpd_body(body, len);
    go_on = csam_api_bodiless(r, &rv);
    if (go_on && rv != OK)
        abort();
    if (!go_on)
        fuzz_check_refused(r);
    apr_pool_destroy(r->pool);
    free(in);
    return 0;
}
