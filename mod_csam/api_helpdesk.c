/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helpdesk's JSON API (DESIGN 2.8, 3.1), officers only, as POST
 * registrations is (csam_api_officer_refused):
 *
 *   GET    <handler>/api/v1/registrations?national_number=N   200
 *   POST   <handler>/api/v1/registrations/{id}/resend         202
 *   DELETE <handler>/api/v1/registrations/{id}                204
 *   POST   <handler>/api/v1/accounts/{username}/unlock        204
 *
 * The number travels in the query: redact.c keeps it out of the logs and
 * hands it here.  The actions take no body (a JSON one is read and must
 * be empty) and, since a browser sends an officer's Basic credentials
 * along with any site's request, refuse one that says it comes from
 * another origin than CSAMPublicURL's.
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

#define CSAM_API_HELPDESK_REGISTRATIONS "/api/v1/registrations/"
#define CSAM_API_HELPDESK_ACCOUNTS "/api/v1/accounts/"
#define CSAM_API_HELPDESK_QUERY_MAX 256

static const struct csam_api_field csam_api_helpdesk_no_fields[] = {
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

/* ---- GET registrations?national_number= ------------------------------- */

/* The one parameter of the search, decoded ('+' is a space, as forms
 * write it); NULL when the query is missing, too long, malformed or has
 * any other parameter. */
static char *csam_api_helpdesk_number(request_rec *r)
{
    const char *query = csam_redact_activation_query(r);
    static const char name[] = "national_number=";
    char *value, *p;

    if (query == NULL || strlen(query) > CSAM_API_HELPDESK_QUERY_MAX
        || strncmp(query, name, sizeof(name) - 1) != 0)
        return NULL;
    value = apr_pstrdup(r->pool, query + sizeof(name) - 1);
    if (strchr(value, '&') != NULL || strchr(value, ';') != NULL)
        return NULL;
    for (p = value; *p != '\0'; p++)
        if (*p == '+')
            *p = ' ';
    if (ap_unescape_url(value) != OK || value[0] == '\0')
        return NULL;
    return value;
}

static json_t *
csam_api_helpdesk_registrations(const struct csam_helpdesk_person *who)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; list != NULL && i < who->n_registrations; i++) {
        const struct csam_helpdesk_registration *reg = &who->registrations[i];

        json_array_append_new(
            list,
            json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "registration_id",
                      (json_int_t)reg->id, "status", reg->status, "created_at",
                      reg->created_at, "expires_at", reg->expires_at, "officer",
                      reg->officer, "procedure", reg->procedure));
    }
    return list;
}

static json_t *csam_api_helpdesk_account(const struct csam_helpdesk_person *who)
{
    json_t *keys, *account;
    size_t i;

    if (!who->has_account)
        return json_null();
    keys = json_array();
    for (i = 0; keys != NULL && i < who->n_keys; i++)
        json_array_append_new(keys,
                              json_pack("{s:s, s:s}", "type",
                                        csam_key_type_name(who->keys[i].type),
                                        "status", who->keys[i].status));
    account = json_pack("{s:s, s:s, s:o}", "username", who->username, "status",
                        who->status, "keys", keys);
    if (account != NULL)
        json_object_set_new(account, "locked_until",
                            who->locked_until[0] != '\0'
                                ? json_string(who->locked_until)
                                : json_null());
    return account;
}

static json_t *csam_api_helpdesk_history(const struct csam_helpdesk_person *who)
{
    json_t *list = json_array();
    size_t i;

    for (i = 0; list != NULL && i < who->n_history; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "action",
                                              who->history[i].action, "officer",
                                              who->history[i].officer, "at",
                                              who->history[i].at));
    return list;
}

int csam_api_helpdesk_find(request_rec *r)
{
    struct csam_helpdesk_person *who;
    csam_engine *engine;
    const char *number;
    json_t *reply;
    csam_result res;
    int rv;

    if (csam_api_officer_refused(r, &rv))
        return rv;
    ap_discard_request_body(r);
    number = csam_api_helpdesk_number(r);
    if (number == NULL)
        return csam_api_fail(r, HTTP_BAD_REQUEST, "invalid_request",
                             "The query must be national_number=<number> "
                             "and nothing else.");
    engine = csam_api_engine(r, &rv);
    if (engine == NULL)
        return rv;
    who = apr_pcalloc(r->pool, sizeof(*who));
    res = csam_engine_helpdesk_find(engine, r->user, csam_http_source(r),
                                    number, who);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    reply = csam_api_own(r,
                         json_pack("{s:o, s:o, s:o}", "registrations",
                                   csam_api_helpdesk_registrations(who),
                                   "account", csam_api_helpdesk_account(who),
                                   "history", csam_api_helpdesk_history(who)));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

/* ---- the actions ------------------------------------------------------ */

/* 1 when the request may act: no Origin header (scripts, curl), or the
 * origin of CSAMPublicURL.  A browser names the origin of the page that
 * made the request, so another site's page cannot lift a lock with the
 * officer's cached credentials. */
static int csam_api_helpdesk_same_origin(request_rec *r)
{
    const struct csam_mod_runtime *rt = csam_runtime_get(r);
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *url, *host, *end;

    if (origin == NULL)
        return 1;
    if (rt == NULL || rt->config.public_url == NULL)
        return 0;
    url = rt->config.public_url;
    host = strstr(url, "://");
    if (host == NULL)
        return 0;
    end = strchr(host + 3, '/');
    return end != NULL
               ? strlen(origin) == (size_t)(end - url)
                     && strncasecmp(origin, url, (size_t)(end - url)) == 0
               : strcasecmp(origin, url) == 0;
}

/* What every action checks before the engine: the officer, the origin,
 * the body (none, or an empty JSON object).  The engine, or NULL with the
 * answer written and *rv what the handler returns. */
static csam_engine *csam_api_helpdesk_begin(request_rec *r, int *rv)
{
    json_t *body;

    if (csam_api_officer_refused(r, rv))
        return NULL;
    if (!csam_api_helpdesk_same_origin(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00970: helpdesk action by officer %s refused: "
                      "the request came from another site's page",
                      r->user);
        ap_discard_request_body(r);
        *rv = csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                            "This request comes from another site.");
        return NULL;
    }
    if (ap_request_has_body(r)) {
        *rv = csam_api_read(r, csam_api_helpdesk_no_fields, &body);
        if (body == NULL)
            return NULL;
    } else if (apr_table_get(r->headers_in, "Content-Type") != NULL
               && !csam_http_content_type_is(r, "application/json")) {
        ap_discard_request_body(r);
        *rv = csam_api_fail(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                            "unsupported_media_type",
                            "This action takes no body, or a JSON one.");
        return NULL;
    }
    return csam_api_engine(r, rv);
}

