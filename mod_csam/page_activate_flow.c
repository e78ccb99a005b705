/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The activation pages' flow cookie, and what the GET of the current step
 * (page_activate.c) and the POST of one step (page_activate_post.c) both
 * need from it: the sealed, HttpOnly cookie bound to this browser holds
 * the link's token (or the online mark), the activation handle once it
 * is opened, and what the later pages say (language, key types offered,
 * masked phone, the app key's secret until it is confirmed, the outcome).
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"
#include "page_activate.h"

#define CSAM_PAGE_COOKIE_FLOW "csam_act"

static apr_status_t csam_page_act_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* Read the flow cookie: the link's token, and the handle once the paper
 * code opened the activation. */
void csam_page_act_flow(struct csam_page_act *a)
{
    char *text = csam_cookie_get(a->r, a->rt, CSAM_PAGE_COOKIE_FLOW,
                                 a->browser);
    const char *t;
    json_t *flow;

    a->flow = NULL;
    a->token = NULL;
    a->handle = NULL;
    a->online = 0;
    if (text == NULL || (flow = json_loads(text, 0, NULL)) == NULL)
        return;
    apr_pool_cleanup_register(a->r->pool, flow, csam_page_act_decref,
                              apr_pool_cleanup_null);
    if (json_is_true(json_object_get(flow, "on"))) {
        a->online = 1;
    } else {
        t = json_string_value(json_object_get(flow, "t"));
        if (t == NULL || !csam_token_valid(t))
            return;
        a->token = t;
    }
    a->flow = flow;
    a->handle = json_string_value(json_object_get(flow, "h"));
    if (a->handle != NULL && !csam_token_valid(a->handle))
        a->handle = NULL;
}

/* The flow cookie again with key set to value (a string, or an integer
 * when value is NULL). */
void csam_page_act_flow_update(struct csam_page_act *a, const char *key,
                               const char *value, json_int_t n)
{
    json_t *flow = a->flow ? json_deep_copy(a->flow) : NULL;

    if (flow == NULL)
        return;
    json_object_set_new(flow, key,
                        value ? json_string(value) : json_integer(n));
    csam_page_act_flow_set(a, flow);
}

void csam_page_act_flow_set(struct csam_page_act *a, json_t *flow)
{
    char *text = flow ? json_dumps(flow, JSON_COMPACT) : NULL;

    json_decref(flow);
    if (text == NULL)
        return;
    csam_cookie_set(a->r, a->rt, CSAM_PAGE_COOKIE_FLOW, a->browser, text,
                    a->rt->config.flow_ttl);
    csam_wipe(text, strlen(text));
    free(text);
}

/* Back to the link alone (its handle is dead): the next GET asks for the
 * paper code again if the link still lives, or says it does not. */
void csam_page_act_flow_reset(struct csam_page_act *a)
{
    /* Online, there is no link to go back to: the flow is over. */
    if (a->online) {
        csam_cookie_clear(a->r, a->rt, CSAM_PAGE_COOKIE_FLOW);
        a->flow = NULL;
        a->handle = NULL;
        return;
    }
    csam_page_act_flow_set(a, json_pack("{s:s}", "t", a->token));
}

/* The flow cookie's first member: the link's token, or the online mark. */
json_t *csam_page_act_flow_origin(const struct csam_page_act *a)
{
    return a->online ? json_pack("{s:b}", "on", 1)
                     : json_pack("{s:s}", "t", a->token);
}

int csam_page_act_engine(struct csam_page_act *a)
{
    return csam_pool_engine(a->r, &a->engine) == APR_SUCCESS;
}

int csam_page_act_unavailable(struct csam_page_act *a, int lang)
{
    return csam_page_message(a->r, a->rt, lang, "unavailable",
                             HTTP_SERVICE_UNAVAILABLE);
}

/* The key types this activation may choose from (the engine's answer to
 * the paper code, kept in the flow cookie). */
unsigned csam_page_act_offered(const struct csam_page_act *a)
{
    json_int_t k = a->flow ? json_integer_value(json_object_get(a->flow, "k"))
                           : 0;

    k &= CSAM_KEY_ALL;
    return k != 0 ? (unsigned)k : (unsigned)CSAM_KEY_EMAIL;
}

const char *csam_page_act_flow_str(const struct csam_page_act *a,
                                   const char *key)
{
    return a->flow ? json_string_value(json_object_get(a->flow, key)) : NULL;
}
