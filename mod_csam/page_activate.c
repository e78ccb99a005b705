/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The citizen's activation pages, in the seeds' order, all at
 * /csam/activate?t=<link token>: the paper code (Suivant), the key choice
 * and the terms of use (Activez clé numérique), username and password
 * (Suivant: a code is e-mailed or sent by SMS, or the mobile app's QR
 * code and secret are shown), that code (Continuer), done.
 *
 * The link's first request trades the token for a sealed, HttpOnly flow
 * cookie bound to this browser (cookie.c) and answers 303 to
 * /csam/activate, without the token: the browser's history, a Referer
 * and every later request line are free of it, and the logs never saw it
 * (redact.c).  GET shows the step the activation stands at; each form
 * POSTs back to the same URL and is answered by 303 to it
 * (post/redirect/get), errors riding in the flash.  Between steps the
 * activation handle lives in the flow cookie next to the token, valid for
 * the flow's lifetime: it cannot be read or moved to another browser, and
 * a new link opened in the browser starts a new flow.
 *
 * The online procedure (page_online.c) opens its activation without link
 * or paper code: its flow cookie says "on" instead of holding a token,
 * and a dead handle sends the browser back to /csam/online.  A recovery
 * (the person has an account) keeps the account's username: the
 * credentials page shows it and asks only the password (optional online),
 * and a new person online also gives an e-mail address, whose own code
 * (CSAM_STEP_EMAIL) may come before the key's.
 *
 * This file holds the entry points and the GET of the current step; each
 * step's POST is in page_activate_post.c, the flow cookie in
 * page_activate_flow.c (page_activate.h).
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"
#include "page_activate.h"

APLOG_USE_MODULE(csam);

/* The t parameter of the link's query string (as the client sent it:
 * the logs only ever see t=redacted).  *given says whether there was one;
 * NULL when there was none or it is not a token. */
static const char *csam_page_act_token(request_rec *r, int *given)
{
    const char *query = csam_redact_activation_query(r);
    char *args, *pair, *next;

    *given = 0;
    if (query == NULL)
        return NULL;
    if (strlen(query) > 4 * CSAM_TOKEN_SIZE) {
        *given = 1;
        return NULL;
    }
    args = apr_pstrdup(r->pool, query);
    for (pair = args; pair != NULL; pair = next) {
        next = strchr(pair, '&');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(pair, "t=", 2) == 0) {
            *given = 1;
            pair += 2;
            if (ap_unescape_urlencoded(pair) != OK || !csam_token_valid(pair))
                return NULL;
            return pair;
        }
    }
    return NULL;
}

/* Where a browser whose online flow ended starts again. */
static const char *csam_page_act_online_start(const struct csam_page_act *a)
{
    return apr_pstrcat(a->r->pool, a->rt->config.handler_path, "/online", NULL);
}

/* ---- GET: the page of the current step ----------------------------------- */

/* What the pages say about the chosen key: the next step's sentence, the
 * masked phone, the app's QR code and secret, the success text.  0 when
 * the app key's page cannot be drawn. */
static int csam_page_act_key_vars(struct csam_page_act *a, struct csam_page *pg,
                                  enum csam_page_id id, enum csam_key_type kt)
{
    const char *name = csam_key_type_name(kt) ? csam_key_type_name(kt)
                                              : "email";
    const char *phone = csam_page_act_flow_str(a, "p");

    csam_page_var(
        pg, "credentials_next",
        csam_page_text(
            pg, apr_pstrcat(a->r->pool, "credentials.next.", name, NULL), -1));
    csam_page_var(
        pg, "done_text",
        csam_page_text(pg, apr_pstrcat(a->r->pool, "done.", name, NULL), -1));
    csam_page_var(
        pg, "done_how",
        csam_page_text(pg, apr_pstrcat(a->r->pool, "done_how.", name, NULL),
                       -1));
    csam_page_var(pg, "phone_masked", phone ? phone : "");
    if (id == CSAM_PAGE_ACTIVATE_TOTP)
        return csam_page_key_totp_vars(pg, csam_page_act_flow_str(a, "o"),
                                       csam_page_act_flow_str(a, "s"))
               == 0;
    return 1;
}

/* text with {{username}} replaced by username (in r->pool). */
static const char *csam_page_act_with_username(request_rec *r, const char *text,
                                               const char *username)
{
    const char *at = strstr(text, "{{username}}");

    if (at == NULL)
        return text;
    return apr_pstrcat(r->pool,
                       apr_pstrmemdup(r->pool, text, (apr_size_t)(at - text)),
                       username, at + strlen("{{username}}"), NULL);
}

/* What the pages of a recovery say: the account's username, the notice of
 * the key step, whether the password may stay as it is. */
