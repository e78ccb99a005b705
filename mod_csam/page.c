/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTML pages' common machinery: loading the templates, texts and
 * stylesheet at startup, building a page (variables, field errors, the
 * error summary), sending it inside the layout, the one-time flash that
 * carries errors across a post/redirect/get, form reading, CSRF checks and
 * language negotiation.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_script.h"

#include "apr_file_info.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"
#include "template.h"

APLOG_USE_MODULE(csam);

/* messages.txt: at most this many bytes per line and this many lines. */
#define CSAM_PAGE_TEXT_LINE_MAX 2048
#define CSAM_PAGE_FORM_FIELDS_MAX 32
#define CSAM_PAGE_FLASH_MAX 2600
#define CSAM_PAGE_FLASH_VALUE_MAX 256

/* Template files, in the order of enum csam_page_id. */
static const char *const csam_page_files[CSAM_PAGE_COUNT] = {
    "layout.html",
    "registration.html",
    "letter.html",
    "activate_code.html",
    "activate_key.html",
    "activate_credentials.html",
    "activate_confirm.html",
    "activate_done.html",
    "message.html",
    "login.html",
    "login_key.html",
    "login_code.html",
    "logout.html",
    "keys.html",
    "keys_confirm.html",
    "activate_sms.html",
    "activate_totp.html",
    "login_totp.html",
    "keys_sms.html",
    "keys_totp.html",
    "online.html",
    "activate_credentials_online.html",
    "activate_recovery.html",
    "activate_email.html",
    "helpdesk.html",
};

/* messages.txt keys of each page's <title>, same order. */
static const char *const csam_page_titles[CSAM_PAGE_COUNT] = {
    "title.layout",
    "title.registration",
    "title.letter",
    "title.activate_code",
    "title.activate_key",
    "title.activate_credentials",
    "title.activate_confirm",
    "title.activate_done",
    NULL, /* a message page's title is its heading */
    "title.login",
    "title.login_key",
    "title.login_code",
    "title.logout",
    "title.keys",
    "title.keys_confirm",
    "title.activate_sms",
    "title.activate_totp",
    "title.login_totp",
    "title.keys_sms",
    "title.keys_totp",
    "title.online",
    "title.activate_credentials",
    "title.activate_recovery",
    "title.activate_email",
    "title.helpdesk",
};

struct csam_page_set {
    char *tmpl[CSAM_MOD_NLANG][CSAM_PAGE_COUNT];
    apr_hash_t *texts[CSAM_MOD_NLANG];
    char *css;
    apr_size_t css_len;
};

static apr_status_t csam_page_free_string(void *data)
{
    free(data);
    return APR_SUCCESS;
}

/* Keep a malloc'd string as long as p. */
static void csam_page_keep(apr_pool_t *p, char *s)
{
    apr_pool_cleanup_register(p, s, csam_page_free_string,
                              apr_pool_cleanup_null);
}

/* The file a template name stands for in the directory it came from, for
 * messages. */
static const char *csam_page_file_name(apr_pool_t *p,
                                       const struct csam_template_dirs *dirs,
                                       enum csam_template_origin found,
                                       const char *rel)
{
    if (found == CSAM_TEMPLATE_OWN)
        return apr_pstrcat(p, dirs->own, "/", rel, NULL);
    return apr_pstrcat(p, dirs->data_dir, "/templates/", rel, NULL);
}

/* Read the template rel ("pages/login.html") from where with the core's
 * bounded reader and checks; the string lives as long as p, *found (may
 * be NULL) says which directory it came from.  CSAM_ERR_NOT_FOUND is
 * returned, not reported, when missing is allowed: the caller tries the
 * next place.  Otherwise a message naming the directive and the file. */
static const char *csam_page_read(apr_pool_t *p,
                                  const struct csam_template_dirs *dirs,
                                  enum csam_template_origin where,
                                  const char *rel, int may_be_missing,
                                  char **out, enum csam_template_origin *found)
{
    char why[CSAM_CONFIG_ERRLEN];
    enum csam_template_origin from;
    csam_result res;

    *out = NULL;
    res = csam_template_load(dirs, where, rel, out, &from, why, sizeof(why));
    if (found != NULL)
        *found = from;
    if (res == CSAM_OK) {
        csam_page_keep(p, *out);
        return NULL;
    }
    if (res == CSAM_ERR_NOT_FOUND && may_be_missing)
        return NULL;
    /* the administrator's file, or the one missing from the package */
    if (res == CSAM_ERR_NOT_FOUND)
        return apr_psprintf(p, "CSAMDataDir: cannot read page file '%s'",
                            csam_page_file_name(p, dirs, CSAM_TEMPLATE_SHIPPED,
                                                rel));
    return apr_psprintf(p, "%s: page file %s (%s)",
                        from == CSAM_TEMPLATE_OWN ? "CSAMTemplatesDir"
                                                  : "CSAMDataDir",
                        why, csam_result_name(res));
}

