/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The self-management page (DESIGN 2.4, 3.2): /csam/keys, for the holder
 * of a live session only (others get 303 to the login page, which brings
 * them back here).
 *
 * One page lists the keys with their status and activation date, with a
 * button to deactivate each active one (the engine refuses the last one:
 * the page says why), a form to activate another key type, and a form to
 * change the password.  Activating a key goes through the same confirm
 * step as the activation: the code sent to the new key (or, for the
 * mobile app, shown by the app once it has read the QR code) is typed on
 * a second page, reached while a sealed cookie bound to this browser and
 * this account says a key is pending (with the masked phone of an SMS
 * key, the provisioning URI and secret of an app key).  Every form POSTs back
 * with its CSRF token and is answered by 303 (post/redirect/get), errors and
 * notices riding in the flash.
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

#define CSAM_PAGE_COOKIE_KEYADD "csam_keyadd"
#define CSAM_PAGE_KEYS_FLASH "keys"

/* One request on the keys page. */
struct csam_page_keys {
    request_rec *r;
    struct csam_mod_runtime *rt;
    const char *browser;
    const char *location;          /* this page: every POST's 303 */
    struct csam_session_info info; /* the session's holder */
    enum csam_key_type pending;    /* a key waiting for its code */
    json_t *pending_json;          /* its cookie's object, or NULL */
    csam_engine *engine;
};

static const char *const csam_page_keys_fields[] = {
    "phone",           "key_type",
    "accept_terms",    "current_password",
    "new_password",    "new_password_repeat",
    "reauth_password", NULL};
static const char *const csam_page_keys_confirm_fields[] = {"code", NULL};

/* The key types this server can activate: SMS only with a gateway. */
static unsigned csam_page_keys_offered(const struct csam_page_keys *k)
{
    return csam_services_offered(k->rt->services);
}

static apr_status_t csam_page_keys_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

/* ---- the pending key (a sealed cookie) ----------------------------------- */

static void csam_page_keys_pending(struct csam_page_keys *k)
{
    char *text = csam_cookie_get(k->r, k->rt, CSAM_PAGE_COOKIE_KEYADD,
                                 k->browser);
    const char *user;
    json_t *j;
    json_int_t t;

    k->pending = CSAM_KEY_NONE;
    k->pending_json = NULL;
    if (text == NULL || (j = json_loads(text, 0, NULL)) == NULL)
        return;
    apr_pool_cleanup_register(k->r->pool, j, csam_page_keys_decref,
                              apr_pool_cleanup_null);
    user = json_string_value(json_object_get(j, "u"));
    t = json_integer_value(json_object_get(j, "k"));
    /* Another account's pending key (a login in between) is not ours. */
    if (user != NULL && strcmp(user, k->info.username) == 0
        && csam_key_type_name((enum csam_key_type)t) != NULL) {
        k->pending = (enum csam_key_type)t;
        k->pending_json = j;
    }
}

/* The pending key's cookie: its type, and the masked phone (SMS) or the
 * provisioning URI and secret (app) its confirm page shows; sealed, so
 * only this browser reads them, and gone once the key is confirmed. */
static void
csam_page_keys_pending_set(struct csam_page_keys *k, enum csam_key_type kt,
                           const char *masked,
                           const struct csam_credentials_outcome *out)
{
    json_t *j = json_pack("{s:s, s:I}", "u", k->info.username, "k",
                          (json_int_t)kt);
    char *text;

    if (j != NULL && masked != NULL)
        json_object_set_new(j, "p", json_string(masked));
    if (j != NULL && out->otpauth_uri != NULL && out->totp_secret != NULL) {
        json_object_set_new(j, "o", json_string(out->otpauth_uri));
        json_object_set_new(j, "s", json_string(out->totp_secret));
    }
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return;
    /* An app key has no code to expire: the flow's lifetime is enough
     * to install an app and scan. */
    csam_cookie_set(k->r, k->rt, CSAM_PAGE_COOKIE_KEYADD, k->browser, text,
                    kt == CSAM_KEY_TOTP ? k->rt->config.flow_ttl
                                        : k->rt->config.code_ttl);
    csam_wipe(text, strlen(text));
    free(text);
}

