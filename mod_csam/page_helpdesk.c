/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The desk's helpdesk page, <handler>/registration/helpdesk (DESIGN 2.8,
 * 3.2): an officer searches a person by national number and sees the
 * registrations, the account with its keys and lock, and what officers
 * did; buttons mail a new link, revoke a pending registration, lift a
 * lock.  Never a code, a hash or a secret.
 *
 * Every form is a POST with the CSRF token, answered by 303 to the page.
 * The number never travels in a URL (which the access log would keep):
 * the search POST seals it into a cookie bound to the browser and the
 * officer (csam_helpdesk, a quarter of an hour), and the page searches
 * with it each time it is shown, each search audited.  The officer check
 * is page_registration.c's, which dispatches here.
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

#define CSAM_PAGE_HD_COOKIE "csam_helpdesk"
#define CSAM_PAGE_HD_TTL 900
#define CSAM_PAGE_HD_FLASH "helpdesk"
#define CSAM_PAGE_HD_PATH "/registration/helpdesk"

static const char *const csam_page_hd_fields[] = {"national_number", NULL};

static const char *csam_page_hd_action(struct csam_page *pg)
{
    return apr_pstrcat(pg->r->pool, pg->rt->config.handler_path,
                       CSAM_PAGE_HD_PATH, NULL);
}

static const char *csam_page_hd_text(struct csam_page *pg, const char *key)
{
    return ap_escape_html(pg->r->pool, csam_page_text(pg, key, -1));
}

/* "YYYY-MM-DD HH:MM UTC" in a <time> element, for an RFC 3339 UTC time. */
static const char *csam_page_hd_time(struct csam_page *pg, const char *utc)
{
    apr_pool_t *p = pg->r->pool;

    if (utc == NULL || strlen(utc) < 16)
        return "—";
    return apr_psprintf(p, "<time datetime=\"%s\">%.10s %.5s UTC</time>",
                        ap_escape_html(p, utc), ap_escape_html(p, utc),
                        ap_escape_html(p, utc + 11));
}

/* One action button: a POST form of its own, its accessible name saying
 * what it acts on. */
static const char *csam_page_hd_button(struct csam_page *pg, const char *step,
                                       const char *name, const char *value,
                                       const char *label, const char *context,
                                       int secondary)
{
    apr_pool_t *p = pg->r->pool;

    return apr_psprintf(
        p,
        "<form method=\"post\" action=\"%s\" class=\"inline-form\">"
        "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
        "<input type=\"hidden\" name=\"step\" value=\"%s\">"
        "<input type=\"hidden\" name=\"%s\" value=\"%s\">"
        "<button type=\"submit\"%s>%s%s%s%s</button></form>",
        ap_escape_html(p, csam_page_hd_action(pg)),
        ap_escape_html(p, csam_page_var_get(pg, "csrf")), step, name,
        ap_escape_html(p, value), secondary ? " class=\"secondary\"" : "",
        csam_page_hd_text(pg, label),
        context[0] != '\0' ? "<span class=\"visually-hidden\"> " : "",
        ap_escape_html(p, context), context[0] != '\0' ? "</span>" : "");
}

static const char *
csam_page_hd_registrations(struct csam_page *pg,
                           const struct csam_helpdesk_person *who)
{
    apr_pool_t *p = pg->r->pool;
    const char *rows = "";
    size_t i;

    if (who->n_registrations == 0)
        return apr_psprintf(p, "<p>%s</p>",
                            csam_page_hd_text(pg, "helpdesk.no_registration"));
    for (i = 0; i < who->n_registrations; i++) {
        const struct csam_helpdesk_registration *reg = &who->registrations[i];
        const char *id = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                      (apr_int64_t)reg->id);
        const char *context = csam_page_text(pg, "helpdesk.for_registration",
                                             (long)reg->id);
        const char *actions = "";

        if (strcmp(reg->status, "pending") == 0) {
            if (strcmp(reg->procedure, "desk") == 0)
                actions = csam_page_hd_button(pg, "resend", "registration", id,
                                              "button.resend_link", context, 0);
            actions = apr_pstrcat(
                p, actions,
                csam_page_hd_button(pg, "revoke", "registration", id,
                                    "button.revoke", context, 1),
                NULL);
        }
        rows = apr_psprintf(
            p,
            "%s<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td>"
            "<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>",
            rows, id,
            csam_page_hd_text(pg, apr_pstrcat(p, "helpdesk.procedure.",
                                              reg->procedure, NULL)),
            csam_page_hd_text(pg, apr_pstrcat(p, "helpdesk.status.",
                                              reg->status, NULL)),
            csam_page_hd_time(pg, reg->created_at),
            csam_page_hd_time(pg, reg->expires_at),
            ap_escape_html(p, reg->officer), actions);
    }
    return apr_psprintf(
        p,
        "<table class=\"keys\" aria-labelledby=\"hd-registrations\">"
        "<thead><tr>"
        "<th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
        "<th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
        "<th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
        "<th scope=\"col\">%s</th></tr></thead><tbody>%s</tbody></table>",
        csam_page_hd_text(pg, "helpdesk.th_id"),
        csam_page_hd_text(pg, "helpdesk.th_procedure"),
        csam_page_hd_text(pg, "helpdesk.th_status"),
        csam_page_hd_text(pg, "helpdesk.th_created"),
        csam_page_hd_text(pg, "helpdesk.th_expires"),
        csam_page_hd_text(pg, "helpdesk.th_officer"),
        csam_page_hd_text(pg, "helpdesk.th_action"), rows);
}