/* Parse messages.txt: "key = value" lines, '#' comments, blank lines. */
static const char *csam_page_parse_texts(apr_pool_t *p, const char *path,
                                         char *text, apr_hash_t *texts)
{
    char *line, *next;
    int lineno = 0;

    for (line = text; line != NULL && *line != '\0'; line = next) {
        char *eq, *key, *value, *end;

        lineno++;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strlen(line) > CSAM_PAGE_TEXT_LINE_MAX)
            return apr_psprintf(p, "%s:%d: line too long", path, lineno);
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '\0' || *line == '#' || *line == '\r')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL)
            return apr_psprintf(p, "%s:%d: expected 'key = text'", path,
                                lineno);
        end = eq;
        while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        key = apr_pstrmemdup(p, line, (apr_size_t)(end - line));
        value = eq + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        end = value + strlen(value);
        while (end > value
               && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        if (key[0] == '\0')
            return apr_psprintf(p, "%s:%d: empty key", path, lineno);
        apr_hash_set(texts, key, APR_HASH_KEY_STRING,
                     apr_pstrmemdup(p, value, (apr_size_t)(end - value)));
    }
    return NULL;
}

/* The fragments pages share ({{part.<name>}}), in <dir>/parts/<name>.html:
 * markup written once, e.g. the mobile-app key's QR code block of the
 * activation and of the keys page. */
static const char *const csam_page_parts[] = {
    "totp_setup",  "sms_confirm",          "code_resend",
    "code_cancel", "credentials_username", "credentials_password",
};
#define CSAM_PAGE_NPARTS (sizeof(csam_page_parts) / sizeof(csam_page_parts[0]))

/* The parts as {{part.<name>}} variables: one final newline dropped, so
 * that a part on a line of its own takes that line. */
static const char *csam_page_load_parts(apr_pool_t *p,
                                        const struct csam_template_dirs *dirs,
                                        struct csam_tvar *parts)
{
    size_t i;

    for (i = 0; i < CSAM_PAGE_NPARTS; i++) {
        char *text;
        size_t len;
        const char *err = csam_page_read(
            p, dirs, CSAM_TEMPLATE_ANY,
            apr_pstrcat(p, "pages/parts/", csam_page_parts[i], ".html", NULL),
            0, &text, NULL);

        if (err != NULL)
            return err;
        len = strlen(text);
        if (len > 0 && text[len - 1] == '\n')
            text[len - 1] = '\0';
        parts[i].name = apr_pstrcat(p, "part.", csam_page_parts[i], NULL);
        parts[i].value = text;
    }
    return NULL;
}

/* The texts of one language as {{msg.<key>}} variables. */
static struct csam_tvar *csam_page_text_vars(apr_pool_t *p, apr_hash_t *texts,
                                             size_t *n)
{
    struct csam_tvar *vars = apr_pcalloc(
        p, ((apr_size_t)apr_hash_count(texts) + 1) * sizeof(*vars));
    apr_hash_index_t *hi;

    *n = 0;
    for (hi = apr_hash_first(p, texts); hi != NULL; hi = apr_hash_next(hi)) {
        const void *key;
        void *value;

        apr_hash_this(hi, &key, NULL, &value);
        vars[*n].name = apr_pstrcat(p, "msg.", (const char *)key, NULL);
        vars[*n].value = value;
        (*n)++;
    }
    return vars;
}

/* Page `file` for language lang, read: the most specific file wins,
 * the administrator's before the shipped ones: <lang>/<file>, then the
 * one shared <file>, first in the administrator's directory, then in the
 * package's.  *path names the file read, for messages. */
