/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rendering of the HTML pages, shared by page.c, page_registration.c,
 * page_helpdesk.c, page_activate.c, page_login.c and page_keys.c, and the entry
 * points of the login, logout and self-management pages for handler.c.
 *
 * Pages are templates from <data_dir>/templates/pages/, each written once
 * for every language and assembled per language at startup from its
 * {{msg.*}} texts (<lang>/messages.txt) and {{part.*}} fragments (parts/);
 * a portal's <lang>/<page>.html replaces a page for one language.  They
 * are rendered per request with csam_template_render(): every value is
 * HTML-escaped unless the template asks for a fragment the module built
 * itself ({{{name}}}: error summaries, field errors, their aria
 * attributes).  Short texts the code chooses (error messages, titles)
 * come from <lang>/messages.txt too.
 */
#ifndef CSAM_MOD_PAGE_H
#define CSAM_MOD_PAGE_H

#include <jansson.h>

#include "httpd.h"

#include "apr_tables.h"

#include "mod_csam.h"

enum csam_page_id {
    CSAM_PAGE_LAYOUT = 0,
    CSAM_PAGE_REGISTRATION,
    CSAM_PAGE_LETTER,
    CSAM_PAGE_ACTIVATE_CODE,
    CSAM_PAGE_ACTIVATE_KEY,
    CSAM_PAGE_ACTIVATE_CREDENTIALS,
    CSAM_PAGE_ACTIVATE_CONFIRM,
    CSAM_PAGE_ACTIVATE_DONE,
    CSAM_PAGE_MESSAGE,
    CSAM_PAGE_LOGIN,
    CSAM_PAGE_LOGIN_KEY,
    CSAM_PAGE_LOGIN_CODE,
    CSAM_PAGE_LOGOUT,
    CSAM_PAGE_KEYS,
    CSAM_PAGE_KEYS_CONFIRM,
    CSAM_PAGE_ACTIVATE_SMS, /* the confirm step of each key type */
    CSAM_PAGE_ACTIVATE_TOTP,
    CSAM_PAGE_LOGIN_TOTP,
    CSAM_PAGE_KEYS_SMS,
    CSAM_PAGE_KEYS_TOTP,
    CSAM_PAGE_ONLINE,                      /* the online procedure's start */
    CSAM_PAGE_ACTIVATE_CREDENTIALS_ONLINE, /* a new person online: + e-mail */
    CSAM_PAGE_ACTIVATE_RECOVERY,           /* an existing account's password */
    CSAM_PAGE_ACTIVATE_EMAIL,              /* the e-mail address's code */
    CSAM_PAGE_HELPDESK,
    CSAM_PAGE_COUNT
};

/* The page being built for one response. */
struct csam_page {
    request_rec *r;
    struct csam_mod_runtime *rt;
    int lang;                    /* index in csam_mod_languages */
    apr_array_header_t *vars;    /* struct csam_tvar */
    apr_array_header_t *summary; /* error summary items (HTML) */
    const char *browser;         /* the csam_b id */
};

/* Cookie names of the pages. */
#define CSAM_PAGE_COOKIE_FLASH "csam_flash"
#define CSAM_PAGE_FLASH_TTL 300

/* Start a page in language lang (index), with the browser id (created
 * when missing), its CSRF token and the common variables: lang, base,
 * stylesheet, csrf.  Returns 0, or -1 when no browser id could be made. */
int csam_page_init(struct csam_page *pg, request_rec *r,
                   struct csam_mod_runtime *rt, int lang);

/* Set variable name (replacing an earlier value). */
void csam_page_var(struct csam_page *pg, const char *name, const char *value);

/* The value of variable name, or NULL when it was never set. */
const char *csam_page_var_get(struct csam_page *pg, const char *name);

/* The text `key` of messages.txt in the page's language (then fr, then
 * the key itself), with {{n}} replaced by n when n >= 0. */
const char *csam_page_text(struct csam_page *pg, const char *key, long n);