static const char *csam_page_keys_pending_str(const struct csam_page_keys *k,
                                              const char *key)
{
    return k->pending_json
               ? json_string_value(json_object_get(k->pending_json, key))
               : NULL;
}

static void csam_page_keys_pending_clear(struct csam_page_keys *k)
{
    csam_cookie_clear(k->r, k->rt, CSAM_PAGE_COOKIE_KEYADD);
    k->pending = CSAM_KEY_NONE;
}

static int csam_page_keys_unavailable(request_rec *r,
                                      struct csam_mod_runtime *rt)
{
    return csam_page_message(r, rt, csam_page_lang_negotiate(r), "unavailable",
                             HTTP_SERVICE_UNAVAILABLE);
}

/* ---- GET ---------------------------------------------------------------- */

/* The password field of the add form, when the session is too old to add
 * a key without it (CSAMReauthAfter); nothing otherwise.  Built here
 * because templates have no logic. */
static const char *csam_page_keys_reauth_field(struct csam_page *pg,
                                               const struct csam_page_keys *k)
{
    apr_pool_t *p = pg->r->pool;
    long minutes = (k->rt->config.reauth_after + 59) / 60;

    if (!csam_engine_session_reauth_needed(k->engine, &k->info))
        return "";
    return apr_psprintf(
        p,
        "<div class=\"field\">"
        "<label for=\"reauth_password\">%s <span class=\"hint\">%s</span>"
        "</label>%s"
        "<input type=\"password\" id=\"reauth_password\" "
        "name=\"reauth_password\" autocomplete=\"current-password\" "
        "required%s></div>",
        ap_escape_html(p, csam_page_text(pg, "keys.reauth_label", -1)),
        ap_escape_html(p, csam_page_text(pg, "keys.reauth_hint", minutes)),
        csam_page_var_get(pg, "reauth_password_error"),
        csam_page_var_get(pg, "reauth_password_attrs"));
}

/* The table rows: one per key, a deactivate button on each active one. */
static const char *csam_page_keys_rows(struct csam_page *pg,
                                       const struct csam_key_info *keys,
                                       size_t n, unsigned *active)
{
    apr_pool_t *p = pg->r->pool;
    const char *html = "";
    size_t i;

    *active = 0;
    for (i = 0; i < n; i++) {
        const char *name = csam_key_type_name(keys[i].type);
        const char *label, *status, *date, *action = "";

        if (name == NULL)
            continue;
        label = csam_page_key_name(pg, keys[i].type);
        status = csam_page_text(
            pg,
            strcmp(keys[i].status, "active") == 0    ? "status.active"
            : strcmp(keys[i].status, "pending") == 0 ? "status.pending"
                                                     : "status.inactive",
            -1);
        /* RFC 3339 from the engine; the date alone is what people read. */
        date = keys[i].activated_at[0] != '\0'
                   ? apr_psprintf(p, "<time datetime=\"%s\">%.10s</time>",
                                  ap_escape_html(p, keys[i].activated_at),
                                  ap_escape_html(p, keys[i].activated_at))
                   : "—";
        if (strcmp(keys[i].status, "active") == 0) {
            *active |= (unsigned)keys[i].type;
            action = apr_psprintf(
                p,
                "<form method=\"post\" action=\"%s\" class=\"inline-form\">"
                "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
                "<input type=\"hidden\" name=\"step\" value=\"deactivate\">"
                "<input type=\"hidden\" name=\"key_type\" value=\"%s\">"
                "<button type=\"submit\" class=\"secondary\">%s"
                "<span class=\"visually-hidden\"> : %s</span></button>"
                "</form>",
                ap_escape_html(p, csam_page_var_get(pg, "action")),
                ap_escape_html(p, csam_page_var_get(pg, "csrf")), name,
                ap_escape_html(p, csam_page_text(pg, "keys.deactivate", -1)),
                ap_escape_html(p, label));
        }
        html = apr_psprintf(p,
                            "%s<tr><th scope=\"row\">%s</th><td>%s</td>"
                            "<td>%s</td><td>%s</td></tr>",
                            html, ap_escape_html(p, label),
                            ap_escape_html(p, status), date, action);
    }
    return html;
}