static const char *csam_page_read_page(apr_pool_t *p,
                                       const struct csam_template_dirs *dirs,
                                       const char *lang, const char *file,
                                       char **out, const char **path)
{
    static const enum csam_template_origin order[] = {CSAM_TEMPLATE_OWN,
                                                      CSAM_TEMPLATE_SHIPPED};
    size_t i;

    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *rels[2];
        size_t j;

        rels[0] = apr_pstrcat(p, "pages/", lang, "/", file, NULL);
        rels[1] = apr_pstrcat(p, "pages/", file, NULL);
        for (j = 0; j < 2; j++) {
            /* the last place is the shipped shared page: it must be */
            int last = i == 1 && j == 1;
            const char *err = csam_page_read(p, dirs, order[i], rels[j], !last,
                                             out, NULL);

            if (err != NULL)
                return err;
            if (*out != NULL) {
                *path = csam_page_file_name(p, dirs, order[i], rels[j]);
                return NULL;
            }
        }
    }
    return "no page file"; /* not reached: the last read reports */
}

/* The first {{msg.<key>}} of tmpl whose key texts lacks (for the startup
 * error), or "?". */
static const char *csam_page_missing_text(apr_pool_t *p, const char *tmpl,
                                          apr_hash_t *texts)
{
    const char *at = tmpl;

    while ((at = strstr(at, "{{")) != NULL) {
        const char *name = at + 2, *end;

        while (*name == '{' || *name == ' ')
            name++;
        at = name;
        if (strncmp(name, "msg.", 4) != 0)
            continue;
        name += 4;
        for (end = name;
             isalnum((unsigned char)*end) || *end == '_' || *end == '.'; end++)
            ;
        if (apr_hash_get(texts, name, (apr_ssize_t)(end - name)) == NULL)
            return apr_pstrmemdup(p, name, (apr_size_t)(end - name));
    }
    return "?";
}

/* Read one page and assemble it for one language: parts, then texts,
 * leaving the request's {{variables}} for csam_page_send(). */
static const char *
csam_page_assemble(apr_pool_t *p, const struct csam_template_dirs *dirs,
                   const char *file, const char *lang, apr_hash_t *texts,
                   const struct csam_tvar *parts, const struct csam_tvar *msgs,
                   size_t nmsgs, char **out)
{
    char *tmpl, *with_parts, *page, *check;
    const char *path = NULL;
    const char *err = csam_page_read_page(p, dirs, lang, file, &tmpl, &path);
    csam_result res;

    if (err != NULL)
        return err;
    res = csam_template_expand(tmpl, "part.", parts, CSAM_PAGE_NPARTS,
                               &with_parts);
    if (res == CSAM_ERR_INVALID)
        return apr_psprintf(p,
                            "page file '%s': a {{part.*}} names no file "
                            "of parts/ that mod_csam knows",
                            path);
    if (res != CSAM_OK)
        return apr_psprintf(p, "page file '%s': %s", path,
                            csam_result_name(res));
    csam_page_keep(p, with_parts);
    res = csam_template_expand(with_parts, "msg.", msgs, nmsgs, &page);
    if (res == CSAM_ERR_INVALID)
        return apr_psprintf(p,
                            "page file '%s': %s/messages.txt has no "
                            "text '%s'",
                            path, lang,
                            csam_page_missing_text(p, with_parts, texts));
    if (res != CSAM_OK)
        return apr_psprintf(p, "page file '%s': %s", path,
                            csam_result_name(res));
    csam_page_keep(p, page);
    /* parts do not hold parts: a tag left now would fail every request */
    res = csam_template_expand(page, "part.", NULL, 0, &check);
    if (res != CSAM_OK)
        return apr_psprintf(p, "page file '%s': a part holds a {{part.*}}",
                            path);
    free(check);
    *out = page;
    return NULL;
}

/* The texts of one language: the shipped messages.txt, then the
 * administrator's on top of it, key by key, so that an override of a few
 * texts keeps the texts a later version adds. */
static const char *csam_page_load_texts(apr_pool_t *p,
                                        const struct csam_template_dirs *dirs,
                                        const char *lang, apr_hash_t *texts)
{
    static const enum csam_template_origin order[] = {CSAM_TEMPLATE_SHIPPED,
                                                      CSAM_TEMPLATE_OWN};
    const char *rel = apr_pstrcat(p, "pages/", lang, "/messages.txt", NULL);
    size_t i;

    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        char *text;
        const char *err = csam_page_read(
            p, dirs, order[i], rel, order[i] == CSAM_TEMPLATE_OWN, &text, NULL);

        if (err != NULL)
            return err;
        if (text == NULL)
            continue;
        err = csam_page_parse_texts(p,
                                    csam_page_file_name(p, dirs, order[i], rel),
                                    apr_pstrdup(p, text), texts);
        if (err != NULL)
            return err;
    }
    return NULL;
}

