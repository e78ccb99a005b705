/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the activation and the keys pages share about the three key
 * types: the radio buttons of the key choice (with the phone field of the
 * SMS key), the masked phone number the SMS confirm pages show, and the
 * mobile-app key's QR code and secret.
 *
 * The QR code is the inline SVG of csam_qr_svg: markup, not an image URL
 * nor a script, so the pages' Content-Security-Policy (no script, images
 * from this site only) holds.  It and the secret are secrets drawn: the
 * copies made here are wiped with the request pool.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_log.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"
#include "qr.h"
#include "validate.h"

APLOG_USE_MODULE(csam);

/* The order of the choice: the seeds recommend the e-mail key, so it
 * comes first (and carries the field's id, which the summary links to). */
static const enum csam_key_type csam_page_key_order[] = {
    CSAM_KEY_EMAIL, CSAM_KEY_TOTP, CSAM_KEY_SMS};
#define CSAM_PAGE_KEY_NTYPES                                                   \
    (sizeof(csam_page_key_order) / sizeof(csam_page_key_order[0]))

static apr_status_t csam_page_key_wipe(void *data)
{
    char *s = data;

    csam_wipe(s, strlen(s));
    return APR_SUCCESS;
}

/* A copy of a secret-bearing string in r->pool, wiped with it. */
static char *csam_page_key_secret_copy(request_rec *r, const char *s)
{
    char *copy = apr_pstrdup(r->pool, s);

    apr_pool_cleanup_register(r->pool, copy, csam_page_key_wipe,
                              apr_pool_cleanup_null);
    return copy;
}

/* The phone field that goes with the SMS option. */
static const char *csam_page_key_phone_field(struct csam_page *pg)
{
    apr_pool_t *p = pg->r->pool;
    const char *value = csam_page_var_get(pg, "phone");
    const char *error = csam_page_var_get(pg, "phone_error");
    const char *attrs = csam_page_var_get(pg, "phone_attrs");

    return apr_psprintf(
        p,
        "<div class=\"field phone-field\"><label for=\"phone\">%s "
        "<span class=\"hint\">%s</span></label>%s"
        "<input type=\"tel\" id=\"phone\" name=\"phone\" value=\"%s\" "
        "autocomplete=\"tel\" inputmode=\"tel\" maxlength=\"32\"%s></div>",
        ap_escape_html(p, csam_page_text(pg, "phone.label", -1)),
        ap_escape_html(p, csam_page_text(pg, "phone.hint", -1)),
        error ? error : "", ap_escape_html(p, value ? value : ""),
        attrs ? attrs : "");
}

const char *csam_page_key_choices(struct csam_page *pg, unsigned offered,
                                  unsigned active)
{
    apr_pool_t *p = pg->r->pool;
    const char *attrs = csam_page_var_get(pg, "key_type_attrs");
    /* The choice refilled after an error (the flash), so a wrong phone
     * number does not also lose the key chosen. */
    const char *chosen = csam_page_var_get(pg, "key_type");
    const char *html = "";
    int first = 1;
    size_t i;

    for (i = 0; i < CSAM_PAGE_KEY_NTYPES; i++) {
        enum csam_key_type kt = csam_page_key_order[i];
        const char *name = csam_key_type_name(kt);
        const char *id, *hint;
        int is_active = (active & (unsigned)kt) != 0;

        /* A type the server cannot deliver (SMS without a gateway) is not
         * offered at all; an active one is shown, disabled, with why. */
        if ((offered & (unsigned)kt) == 0 && !is_active)
            continue;
        id = first ? "key_type" : apr_pstrcat(p, "key_type-", name, NULL);
        hint = is_active
                   ? csam_page_text(pg, "keys.already_active", -1)
                   : csam_page_text(pg, apr_pstrcat(p, "keyhint.", name, NULL),
                                    -1);
        html = apr_psprintf(
            p,
            "%s<div class=\"choice\"><input type=\"radio\" id=\"%s\" "
            "name=\"key_type\" value=\"%s\"%s%s%s><label for=\"%s\">%s "
            "<span class=\"hint\">(%s)</span></label></div>",
            html, id, name, is_active ? " disabled" : "",
            !is_active && chosen != NULL && strcmp(chosen, name) == 0
                ? " checked"
                : "",
            first && attrs ? attrs : "", id,
            ap_escape_html(p, csam_page_key_name(pg, kt)),
            ap_escape_html(p, hint));
        if (kt == CSAM_KEY_SMS && !is_active)
            html = apr_pstrcat(p, html, csam_page_key_phone_field(pg), NULL);
        first = 0;
    }
    return html;
}