static int csam_page_keys_show(struct csam_page_keys *k)
{
    struct csam_key_info keys[CSAM_KEYS_MAX];
    const char *const *fields;
    struct csam_page pg;
    unsigned active = 0;
    csam_result res;
    size_t n = 0;

    if (csam_page_init(&pg, k->r, k->rt, csam_page_lang_negotiate(k->r)) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    fields = k->pending != CSAM_KEY_NONE ? csam_page_keys_confirm_fields
                                         : csam_page_keys_fields;
    csam_page_fields(&pg, fields);
    for (; *fields != NULL; fields++)
        csam_page_var(&pg, *fields, "");
    csam_page_var(&pg, "action", k->location);
    csam_page_var(&pg, "username", k->info.username);
    csam_page_var(&pg, "logout",
                  apr_pstrcat(k->r->pool, k->rt->config.handler_path, "/logout",
                              NULL));
    csam_page_var(&pg, "terms_version", k->rt->terms_version);
    csam_page_var(&pg, "password_min",
                  apr_psprintf(k->r->pool, "%ld", k->rt->config.password_min));
    csam_page_var(&pg, "password_max",
                  apr_psprintf(k->r->pool, "%ld", k->rt->config.password_max));
    csam_page_flash_show(&pg, CSAM_PAGE_KEYS_FLASH);
    if (k->pending != CSAM_KEY_NONE) {
        const char *masked = csam_page_keys_pending_str(k, "p");

        csam_page_var(&pg, "key_name", csam_page_key_name(&pg, k->pending));
        csam_page_var(&pg, "phone_masked", masked ? masked : "");
        if (k->pending == CSAM_KEY_TOTP) {
            if (csam_page_key_totp_vars(&pg, csam_page_keys_pending_str(k, "o"),
                                        csam_page_keys_pending_str(k, "s"))
                != 0)
                return csam_page_keys_unavailable(k->r, k->rt);
            return csam_page_send(&pg, CSAM_PAGE_KEYS_TOTP, HTTP_OK, 1);
        }
        return csam_page_send(&pg,
                              k->pending == CSAM_KEY_SMS
                                  ? CSAM_PAGE_KEYS_SMS
                                  : CSAM_PAGE_KEYS_CONFIRM,
                              HTTP_OK, 1);
    }
    if (csam_pool_engine(k->r, &k->engine) != APR_SUCCESS)
        return csam_page_keys_unavailable(k->r, k->rt);
    res = csam_engine_keys_list(k->engine, k->info.username, keys,
                                CSAM_KEYS_MAX, &n);
    if (res != CSAM_OK && res != CSAM_ERR_NOT_FOUND)
        return csam_page_keys_unavailable(k->r, k->rt);
    if (n > CSAM_KEYS_MAX)
        n = CSAM_KEYS_MAX;
    csam_page_var(&pg, "key_rows", csam_page_keys_rows(&pg, keys, n, &active));
    csam_page_var(&pg, "key_options",
                  csam_page_key_choices(&pg, csam_page_keys_offered(k),
                                        active));
    csam_page_var(&pg, "reauth_field", csam_page_keys_reauth_field(&pg, k));
    return csam_page_send(&pg, CSAM_PAGE_KEYS, HTTP_OK, 1);
}

/* ---- POST --------------------------------------------------------------- */

static int csam_page_keys_back(struct csam_page_keys *k, json_t *flash)
{
    if (flash != NULL) {
        csam_page_flash_put(k->r, k->rt, flash);
        json_decref(flash);
    }
    return csam_page_redirect(k->r, k->location);
}

static int csam_page_keys_say(struct csam_page_keys *k, const char *field,
                              const char *key, long n)
{
    json_t *flash = csam_page_flash_new(CSAM_PAGE_KEYS_FLASH);

    if (flash != NULL) {
        if (strncmp(key, "notice.", 7) == 0)
            csam_page_flash_notice(flash, key);
        else
            csam_page_flash_error(flash, field, key, n, 0);
    }
    return csam_page_keys_back(k, flash);
}

/* The account went away under the session (deactivated): log in again. */
static int csam_page_keys_relogin(struct csam_page_keys *k)
{
    return csam_page_redirect(k->r,
                              csam_return_login_url(k->r, k->rt, k->location));
}

static int csam_page_keys_deactivate(struct csam_page_keys *k,
                                     apr_table_t *form)
{
    enum csam_key_type kt = csam_key_type_parse(
        csam_page_form_value(form, "key_type"));
    csam_result res;

    if (kt == CSAM_KEY_NONE)
        return csam_page_keys_back(k, NULL);
    res = csam_engine_key_deactivate(k->engine, csam_http_source(k->r),
                                     k->info.username, kt);
    switch (res) {
    case CSAM_OK:
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, k->r,
                      "CSAM00610: key %s deactivated for account %s (page)",
                      csam_key_type_name(kt), k->info.username);
        /* The sessions that key opened ended in the database: this node's
         * caches forget them now rather than at their TTL. */
        csam_session_cache_flush(k->rt);
        if (k->info.key_type == kt) {
            /* This session among them: log in again, with another key. */
            json_t *flash = csam_page_flash_new("login");

            if (flash != NULL) {
                csam_page_flash_notice(flash, "notice.key_deactivated_relogin");
                csam_page_flash_put(k->r, k->rt, flash);
                json_decref(flash);
            }
            csam_session_cookie_clear(k->r, k->rt);
            return csam_page_keys_relogin(k);
        }
        return csam_page_keys_say(k, NULL, "notice.key_deactivated", -1);
    case CSAM_ERR_STATE:
        return csam_page_keys_say(k, NULL, "error.last_key", -1);
    case CSAM_ERR_NOT_FOUND:
        return csam_page_keys_say(k, NULL, "error.key_not_active", -1);
    default: return csam_page_keys_unavailable(k->r, k->rt);
    }
}