const char *csam_page_load(apr_pool_t *p, const struct csam_template_dirs *dirs,
                           struct csam_page_set **out)
{
    struct csam_page_set *set = apr_pcalloc(p, sizeof(*set));
    struct csam_tvar parts[CSAM_PAGE_NPARTS];
    const char *err;
    int l, i;

    err = csam_page_load_parts(p, dirs, parts);
    if (err != NULL)
        return err;
    for (l = 0; l < CSAM_MOD_NLANG; l++) {
        const char *lang = csam_mod_languages[l];
        struct csam_tvar *msgs;
        size_t nmsgs;

        set->texts[l] = apr_hash_make(p);
        err = csam_page_load_texts(p, dirs, lang, set->texts[l]);
        if (err != NULL)
            return err;
        msgs = csam_page_text_vars(p, set->texts[l], &nmsgs);
        for (i = 0; i < CSAM_PAGE_COUNT; i++) {
            err = csam_page_assemble(p, dirs, csam_page_files[i], lang,
                                     set->texts[l], parts, msgs, nmsgs,
                                     &set->tmpl[l][i]);
            if (err != NULL)
                return err;
        }
    }
    err = csam_page_read(p, dirs, CSAM_TEMPLATE_ANY, "pages/csam.css", 0,
                         &set->css, NULL);
    if (err != NULL)
        return err;
    set->css_len = strlen(set->css);
    *out = set;
    return NULL;
}

int csam_page_stylesheet(request_rec *r, struct csam_mod_runtime *rt)
{
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    csam_http_security_headers(r, 0);
    ap_set_content_type(r, "text/css; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=3600");
    ap_set_content_length(r, (apr_off_t)rt->pages->css_len);
    if (!r->header_only)
        ap_rwrite(rt->pages->css, (int)rt->pages->css_len, r);
    return OK;
}

/* ---- languages ---------------------------------------------------------- */

int csam_page_lang_index(const char *code)
{
    int i;

    if (code == NULL)
        return -1;
    for (i = 0; i < CSAM_MOD_NLANG; i++)
        if (strcasecmp(code, csam_mod_languages[i]) == 0)
            return i;
    return -1;
}

int csam_page_lang_negotiate(const request_rec *r)
{
    const char *al = apr_table_get(r->headers_in, "Accept-Language");
    int best = 0, bestq = -1;

    if (al == NULL)
        return best;
    /* Ranges look like "nl-BE;q=0.8"; only the primary tag matters. */
    while (*al != '\0') {
        char tag[9];
        size_t n = 0;
        int q = 1000, idx;

        while (*al == ' ' || *al == '\t' || *al == ',')
            al++;
        while (isalpha((unsigned char)*al) && n < sizeof(tag) - 1)
            tag[n++] = *al++;
        tag[n] = '\0';
        while (*al != '\0' && *al != ',' && *al != ';')
            al++;
        while (*al == ';') {
            al++;
            while (*al == ' ')
                al++;
            if (al[0] == 'q' && al[1] == '=') {
                char *end;
                double v = strtod(al + 2, &end);

                q = (v >= 0 && v <= 1) ? (int)(v * 1000) : 0;
                al = end;
            }
            while (*al != '\0' && *al != ',' && *al != ';')
                al++;
        }
        idx = csam_page_lang_index(tag);
        if (idx >= 0 && q > 0 && q > bestq) {
            best = idx;
            bestq = q;
        }
    }
    return best;
}

/* ---- building a page ---------------------------------------------------- */

void csam_page_var(struct csam_page *pg, const char *name, const char *value)
{
    struct csam_tvar *v = (void *)pg->vars->elts;
    int i;

    for (i = 0; i < pg->vars->nelts; i++)
        if (strcmp(v[i].name, name) == 0) {
            v[i].value = value ? value : "";
            return;
        }
    v = apr_array_push(pg->vars);
    v->name = name;
    v->value = value ? value : "";
}

const char *csam_page_var_get(struct csam_page *pg, const char *name)
{
    const struct csam_tvar *v = (const void *)pg->vars->elts;
    int i;

    for (i = 0; i < pg->vars->nelts; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i].value;
    return NULL;
}

