/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The login and logout pages (DESIGN 2.3, 3.2).
 *
 * /csam/login[?return=<local path>]: username and password; then the
 * choice among the account's active keys (skipped when there is one);
 * then the code from that key (Continuer); then the session cookie and a
 * 303 to the cleaned return path.  Each form POSTs back to the login URL
 * and is answered by 303 (post/redirect/get), errors riding in the flash.
 * Between the steps the engine's login handle lives in a sealed, HttpOnly
 * cookie bound to this browser (cookie.c), valid as long as the handle:
 * it cannot be read nor moved to another browser.
 *
 * A login that finds the code of an abandoned one still pending takes it
 * over (the engine sends nothing): its code page says when that code was
 * sent.  A completed login leaves the csam_device cookie (device.c), so
 * that this browser keeps its own failure budget.
 *
 * /csam/logout: GET shows a button; its POST (CSRF) ends the session on
 * every node and clears the cookie, then 303 to the login page.
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

#define CSAM_PAGE_COOKIE_LOGIN "csam_login"
#define CSAM_PAGE_LOGIN_FLASH "login"

/* One request on the login page. */
struct csam_page_login {
    request_rec *r;
    struct csam_mod_runtime *rt;
    const char *browser;
    const char *ret;           /* the cleaned return path */
    const char *location;      /* this page with its return: every POST's 303 */
    const char *handle;        /* from the login cookie, NULL when none */
    unsigned key_types;        /* the account's active keys (login cookie) */
    enum csam_key_type chosen; /* CSAM_KEY_NONE before the choice */
    apr_int64_t sent_at;       /* the code's, Unix seconds, 0: unknown */
    int reused;                /* a code sent earlier was taken over */
    csam_engine *engine;
};

static const char *const csam_page_login_fields[] = {"username", "password",
                                                     NULL};
static const char *const csam_page_login_key_fields[] = {"key_type", NULL};
static const char *const csam_page_login_code_fields[] = {"code", NULL};

static apr_status_t csam_page_login_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* The return parameter of the query string, undecoded, or NULL. */
static const char *csam_page_login_query_return(request_rec *r)
{
    char *args, *pair, *next;

    if (r->args == NULL || strlen(r->args) > 3 * CSAM_MOD_RETURN_MAX)
        return NULL;
    args = apr_pstrdup(r->pool, r->args);
    for (pair = args; pair != NULL; pair = next) {
        next = strchr(pair, '&');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(pair, "return=", 7) == 0) {
            pair += 7;
            if (ap_unescape_urlencoded(pair) != OK)
                return NULL;
            return pair;
        }
    }
    return NULL;
}

/* Read the login cookie: the handle, the key types, the choice. */
static void csam_page_login_flow(struct csam_page_login *l)
{
    char *text = csam_cookie_get(l->r, l->rt, CSAM_PAGE_COOKIE_LOGIN,
                                 l->browser);
    json_t *flow;
    json_int_t k, c;

    l->sent_at = 0;
    l->reused = 0;
    l->handle = NULL;
    l->key_types = 0;
    l->chosen = CSAM_KEY_NONE;
    if (text == NULL || (flow = json_loads(text, 0, NULL)) == NULL)
        return;
    apr_pool_cleanup_register(l->r->pool, flow, csam_page_login_decref,
                              apr_pool_cleanup_null);
    l->handle = json_string_value(json_object_get(flow, "h"));
    if (l->handle != NULL && !csam_token_valid(l->handle)) {
        l->handle = NULL;
        return;
    }
    k = json_integer_value(json_object_get(flow, "k"));
    c = json_integer_value(json_object_get(flow, "c"));
    l->key_types = (unsigned)(k & CSAM_KEY_ALL);
    l->sent_at = (apr_int64_t)json_integer_value(json_object_get(flow, "s"));
    l->reused = json_integer_value(json_object_get(flow, "u")) == 1;
    if (csam_key_type_name((enum csam_key_type)c) != NULL
        && (l->key_types & (unsigned)c) != 0)
        l->chosen = (enum csam_key_type)c;
}

