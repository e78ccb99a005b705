/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The activation pages' POST of one step: the paper code, the key and the
 * terms, the credentials, a code (the e-mail address's or the key's), a
 * new code.  Each form posts back to /csam/activate (CSRF) and is answered
 * by 303 to it (post/redirect/get), errors and notices riding in the
 * flash; what the activation became goes into the flow cookie
 * (page_activate_flow.c), and the GET (page_activate.c) shows it.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "mod_csam.h"
#include "page.h"
#include "page_activate.h"

APLOG_USE_MODULE(csam);

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

int csam_page_act_post(struct csam_page_act *a)
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
