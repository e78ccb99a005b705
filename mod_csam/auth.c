/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protecting a location (DESIGN 3.3): `AuthType CSAM` is an
 * authentication hook, as mod_auth_basic's AuthType Basic is, that takes
 * the identity from the csam_session cookie; `Require csam-key <types>`
 * is an authorization provider in httpd's authz group, so it composes
 * with <RequireAll>, <RequireAny> and every other Require.
 *
 * This runs on every protected request: it does no logging, no database
 * call for a session the child's cache holds, and allocates only the few
 * strings it hands to httpd.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "api.h"

APLOG_USE_MODULE(csam);

#define CSAM_AUTH_TYPE "CSAM"
/* r->pool userdata: this request's user was set by AuthType CSAM.  Not a
 * note, header or environment variable: nothing a client or another
 * module's configuration can set or clear. */
#define CSAM_AUTH_MARK "csam-auth-citizen"
/* Subrequests and internal redirects nest; a chain this deep is a loop
 * httpd itself refuses (LimitInternalRecursion defaults to 10). */
#define CSAM_AUTH_CHAIN_MAX 64

/* Browsers are requests whose Accept names text/html (DESIGN 3.2). */
static int csam_auth_is_browser(const request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return accept != NULL && ap_strcasestr(accept, "text/html") != NULL;
}

/* No live session: browsers go to the login page, API clients get the
 * API's 401. */
static int csam_auth_challenge(request_rec *r, struct csam_mod_runtime *rt)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (csam_auth_is_browser(r)) {
        apr_table_setn(r->headers_out, "Location",
                       csam_return_login_url(r, rt, csam_return_of_request(r)));
        return HTTP_SEE_OTHER;
    }
    apr_table_setn(r->err_headers_out, "WWW-Authenticate", CSAM_AUTH_TYPE);
    /* A subrequest's answer is not the client's: httpd's own status
     * then decides. */
    if (r->main != NULL)
        return HTTP_UNAUTHORIZED;
    ap_discard_request_body(r);
    csam_api_fail(r, HTTP_UNAUTHORIZED, "unauthenticated",
                  "A session is required: log in first.");
    return DONE;
}

static int csam_auth_unavailable(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    if (csam_auth_is_browser(r) || r->main != NULL)
        return HTTP_SERVICE_UNAVAILABLE;
    ap_discard_request_body(r);
    csam_api_error(r, CSAM_ERR_DB, NULL);
    return DONE;
}

/* The check_authn hook of AuthType CSAM. */
static int csam_auth_check_user(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const struct csam_mod_dir *dconf;
    struct csam_mod_runtime *rt;
    struct csam_session_info info;
    const char *key;
    const char *when;
    const char *subject;
    const char *national = NULL;
    int headers, state;

    if (type == NULL || strcasecmp(type, CSAM_AUTH_TYPE) != 0)
        return DECLINED;
    rt = csam_runtime_get(r);
    if (rt == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00023: AuthType CSAM in a server without CSAM "
                      "configuration (CSAMDatabase, CSAMPublicURL, ...)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    dconf = ap_get_module_config(r->per_dir_config, &csam_module);
    headers = dconf != NULL && dconf->identity_headers == 1;
    /* The national number is read only where it is exposed. */
    if (dconf != NULL && dconf->expose_national_number == 1)
        state = csam_session_current_national(r, rt, &info);
    else
        state = csam_session_current(r, rt, &info);
    if (state < 0)
        return csam_auth_unavailable(r);
    if (state == 0)
        return csam_auth_challenge(r, rt);

    r->user = apr_pstrdup(r->pool, info.username);
    r->ap_auth_type = (char *)CSAM_AUTH_TYPE;
    apr_pool_userdata_setn(r->user, CSAM_AUTH_MARK, NULL, r->pool);
    key = csam_key_type_name(info.key_type);
    if (key == NULL)
        key = "";
    when = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                        (apr_int64_t)info.auth_time);
    subject = apr_pstrdup(r->pool, info.subject);
    if (info.national_number[0] != '\0') {
        national = apr_pstrdup(r->pool, info.national_number);
        csam_wipe(info.national_number, sizeof(info.national_number));
    }
    /* REMOTE_USER comes from r->user; these add what only CSAM knows. */
    apr_table_setn(r->subprocess_env, "CSAM_USER", r->user);
    apr_table_setn(r->subprocess_env, "CSAM_KEY", key);
    apr_table_setn(r->subprocess_env, "CSAM_AUTH_TIME", when);
    apr_table_setn(r->subprocess_env, "CSAM_SUBJECT", subject);
    /* Where it is not exposed (or not known), no variable of that name
     * reaches the backend, whatever else set one. */
    if (national != NULL)
        apr_table_setn(r->subprocess_env, "CSAM_NATIONAL_NUMBER", national);
    else
        apr_table_unset(r->subprocess_env, "CSAM_NATIONAL_NUMBER");
    if (headers) {
        /* Client-sent X-CSAM-* headers were removed when the request
         * was read, X-CSAM-National-Number too, whatever this location
         * exposes; usernames are [a-z0-9._-], subjects base64url and
         * numbers digits: safe in a header. */
        apr_table_setn(r->headers_in, "X-CSAM-User", r->user);
        apr_table_setn(r->headers_in, "X-CSAM-Key", key);
        apr_table_setn(r->headers_in, "X-CSAM-Auth-Time", when);
        apr_table_setn(r->headers_in, "X-CSAM-Subject", subject);
        if (national != NULL)
            apr_table_setn(r->headers_in, "X-CSAM-National-Number", national);
    }
    return OK;
}