static void csam_page_login_flow_set(struct csam_page_login *l,
                                     const char *handle, unsigned key_types,
                                     enum csam_key_type chosen)
{
    json_t *flow = json_pack("{s:s, s:I, s:I, s:I, s:I}", "h", handle, "k",
                             (json_int_t)key_types, "c", (json_int_t)chosen,
                             "s", (json_int_t)l->sent_at, "u",
                             (json_int_t)(l->reused ? 1 : 0));
    char *text = flow ? json_dumps(flow, JSON_COMPACT) : NULL;

    json_decref(flow);
    if (text == NULL)
        return;
    csam_cookie_set(l->r, l->rt, CSAM_PAGE_COOKIE_LOGIN, l->browser, text,
                    l->rt->config.flow_ttl);
    csam_wipe(text, strlen(text));
    free(text);
}

static void csam_page_login_flow_clear(struct csam_page_login *l)
{
    csam_cookie_clear(l->r, l->rt, CSAM_PAGE_COOKIE_LOGIN);
    l->handle = NULL;
    l->sent_at = 0;
    l->reused = 0;
}

static int csam_page_login_unavailable(request_rec *r,
                                       struct csam_mod_runtime *rt)
{
    return csam_page_message(r, rt, csam_page_lang_negotiate(r), "unavailable",
                             HTTP_SERVICE_UNAVAILABLE);
}

/* ---- GET: the page of the current step ----------------------------------- */

/* The radio buttons of the key choice: the account's active keys only. */
static const char *csam_page_login_key_options(struct csam_page *pg,
                                               unsigned key_types)
{
    static const enum csam_key_type order[] = {CSAM_KEY_EMAIL, CSAM_KEY_SMS,
                                               CSAM_KEY_TOTP};
    const char *html = "";
    const char *attrs = csam_page_var_get(pg, "key_type_attrs");
    int first = 1;
    size_t i;

    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *name = csam_key_type_name(order[i]);
        /* The first option's id is the field's: the summary links to it. */
        const char *id = first ? "key_type"
                               : apr_pstrcat(pg->r->pool, "key_type-", name,
                                             NULL);

        if ((key_types & (unsigned)order[i]) == 0)
            continue;
        html = apr_psprintf(
            pg->r->pool,
            "%s<div class=\"choice\"><input type=\"radio\" id=\"%s\" "
            "name=\"key_type\" value=\"%s\"%s%s><label for=\"%s\">%s</label>"
            "</div>",
            html, id, name, first ? " checked" : "",
            first && attrs ? attrs : "", id, csam_page_key_name(pg, order[i]));
        first = 0;
    }
    return html;
}

/* "A code was already sent at HH:MM": the server's local time, which is
 * the citizen's on a Belgian portal. */
static const char *csam_page_login_sent_text(struct csam_page *pg,
                                             apr_int64_t sent_at)
{
    const char *text = csam_page_text(pg, "notice.code_already_sent", -1);
    const char *at = strstr(text, "{{time}}");
    apr_time_exp_t tm;

    if (at == NULL
        || apr_time_exp_lt(&tm, apr_time_from_sec(sent_at)) != APR_SUCCESS)
        return text;
    return apr_psprintf(pg->r->pool, "%.*s%02d:%02d%s", (int)(at - text), text,
                        tm.tm_hour, tm.tm_min, at + strlen("{{time}}"));
}