static const char *csam_page_hd_account(struct csam_page *pg,
                                        const struct csam_helpdesk_person *who)
{
    apr_pool_t *p = pg->r->pool;
    const char *keys = "", *lock;
    size_t i;

    if (!who->has_account)
        return apr_psprintf(p, "<p>%s</p>",
                            csam_page_hd_text(pg, "helpdesk.no_account"));
    for (i = 0; i < who->n_keys; i++)
        keys = apr_psprintf(
            p, "%s<li>%s : %s</li>", keys,
            ap_escape_html(p, csam_page_key_name(pg, who->keys[i].type)),
            csam_page_hd_text(pg, apr_pstrcat(p, "status.", who->keys[i].status,
                                              NULL)));
    keys = who->n_keys > 0
               ? apr_psprintf(p, "<ul>%s</ul>", keys)
               : apr_psprintf(p, "%s",
                              csam_page_hd_text(pg, "helpdesk.no_keys"));
    if (who->locked_until[0] != '\0')
        lock = apr_pstrcat(p, csam_page_hd_text(pg, "helpdesk.locked_until"),
                           " ", csam_page_hd_time(pg, who->locked_until), " ",
                           csam_page_hd_button(pg, "unlock", "username",
                                               who->username, "button.unlock",
                                               "", 0),
                           NULL);
    else
        lock = csam_page_hd_text(pg, "helpdesk.not_locked");
    return apr_psprintf(p,
                        "<dl class=\"helpdesk-account\"><dt>%s</dt><dd>%s</dd>"
                        "<dt>%s</dt><dd>%s</dd><dt>%s</dt><dd>%s</dd>"
                        "<dt>%s</dt><dd>%s</dd></dl>",
                        csam_page_hd_text(pg, "helpdesk.username"),
                        ap_escape_html(p, who->username),
                        csam_page_hd_text(pg, "helpdesk.account_status"),
                        csam_page_hd_text(pg,
                                          apr_pstrcat(p, "helpdesk.account.",
                                                      who->status, NULL)),
                        csam_page_hd_text(pg, "helpdesk.keys"), keys,
                        csam_page_hd_text(pg, "helpdesk.lock"), lock);
}

static const char *csam_page_hd_history(struct csam_page *pg,
                                        const struct csam_helpdesk_person *who)
{
    apr_pool_t *p = pg->r->pool;
    const char *rows = "";
    size_t i;

    if (who->n_history == 0)
        return apr_psprintf(p, "<p>%s</p>",
                            csam_page_hd_text(pg, "helpdesk.no_history"));
    for (i = 0; i < who->n_history; i++)
        rows = apr_psprintf(
            p, "%s<tr><td>%s</td><td>%s</td><td>%s</td></tr>", rows,
            csam_page_hd_time(pg, who->history[i].at),
            ap_escape_html(p, who->history[i].officer),
            csam_page_hd_text(pg, apr_pstrcat(p, "helpdesk.action.",
                                              who->history[i].action, NULL)));
    return apr_psprintf(p,
                        "<table class=\"keys\" aria-labelledby=\"hd-history\">"
                        "<thead><tr>"
                        "<th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
                        "<th scope=\"col\">%s</th></tr></thead>"
                        "<tbody>%s</tbody></table>",
                        csam_page_hd_text(pg, "helpdesk.th_when"),
                        csam_page_hd_text(pg, "helpdesk.th_officer"),
                        csam_page_hd_text(pg, "helpdesk.th_what"), rows);
}