/* Declare the page's form fields: each gets <f>_error and <f>_attrs,
 * empty until csam_page_field_error() fills them. */
void csam_page_fields(struct csam_page *pg, const char *const *fields);

/* Show message (plain text) next to field and in the error summary. */
void csam_page_field_error(struct csam_page *pg, const char *field,
                           const char *message);

/* An error that belongs to no field: in the summary only. */
void csam_page_error(struct csam_page *pg, const char *message);

/* A status message at the top of the page (role=status). */
void csam_page_notice(struct csam_page *pg, const char *message);

/* Render page `id` inside the layout and send it with status.  Pages with
 * a code or a handle pass no_store. */
int csam_page_send(struct csam_page *pg, enum csam_page_id id, int status,
                   int no_store);

/* A page with a heading and a paragraph: messages.txt keys
 * message.<kind>.heading and message.<kind>.text. */
int csam_page_message(request_rec *r, struct csam_mod_runtime *rt, int lang,
                      const char *kind, int status);

/* Answer a POST with 303 See Other to a local path. */
int csam_page_redirect(request_rec *r, const char *location);

/* The language index for a code ("fr", ...), or -1. */
int csam_page_lang_index(const char *code);

/* The best language of Accept-Language, or 0 (fr). */
int csam_page_lang_negotiate(const request_rec *r);

/* Read an application/x-www-form-urlencoded POST body into a table (the
 * first value of each name).  Returns OK, or the HTTP status to answer
 * (413, 415, 400). */
int csam_page_read_form(request_rec *r, apr_table_t **form);

/* The longest form value a page takes: longer ones are no code, name or
 * password we accept, and read as empty; the engine gives the precise
 * error below it. */
#define CSAM_PAGE_FORM_VALUE_MAX 1024

/* The value of name in form, "" when absent or longer than
 * CSAM_PAGE_FORM_VALUE_MAX (the engine's checks then answer "required"). */
const char *csam_page_form_value(apr_table_t *form, const char *name);

/* Check the CSRF token of a POSTed form: 1 if good. */
int csam_page_csrf_ok(request_rec *r, struct csam_mod_runtime *rt,
                      apr_table_t *form);

/* Save an error (and the fields to refill) for the page shown after the
 * redirect; read back and cleared by csam_page_flash_take(). */
void csam_page_flash_put(request_rec *r, struct csam_mod_runtime *rt,
                         json_t *flash);
json_t *csam_page_flash_take(request_rec *r, struct csam_mod_runtime *rt,
                             const char *browser);

/* A new flash for the page named page (e.g. "registration"): an object
 * {"page": page}.  Fill it with csam_page_flash_field(),
 * csam_page_flash_error(), csam_page_flash_value(); owned by the caller
 * (json_decref). */
json_t *csam_page_flash_new(const char *page);

/* Record an error for field (NULL: for no field): key is a messages.txt
 * key, n the attempts left (or -1), retry the seconds before a retry (or
 * 0). */
void csam_page_flash_error(json_t *flash, const char *field, const char *key,
                           long n, long retry);

/* A value to refill in the form (never a password or a code). */
void csam_page_flash_value(json_t *flash, const char *field, const char *value);

/* A status message key for the next page. */
void csam_page_flash_notice(json_t *flash, const char *key);

/* Take this browser's flash if it was made for page, and show its errors
 * and notice on pg and set its refill values as variables named after
 * their fields.  Fields must have been declared (csam_page_fields). */
void csam_page_flash_show(struct csam_page *pg, const char *page);

/* The messages.txt key of the text for an API error code ("error.<code>",
 * or the attempts/retry variants). */
const char *csam_page_error_key(request_rec *r, const char *error,
                                long attempts_left, long retry_after);

/* Localised message for a core result (the "error.<api error>" text),
 * with the attempts left or the delay when given. */
const char *csam_page_result_text(struct csam_page *pg, const char *error,
                                  long attempts_left, long retry_after);

