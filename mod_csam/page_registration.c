/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registration desk's pages: the officer's form (POST answered by a
 * redirect) and the printable letter with the activation code, shown once;
 * the helpdesk's page (page_helpdesk.c) behind the same officer check.
 *
 * Only an officer authenticated by the administrator's own Apache
 * authentication (r->user, never a citizen's AuthType CSAM session) gets
 * either page.  The code travels from the
 * POST to the letter in a sealed cookie bound to the browser and the
 * officer, lives five minutes and is cleared when the letter is shown; the
 * database records that showing (csam_engine_letter_claim), so a reload,
 * the back button, another browser or a replayed copy of the cookie never
 * shows the code again.
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

#define CSAM_PAGE_COOKIE_LETTER "csam_letter"
#define CSAM_PAGE_LETTER_TTL 300
#define CSAM_PAGE_REG_FLASH "registration"

static const char *const csam_page_reg_fields[] = {
    "national_number", "first_name", "last_name", "birth_date", "document_type",
    "document_number", "email",      "language",  NULL};

static const char *const csam_page_reg_doctypes[] = {
    "eid", "passport", "residence_card", "foreign_id", NULL};

/* The selected-option attributes of the two lists (templates have no
 * logic): sel_document_<type> and sel_language_<lang>. */
static void csam_page_reg_selects(struct csam_page *pg, const char *doctype,
                                  const char *language)
{
    apr_pool_t *p = pg->r->pool;
    int i;

    for (i = 0; csam_page_reg_doctypes[i] != NULL; i++)
        csam_page_var(
            pg,
            apr_pstrcat(p, "sel_document_", csam_page_reg_doctypes[i], NULL),
            doctype != NULL && strcmp(doctype, csam_page_reg_doctypes[i]) == 0
                ? " selected"
                : "");
    for (i = 0; i < CSAM_MOD_NLANG; i++)
        csam_page_var(
            pg, apr_pstrcat(p, "sel_language_", csam_mod_languages[i], NULL),
            language != NULL && strcmp(language, csam_mod_languages[i]) == 0
                ? " selected"
                : "");
}

static int csam_page_reg_form(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_page pg;
    int i;

    if (csam_page_init(&pg, r, rt, csam_page_lang_negotiate(r)) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_fields(&pg, csam_page_reg_fields);
    for (i = 0; csam_page_reg_fields[i] != NULL; i++)
        csam_page_var(&pg, csam_page_reg_fields[i], "");
    csam_page_var(&pg, "officer", r->user);
    csam_page_flash_show(&pg, CSAM_PAGE_REG_FLASH);
    csam_page_reg_selects(&pg, csam_page_var_get(&pg, "document_type"),
                          csam_page_var_get(&pg, "language"));
    /* Personal data of the citizen being registered: never cached. */
    return csam_page_send(&pg, CSAM_PAGE_REGISTRATION, HTTP_OK, 1);
}

/* Check one form value at the edge, before the engine, so that each error
 * is shown next to its own field.  Returns the messages.txt key or NULL. */
static const char *csam_page_reg_check(const char *field, const char *value,
                                       const char *birth_date)
{
    struct csam_date nrn_birth, birth;
    char digits[CSAM_NRN_SIZE];

    if (value == NULL || value[0] == '\0')
        return strcmp(field, "language") == 0 ? NULL : "error.required";
    if (strcmp(field, "national_number") == 0) {
        if (csam_nrn_parse(value, digits, &nrn_birth) != CSAM_OK)
            return "error.invalid_national_number";
        if (birth_date != NULL && csam_date_parse(birth_date, &birth) == CSAM_OK
            && !csam_nrn_matches_birth(&nrn_birth, &birth))
            return "error.birth_mismatch";
        return NULL;
    }
    if (strcmp(field, "birth_date") == 0)
        return csam_date_parse(value, &birth) == CSAM_OK ? NULL
                                                         : "error.invalid_date";
    if (strcmp(field, "email") == 0)
        return csam_email_check(value) == CSAM_OK ? NULL
                                                  : "error.invalid_email";
    if (strcmp(field, "document_type") == 0)
        return csam_document_type_check(value) == CSAM_OK
                   ? NULL
                   : "error.invalid_request";
    if (strcmp(field, "language") == 0)
        return csam_language_check(value) == CSAM_OK ? NULL
                                                     : "error.invalid_request";
    if (strcmp(field, "document_number") == 0)
        return csam_text_check(value, CSAM_DOCNUM_MAX) == CSAM_OK
                   ? NULL
                   : "error.invalid_text";
    return csam_text_check(value, CSAM_NAME_MAX) == CSAM_OK
               ? NULL
               : "error.invalid_text";
}

/* The field a core result belongs to on this form. */
static const char *csam_page_reg_result_field(csam_result res)
{
    switch (res) {
    case CSAM_ERR_NATIONAL_NUMBER: return "national_number";
    case CSAM_ERR_EMAIL: return "email";
    default: return NULL;
    }
}

/* Back to the form with the errors and the officer's input kept. */
static int csam_page_reg_again(request_rec *r, struct csam_mod_runtime *rt,
                               apr_table_t *form, json_t *flash)
{
    int i;

    for (i = 0; csam_page_reg_fields[i] != NULL; i++)
        csam_page_flash_value(flash, csam_page_reg_fields[i],
                              apr_table_get(form, csam_page_reg_fields[i]));
    csam_page_flash_put(r, rt, flash);
    json_decref(flash);
    return csam_page_redirect(r, apr_pstrcat(r->pool, rt->config.handler_path,
                                             "/registration", NULL));
}

static void csam_page_reg_trim(apr_table_t *form)
{
    int i;

    for (i = 0; csam_page_reg_fields[i] != NULL; i++) {
        const char *v = apr_table_get(form, csam_page_reg_fields[i]);
        char *copy, *end;

        if (v == NULL)
            continue;
        while (*v == ' ' || *v == '\t')
            v++;
        /* Points into the wiped body buffer: trimmed in place. */
        copy = (char *)v;
        end = copy + strlen(copy);
        while (end > copy && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        apr_table_setn(form, csam_page_reg_fields[i], copy);
    }
}

static int csam_page_reg_post(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_registration reg;
    struct csam_registration_receipt receipt;
    csam_engine *engine = NULL;
    apr_table_t *form;
    json_t *flash, *letter;
    const char *error;
    char *text;
    csam_result res;
    int rv, i, bad = 0;

    rv = csam_page_read_form(r, &form);
    if (rv != OK)
        return rv;
    if (!csam_page_csrf_ok(r, rt, form))
        return csam_page_message(r, rt, csam_page_lang_negotiate(r), "csrf",
                                 HTTP_FORBIDDEN);
    csam_page_reg_trim(form);
    flash = csam_page_flash_new(CSAM_PAGE_REG_FLASH);
    if (flash == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    for (i = 0; csam_page_reg_fields[i] != NULL; i++) {
        const char *key = csam_page_reg_check(
            csam_page_reg_fields[i],
            apr_table_get(form, csam_page_reg_fields[i]),
            apr_table_get(form, "birth_date"));

        if (key != NULL) {
            csam_page_flash_error(flash, csam_page_reg_fields[i], key, -1, 0);
            bad = 1;
        }
    }
    if (bad)
        return csam_page_reg_again(r, rt, form, flash);

    memset(&reg, 0, sizeof(reg));
    reg.national_number = apr_table_get(form, "national_number");
    reg.first_name = apr_table_get(form, "first_name");
    reg.last_name = apr_table_get(form, "last_name");
    reg.birth_date = apr_table_get(form, "birth_date");
    reg.document_type = apr_table_get(form, "document_type");
    reg.document_number = apr_table_get(form, "document_number");
    reg.email = apr_table_get(form, "email");
    reg.language = apr_table_get(form, "language");
    if (reg.language != NULL && reg.language[0] == '\0')
        reg.language = NULL;

    if (csam_pool_engine(r, &engine) != APR_SUCCESS) {
        json_decref(flash);
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    }
    memset(&receipt, 0, sizeof(receipt));
    res = csam_engine_register(engine, r->user, csam_http_source(r), &reg,
                               &receipt);
    if (res == CSAM_ERR_DB || res == CSAM_ERR_SCHEMA) {
        json_decref(flash);
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    }
    if (res != CSAM_OK) {
        csam_api_status(res, &error);
        csam_page_flash_error(flash, csam_page_reg_result_field(res),
                              csam_page_error_key(r, error, -1, 0), -1, 0);
        return csam_page_reg_again(r, rt, form, flash);
    }
    json_decref(flash);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CSAM00510: registration %" APR_INT64_T_FMT
                  " recorded by officer %s (desk page)",
                  (apr_int64_t)receipt.registration_id, r->user);

    letter = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
        (json_int_t)receipt.registration_id, "officer", r->user, "code",
        receipt.activation_code, "first_name", reg.first_name, "last_name",
        reg.last_name, "email", reg.email, "language",
        reg.language ? reg.language : "fr", "expires", receipt.expires_at);
    csam_wipe(receipt.activation_code, sizeof(receipt.activation_code));
    text = letter ? json_dumps(letter, JSON_COMPACT) : NULL;
    json_decref(letter);
    if (text == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_cookie_set(r, rt, CSAM_PAGE_COOKIE_LETTER,
                    csam_cookie_browser(r, rt, 1), text, CSAM_PAGE_LETTER_TTL);
    csam_wipe(text, strlen(text));
    free(text);
    return csam_page_redirect(r, apr_pstrcat(r->pool, rt->config.handler_path,
                                             "/registration/letter", NULL));
}

static void csam_page_letter_var(struct csam_page *pg, json_t *letter,
                                 const char *name)
{
    const char *v = json_string_value(json_object_get(letter, name));

    csam_page_var(pg, name, v ? apr_pstrdup(pg->r->pool, v) : "");
}

static apr_status_t csam_page_letter_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

static int csam_page_letter(request_rec *r, struct csam_mod_runtime *rt)
{
    const char *browser = csam_cookie_browser(r, rt, 0);
    char *text = csam_cookie_get(r, rt, CSAM_PAGE_COOKIE_LETTER, browser);
    const char *officer, *expires;
    csam_engine *engine = NULL;
    struct csam_page pg;
    json_t *letter;
    csam_result res;
    int lang;

    letter = text ? json_loads(text, 0, NULL) : NULL;
    if (letter != NULL)
        apr_pool_cleanup_register(r->pool, letter, csam_page_letter_decref,
                                  apr_pool_cleanup_null);
    officer = json_string_value(json_object_get(letter, "officer"));
    /* Another officer on a shared browser does not see the last letter. */
    if (letter == NULL || officer == NULL || strcmp(officer, r->user) != 0)
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "letter_gone", HTTP_GONE);
    csam_cookie_clear(r, rt, CSAM_PAGE_COOKIE_LETTER);
    /* The browser forgets the cookie now; a copy of it sent again is
     * refused by the database, which lets the code be shown once. */
    if (csam_pool_engine(r, &engine) != APR_SUCCESS)
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    res = csam_engine_letter_claim(
        engine, r->user, csam_http_source(r),
        (int64_t)json_integer_value(json_object_get(letter, "id")));
    if (res == CSAM_ERR_DB || res == CSAM_ERR_SCHEMA)
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "unavailable", HTTP_SERVICE_UNAVAILABLE);
    if (res != CSAM_OK) {
        ap_log_rerror(
            APLOG_MARK, APLOG_NOTICE, 0, r,
            "CSAM00902: letter of registration %" APR_INT64_T_FMT
            " asked for again by officer %s: refused, it is "
            "shown once",
            (apr_int64_t)json_integer_value(json_object_get(letter, "id")),
            r->user);
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "letter_gone", HTTP_GONE);
    }
    lang = csam_page_lang_index(
        json_string_value(json_object_get(letter, "language")));
    if (csam_page_init(&pg, r, rt, lang < 0 ? 0 : lang) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_letter_var(&pg, letter, "code");
    csam_page_letter_var(&pg, letter, "first_name");
    csam_page_letter_var(&pg, letter, "last_name");
    csam_page_letter_var(&pg, letter, "email");
    expires = json_string_value(json_object_get(letter, "expires"));
    /* RFC 3339: the date is what a citizen needs. */
    csam_page_var(&pg, "expires",
                  expires ? apr_pstrndup(r->pool, expires, 10) : "");
    return csam_page_send(&pg, CSAM_PAGE_LETTER, HTTP_OK, 1);
}

int csam_page_registration(request_rec *r, struct csam_mod_runtime *rt,
                           const char *path)
{
    int letter = strcmp(path, "/registration/letter") == 0;

    switch (csam_auth_officer(r)) {
    case CSAM_OFFICER_OK: break;
    case CSAM_OFFICER_CITIZEN:
        ap_discard_request_body(r);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00901: registration page refused to a user "
                      "authenticated by AuthType CSAM: a citizen is never "
                      "an officer (give %s/registration the officers' own "
                      "AuthType)",
                      rt->config.handler_path);
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "forbidden", HTTP_FORBIDDEN);
    default:
        ap_discard_request_body(r);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00511: registration page without an "
                      "authenticated officer: configure authentication "
                      "for %s/registration",
                      rt->config.handler_path);
        return csam_page_message(r, rt, csam_page_lang_negotiate(r),
                                 "forbidden", HTTP_FORBIDDEN);
    }
    if (strcmp(path, "/registration/helpdesk") == 0)
        return csam_page_helpdesk(r, rt);
    if (r->method_number == M_GET)
        return letter ? csam_page_letter(r, rt) : csam_page_reg_form(r, rt);
    if (r->method_number == M_POST && !letter)
        return csam_page_reg_post(r, rt);
    ap_discard_request_body(r);
    apr_table_setn(r->err_headers_out, "Allow", letter ? "GET" : "GET, POST");
    return HTTP_METHOD_NOT_ALLOWED;
}
