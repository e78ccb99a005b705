/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keeping the activation link's token, and the national number of the
 * helpdesk's search, out of httpd's logs (DESIGN 4: no secret reaches a
 * log; the number leaves the database nowhere else).
 *
 * The e-mailed link is <CSAMHandlerPath>/activate?t=<token>, and httpd
 * logs request lines: %r of the access log (the combined format has it),
 * %q and %U%q, mod_log_forensic.  The token is lifted out of the request
 * as soon as httpd has read it: in post_read_request, before
 * mod_log_forensic writes its line, the request line, the unparsed URI
 * and the query are rewritten to say t=redacted, and the token is kept
 * in the request's pool, where no log format reaches.  The activation page
 * takes it from there, trades it for its sealed flow cookie and redirects
 * to the address without it (page_activate.c), so the browser never
 * sends it again.  The helpdesk's GET <handler>/api/v1/registrations?
 * national_number=N (DESIGN 3.1) is treated the same way: the logs say
 * national_number=redacted and the endpoint reads the query kept here.
 *
 * The first pass compares the path normalised as httpd will (escapes,
 * //, dot segments); a second one in log_transaction, before mod_log_config
 * writes the line, looks again with the r->uri the request really ran
 * with, for whatever the first could not foresee.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "apr_strings.h"

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

/* r->pool userdata: the query as the client sent it. */
#define CSAM_REDACT_KEY "csam-activate-query"
#define CSAM_REDACT_ACTIVATE "t=redacted"

/* The paths under the handler whose query carries a secret, and what the
 * logs see instead. */
struct csam_redact_path {
    const char *path;
    const char *query;
};

static const struct csam_redact_path csam_redact_paths[] = {
    {"/activate", CSAM_REDACT_ACTIVATE},
    {"/api/v1/registrations", "national_number=redacted"},
};

/* s with the query (from '?' to the end of the URI, the next space)
 * replaced by query; s itself when it has none. */
static const char *csam_redact_line(apr_pool_t *p, const char *s,
                                    const char *query)
{
    const char *q, *end;

    if (s == NULL || (q = strchr(s, '?')) == NULL)
        return s;
    end = strchr(q, ' ');
    return apr_pstrcat(p, apr_pstrmemdup(p, s, (apr_size_t)(q - s + 1)), query,
                       end ? end : "", NULL);
}

/* The redacted query of path if it is one of this server's paths with a
 * secret in the query, else NULL. */
static const char *csam_redact_match(const request_rec *r, const char *path)
{
    const struct csam_mod_runtime *rt = csam_runtime_get(r);
    size_t blen, i;

    if (rt == NULL || path == NULL)
        return NULL;
    blen = strlen(rt->config.handler_path);
    if (strncmp(path, rt->config.handler_path, blen) != 0)
        return NULL;
    for (i = 0; i < sizeof(csam_redact_paths) / sizeof(csam_redact_paths[0]);
         i++)
        if (strcmp(path + blen, csam_redact_paths[i].path) == 0)
            return csam_redact_paths[i].query;
    return NULL;
}

/* Rewrite what loggers read of r; keep the real query for the page. */
static void csam_redact_apply(request_rec *r, const char *query)
{
    void *kept = NULL;

    if (r->args == NULL || strcmp(r->args, query) == 0)
        return;
    if (apr_pool_userdata_get(&kept, CSAM_REDACT_KEY, r->pool) != APR_SUCCESS
        || kept == NULL)
        apr_pool_userdata_setn(apr_pstrdup(r->pool, r->args), CSAM_REDACT_KEY,
                               NULL, r->pool);
    r->the_request = (char *)csam_redact_line(r->pool, r->the_request, query);
    r->unparsed_uri = (char *)csam_redact_line(r->pool, r->unparsed_uri, query);
    r->args = apr_pstrdup(r->pool, query);
    r->parsed_uri.query = r->args;
}

/* The request's path as httpd will map it: %-escapes decoded, slashes
 * merged, dot segments resolved (what ap_process_request_internal does
 * later), so no spelling of the page slips past the first pass. */
static const char *csam_redact_normal_path(request_rec *r)
{
    char *path;

    if (r->parsed_uri.path == NULL)
        return NULL;
    path = apr_pstrdup(r->pool, r->parsed_uri.path);
    if (ap_unescape_url(path) != OK)
        return r->parsed_uri.path;
    ap_no2slash(path);
    ap_getparents(path);
    return path;
}

static int csam_redact_post_read(request_rec *r)
{
    const char *query;

    if (r->args != NULL
        && (query = csam_redact_match(r, csam_redact_normal_path(r))) != NULL)
        csam_redact_apply(r, query);
    return DECLINED;
}

static int csam_redact_log(request_rec *r)
{
    request_rec *q;

    /* Internal redirects share the request line: every request of the
     * chain is looked at, each under the path it ran with. */
    for (q = r; q != NULL; q = q->next) {
        const char *query;

        if (q->args != NULL && (query = csam_redact_match(q, q->uri)) != NULL)
            csam_redact_apply(q, query);
    }
    return DECLINED;
}

const char *csam_redact_activation_query(request_rec *r)
{
    const char *query;
    void *kept = NULL;

    if (apr_pool_userdata_get(&kept, CSAM_REDACT_KEY, r->pool) == APR_SUCCESS
        && kept != NULL)
        return kept;
    /* Reached under a spelling post_read_request did not match: taken
     * now, and the logs get the redacted form all the same. */
    query = csam_redact_match(r, r->uri);
    csam_redact_apply(r, query != NULL ? query : CSAM_REDACT_ACTIVATE);
    if (apr_pool_userdata_get(&kept, CSAM_REDACT_KEY, r->pool) == APR_SUCCESS)
        return kept;
    return NULL;
}

void csam_redact_register(apr_pool_t *p)
{
    /* Before mod_log_forensic, which logs the request line in this same
     * hook, and before mod_log_config's transaction log. */
    static const char *const forensic[] = {"mod_log_forensic.c", NULL};
    static const char *const log_config[] = {"mod_log_config.c", NULL};

    (void)p;
    ap_hook_post_read_request(csam_redact_post_read, NULL, forensic,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_log_transaction(csam_redact_log, NULL, log_config,
                            APR_HOOK_REALLY_FIRST);
}