const char *csam_page_key_phone_mask(request_rec *r, const char *phone)
{
    /* U+2022 BULLET in UTF-8, copied without its NUL. */
    static const unsigned char bullet[3] = {0xe2, 0x80, 0xa2};
    char e164[CSAM_PHONE_SIZE];
    size_t len, i;
    char *out;

    if (phone == NULL || csam_phone_normalize(phone, e164) != CSAM_OK)
        return NULL;
    len = strlen(e164);
    /* The country code and the last two digits: enough to recognise
     * one's own number, too little to be worth reading over a shoulder. */
    out = apr_palloc(r->pool, len * 3 + 1);
    memcpy(out, e164, 3);
    for (i = 3; i + 2 < len; i++)
        memcpy(out + 3 + (i - 3) * 3, bullet, sizeof(bullet));
    memcpy(out + 3 + (len - 5) * 3, e164 + len - 2, 3);
    return out;
}

const char *csam_page_key_secret_groups(request_rec *r, const char *secret)
{
    size_t len = strlen(secret), i, n = 0;
    char *out = apr_palloc(r->pool, len + len / 4 + 1);

    /* Groups of four, as the seeds group codes for reading aloud. */
    for (i = 0; i < len; i++) {
        if (i > 0 && i % 4 == 0)
            out[n++] = ' ';
        out[n++] = secret[i];
    }
    out[n] = '\0';
    apr_pool_cleanup_register(r->pool, out, csam_page_key_wipe,
                              apr_pool_cleanup_null);
    return out;
}

int csam_page_key_totp_vars(struct csam_page *pg, const char *uri,
                            const char *secret)
{
    char *svg = NULL;
    csam_result res;

    if (uri == NULL || secret == NULL)
        return -1;
    res = csam_qr_svg(uri, csam_page_text(pg, "totp.qr_label", -1), &svg);
    if (res != CSAM_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, pg->r,
                      "CSAM00530: cannot draw the app key's QR code: %s",
                      csam_result_name(res));
        return -1;
    }
    csam_page_var(pg, "qr", csam_page_key_secret_copy(pg->r, svg));
    csam_wipe(svg, strlen(svg));
    free(svg);
    csam_page_var(pg, "secret", csam_page_key_secret_groups(pg->r, secret));
    csam_page_var(pg, "otpauth_uri", csam_page_key_secret_copy(pg->r, uri));
    return 0;
}

int csam_page_key_choice_read(request_rec *r, apr_table_t *form,
                              unsigned offered, const char *flash_page,
                              struct csam_page_key_choice *out, json_t **flash)
{
    enum csam_key_type kt = csam_key_type_parse(
        csam_page_form_value(form, "key_type"));

    *flash = NULL;
    out->type = kt;
    out->accept = strcmp(csam_page_form_value(form, "accept_terms"), "yes")
                  == 0;
    out->phone = csam_page_form_value(form, "phone");
    out->masked = kt == CSAM_KEY_SMS ? csam_page_key_phone_mask(r, out->phone)
                                     : NULL;
    if ((kt & offered) != 0 && out->accept
        && (kt != CSAM_KEY_SMS || out->masked != NULL))
        return 1;
    *flash = csam_page_flash_new(flash_page);
    if (*flash == NULL)
        return 0;
    csam_page_flash_value(*flash, "phone", out->phone);
    if (csam_key_type_name(kt) != NULL)
        csam_page_flash_value(*flash, "key_type", csam_key_type_name(kt));
    if (kt == CSAM_KEY_NONE)
        csam_page_flash_error(*flash, "key_type", "error.key_required", -1, 0);
    else if ((kt & offered) == 0)
        csam_page_flash_error(*flash, "key_type", "error.key_unavailable", -1,
                              0);
    else if (kt == CSAM_KEY_SMS && out->masked == NULL)
        csam_page_flash_error(*flash, "phone",
                              out->phone[0] == '\0' ? "error.phone_required"
                                                    : "error.invalid_phone",
                              -1, 0);
    if (!out->accept)
        csam_page_flash_error(*flash, "accept_terms",
                              "error.terms_not_accepted", -1, 0);
    return 0;
}
