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
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"

APLOG_USE_MODULE(csam);

#define CSAM_PAGE_COOKIE_FLOW "csam_act"
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

static apr_status_t csam_page_act_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

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

/* Read the flow cookie: the link's token, and the handle once the paper
 * code opened the activation. */
static void csam_page_act_flow(struct csam_page_act *a)
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

static void csam_page_act_flow_set(struct csam_page_act *a, json_t *flow);

/* The flow cookie again with key set to value (a string, or an integer
 * when value is NULL). */
static void csam_page_act_flow_update(struct csam_page_act *a, const char *key,
                                      const char *value, json_int_t n)
{
    json_t *flow = a->flow ? json_deep_copy(a->flow) : NULL;

    if (flow == NULL)
        return;
    json_object_set_new(flow, key,
                        value ? json_string(value) : json_integer(n));
    csam_page_act_flow_set(a, flow);
}

static void csam_page_act_flow_set(struct csam_page_act *a, json_t *flow)
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
static void csam_page_act_flow_reset(struct csam_page_act *a)
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
static json_t *csam_page_act_flow_origin(const struct csam_page_act *a)
{
    return a->online ? json_pack("{s:b}", "on", 1)
                     : json_pack("{s:s}", "t", a->token);
}

/* Where a browser whose online flow ended starts again. */
static const char *csam_page_act_online_start(const struct csam_page_act *a)
{
    return apr_pstrcat(a->r->pool, a->rt->config.handler_path, "/online", NULL);
}

static int csam_page_act_engine(struct csam_page_act *a)
{
    return csam_pool_engine(a->r, &a->engine) == APR_SUCCESS;
}

static int csam_page_act_unavailable(struct csam_page_act *a, int lang)
{
    return csam_page_message(a->r, a->rt, lang, "unavailable",
                             HTTP_SERVICE_UNAVAILABLE);
}

/* ---- GET: the page of the current step ----------------------------------- */

/* The key types this activation may choose from (the engine's answer to
 * the paper code, kept in the flow cookie). */
static unsigned csam_page_act_offered(const struct csam_page_act *a)
{
    json_int_t k = a->flow ? json_integer_value(json_object_get(a->flow, "k"))
                           : 0;

    k &= CSAM_KEY_ALL;
    return k != 0 ? (unsigned)k : (unsigned)CSAM_KEY_EMAIL;
}

static const char *csam_page_act_flow_str(const struct csam_page_act *a,
                                          const char *key)
{
    return a->flow ? json_string_value(json_object_get(a->flow, key)) : NULL;
}

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

/* ---- POST: one step ----------------------------------------------------- */

/* The 303 back to the page, with the flash when there is one. */
static int csam_page_act_back(struct csam_page_act *a, json_t *flash)
{
    if (flash != NULL) {
        csam_page_flash_put(a->r, a->rt, flash);
        json_decref(flash);
    }
    return csam_page_redirect(a->r, a->location);
}

/* A refused step: the error next to field (or in the summary only). */
static int csam_page_act_refuse(struct csam_page_act *a, const char *field,
                                const char *key, long n, long retry)
{
    json_t *flash = csam_page_flash_new(CSAM_PAGE_ACT_FLASH);

    if (flash != NULL)
        csam_page_flash_error(flash, field, key, n, retry);
    return csam_page_act_back(a, flash);
}

/* What every step does with a result it has no field for. */
static int csam_page_act_result(struct csam_page_act *a, csam_result res,
                                const char *field,
                                const struct csam_attempts *att)
{
    const char *error;

    switch (res) {
    case CSAM_ERR_DB:
    case CSAM_ERR_SCHEMA:
        return csam_page_act_unavailable(a, csam_page_lang_negotiate(a->r));
    case CSAM_ERR_EXPIRED:
        /* The GET says why: link gone, or back to the paper code. */
        csam_page_act_flow_reset(a);
        return csam_page_act_back(a, NULL);
    case CSAM_ERR_STATE:
        /* Out of order (a second tab, the back button): show the step the
         * activation really stands at. */
        return csam_page_act_back(a, NULL);
    default:
        csam_api_status(res, &error);
        return csam_page_act_refuse(
            a, res == CSAM_ERR_LOCKED ? NULL : field,
            csam_page_error_key(a->r, error, att ? att->attempts_left : -1,
                                att ? att->retry_after : 0),
            att ? att->attempts_left : -1, att ? att->retry_after : 0);
    }
}