static void csam_page_act_recovery_vars(struct csam_page_act *a,
                                        struct csam_page *pg,
                                        enum csam_page_id id,
                                        const struct csam_activation_state *st)
{
    int keep = st != NULL && st->existing && st->online;

    csam_page_var(pg, "account_username",
                  st != NULL ? apr_pstrdup(a->r->pool, st->username) : "");
    csam_page_var(pg, "password_hint",
                  keep ? csam_page_text(pg, "hint.password_keep", -1) : "");
    csam_page_var(pg, "password_required", keep ? "" : " required");
    if (id == CSAM_PAGE_ACTIVATE_KEY && st != NULL && st->existing)
        csam_page_notice(
            pg, csam_page_act_with_username(
                    a->r,
                    csam_page_text(pg,
                                   st->online ? "notice.recovery_online"
                                              : "notice.recovery",
                                   -1),
                    st->username));
}

static int csam_page_act_show(struct csam_page_act *a, enum csam_page_id id,
                              int lang, const char *const *fields,
                              enum csam_key_type kt,
                              const struct csam_activation_state *st)
{
    struct csam_page pg;
    char n[24];

    if (csam_page_init(&pg, a->r, a->rt, lang) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_var(&pg, "action", a->location);
    apr_snprintf(n, sizeof(n), "%ld", a->rt->config.password_min);
    csam_page_var(&pg, "password_min", apr_pstrdup(a->r->pool, n));
    apr_snprintf(n, sizeof(n), "%ld", a->rt->config.password_max);
    csam_page_var(&pg, "password_max", apr_pstrdup(a->r->pool, n));
    csam_page_var(&pg, "terms_version", a->rt->terms_version);
    if (fields != NULL) {
        const char *const *f;

        csam_page_fields(&pg, fields);
        for (f = fields; *f != NULL; f++)
            csam_page_var(&pg, *f, "");
    }
    if (id == CSAM_PAGE_ACTIVATE_DONE) {
        const char *user = a->flow ? json_string_value(
                               json_object_get(a->flow, "u"))
                                   : NULL;

        csam_page_var(&pg, "username",
                      user ? apr_pstrdup(a->r->pool, user) : "");
    }
    csam_page_act_recovery_vars(a, &pg, id, st);
    csam_page_flash_show(&pg, CSAM_PAGE_ACT_FLASH);
    if (id == CSAM_PAGE_ACTIVATE_KEY)
        csam_page_var(&pg, "key_options",
                      csam_page_key_choices(&pg, csam_page_act_offered(a), 0));
    if (!csam_page_act_key_vars(a, &pg, id, kt))
        return csam_page_act_unavailable(a, lang);
    /* Every step carries a code, a handle or personal data. */
    return csam_page_send(&pg, id, HTTP_OK, 1);
}

static const char *const csam_page_act_code_fields[] = {"activation_code",
                                                        NULL};
static const char *const csam_page_act_key_fields[] = {"phone", "key_type",
                                                       "accept_terms", NULL};
static const char *const csam_page_act_cred_fields[] = {
    "username", "password", "password_repeat", NULL};
static const char *const csam_page_act_confirm_fields[] = {"code", NULL};
static const char *const csam_page_act_online_fields[] = {
    "username", "email", "password", "password_repeat", NULL};
static const char *const csam_page_act_recovery_fields[] = {
    "password", "password_repeat", NULL};

/* The language of an activation's pages: the registration's, but online
 * the browser's, whose page started it. */
static int csam_page_act_lang(const struct csam_page_act *a,
                              const char *language)
{
    int lang = csam_page_lang_index(language);

    if (a->online)
        return csam_page_lang_negotiate(a->r);
    return lang < 0 ? 0 : lang;
}

static int csam_page_act_get(struct csam_page_act *a)
{
    struct csam_activation_state st;
    char language[3] = "";
    csam_result res;
    int lang;

    if (a->flow != NULL && json_is_true(json_object_get(a->flow, "done"))) {
        lang = csam_page_lang_index(
            json_string_value(json_object_get(a->flow, "l")));
        if (a->online)
            lang = csam_page_lang_negotiate(a->r);
        return csam_page_act_show(a, CSAM_PAGE_ACTIVATE_DONE,
                                  lang < 0 ? 0 : lang, NULL,
                                  (enum csam_key_type)json_integer_value(
                                      json_object_get(a->flow, "kt")),
                                  NULL);
    }
    if (!csam_page_act_engine(a))
        return csam_page_act_unavailable(a, csam_page_lang_negotiate(a->r));
    if (a->handle != NULL) {
        memset(&st, 0, sizeof(st));
        res = csam_engine_activation_state(a->engine, a->handle, &st);
        if (res == CSAM_OK) {
            lang = csam_page_act_lang(a, st.language);
            switch (st.step) {
            case CSAM_STEP_KEY:
                return csam_page_act_show(a, CSAM_PAGE_ACTIVATE_KEY, lang,
                                          csam_page_act_key_fields, st.key_type,
                                          &st);
            case CSAM_STEP_CREDENTIALS:
                if (st.existing)
                    return csam_page_act_show(
                        a, CSAM_PAGE_ACTIVATE_RECOVERY, lang,
                        csam_page_act_recovery_fields, st.key_type, &st);
                if (st.online)
                    return csam_page_act_show(
                        a, CSAM_PAGE_ACTIVATE_CREDENTIALS_ONLINE, lang,
                        csam_page_act_online_fields, st.key_type, &st);
                return csam_page_act_show(a, CSAM_PAGE_ACTIVATE_CREDENTIALS,
                                          lang, csam_page_act_cred_fields,
                                          st.key_type, &st);
            case CSAM_STEP_EMAIL:
                return csam_page_act_show(a, CSAM_PAGE_ACTIVATE_EMAIL, lang,
                                          csam_page_act_confirm_fields,
                                          st.key_type, &st);
            case CSAM_STEP_CONFIRM:
                return csam_page_act_show(
                    a,
                    st.key_type == CSAM_KEY_TOTP  ? CSAM_PAGE_ACTIVATE_TOTP
                    : st.key_type == CSAM_KEY_SMS ? CSAM_PAGE_ACTIVATE_SMS
                                                  : CSAM_PAGE_ACTIVATE_CONFIRM,
                    lang, csam_page_act_confirm_fields, st.key_type, &st);
            case CSAM_STEP_DONE:
            default: break;
            }
        } else if (res == CSAM_ERR_DB || res == CSAM_ERR_SCHEMA)
            return csam_page_act_unavailable(a, csam_page_lang_negotiate(a->r));
        /* A dead handle: start again from the link, if it still lives. */
        csam_page_act_flow_reset(a);
    }
    if (a->online)
        return csam_page_redirect(a->r, csam_page_act_online_start(a));
    res = csam_engine_link_language(a->engine, a->token, language);
    switch (res) {
    case CSAM_OK:
        lang = csam_page_lang_index(language);
        return csam_page_act_show(
            a, CSAM_PAGE_ACTIVATE_CODE, lang < 0 ? 0 : lang,
            csam_page_act_code_fields, CSAM_KEY_NONE, NULL);
    case CSAM_ERR_LOCKED:
        return csam_page_message(a->r, a->rt, csam_page_lang_negotiate(a->r),
                                 "locked", HTTP_LOCKED);
    case CSAM_ERR_EXPIRED:
        return csam_page_message(a->r, a->rt, csam_page_lang_negotiate(a->r),
                                 "expired", HTTP_GONE);
    default:
        return csam_page_act_unavailable(a, csam_page_lang_negotiate(a->r));
    }
}

/* The link's first request: its token goes into the flow cookie (a flow
 * already under way for this very link is kept) and the browser is sent
 * to the page's address without it. */
static int csam_page_act_link(struct csam_page_act *a, const char *token)
{
    csam_page_act_flow(a);
    if (a->token == NULL || strlen(a->token) != strlen(token)
        || !csam_ct_equal(a->token, token, strlen(token)))
        csam_page_act_flow_set(a, json_pack("{s:s}", "t", token));
    return csam_page_redirect(a->r, a->location);
}

int csam_page_activate(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_page_act a;
    const char *token;
    int given;

    memset(&a, 0, sizeof(a));
    a.r = r;
    a.rt = rt;
    if (r->method_number != M_GET && r->method_number != M_POST) {
        ap_discard_request_body(r);
        apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    token = csam_page_act_token(r, &given);
    a.location = apr_pstrcat(r->pool, rt->config.handler_path, "/activate",
                             NULL);
    a.browser = csam_cookie_browser(r, rt, 1);
    if (a.browser == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (given && r->method_number == M_GET) {
        if (token == NULL)
            return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                     "expired", HTTP_GONE);
        return csam_page_act_link(&a, token);
    }
    /* A POST takes the token from the flow only, whatever its URL says. */
    csam_page_act_flow(&a);
    if (r->method_number == M_POST)
        return csam_page_act_post(&a);
    if (a.flow == NULL)
        return csam_page_message(r, rt, csam_page_lang_negotiate(r), "expired",
                                 HTTP_GONE);
    return csam_page_act_get(&a);
}

int csam_page_activate_online(request_rec *r, struct csam_mod_runtime *rt,
                              const char *browser, const char *handle,
                              const struct csam_procedure *proc)
{
    struct csam_page_act a;

    memset(&a, 0, sizeof(a));
    a.r = r;
    a.rt = rt;
    a.browser = browser;
    a.online = 1;
    /* As after the paper code: the handle, the language, the key types
     * offered, whether the person's account exists. */
    csam_page_act_flow_set(
        &a, json_pack("{s:b, s:s, s:s, s:I, s:b}", "on", 1, "h", handle, "l",
                      proc->language, "k",
                      (json_int_t)(proc->key_types & CSAM_KEY_ALL), "x",
                      proc->existing ? 1 : 0));
    return csam_page_redirect(r, apr_pstrcat(r->pool, rt->config.handler_path,
                                             "/activate", NULL));
}