const char *csam_page_text(struct csam_page *pg, const char *key, long n)
{
    const struct csam_page_set *set = pg->rt->pages;
    const char *t = apr_hash_get(set->texts[pg->lang], key,
                                 APR_HASH_KEY_STRING);
    const char *at;

    if (t == NULL)
        t = apr_hash_get(set->texts[0], key, APR_HASH_KEY_STRING);
    if (t == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, pg->r,
                      "CSAM00500: messages.txt of '%s' has no text '%s'",
                      csam_mod_languages[pg->lang], key);
        return key;
    }
    if (n < 0 || (at = strstr(t, "{{n}}")) == NULL)
        return t;
    return apr_psprintf(pg->r->pool, "%.*s%ld%s", (int)(at - t), t, n, at + 5);
}

/* A text that may be absent (no warning): NULL then. */
static const char *csam_page_text_opt(struct csam_page *pg, const char *key)
{
    const struct csam_page_set *set = pg->rt->pages;
    const char *t = apr_hash_get(set->texts[pg->lang], key,
                                 APR_HASH_KEY_STRING);

    return t ? t : apr_hash_get(set->texts[0], key, APR_HASH_KEY_STRING);
}

int csam_page_init(struct csam_page *pg, request_rec *r,
                   struct csam_mod_runtime *rt, int lang)
{
    const char *csrf;

    memset(pg, 0, sizeof(*pg));
    pg->r = r;
    pg->rt = rt;
    pg->lang = (lang >= 0 && lang < CSAM_MOD_NLANG) ? lang : 0;
    pg->vars = apr_array_make(r->pool, 24, sizeof(struct csam_tvar));
    pg->summary = apr_array_make(r->pool, 4, sizeof(const char *));
    pg->browser = csam_cookie_browser(r, rt, 1);
    if (pg->browser == NULL)
        return -1;
    csrf = csam_csrf_token(r, rt, pg->browser);
    if (csrf == NULL)
        return -1;
    csam_page_var(pg, "lang", csam_mod_languages[pg->lang]);
    csam_page_var(pg, "base", rt->config.handler_path);
    csam_page_var(pg, "stylesheet",
                  apr_pstrcat(r->pool, rt->config.handler_path,
                              "/static/csam.css", NULL));
    csam_page_var(pg, "csrf", csrf);
    csam_page_var(pg, "notice", "");
    return 0;
}

static char *csam_page_escape(request_rec *r, const char *s)
{
    char *e = csam_html_escape(s ? s : "");
    char *copy;

    if (e == NULL)
        return apr_pstrdup(r->pool, "");
    copy = apr_pstrdup(r->pool, e);
    free(e);
    return copy;
}

void csam_page_fields(struct csam_page *pg, const char *const *fields)
{
    for (; *fields != NULL; fields++) {
        csam_page_var(pg, apr_pstrcat(pg->r->pool, *fields, "_error", NULL),
                      "");
        csam_page_var(pg, apr_pstrcat(pg->r->pool, *fields, "_attrs", NULL),
                      "");
    }
}

void csam_page_field_error(struct csam_page *pg, const char *field,
                           const char *message)
{
    apr_pool_t *p = pg->r->pool;
    const char *msg = csam_page_escape(pg->r, message);
    const char *id = apr_pstrcat(p, field, "-error", NULL);
    const char *label;
    const char **item;

    /* The message sits next to the field and is read with it; the summary
     * links to the field so keyboard users reach it in one step. */
    csam_page_var(
        pg, apr_pstrcat(p, field, "_error", NULL),
        apr_psprintf(p,
                     "<p class=\"field-error\" id=\"%s\">"
                     "<span class=\"visually-hidden\">%s </span>"
                     "%s</p>",
                     id,
                     csam_page_escape(pg->r,
                                      csam_page_text(pg, "summary.prefix", -1)),
                     msg));
    csam_page_var(pg, apr_pstrcat(p, field, "_attrs", NULL),
                  apr_psprintf(p,
                               " aria-invalid=\"true\" "
                               "aria-describedby=\"%s\"",
                               id));
    label = csam_page_text_opt(pg, apr_pstrcat(p, "field.", field, NULL));
    item = apr_array_push(pg->summary);
    /* The summary names the field: "required" alone says nothing there. */
    *item = apr_psprintf(p, "<li><a href=\"#%s\">%s%s%s</a></li>", field,
                         label ? csam_page_escape(pg->r, label) : "",
                         label ? " " : "", msg);
}