/* The result of a search: three sections under one heading. */
static const char *csam_page_hd_result(struct csam_page *pg,
                                       const struct csam_helpdesk_person *who)
{
    return apr_psprintf(pg->r->pool,
                        "<section aria-labelledby=\"hd-result\">"
                        "<h2 id=\"hd-result\">%s</h2>"
                        "<h3 id=\"hd-registrations\">%s</h3>%s"
                        "<h3 id=\"hd-account\">%s</h3>%s"
                        "<h3 id=\"hd-history\">%s</h3>%s</section>",
                        csam_page_hd_text(pg, "helpdesk.result_title"),
                        csam_page_hd_text(pg, "helpdesk.registrations_title"),
                        csam_page_hd_registrations(pg, who),
                        csam_page_hd_text(pg, "helpdesk.account_title"),
                        csam_page_hd_account(pg, who),
                        csam_page_hd_text(pg, "helpdesk.history_title"),
                        csam_page_hd_history(pg, who));
}

/* The number of this officer's last search, from the sealed cookie. */
static const char *csam_page_hd_searched(request_rec *r,
                                         struct csam_mod_runtime *rt,
                                         const char *browser)
{
    char *text = csam_cookie_get(r, rt, CSAM_PAGE_HD_COOKIE, browser);
    const char *officer, *number, *out = NULL;
    json_t *saved;

    saved = text != NULL ? json_loads(text, 0, NULL) : NULL;
    officer = json_string_value(json_object_get(saved, "officer"));
    number = json_string_value(json_object_get(saved, "number"));
    /* Another officer on a shared browser starts afresh. */
    if (officer != NULL && number != NULL && strcmp(officer, r->user) == 0)
        out = apr_pstrdup(r->pool, number);
    json_decref(saved);
    return out;
}