/* The localised name of a key type (messages.txt key.<type>; page.c). */
const char *csam_page_key_name(struct csam_page *pg, enum csam_key_type type);

/* ---- the key types' shared parts (page_key.c) --------------------------- */

/* The radio buttons of a key choice: the types in offered, and those in
 * active shown disabled ("already active"); the SMS option is followed by
 * the phone field (variables phone, phone_error, phone_attrs, so declare
 * the field "phone" first).  The first option has the id key_type.  In
 * r->pool. */
const char *csam_page_key_choices(struct csam_page *pg, unsigned offered,
                                  unsigned active);

/* A key choice as the activation and the keys pages' forms give it. */
struct csam_page_key_choice {
    enum csam_key_type type; /* CSAM_KEY_NONE when none or unknown */
    int accept;              /* the terms were accepted */
    const char *phone;       /* "" when not given */
    const char *masked;      /* SMS: the masked number, else NULL */
};

/* Read the form's key choice (key_type, accept_terms, phone) and check it
 * against offered.  1 when it can go to the engine.  0 otherwise, with
 * *flash (for page flash_page) holding every error at once, so the
 * citizen fixes everything in one go, and the values typed; *flash NULL
 * when out of memory. */
int csam_page_key_choice_read(request_rec *r, apr_table_t *form,
                              unsigned offered, const char *flash_page,
                              struct csam_page_key_choice *out, json_t **flash);

/* phone normalised to E.164 and masked for display, country code and the
 * last two digits kept ("+32•••••••56"), or NULL when not a number.  In
 * r->pool. */
const char *csam_page_key_phone_mask(request_rec *r, const char *phone);

/* The base32 secret in groups of four ("ABCD EFGH ..."), in r->pool and
 * wiped with it. */
const char *csam_page_key_secret_groups(request_rec *r, const char *secret);

/* Set the mobile-app key's variables: {{{qr}}} (the inline SVG of uri,
 * with an accessible name), secret (grouped) and otpauth_uri; all wiped
 * with r->pool.  Returns 0, or -1 (logged) when they cannot be made. */
int csam_page_key_totp_vars(struct csam_page *pg, const char *uri,
                            const char *secret);

/* ---- the online procedure (page_online.c, page_activate.c) ------------ */

/* Hand an activation the online procedure opened to the activation pages:
 * its handle goes into the sealed flow cookie of browser (as after the
 * link's paper code) and the answer is 303 to <handler>/activate. */
int csam_page_activate_online(request_rec *r, struct csam_mod_runtime *rt,
                              const char *browser, const char *handle,
                              const struct csam_procedure *proc);

/* ---- entry points (handler.c dispatches to them) ----------------------- */

/* /csam/online: GET explains the online procedure and offers to go on;
 * POST (CSRF) identifies the person by the location's CSAMIdentitySource,
 * opens the procedure and goes to the activation pages; 403 with a page
 * saying to identify with eID or itsme when there is no identity. */
int csam_page_online(request_rec *r, struct csam_mod_runtime *rt);

/* /csam/login[?return=<local path>]: username and password, the key
 * choice, the code; a session cookie and 303 to the cleaned return path
 * (default <handler>/keys) at the end.  GET and POST. */
int csam_page_login(request_rec *r, struct csam_mod_runtime *rt);

/* /csam/registration/helpdesk, for an officer page_registration.c let
 * through: the search by national number and its result (GET), the
 * search and the actions (POST, CSRF, 303 back). */
int csam_page_helpdesk(request_rec *r, struct csam_mod_runtime *rt);

/* /csam/logout: GET shows a button, POST (CSRF) ends the session and
 * answers 303 to the login page with a notice. */
int csam_page_logout(request_rec *r, struct csam_mod_runtime *rt);

/* /csam/keys: the session's keys, deactivating one, adding another type,
 * changing the password.  Without a session: 303 to
 * <handler>/login?return=<handler>/keys.  GET and POST. */
int csam_page_keys(request_rec *r, struct csam_mod_runtime *rt);

#endif