/* The password asked again before a key is added (DESIGN 4): 1 when the
 * session may go on; 0 with *rv the answer otherwise. */
static int csam_page_keys_reauth(struct csam_page_keys *k, apr_table_t *form,
                                 int *rv)
{
    struct csam_attempts att = {-1, 0};

    switch (csam_engine_session_reauth(
        k->engine, csam_http_source(k->r), &k->info,
        csam_page_form_value(form, "reauth_password"), &att)) {
    case CSAM_OK: return 1;
    case CSAM_ERR_REAUTH:
        *rv = csam_page_keys_say(k, "reauth_password", "error.reauth_required",
                                 -1);
        return 0;
    case CSAM_ERR_BAD_CREDENTIALS:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, k->r,
                      "CSAM00802: wrong password asked again to add a key "
                      "for account %s (page)",
                      k->info.username);
        *rv = csam_page_keys_say(k, "reauth_password", "error.current_password",
                                 -1);
        return 0;
    case CSAM_ERR_LOCKED:
        *rv = csam_page_keys_say(k, NULL, "error.login_locked", -1);
        return 0;
    default: *rv = csam_page_keys_unavailable(k->r, k->rt); return 0;
    }
}

/* The page after csam_engine_key_add answered res for key type kt. */
static int csam_page_keys_added(struct csam_page_keys *k, enum csam_key_type kt,
                                csam_result res, long retry_after)
{
    switch (res) {
    case CSAM_ERR_TOO_SOON:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, k->r,
                      "CSAM00803: key add for account %s refused: a code "
                      "was sent less than CSAMResendCooldown ago (page)",
                      k->info.username);
        return csam_page_keys_say(k, NULL, "error.resend_wait", retry_after);
    case CSAM_OK:
        return csam_page_keys_say(k, NULL,
                                  kt == CSAM_KEY_TOTP  ? "notice.totp_scan"
                                  : kt == CSAM_KEY_SMS ? "notice.code_sent_sms"
                                                       : "notice.code_sent",
                                  -1);
    case CSAM_ERR_STATE:
        return csam_page_keys_say(k, "key_type", "error.key_already_active",
                                  -1);
    case CSAM_ERR_TERMS:
        return csam_page_keys_say(k, "accept_terms", "error.terms_not_accepted",
                                  -1);
    case CSAM_ERR_PHONE:
        return csam_page_keys_say(k, "phone", "error.invalid_phone", -1);
    case CSAM_ERR_INVALID:
        return csam_page_keys_say(k, "key_type", "error.key_unavailable", -1);
    case CSAM_ERR_MAIL:
        return csam_page_keys_say(k, NULL, "error.mail_unavailable", -1);
    case CSAM_ERR_NOT_FOUND: return csam_page_keys_relogin(k);
    default: return csam_page_keys_unavailable(k->r, k->rt);
    }
}