static int csam_page_hd_show(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_helpdesk_person *who;
    csam_engine *engine = NULL;
    struct csam_page pg;
    const char *number;
    csam_result res;

    if (csam_page_init(&pg, r, rt, csam_page_lang_negotiate(r)) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_fields(&pg, csam_page_hd_fields);
    number = csam_page_hd_searched(r, rt, pg.browser);
    csam_page_var(&pg, "national_number", number != NULL ? number : "");
    csam_page_var(&pg, "officer", r->user);
    csam_page_var(&pg, "helpdesk_result", "");
    csam_page_flash_show(&pg, CSAM_PAGE_HD_FLASH);
    if (number != NULL
        && csam_page_var_get(&pg, "national_number_error")[0] == '\0') {
        if (csam_pool_engine(r, &engine) != APR_SUCCESS)
            return csam_page_message(r, rt, pg.lang, "unavailable",
                                     HTTP_SERVICE_UNAVAILABLE);
        who = apr_pcalloc(r->pool, sizeof(*who));
        res = csam_engine_helpdesk_find(engine, r->user, csam_http_source(r),
                                        number, who);
        if (res == CSAM_ERR_DB || res == CSAM_ERR_SCHEMA)
            return csam_page_message(r, rt, pg.lang, "unavailable",
                                     HTTP_SERVICE_UNAVAILABLE);
        if (res == CSAM_OK)
            csam_page_var(&pg, "helpdesk_result",
                          csam_page_hd_result(&pg, who));
        else
            csam_page_field_error(
                &pg, "national_number",
                csam_page_text(&pg, "error.invalid_national_number", -1));
    }
    /* A person's registrations and account: never cached. */
    return csam_page_send(&pg, CSAM_PAGE_HELPDESK, HTTP_OK, 1);
}

/* Back to the page with a notice or an error (NULL: none). */
static int csam_page_hd_back(request_rec *r, struct csam_mod_runtime *rt,
                             const char *notice, const char *field,
                             const char *error, const char *value)
{
    json_t *flash = csam_page_flash_new(CSAM_PAGE_HD_FLASH);

    if (flash == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (notice != NULL)
        csam_page_flash_notice(flash, notice);
    if (error != NULL)
        csam_page_flash_error(flash, field, error, -1, 0);
    if (value != NULL)
        csam_page_flash_value(flash, "national_number", value);
    csam_page_flash_put(r, rt, flash);
    json_decref(flash);
    return csam_page_redirect(r, apr_pstrcat(r->pool, rt->config.handler_path,
                                             CSAM_PAGE_HD_PATH, NULL));
}

static int csam_page_hd_search(request_rec *r, struct csam_mod_runtime *rt,
                               apr_table_t *form)
{
    const char *number = csam_page_form_value(form, "national_number");
    struct csam_date birth;
    char digits[CSAM_NRN_SIZE];
    json_t *saved;
    char *text;

    if (number[0] == '\0')
        return csam_page_hd_back(r, rt, NULL, "national_number",
                                 "error.required", NULL);
    if (csam_nrn_parse(number, digits, &birth) != CSAM_OK)
        return csam_page_hd_back(r, rt, NULL, "national_number",
                                 "error.invalid_national_number", number);
    saved = json_pack("{s:s, s:s}", "officer", r->user, "number", digits);
    csam_wipe(digits, sizeof(digits));
    text = saved != NULL ? json_dumps(saved, JSON_COMPACT) : NULL;
    json_decref(saved);
    if (text == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_cookie_set(r, rt, CSAM_PAGE_HD_COOKIE, csam_cookie_browser(r, rt, 1),
                    text, CSAM_PAGE_HD_TTL);
    csam_wipe(text, strlen(text));
    free(text);
    return csam_page_redirect(r, apr_pstrcat(r->pool, rt->config.handler_path,
                                             CSAM_PAGE_HD_PATH, NULL));
}

/* What an action's result says on the page. */
static const char *csam_page_hd_error(csam_result res)
{
    switch (res) {
    case CSAM_ERR_NOT_FOUND: return "error.helpdesk_gone";
    case CSAM_ERR_MAIL: return "error.helpdesk_mail";
    default: return "error.internal_error";
    }
}

static int csam_page_hd_act(request_rec *r, struct csam_mod_runtime *rt,
                            const char *step, apr_table_t *form)
{
    const char *value, *notice;
    csam_engine *engine = NULL;
    apr_int64_t id;
    csam_result res;
    char *end = NULL;

    if (csam_pool_engine(r, &engine) != APR_SUCCESS)
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    if (strcmp(step, "unlock") == 0) {
        value = csam_page_form_value(form, "username");
        res = csam_engine_helpdesk_unlock(engine, r->user, csam_http_source(r),
                                          value);
        notice = "notice.helpdesk_unlocked";
    } else {
        value = csam_page_form_value(form, "registration");
        id = apr_strtoi64(value, &end, 10);
        if (end == value || *end != '\0')
            id = 0;
        if (id <= 0)
            res = CSAM_ERR_NOT_FOUND;
        else if (strcmp(step, "resend") == 0)
            res = csam_engine_helpdesk_resend(engine, r->user,
                                              csam_http_source(r), id);
        else
            res = csam_engine_helpdesk_revoke(engine, r->user,
                                              csam_http_source(r), id);
        notice = strcmp(step, "resend") == 0 ? "notice.helpdesk_resent"
                                             : "notice.helpdesk_revoked";
    }
    if (res == CSAM_ERR_DB || res == CSAM_ERR_SCHEMA)
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    if (res != CSAM_OK)
        return csam_page_hd_back(r, rt, NULL, NULL, csam_page_hd_error(res),
                                 NULL);
    return csam_page_hd_back(r, rt, notice, NULL, NULL, NULL);
}

static int csam_page_hd_post(request_rec *r, struct csam_mod_runtime *rt)
{
    apr_table_t *form;
    const char *step;
    int rv;

    rv = csam_page_read_form(r, &form);
    if (rv != OK)
        return rv;
    if (!csam_page_csrf_ok(r, rt, form))
        return csam_page_message(r, rt, csam_page_lang_negotiate(r), "csrf",
                                 HTTP_FORBIDDEN);
    step = csam_page_form_value(form, "step");
    if (strcmp(step, "search") == 0)
        return csam_page_hd_search(r, rt, form);
    if (strcmp(step, "resend") == 0 || strcmp(step, "revoke") == 0
        || strcmp(step, "unlock") == 0)
        return csam_page_hd_act(r, rt, step, form);
    return HTTP_BAD_REQUEST;
}

int csam_page_helpdesk(request_rec *r, struct csam_mod_runtime *rt)
{
    if (r->method_number == M_GET)
        return csam_page_hd_show(r, rt);
    if (r->method_number == M_POST)
        return csam_page_hd_post(r, rt);
    ap_discard_request_body(r);
    apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
    return HTTP_METHOD_NOT_ALLOWED;
}