static int csam_auth_is_csam(const char *type)
{
    return type != NULL && strcasecmp(type, CSAM_AUTH_TYPE) == 0;
}

/* 1 if AuthType CSAM authenticated q or a request q was made from: a
 * subrequest or an internal redirect inherits its parent's user (httpd
 * copies r->user when the configuration is the same), and must inherit
 * what that user is. */
/* Depth stops at CSAM_AUTH_CHAIN_MAX.
 * NOLINTNEXTLINE(misc-no-recursion) */
static int csam_auth_chain_marked(const request_rec *q, int depth)
{
    void *mark = NULL;

    if (q == NULL || depth > CSAM_AUTH_CHAIN_MAX)
        return depth > CSAM_AUTH_CHAIN_MAX;
    if (apr_pool_userdata_get(&mark, CSAM_AUTH_MARK, q->pool) == APR_SUCCESS
        && mark != NULL)
        return 1;
    return csam_auth_chain_marked(q->main, depth + 1)
           || csam_auth_chain_marked(q->prev, depth + 1);
}

enum csam_officer csam_auth_officer(request_rec *r)
{
    if (r->user == NULL || r->user[0] == '\0')
        return CSAM_OFFICER_NONE;
    /* Three views of one fact, any of which suffices: the type that
     * authenticated this request, the type configured where it runs, and
     * the mark AuthType CSAM left on it or on the request it came from. */
    if (csam_auth_is_csam(r->ap_auth_type) || csam_auth_is_csam(ap_auth_type(r))
        || csam_auth_chain_marked(r, 0))
        return CSAM_OFFICER_CITIZEN;
    return CSAM_OFFICER_OK;
}

/* Require csam-key email sms totp: the session's key is one of these. */
static authz_status csam_auth_key_check(request_rec *r, const char *line_text,
                                        const void *parsed)
{
    const unsigned *mask = parsed;
    struct csam_mod_runtime *rt;
    struct csam_session_info info;

    (void)line_text;
    if (r->user == NULL)
        return AUTHZ_DENIED_NO_USER;
    rt = csam_runtime_get(r);
    /* A user another AuthType authenticated has no CSAM key. */
    if (rt == NULL || r->ap_auth_type == NULL
        || strcasecmp(r->ap_auth_type, CSAM_AUTH_TYPE) != 0
        || csam_session_current(r, rt, &info) != 1)
        return AUTHZ_DENIED;
    if ((unsigned)info.key_type & *mask)
        return AUTHZ_GRANTED;
    /* httpd answers: 401 for a refused user unless the location says
     * AuthzSendForbiddenOnFailure On, then 403.  API clients get the
     * API's JSON 403 either way, from its error endpoint. */
    if (!csam_auth_is_browser(r)) {
        const char *target = apr_pstrcat(r->pool, rt->config.handler_path,
                                         CSAM_API_ERROR_PATH, NULL);

        apr_table_setn(r->notes, CSAM_API_KEY_REFUSED_NOTE, "1");
        ap_custom_response(r, HTTP_UNAUTHORIZED, target);
        ap_custom_response(r, HTTP_FORBIDDEN, target);
    }
    return AUTHZ_DENIED;
}

static const char *csam_auth_key_parse(cmd_parms *cmd, const char *line_text,
                                       const void **parsed)
{
    unsigned *mask = apr_pcalloc(cmd->pool, sizeof(*mask));
    const char *line = line_text;
    const char *word;

    while (*(word = ap_getword_conf(cmd->temp_pool, &line)) != '\0') {
        enum csam_key_type type = csam_key_type_parse(word);

        if (type == CSAM_KEY_NONE)
            return apr_psprintf(cmd->pool,
                                "Require csam-key: unknown key "
                                "type '%s' (email, sms, totp)",
                                word);
        *mask |= (unsigned)type;
    }
    if (*mask == 0)
        return "Require csam-key needs at least one key type "
               "(email, sms, totp)";
    *parsed = mask;
    return NULL;
}

static const authz_provider csam_auth_key_provider = {
    csam_auth_key_check,
    csam_auth_key_parse,
};

void csam_auth_register(apr_pool_t *p)
{
    /* Per configuration, not per URI: a subrequest or an internal
     * redirect with the same configuration keeps the user. */
    ap_hook_check_authn(csam_auth_check_user, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "csam-key",
                              AUTHZ_PROVIDER_VERSION, &csam_auth_key_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