/* A registration id as the path writes it: 1 to 18 digits. */
static int csam_api_helpdesk_id(const char *text, size_t len, apr_int64_t *id)
{
    size_t i;

    if (len == 0 || len > 18 || text[0] == '0')
        return 0;
    *id = 0;
    for (i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        *id = *id * 10 + (text[i] - '0');
    }
    return 1;
}

static int csam_api_helpdesk_not_allowed(request_rec *r, const char *allow)
{
    ap_discard_request_body(r);
    apr_table_setn(r->err_headers_out, "Allow", allow);
    return csam_api_fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                         "This method is not allowed here.");
}

static int csam_api_helpdesk_registration(request_rec *r, apr_int64_t id,
                                          int resend)
{
    csam_engine *engine;
    csam_result res;
    int rv;

    if (r->method_number != (resend ? M_POST : M_DELETE))
        return csam_api_helpdesk_not_allowed(r, resend ? "POST" : "DELETE");
    engine = csam_api_helpdesk_begin(r, &rv);
    if (engine == NULL)
        return rv;
    res = resend ? csam_engine_helpdesk_resend(engine, r->user,
                                               csam_http_source(r), id)
                 : csam_engine_helpdesk_revoke(engine, r->user,
                                               csam_http_source(r), id);
    if (res == CSAM_ERR_NOT_FOUND)
        return csam_api_fail(r, HTTP_NOT_FOUND, "not_found",
                             "No live registration has this id.");
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    if (!resend)
        return csam_api_no_content(r);
    return csam_api_send(
        r, HTTP_ACCEPTED,
        csam_api_own(r, json_pack("{s:I}", "registration_id", (json_int_t)id)));
}

static int csam_api_helpdesk_unlock(request_rec *r, const char *username)
{
    csam_engine *engine;
    csam_result res;
    int rv;

    if (r->method_number != M_POST)
        return csam_api_helpdesk_not_allowed(r, "POST");
    engine = csam_api_helpdesk_begin(r, &rv);
    if (engine == NULL)
        return rv;
    res = csam_engine_helpdesk_unlock(engine, r->user, csam_http_source(r),
                                      username);
    if (res == CSAM_ERR_NOT_FOUND)
        return csam_api_fail(r, HTTP_NOT_FOUND, "not_found",
                             "No account has this username.");
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    return csam_api_no_content(r);
}

int csam_api_helpdesk_route(request_rec *r, const char *path, int *rv)
{
    const char *rest, *slash;
    apr_int64_t id;

    if (strncmp(path, CSAM_API_HELPDESK_REGISTRATIONS,
                strlen(CSAM_API_HELPDESK_REGISTRATIONS))
        == 0) {
        rest = path + strlen(CSAM_API_HELPDESK_REGISTRATIONS);
        slash = strchr(rest, '/');
        if (!csam_api_helpdesk_id(
                rest, slash ? (size_t)(slash - rest) : strlen(rest), &id))
            return 0;
        if (slash == NULL)
            *rv = csam_api_helpdesk_registration(r, id, 0);
        else if (strcmp(slash, "/resend") == 0)
            *rv = csam_api_helpdesk_registration(r, id, 1);
        else
            return 0;
        return 1;
    }
    if (strncmp(path, CSAM_API_HELPDESK_ACCOUNTS,
                strlen(CSAM_API_HELPDESK_ACCOUNTS))
        == 0) {
        rest = path + strlen(CSAM_API_HELPDESK_ACCOUNTS);
        slash = strchr(rest, '/');
        if (slash == NULL || slash == rest || strcmp(slash, "/unlock") != 0)
            return 0;
        *rv = csam_api_helpdesk_unlock(
            r, apr_pstrmemdup(r->pool, rest, (apr_size_t)(slash - rest)));
        return 1;
    }
    return 0;
}