static int csam_page_act_code(struct csam_page_act *a, apr_table_t *form)
{
    struct csam_attempts att = {-1, 0};
    char handle[CSAM_TOKEN_SIZE] = "";
    const char *code = csam_page_form_value(form, "activation_code");
    struct csam_activation_state st;
    unsigned key_types = 0;
    csam_result res;
    json_t *flow;

    if (code[0] == '\0')
        return csam_page_act_refuse(a, "activation_code", "error.required_code",
                                    -1, 0);
    res = csam_engine_activation_open(a->engine, csam_http_source(a->r),
                                      a->token, code, handle, &key_types, &att);
    if (res == CSAM_ERR_LOCKED)
        /* The GET shows the locked link plainly. */
        return csam_page_act_back(a, NULL);
    if (res != CSAM_OK)
        return csam_page_act_result(a, res, "activation_code", &att);
    /* The language goes with the flow for the success page, which comes
     * after the handle is spent. */
    memset(&st, 0, sizeof(st));
    if (csam_engine_activation_state(a->engine, handle, &st) != CSAM_OK)
        st.language[0] = '\0';
    flow = json_pack("{s:s, s:s, s:s, s:I, s:b}", "t", a->token, "h", handle,
                     "l", st.language, "k",
                     (json_int_t)(key_types & CSAM_KEY_ALL), "x",
                     st.existing ? 1 : 0);
    csam_wipe(handle, sizeof(handle));
    csam_page_act_flow_set(a, flow);
    return csam_page_act_back(a, NULL);
}

static int csam_page_act_key(struct csam_page_act *a, apr_table_t *form)
{
    struct csam_page_key_choice choice;
    json_t *flash;
    csam_result res;

    if (!csam_page_key_choice_read(a->r, form, csam_page_act_offered(a),
                                   CSAM_PAGE_ACT_FLASH, &choice, &flash)) {
        if (flash == NULL)
            return HTTP_INTERNAL_SERVER_ERROR;
        return csam_page_act_back(a, flash);
    }
    res = csam_engine_activation_key(
        a->engine, csam_http_source(a->r), a->handle, choice.type,
        choice.accept, choice.type == CSAM_KEY_SMS ? choice.phone : NULL,
        a->rt->terms_version);
    if (res == CSAM_OK) {
        /* The confirm page says where the code went. */
        if (choice.masked != NULL)
            csam_page_act_flow_update(a, "p", choice.masked, 0);
        return csam_page_act_back(a, NULL);
    }
    if (res == CSAM_ERR_PHONE) {
        flash = csam_page_flash_new(CSAM_PAGE_ACT_FLASH);
        if (flash != NULL) {
            csam_page_flash_value(flash, "phone", choice.phone);
            csam_page_flash_error(flash, "phone", "error.invalid_phone", -1, 0);
        }
        return csam_page_act_back(a, flash);
    }
    return csam_page_act_result(
        a, res, res == CSAM_ERR_TERMS ? "accept_terms" : "key_type", NULL);
}

static const char *csam_page_act_cred_field(csam_result res)
{
    switch (res) {
    case CSAM_ERR_USERNAME:
    case CSAM_ERR_USERNAME_TAKEN: return "username";
    case CSAM_ERR_EMAIL: return "email";
    case CSAM_ERR_PASSWORD_MISMATCH: return "password_repeat";
    case CSAM_ERR_WEAK_PASSWORD: return "password";
    default: return NULL;
    }
}

/* The flow cookie's flag key (set when the activation was opened). */
static int csam_page_act_flow_flag(const struct csam_page_act *a,
                                   const char *key)
{
    return a->flow != NULL && json_is_true(json_object_get(a->flow, key));
}

/* Note in flash every field the activation's procedure needs that the
 * form left empty; 1 when there is one. */