static int csam_page_keys_add(struct csam_page_keys *k, apr_table_t *form)
{
    struct csam_credentials_outcome out;
    struct csam_page_key_choice choice;
    json_t *flash;
    csam_result res;
    int rv;

    if (!csam_page_key_choice_read(k->r, form, csam_page_keys_offered(k),
                                   CSAM_PAGE_KEYS_FLASH, &choice, &flash)) {
        if (flash == NULL)
            return HTTP_INTERNAL_SERVER_ERROR;
        return csam_page_keys_back(k, flash);
    }
    if (!csam_page_keys_reauth(k, form, &rv))
        return rv;
    memset(&out, 0, sizeof(out));
    res = csam_engine_key_add(k->engine, csam_http_source(k->r),
                              k->info.username, choice.type, choice.accept,
                              choice.type == CSAM_KEY_SMS ? choice.phone : NULL,
                              k->rt->terms_version, &out);
    if (res == CSAM_OK)
        csam_page_keys_pending_set(k, choice.type, choice.masked, &out);
    csam_credentials_outcome_free(&out);
    return csam_page_keys_added(k, choice.type, res, out.attempts.retry_after);
}

static int csam_page_keys_confirm(struct csam_page_keys *k, apr_table_t *form)
{
    const char *code = csam_page_form_value(form, "code");
    struct csam_attempts att = {-1, 0};
    enum csam_key_type kt = k->pending;
    csam_result res;

    if (kt == CSAM_KEY_NONE)
        return csam_page_keys_back(k, NULL);
    if (code[0] == '\0')
        return csam_page_keys_say(k, "code", "error.required_code", -1);
    res = csam_engine_key_confirm(k->engine, csam_http_source(k->r),
                                  k->info.username, kt, code, &att);
    switch (res) {
    case CSAM_OK:
        csam_page_keys_pending_clear(k);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, k->r,
                      "CSAM00611: key %s activated for account %s (page)",
                      csam_key_type_name(kt), k->info.username);
        return csam_page_keys_say(k, NULL, "notice.key_activated", -1);
    case CSAM_ERR_BAD_CODE:
        return csam_page_keys_say(k, "code",
                                  csam_page_error_key(k->r, "invalid_code",
                                                      att.attempts_left, 0),
                                  att.attempts_left);
    case CSAM_ERR_LOCKED:
        csam_page_keys_pending_clear(k);
        return csam_page_keys_say(k, NULL, "error.key_add_locked", -1);
    case CSAM_ERR_EXPIRED:
    case CSAM_ERR_STATE:
        csam_page_keys_pending_clear(k);
        return csam_page_keys_say(k, NULL, "error.key_add_expired", -1);
    default: return csam_page_keys_unavailable(k->r, k->rt);
    }
}