static int csam_page_login_show(struct csam_page_login *l, enum csam_page_id id,
                                const char *const *fields)
{
    struct csam_page pg;
    const char *const *f;

    if (csam_page_init(&pg, l->r, l->rt, csam_page_lang_negotiate(l->r)) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_var(&pg, "action", l->location);
    csam_page_var(&pg, "return", l->ret);
    csam_page_fields(&pg, fields);
    for (f = fields; *f != NULL; f++)
        csam_page_var(&pg, *f, "");
    csam_page_var(
        &pg, "key_name",
        l->chosen != CSAM_KEY_NONE ? csam_page_key_name(&pg, l->chosen) : "");
    csam_page_flash_show(&pg, CSAM_PAGE_LOGIN_FLASH);
    if (id == CSAM_PAGE_LOGIN_CODE && l->reused && l->sent_at > 0)
        csam_page_notice(&pg, csam_page_login_sent_text(&pg, l->sent_at));
    if (id == CSAM_PAGE_LOGIN_KEY)
        csam_page_var(&pg, "key_options",
                      csam_page_login_key_options(&pg, l->key_types));
    /* The later steps stand on a handle; none of them may be cached. */
    return csam_page_send(&pg, id, HTTP_OK, 1);
}

static int csam_page_login_get(struct csam_page_login *l)
{
    /* The app's code is typed from the app: nothing was sent, so its page
     * offers no new code. */
    if (l->handle != NULL && l->chosen != CSAM_KEY_NONE)
        return csam_page_login_show(l,
                                    l->chosen == CSAM_KEY_TOTP
                                        ? CSAM_PAGE_LOGIN_TOTP
                                        : CSAM_PAGE_LOGIN_CODE,
                                    csam_page_login_code_fields);
    if (l->handle != NULL && l->key_types != 0)
        return csam_page_login_show(l, CSAM_PAGE_LOGIN_KEY,
                                    csam_page_login_key_fields);
    return csam_page_login_show(l, CSAM_PAGE_LOGIN, csam_page_login_fields);
}

/* ---- POST: one step ----------------------------------------------------- */

static int csam_page_login_back(struct csam_page_login *l, json_t *flash)
{
    if (flash != NULL) {
        csam_page_flash_put(l->r, l->rt, flash);
        json_decref(flash);
    }
    return csam_page_redirect(l->r, l->location);
}

static int csam_page_login_refuse(struct csam_page_login *l, const char *field,
                                  const char *key, long n)
{
    json_t *flash = csam_page_flash_new(CSAM_PAGE_LOGIN_FLASH);

    if (flash != NULL)
        csam_page_flash_error(flash, field, key, n, 0);
    return csam_page_login_back(l, flash);
}

/* A lock: the delay in minutes, rounded up, or none known. */
static int csam_page_login_locked(struct csam_page_login *l, const char *field,
                                  const struct csam_attempts *att)
{
    if (att->retry_after > 0)
        return csam_page_login_refuse(l, field, "error.login_locked.retry",
                                      (att->retry_after + 59) / 60);
    return csam_page_login_refuse(l, field, "error.login_locked", -1);
}

/* The handle died (expired, used, superseded): start again. */
static int csam_page_login_expired(struct csam_page_login *l)
{
    csam_page_login_flow_clear(l);
    return csam_page_login_refuse(l, NULL, "error.login_expired", -1);
}

/* Send the code of the chosen key; shared by the key step, the password
 * step of an account with one key, and the resend. */
static int csam_page_login_challenge(struct csam_page_login *l,
                                     const char *handle, unsigned key_types,
                                     enum csam_key_type kt, const char *notice,
                                     int resend)
{
    struct csam_attempts att = {-1, 0};
    struct csam_login_code sent;
    json_t *flash;
    csam_result res;

    res = csam_engine_login_code(l->engine, csam_http_source(l->r), handle, kt,
                                 &sent, &att);
    switch (res) {
    case CSAM_OK:
        l->sent_at = sent.sent_at;
        l->reused = sent.reused;
        csam_page_login_flow_set(l, handle, key_types, kt);
        /* A resend inside the cooldown sent nothing: say when one may. */
        if (resend && sent.reused)
            return csam_page_login_refuse(l, NULL, "error.resend_wait",
                                          sent.resend_after);
        flash = csam_page_flash_new(CSAM_PAGE_LOGIN_FLASH);
        /* A code taken over: the code page says when it was sent. */
        if (flash != NULL && !sent.reused)
            csam_page_flash_notice(flash, notice);
        return csam_page_login_back(l, flash);
    case CSAM_ERR_TOO_SOON:
        /* A code was sent moments ago: it still stands. */
        csam_page_login_flow_set(l, handle, key_types, kt);
        return csam_page_login_refuse(l, NULL, "error.resend_wait",
                                      att.retry_after);
    case CSAM_ERR_LOCKED: return csam_page_login_locked(l, NULL, &att);
    case CSAM_ERR_EXPIRED: return csam_page_login_expired(l);
    case CSAM_ERR_INVALID:
        return csam_page_login_refuse(l, "key_type", "error.key_required", -1);
    case CSAM_ERR_MAIL:
        csam_page_login_flow_set(l, handle, key_types, CSAM_KEY_NONE);
        return csam_page_login_refuse(l, NULL, "error.login_mail", -1);
    default: return csam_page_login_unavailable(l->r, l->rt);
    }
}

static int csam_page_login_password(struct csam_page_login *l,
                                    apr_table_t *form)
{
    const char *username = csam_page_form_value(form, "username");
    const char *password = csam_page_form_value(form, "password");
    struct csam_attempts att = {-1, 0};
    char handle[CSAM_TOKEN_SIZE] = "";
    unsigned key_types = 0;
    const char *handle_copy;
    json_t *flash;
    csam_result res;
    int rv;

    flash = csam_page_flash_new(CSAM_PAGE_LOGIN_FLASH);
    if (flash == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    /* Only the username is refilled: a password never leaves the body. */
    csam_page_flash_value(flash, "username", username);
    if (username[0] == '\0' || password[0] == '\0') {
        if (username[0] == '\0')
            csam_page_flash_error(flash, "username", "error.required", -1, 0);
        if (password[0] == '\0')
            csam_page_flash_error(flash, "password", "error.required", -1, 0);
        return csam_page_login_back(l, flash);
    }
    /* A new login replaces whatever step this browser stood at. */
    csam_page_login_flow_clear(l);
    res = csam_engine_login_password_device(
        l->engine, csam_http_source(l->r),
        csam_device_token(l->r, l->rt, username), username, password, handle,
        &key_types, &att);
    switch (res) {
    case CSAM_OK: break;
    case CSAM_ERR_BAD_CREDENTIALS:
    case CSAM_ERR_INVALID:
        /* Unknown username and wrong password: one message, next to the
         * password, with the wait when the next try must wait. */
        if (att.retry_after > 0)
            csam_page_flash_error(flash, "password",
                                  "error.invalid_credentials.wait",
                                  att.retry_after, 0);
        else
            csam_page_flash_error(flash, "password",
                                  "error.invalid_credentials", -1, 0);
        return csam_page_login_back(l, flash);
    case CSAM_ERR_LOCKED:
        if (att.retry_after > 0)
            csam_page_flash_error(flash, NULL, "error.login_locked.retry",
                                  (att.retry_after + 59) / 60, 0);
        else
            csam_page_flash_error(flash, NULL, "error.login_locked", -1, 0);
        return csam_page_login_back(l, flash);
    case CSAM_ERR_BUSY:
        json_decref(flash);
        apr_table_setn(l->r->err_headers_out, "Retry-After", "1");
        return csam_page_login_unavailable(l->r, l->rt);
    default:
        json_decref(flash);
        return csam_page_login_unavailable(l->r, l->rt);
    }
    json_decref(flash);
    handle_copy = apr_pstrdup(l->r->pool, handle);
    csam_wipe(handle, sizeof(handle));
    key_types &= CSAM_KEY_ALL;
    /* One key: no choice to make, its code goes out at once. */
    if (key_types == CSAM_KEY_EMAIL || key_types == CSAM_KEY_SMS
        || key_types == CSAM_KEY_TOTP) {
        rv = csam_page_login_challenge(
            l, handle_copy, key_types, (enum csam_key_type)key_types,
            key_types == CSAM_KEY_TOTP  ? "notice.login_totp"
            : key_types == CSAM_KEY_SMS ? "notice.code_sent_sms"
                                        : "notice.code_sent",
            0);
    } else {
        csam_page_login_flow_set(l, handle_copy, key_types, CSAM_KEY_NONE);
        rv = csam_page_login_back(l, NULL);
    }
    return rv;
}

static int csam_page_login_key(struct csam_page_login *l, apr_table_t *form)
{
    enum csam_key_type kt = csam_key_type_parse(
        csam_page_form_value(form, "key_type"));

    if (kt == CSAM_KEY_NONE || (l->key_types & (unsigned)kt) == 0)
        return csam_page_login_refuse(l, "key_type", "error.key_required", -1);
    return csam_page_login_challenge(l, l->handle, l->key_types, kt,
                                     kt == CSAM_KEY_TOTP ? "notice.login_totp"
                                     : kt == CSAM_KEY_SMS
                                         ? "notice.code_sent_sms"
                                         : "notice.code_sent",
                                     0);
}

static int csam_page_login_code(struct csam_page_login *l, apr_table_t *form)
{
    const char *code = csam_page_form_value(form, "code");
    struct csam_attempts att = {-1, 0};
    struct csam_session_ticket ticket;
    csam_result res;
    int rv;

    if (l->chosen == CSAM_KEY_NONE)
        return csam_page_login_back(l, NULL);
    if (code[0] == '\0')
        return csam_page_login_refuse(l, "code", "error.required_code", -1);
    memset(&ticket, 0, sizeof(ticket));
    res = csam_engine_login_verify(l->engine, csam_http_source(l->r), l->handle,
                                   code, &ticket, &att);
    switch (res) {
    case CSAM_OK: break;
    case CSAM_ERR_BAD_CODE:
        return csam_page_login_refuse(l, "code",
                                      csam_page_error_key(l->r, "invalid_code",
                                                          att.attempts_left, 0),
                                      att.attempts_left);
    case CSAM_ERR_LOCKED:
        /* This code is spent; a new login starts from the password. */
        csam_page_login_flow_clear(l);
        return csam_page_login_locked(l, NULL, &att);
    case CSAM_ERR_STATE:
        csam_page_login_flow_set(l, l->handle, l->key_types, CSAM_KEY_NONE);
        return csam_page_login_back(l, NULL);
    case CSAM_ERR_EXPIRED: return csam_page_login_expired(l);
    default: return csam_page_login_unavailable(l->r, l->rt);
    }
    csam_page_login_flow_clear(l);
    csam_session_cookie_set(l->r, l->rt, &ticket);
    if (ticket.device[0] != '\0')
        csam_device_set(l->r, l->rt, ticket.info.username, ticket.device);
    csam_wipe(ticket.device, sizeof(ticket.device));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, l->r,
                  "CSAM00601: login of %s with the %s key (page)",
                  ticket.info.username,
                  csam_key_type_name(ticket.info.key_type)
                      ? csam_key_type_name(ticket.info.key_type)
                      : "?");
    csam_wipe(ticket.cookie, sizeof(ticket.cookie));
    rv = csam_page_redirect(l->r, l->ret);
    return rv;
}

static int csam_page_login_post(struct csam_page_login *l)
{
    const char *step;
    apr_table_t *form;
    int rv;

    rv = csam_page_read_form(l->r, &form);
    if (rv != OK)
        return rv;
    if (!csam_page_csrf_ok(l->r, l->rt, form))
        return csam_page_message(l->r, l->rt, csam_page_lang_negotiate(l->r),
                                 "csrf", HTTP_FORBIDDEN);
    /* The form's return field wins over the URL's: both are cleaned. */
    if (apr_table_get(form, "return") != NULL) {
        l->ret = csam_return_clean(l->r, l->rt, apr_table_get(form, "return"));
        l->location = csam_return_login_url(l->r, l->rt, l->ret);
    }
    step = csam_page_form_value(form, "step");
    if (strcmp(step, "restart") == 0) {
        csam_page_login_flow_clear(l);
        return csam_page_login_back(l, NULL);
    }
    if (csam_pool_engine(l->r, &l->engine) != APR_SUCCESS)
        return csam_page_login_unavailable(l->r, l->rt);
    if (strcmp(step, "password") == 0)
        return csam_page_login_password(l, form);
    /* Every later step needs this browser's handle. */
    if (l->handle == NULL)
        return csam_page_login_expired(l);
    if (strcmp(step, "key") == 0)
        return csam_page_login_key(l, form);
    if (strcmp(step, "code") == 0)
        return csam_page_login_code(l, form);
    if (strcmp(step, "resend") == 0 && l->chosen != CSAM_KEY_NONE
        && l->chosen != CSAM_KEY_TOTP)
        return csam_page_login_challenge(l, l->handle, l->key_types, l->chosen,
                                         l->chosen == CSAM_KEY_SMS
                                             ? "notice.code_resent_sms"
                                             : "notice.code_resent",
                                         1);
    return csam_page_login_back(l, NULL);
}

static int csam_page_login_methods(request_rec *r)
{
    if (r->method_number == M_GET || r->method_number == M_POST)
        return OK;
    ap_discard_request_body(r);
    apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
    return HTTP_METHOD_NOT_ALLOWED;
}

int csam_page_login(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_page_login l;
    int rv = csam_page_login_methods(r);

    if (rv != OK)
        return rv;
    memset(&l, 0, sizeof(l));
    l.r = r;
    l.rt = rt;
    l.ret = csam_return_clean(r, rt, csam_page_login_query_return(r));
    l.location = csam_return_login_url(r, rt, l.ret);
    l.browser = csam_cookie_browser(r, rt, 1);
    if (l.browser == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_login_flow(&l);
    if (r->method_number == M_GET)
        return csam_page_login_get(&l);
    return csam_page_login_post(&l);
}

/* ---- logout ------------------------------------------------------------- */

int csam_page_logout(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_session_info info;
    struct csam_page pg;
    apr_table_t *form;
    csam_result res;
    json_t *flash;
    int rv = csam_page_login_methods(r);

    if (rv != OK)
        return rv;
    if (r->method_number == M_GET) {
        int live = csam_session_current(r, rt, &info);

        if (live < 0)
            return csam_page_login_unavailable(r, rt);
        if (csam_page_init(&pg, r, rt, csam_page_lang_negotiate(r)) != 0)
            return HTTP_INTERNAL_SERVER_ERROR;
        csam_page_var(&pg, "login", csam_return_login_url(r, rt, NULL));
        if (live == 0)
            csam_page_notice(&pg,
                             csam_page_text(&pg, "notice.not_logged_in", -1));
        return csam_page_send(&pg, CSAM_PAGE_LOGOUT, HTTP_OK, 1);
    }
    rv = csam_page_read_form(r, &form);
    if (rv != OK)
        return rv;
    /* Without the token another site could log the citizen out. */
    if (!csam_page_csrf_ok(r, rt, form))
        return csam_page_message(r, rt, csam_page_lang_negotiate(r), "csrf",
                                 HTTP_FORBIDDEN);
    /* In the database (every node) and in this node's caches at once. */
    res = csam_session_end(r, rt);
    if (res != CSAM_OK) {
        /* The session may still live: say so rather than pretend. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00602: logout could not end the session: %s",
                      csam_result_name(res));
        return csam_page_login_unavailable(r, rt);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CSAM00603: session ended by logout (page)");
    csam_cookie_clear(r, rt, CSAM_PAGE_COOKIE_LOGIN);
    flash = csam_page_flash_new(CSAM_PAGE_LOGIN_FLASH);
    if (flash != NULL) {
        csam_page_flash_notice(flash, "notice.logged_out");
        csam_page_flash_put(r, rt, flash);
        json_decref(flash);
    }
    return csam_page_redirect(r, csam_return_login_url(r, rt, NULL));
}