static int csam_page_act_cred_missing(const struct csam_page_act *a,
                                      json_t *flash,
                                      const struct csam_credentials *in)
{
    int existing = csam_page_act_flow_flag(a, "x");
    /* An online recovery may keep the password: both empty. */
    int keep = existing && a->online && in->password[0] == '\0'
               && in->password_repeat[0] == '\0';
    int missing = 0;

    if (!existing && in->username[0] == '\0') {
        csam_page_flash_error(flash, "username", "error.required", -1, 0);
        missing = 1;
    }
    if (a->online && !existing && in->email[0] == '\0') {
        csam_page_flash_error(flash, "email", "error.required", -1, 0);
        missing = 1;
    }
    if (!keep && in->password[0] == '\0') {
        csam_page_flash_error(flash, "password", "error.required", -1, 0);
        missing = 1;
    }
    if (!keep && in->password_repeat[0] == '\0') {
        csam_page_flash_error(flash, "password_repeat", "error.required", -1,
                              0);
        missing = 1;
    }
    return missing;
}

static int csam_page_act_credentials(struct csam_page_act *a, apr_table_t *form)
{
    const char *password = apr_table_get(form, "password");
    const char *repeat = apr_table_get(form, "password_repeat");
    struct csam_credentials_outcome out;
    struct csam_credentials in;
    const char *field, *error;
    json_t *flash;
    csam_result res;

    memset(&in, 0, sizeof(in));
    in.username = csam_page_form_value(form, "username");
    in.email = csam_page_form_value(form, "email");
    in.password = password ? password : "";
    in.password_repeat = repeat ? repeat : "";
    /* A recovery keeps the account's username: none is sent. */
    if (csam_page_act_flow_flag(a, "x"))
        in.username = "";
    flash = csam_page_flash_new(CSAM_PAGE_ACT_FLASH);
    if (flash == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    /* Only the username and the address are refilled: a password never
     * leaves the body. */
    csam_page_flash_value(flash, "username", in.username);
    csam_page_flash_value(flash, "email", in.email);
    if (csam_page_act_cred_missing(a, flash, &in))
        return csam_page_act_back(a, flash);
    memset(&out, 0, sizeof(out));
    res = csam_engine_activation_set_credentials(
        a->engine, csam_http_source(a->r), a->handle, &in, &out);
    if (res == CSAM_OK && out.otpauth_uri != NULL && out.totp_secret != NULL) {
        /* The app key's secret is shown once the page after this redirect
         * is drawn, and again on a reload until the code confirms it: it
         * rides in the sealed flow cookie, which only this browser can
         * open, and leaves it at the confirmation. */
        json_t *flow = a->flow ? json_deep_copy(a->flow) : NULL;

        if (flow != NULL) {
            json_object_set_new(flow, "o", json_string(out.otpauth_uri));
            json_object_set_new(flow, "s", json_string(out.totp_secret));
            csam_page_act_flow_set(a, flow);
        }
        csam_page_flash_notice(flash, out.next == CSAM_STEP_EMAIL
                                          ? "notice.email_code_sent"
                                          : "notice.totp_scan");
        csam_credentials_outcome_free(&out);
        return csam_page_act_back(a, flash);
    }
    csam_credentials_outcome_free(&out);
    if (res == CSAM_OK && out.next == CSAM_STEP_EMAIL) {
        csam_page_flash_notice(flash, "notice.email_code_sent");
        return csam_page_act_back(a, flash);
    }
    if (res == CSAM_OK) {
        csam_page_flash_notice(flash, csam_page_act_flow_str(a, "p")
                                          ? "notice.code_sent_sms"
                                          : "notice.code_sent");
        return csam_page_act_back(a, flash);
    }
    if (res == CSAM_ERR_LOCKED) {
        /* The names tried used the activation's attempts up: the GET
         * shows the locked activation plainly. */
        json_decref(flash);
        return csam_page_act_back(a, NULL);
    }
    if (res == CSAM_ERR_TOO_SOON) {
        csam_page_flash_error(flash, NULL, "error.resend_wait",
                              out.attempts.retry_after, 0);
        return csam_page_act_back(a, flash);
    }
    if (res == CSAM_ERR_USERNAME_TAKEN && out.attempts.attempts_left > 0) {
        csam_page_flash_error(flash, "username",
                              out.attempts.attempts_left == 1
                                  ? "error.username_taken.one"
                                  : "error.username_taken.attempts",
                              out.attempts.attempts_left, 0);
        return csam_page_act_back(a, flash);
    }
    if (res == CSAM_ERR_USERNAME_KEPT) {
        csam_page_flash_error(flash, NULL, "error.username_kept", -1, 0);
        return csam_page_act_back(a, flash);
    }
    field = csam_page_act_cred_field(res);
    if (field == NULL && res != CSAM_ERR_MAIL) {
        json_decref(flash);
        return csam_page_act_result(a, res, NULL, NULL);
    }
    csam_api_status(res, &error);
    csam_page_flash_error(flash, field, csam_page_error_key(a->r, error, -1, 0),
                          -1, 0);
    return csam_page_act_back(a, flash);
}

static int csam_page_act_confirm(struct csam_page_act *a, apr_table_t *form)
{
    struct csam_attempts att = {-1, 0};
    const char *code = csam_page_form_value(form, "code");
    struct csam_activated done;
    csam_result res;
    json_t *flow;

    if (code[0] == '\0')
        return csam_page_act_refuse(a, "code", "error.required_code", -1, 0);
    memset(&done, 0, sizeof(done));
    res = csam_engine_activation_confirm(a->engine, csam_http_source(a->r),
                                         a->handle, code, &done, &att);
    if (res != CSAM_OK)
        return csam_page_act_result(a, res, "code", &att);
    if (done.next == CSAM_STEP_CONFIRM) {
        /* That was the e-mail address's code: the key's comes next. */
        json_t *flash = csam_page_flash_new(CSAM_PAGE_ACT_FLASH);

        if (flash != NULL)
            csam_page_flash_notice(flash, "notice.email_confirmed");
        return csam_page_act_back(a, flash);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, a->r,
                  "CSAM00520: key %s activated for account %s (page)",
                  csam_key_type_name(done.key_type), done.username);
    /* The handle is spent; the cookie now only remembers the outcome, so
     * a reload shows the success page rather than an expired link. */
    flow = csam_page_act_flow_origin(a);
    if (flow != NULL) {
        const char *l = json_string_value(json_object_get(a->flow, "l"));

        json_object_set_new(flow, "done", json_true());
        json_object_set_new(flow, "u", json_string(done.username));
        json_object_set_new(flow, "kt", json_integer(done.key_type));
        json_object_set_new(flow, "l", json_string(l ? l : ""));
    }
    csam_page_act_flow_set(a, flow);
    return csam_page_act_back(a, NULL);
}

static int csam_page_act_resend(struct csam_page_act *a)
{
    struct csam_attempts att = {-1, 0};
    json_t *flash;
    csam_result res;

    res = csam_engine_activation_resend(a->engine, csam_http_source(a->r),
                                        a->handle, &att);
    if (res == CSAM_ERR_TOO_SOON)
        return csam_page_act_refuse(a, NULL, "error.resend_wait",
                                    att.retry_after, 0);
    if (res != CSAM_OK)
        return csam_page_act_result(a, res, NULL, &att);
    flash = csam_page_flash_new(CSAM_PAGE_ACT_FLASH);
    if (flash != NULL)
        csam_page_flash_notice(flash, csam_page_act_flow_str(a, "p")
                                          ? "notice.code_resent_sms"
                                          : "notice.code_resent");
    return csam_page_act_back(a, flash);
}

static int csam_page_act_post(struct csam_page_act *a)
{
    const char *step;
    apr_table_t *form;
    int rv;

    rv = csam_page_read_form(a->r, &form);
    if (rv != OK)
        return rv;
    if (!csam_page_csrf_ok(a->r, a->rt, form))
        return csam_page_message(a->r, a->rt, csam_page_lang_negotiate(a->r),
                                 "csrf", HTTP_FORBIDDEN);
    step = csam_page_form_value(form, "step");
    /* No flow in this browser (cookies refused, or it expired): the GET
     * says the link must be opened again. */
    if (a->flow == NULL)
        return csam_page_act_back(a, NULL);
    if (!csam_page_act_engine(a))
        return csam_page_act_unavailable(a, csam_page_lang_negotiate(a->r));
    /* The online procedure has no paper code. */
    if (strcmp(step, "code") == 0 && !a->online)
        return csam_page_act_code(a, form);
    /* Every later step needs this link's handle from this browser. */
    if (a->handle == NULL)
        return csam_page_act_back(a, NULL);
    if (strcmp(step, "key") == 0)
        return csam_page_act_key(a, form);
    if (strcmp(step, "credentials") == 0)
        return csam_page_act_credentials(a, form);
    if (strcmp(step, "confirm") == 0)
        return csam_page_act_confirm(a, form);
    if (strcmp(step, "resend") == 0)
        return csam_page_act_resend(a);
    return csam_page_act_back(a, NULL);
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