void csam_page_error(struct csam_page *pg, const char *message)
{
    const char **item = apr_array_push(pg->summary);

    *item = apr_psprintf(pg->r->pool, "<li>%s</li>",
                         csam_page_escape(pg->r, message));
}

void csam_page_notice(struct csam_page *pg, const char *message)
{
    csam_page_var(pg, "notice",
                  apr_psprintf(pg->r->pool,
                               "<div class=\"notice\" role=\"status\">"
                               "<p>%s</p></div>",
                               csam_page_escape(pg->r, message)));
}

static const char *csam_page_summary_html(struct csam_page *pg)
{
    const char *const *items = (const void *)pg->summary->elts;
    const char *html;
    int i;

    if (pg->summary->nelts == 0)
        return "";
    html = apr_psprintf(
        pg->r->pool,
        "<div class=\"error-summary\" role=\"alert\" "
        "aria-labelledby=\"error-summary-title\" "
        "tabindex=\"-1\" id=\"error-summary\" autofocus>"
        "<h2 id=\"error-summary-title\">%s</h2><ul>",
        csam_page_escape(pg->r, csam_page_text(pg, "summary.title", -1)));
    for (i = 0; i < pg->summary->nelts; i++)
        html = apr_pstrcat(pg->r->pool, html, items[i], NULL);
    return apr_pstrcat(pg->r->pool, html, "</ul></div>", NULL);
}

struct csam_page_out {
    char *text;
};

/* Rendered pages may hold an activation code: wiped before freeing. */
static apr_status_t csam_page_free_out(void *data)
{
    struct csam_page_out *o = data;

    if (o->text != NULL) {
        csam_wipe(o->text, strlen(o->text));
        free(o->text);
        o->text = NULL;
    }
    return APR_SUCCESS;
}

static const char *csam_page_render(struct csam_page *pg, const char *tmpl,
                                    const char *what)
{
    struct csam_page_out *o = apr_pcalloc(pg->r->pool, sizeof(*o));
    csam_result res;

    res = csam_template_render(tmpl, (const void *)pg->vars->elts,
                               (size_t)pg->vars->nelts, CSAM_ESCAPE_HTML,
                               &o->text);
    if (res != CSAM_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, pg->r,
                      "CSAM00501: page template %s/%s: %s",
                      csam_mod_languages[pg->lang], what,
                      csam_result_name(res));
        return NULL;
    }
    apr_pool_cleanup_register(pg->r->pool, o, csam_page_free_out,
                              apr_pool_cleanup_null);
    return o->text;
}

int csam_page_send(struct csam_page *pg, enum csam_page_id id, int status,
                   int no_store)
{
    request_rec *r = pg->r;
    const char *const *tmpl = (const char *const *)
                                  pg->rt->pages->tmpl[pg->lang];
    const char *content, *html;

    if (csam_page_titles[id] != NULL)
        csam_page_var(pg, "title",
                      csam_page_text(pg, csam_page_titles[id], -1));
    else if (csam_page_var_get(pg, "title") == NULL)
        csam_page_var(pg, "title", "");
    csam_page_var(pg, "summary", csam_page_summary_html(pg));
    content = csam_page_render(pg, tmpl[id], csam_page_files[id]);
    if (content == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_var(pg, "content", content);
    html = csam_page_render(pg, tmpl[CSAM_PAGE_LAYOUT],
                            csam_page_files[CSAM_PAGE_LAYOUT]);
    if (html == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_http_security_headers(r, no_store);
    apr_table_mergen(r->headers_out, "Vary", "Accept-Language, Cookie");
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)strlen(html));
    if (!r->header_only)
        ap_rputs(html, r);
    return OK;
}

