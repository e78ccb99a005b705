/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The activation pages' files: page_activate.c holds the entry points
 * (the link, /csam/activate, the hand-over from the online procedure)
 * and the GET of the current step, page_activate_post.c the POST of one
 * step, page_activate_flow.c the flow cookie and the helpers both use
 * (this header).  The POST file calls into the flow file, never back into
 * page_activate.c.
 */
#ifndef CSAM_MOD_PAGE_ACTIVATE_H
#define CSAM_MOD_PAGE_ACTIVATE_H

#include <jansson.h>

#include "httpd.h"

#include "mod_csam.h"

/* The flash of the activation pages (errors, notices, refilled values). */
#define CSAM_PAGE_ACT_FLASH "activate"

/* One request on the activation pages. */
struct csam_page_act {
    request_rec *r;
    struct csam_mod_runtime *rt;
    const char *token;    /* the link's, from the flow cookie, or NULL */
    const char *location; /* this page: where every POST returns */
    const char *browser;
    const char *handle; /* from the flow cookie, NULL when none */
    json_t *flow;       /* the flow cookie's object, or NULL */
    int online;         /* the flow is the online procedure's (no token) */
    csam_engine *engine;
};

/* ---- the flow cookie (page_activate_flow.c) ----------------------------- */

/* Read the flow cookie into a: token (or online), handle, flow; all NULL
 * (0) when there is none or it is not valid. */
void csam_page_act_flow(struct csam_page_act *a);
/* Write flow (taken, may be NULL: then nothing is written) as the flow
 * cookie, valid for the flow's lifetime. */
void csam_page_act_flow_set(struct csam_page_act *a, json_t *flow);
/* The flow cookie again with key set to value (a string, or the integer n
 * when value is NULL). */
void csam_page_act_flow_update(struct csam_page_act *a, const char *key,
                               const char *value, json_int_t n);
/* The handle is dead: back to the link alone, or online, the flow ends. */
void csam_page_act_flow_reset(struct csam_page_act *a);
/* A new flow object holding the flow's first member: the link's token,
 * or the online mark. */
json_t *csam_page_act_flow_origin(const struct csam_page_act *a);
/* The flow cookie's string member key, or NULL. */
const char *csam_page_act_flow_str(const struct csam_page_act *a,
                                   const char *key);
/* The key types this activation may choose from (CSAM_KEY_EMAIL when the
 * flow does not say). */
unsigned csam_page_act_offered(const struct csam_page_act *a);
/* Set a->engine from the request's pool; 0 when there is none. */
int csam_page_act_engine(struct csam_page_act *a);
/* The 503 page "unavailable" in language lang. */
int csam_page_act_unavailable(struct csam_page_act *a, int lang);

/* ---- POST: one step (page_activate_post.c) ------------------------------ */

/* A POST to /csam/activate: read the form, check its CSRF token, run the
 * step it names with the flow's handle, and answer 303 to a->location
 * (or an error page).  a->flow was read. */
int csam_page_act_post(struct csam_page_act *a);

#endif