static int csam_page_keys_password(struct csam_page_keys *k, apr_table_t *form)
{
    const char *current = csam_page_form_value(form, "current_password");
    const char *password = csam_page_form_value(form, "new_password");
    const char *repeat = csam_page_form_value(form, "new_password_repeat");
    json_t *flash;
    csam_result res;

    if (current[0] == '\0' || password[0] == '\0' || repeat[0] == '\0') {
        flash = csam_page_flash_new(CSAM_PAGE_KEYS_FLASH);
        if (flash == NULL)
            return HTTP_INTERNAL_SERVER_ERROR;
        if (current[0] == '\0')
            csam_page_flash_error(flash, "current_password", "error.required",
                                  -1, 0);
        if (password[0] == '\0')
            csam_page_flash_error(flash, "new_password", "error.required", -1,
                                  0);
        if (repeat[0] == '\0')
            csam_page_flash_error(flash, "new_password_repeat",
                                  "error.required", -1, 0);
        return csam_page_keys_back(k, flash);
    }
    res = csam_engine_password_change(k->engine, csam_http_source(k->r),
                                      k->info.username, current, password,
                                      repeat, csam_session_cookie_get(k->r));
    switch (res) {
    case CSAM_OK:
        /* The account's other sessions ended in the database: this
         * node's caches forget them now rather than at their TTL. */
        csam_session_cache_flush(k->rt);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, k->r,
                      "CSAM00612: password changed for account %s (page)",
                      k->info.username);
        return csam_page_keys_say(k, NULL, "notice.password_changed", -1);
    case CSAM_ERR_BAD_CREDENTIALS:
        return csam_page_keys_say(k, "current_password",
                                  "error.current_password", -1);
    case CSAM_ERR_LOCKED:
        return csam_page_keys_say(k, NULL, "error.login_locked", -1);
    case CSAM_ERR_PASSWORD_MISMATCH:
        return csam_page_keys_say(k, "new_password_repeat",
                                  "error.password_mismatch", -1);
    case CSAM_ERR_WEAK_PASSWORD:
    case CSAM_ERR_INVALID:
        return csam_page_keys_say(k, "new_password", "error.weak_password", -1);
    default: return csam_page_keys_unavailable(k->r, k->rt);
    }
}

static int csam_page_keys_post(struct csam_page_keys *k)
{
    apr_table_t *form;
    const char *step;
    int rv;

    rv = csam_page_read_form(k->r, &form);
    if (rv != OK)
        return rv;
    if (!csam_page_csrf_ok(k->r, k->rt, form))
        return csam_page_message(k->r, k->rt, csam_page_lang_negotiate(k->r),
                                 "csrf", HTTP_FORBIDDEN);
    step = csam_page_form_value(form, "step");
    if (strcmp(step, "cancel") == 0) {
        csam_page_keys_pending_clear(k);
        return csam_page_keys_back(k, NULL);
    }
    if (csam_pool_engine(k->r, &k->engine) != APR_SUCCESS)
        return csam_page_keys_unavailable(k->r, k->rt);
    if (strcmp(step, "deactivate") == 0)
        return csam_page_keys_deactivate(k, form);
    if (strcmp(step, "add") == 0)
        return csam_page_keys_add(k, form);
    if (strcmp(step, "confirm") == 0)
        return csam_page_keys_confirm(k, form);
    if (strcmp(step, "password") == 0)
        return csam_page_keys_password(k, form);
    return csam_page_keys_back(k, NULL);
}

int csam_page_keys(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_page_keys k;
    int live;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        ap_discard_request_body(r);
        apr_table_setn(r->err_headers_out, "Allow", "GET, POST");
        return HTTP_METHOD_NOT_ALLOWED;
    }
    memset(&k, 0, sizeof(k));
    k.r = r;
    k.rt = rt;
    k.location = apr_pstrcat(r->pool, rt->config.handler_path, "/keys", NULL);
    /* A change to the account must not act on a session ended on another
     * node a moment ago: POSTs ask the database itself. */
    live = r->method_number == M_POST ? csam_session_fresh(r, rt, &k.info)
                                      : csam_session_current(r, rt, &k.info);
    if (live < 0) {
        ap_discard_request_body(r);
        return csam_page_keys_unavailable(r, rt);
    }
    if (live == 0) {
        /* A POST without a session changes nothing: its body is dropped
         * and the login brings the citizen back to the list. */
        ap_discard_request_body(r);
        return csam_page_redirect(r, csam_return_login_url(r, rt, k.location));
    }
    k.browser = csam_cookie_browser(r, rt, 1);
    if (k.browser == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_keys_pending(&k);
    if (r->method_number == M_GET)
        return csam_page_keys_show(&k);
    return csam_page_keys_post(&k);
}