int csam_page_message(request_rec *r, struct csam_mod_runtime *rt, int lang,
                      const char *kind, int status)
{
    struct csam_page pg;

    if (csam_page_init(&pg, r, rt, lang) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    csam_page_var(
        &pg, "heading",
        csam_page_text(
            &pg, apr_pstrcat(r->pool, "message.", kind, ".heading", NULL), -1));
    csam_page_var(&pg, "title", csam_page_var_get(&pg, "heading"));
    csam_page_var(
        &pg, "text",
        csam_page_text(
            &pg, apr_pstrcat(r->pool, "message.", kind, ".text", NULL), -1));
    return csam_page_send(&pg, CSAM_PAGE_MESSAGE, status, 1);
}

int csam_page_redirect(request_rec *r, const char *location)
{
    csam_http_security_headers(r, 1);
    /* Only local paths are ever redirected to: no open redirect. */
    if (location[0] != '/' || location[1] == '/' || location[1] == '\\')
        return HTTP_INTERNAL_SERVER_ERROR;
    apr_table_setn(r->headers_out, "Location", location);
    r->status = HTTP_SEE_OTHER;
    ap_set_content_type(r, "text/plain; charset=utf-8");
    if (!r->header_only)
        ap_rputs("See Other\n", r);
    return OK;
}

/* ---- forms -------------------------------------------------------------- */

int csam_page_read_form(request_rec *r, apr_table_t **form)
{
    apr_table_t *t = apr_table_make(r->pool, 12);
    char *body, *pair, *next;
    apr_size_t len;
    int rv, count = 0;

    *form = NULL;
    if (!csam_http_content_type_is(r, "application/x-www-form-urlencoded")) {
        ap_discard_request_body(r);
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    rv = csam_http_read_body(r, &body, &len);
    if (rv != OK)
        return rv;
    if (strlen(body) != len)
        return HTTP_BAD_REQUEST;
    /* Decoded in place: the body buffer is wiped with the request. */
    for (pair = body; pair != NULL && *pair != '\0'; pair = next) {
        char *eq;

        next = strchr(pair, '&');
        if (next != NULL)
            *next++ = '\0';
        if (*pair == '\0')
            continue;
        if (++count > CSAM_PAGE_FORM_FIELDS_MAX)
            return HTTP_BAD_REQUEST;
        eq = strchr(pair, '=');
        if (eq != NULL)
            *eq++ = '\0';
        else
            eq = pair + strlen(pair);
        /* %00 would silently cut a value short. */
        if (strstr(pair, "%00") != NULL || strstr(eq, "%00") != NULL
            || ap_unescape_urlencoded(pair) != OK
            || ap_unescape_urlencoded(eq) != OK)
            return HTTP_BAD_REQUEST;
        if (apr_table_get(t, pair) == NULL)
            apr_table_setn(t, pair, eq);
    }
    *form = t;
    return OK;
}

const char *csam_page_form_value(apr_table_t *form, const char *name)
{
    const char *v = apr_table_get(form, name);

    if (v == NULL || strlen(v) > CSAM_PAGE_FORM_VALUE_MAX)
        return "";
    return v;
}

int csam_page_csrf_ok(request_rec *r, struct csam_mod_runtime *rt,
                      apr_table_t *form)
{
    const char *browser = csam_cookie_browser(r, rt, 0);

    if (form == NULL || browser == NULL)
        return 0;
    return csam_csrf_check(r, rt, browser, apr_table_get(form, "csrf"));
}

/* ---- the flash ---------------------------------------------------------- */

void csam_page_flash_put(request_rec *r, struct csam_mod_runtime *rt,
                         json_t *flash)
{
    const char *browser = csam_cookie_browser(r, rt, 1);
    char *text;

    if (browser == NULL || flash == NULL)
        return;
    text = json_dumps(flash, JSON_COMPACT);
    if (text == NULL)
        return;
    if (strlen(text) <= CSAM_PAGE_FLASH_MAX)
        csam_cookie_set(r, rt, CSAM_PAGE_COOKIE_FLASH, browser, text,
                        CSAM_PAGE_FLASH_TTL);
    else
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "CSAM00502: page message too large to carry over");
    csam_wipe(text, strlen(text));
    free(text);
}

static apr_status_t csam_page_flash_decref(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

json_t *csam_page_flash_take(request_rec *r, struct csam_mod_runtime *rt,
                             const char *browser)
{
    char *text = csam_cookie_get(r, rt, CSAM_PAGE_COOKIE_FLASH, browser);
    json_t *flash;

    if (text == NULL)
        return NULL;
    /* Shown once: a reload shows the page without the old errors. */
    csam_cookie_clear(r, rt, CSAM_PAGE_COOKIE_FLASH);
    flash = json_loads(text, 0, NULL);
    if (flash == NULL)
        return NULL;
    if (!json_is_object(flash)) {
        json_decref(flash);
        return NULL;
    }
    apr_pool_cleanup_register(r->pool, flash, csam_page_flash_decref,
                              apr_pool_cleanup_null);
    return flash;
}

json_t *csam_page_flash_new(const char *page)
{
    return json_pack("{s:s, s:[], s:{}}", "page", page, "errors", "values");
}

void csam_page_flash_error(json_t *flash, const char *field, const char *key,
                           long n, long retry)
{
    json_t *errors = json_object_get(flash, "errors");
    json_t *e = json_pack("{s:s, s:I, s:I}", "k", key, "n", (json_int_t)n, "r",
                          (json_int_t)retry);

    if (e == NULL)
        return;
    if (field != NULL)
        json_object_set_new(e, "f", json_string(field));
    json_array_append_new(errors, e);
}

void csam_page_flash_value(json_t *flash, const char *field, const char *value)
{
    json_t *values = json_object_get(flash, "values");

    /* Invalid UTF-8 cannot be carried (jansson refuses it) and a value
     * longer than any field takes is wrong anyway: both are dropped, so
     * the flash always fits in its cookie and the errors get through. */
    if (values != NULL && value != NULL
        && strlen(value) <= CSAM_PAGE_FLASH_VALUE_MAX)
        json_object_set_new(values, field, json_string(value));
}

void csam_page_flash_notice(json_t *flash, const char *key)
{
    json_object_set_new(flash, "notice", json_string(key));
}

void csam_page_flash_show(struct csam_page *pg, const char *page)
{
    json_t *flash = csam_page_flash_take(pg->r, pg->rt, pg->browser);
    const char *fpage, *key, *field;
    json_t *e, *v;
    size_t i;

    if (flash == NULL)
        return;
    fpage = json_string_value(json_object_get(flash, "page"));
    if (fpage == NULL || strcmp(fpage, page) != 0)
        return;
    json_array_foreach(json_object_get(flash, "errors"), i, e)
    {
        key = json_string_value(json_object_get(e, "k"));
        field = json_string_value(json_object_get(e, "f"));
        if (key == NULL || strncmp(key, "error.", 6) != 0)
            continue;
        key = csam_page_text(
            pg, key,
            strcmp(key, "error.locked.retry") == 0
                ? ((long)json_integer_value(json_object_get(e, "r")) + 59) / 60
                : (long)json_integer_value(json_object_get(e, "n")));
        if (field != NULL
            && csam_page_var_get(pg, apr_pstrcat(pg->r->pool, field, "_error",
                                                 NULL))
                   != NULL)
            csam_page_field_error(pg, field, key);
        else
            csam_page_error(pg, key);
    }
    json_object_foreach(json_object_get(flash, "values"), key, v)
    {
        /* Only fields the page declared: a flash names no other variable. */
        if (json_is_string(v)
            && csam_page_var_get(pg,
                                 apr_pstrcat(pg->r->pool, key, "_error", NULL))
                   != NULL)
            csam_page_var(pg, apr_pstrdup(pg->r->pool, key),
                          apr_pstrdup(pg->r->pool, json_string_value(v)));
    }
    key = json_string_value(json_object_get(flash, "notice"));
    if (key != NULL && strncmp(key, "notice.", 7) == 0)
        csam_page_notice(pg, csam_page_text(pg, key, -1));
}

const char *csam_page_error_key(request_rec *r, const char *error,
                                long attempts_left, long retry_after)
{
    if (strcmp(error, "invalid_code") == 0 && attempts_left >= 0)
        return attempts_left == 1 ? "error.invalid_code.one"
                                  : "error.invalid_code.attempts";
    if (strcmp(error, "locked") == 0 && retry_after > 0)
        return "error.locked.retry";
    return apr_pstrcat(r->pool, "error.", error, NULL);
}

const char *csam_page_result_text(struct csam_page *pg, const char *error,
                                  long attempts_left, long retry_after)
{
    const char *key = csam_page_error_key(pg->r, error, attempts_left,
                                          retry_after);

    if (strcmp(key, "error.locked.retry") == 0)
        return csam_page_text(pg, key, (retry_after + 59) / 60);
    return csam_page_text(pg, key, attempts_left);
}

const char *csam_page_key_name(struct csam_page *pg, enum csam_key_type type)
{
    const char *name = csam_key_type_name(type);

    return csam_page_text(
        pg, apr_pstrcat(pg->r->pool, "key.", name ? name : "none", NULL), -1);
}
