/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who the online procedure is for (DESIGN 2.6, 3.3): the person an
 * authentication module in front of mod_csam vouched for, by the
 * location's CSAMIdentitySource.  Only what that module itself produced
 * counts: mod_ssl's verified client certificate, read through mod_ssl's
 * own lookup (not the environment, which needs SSLOptions +StdEnvVars and
 * which other directives can write), or a variable in the request
 * environment once a module other than AuthType CSAM set the user.  A
 * request header never names anyone.
 *
 * The number itself is checked by the engine (modulo 97), and is never
 * logged here.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_ssl.h"

#include "apr_optional.h"
#include "apr_strings.h"

#include "mod_csam.h"
#include "page.h"
#include "certificate.h"

APLOG_USE_MODULE(csam);

/* What an environment source may hold: a national number with its dots,
 * dashes and spaces is far shorter. */
#define CSAM_IDENTITY_NUMBER_MAX 64
/* csam_registrations.first_name and last_name hold this much; a longer
 * name is recorded as unknown rather than refusing the person. */
#define CSAM_IDENTITY_NAME_MAX 100
/* csam_audit.actor holds this much. */
#define CSAM_IDENTITY_SUBJECT_MAX 255

/* text cut to at most max bytes on a UTF-8 character boundary, for the
 * audit trail (in r->pool). */
static const char *csam_identity_bounded(request_rec *r, const char *text,
                                         size_t max)
{
    size_t len;

    if (text == NULL)
        return NULL;
    len = strlen(text);
    if (len <= max)
        return text;
    len = max;
    while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
        len--;
    return apr_pstrmemdup(r->pool, text, len);
}

/* A name for the registration: text of at most CSAM_IDENTITY_NAME_MAX
 * bytes, else unknown (NULL). */
static const char *csam_identity_name(const char *value)
{
    if (value == NULL || value[0] == '\0'
        || csam_text_check(value, CSAM_IDENTITY_NAME_MAX) != CSAM_OK)
        return NULL;
    return value;
}

/* ssl-client-cert: the certificate mod_ssl verified, nothing less. */
static int csam_identity_from_cert(request_rec *r, struct csam_identity *who)
{
    APR_OPTIONAL_FN_TYPE(ssl_var_lookup) *lookup = APR_RETRIEVE_OPTIONAL_FN(
        ssl_var_lookup);
    struct csam_cert_subject *subject;
    const char *verify, *pem;

    if (lookup == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM01001: CSAMIdentitySource ssl-client-cert needs "
                      "mod_ssl (LoadModule ssl_module, SSLVerifyClient on "
                      "this location)");
        return 0;
    }
    verify = lookup(r->pool, r->server, r->connection, r,
                    apr_pstrdup(r->pool, "SSL_CLIENT_VERIFY"));
    /* NONE, GENEROUS (optional_no_ca: a certificate of any CA) and
     * FAILED:<why> vouch for nobody. */
    if (verify == NULL || strcmp(verify, "SUCCESS") != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01002: online procedure refused: no client "
                      "certificate verified by mod_ssl (SSL_CLIENT_VERIFY "
                      "%s)",
                      verify ? ap_escape_logitem(
                          r->pool, csam_identity_bounded(r, verify, 128))
                             : "unset: not an SSL connection");
        return 0;
    }
    pem = lookup(r->pool, r->server, r->connection, r,
                 apr_pstrdup(r->pool, "SSL_CLIENT_CERT"));
    subject = apr_pcalloc(r->pool, sizeof(*subject));
    if (pem == NULL
        || csam_certificate_subject(pem, strlen(pem), subject) != CSAM_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01003: online procedure refused: the client "
                      "certificate's subject cannot be read (attributes "
                      "repeated, too long or not text)");
        return 0;
    }
    if (subject->serial_number[0] == '\0') {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01004: online procedure refused: the client "
                      "certificate's subject has no serialNumber");
        return 0;
    }
    who->national_number = subject->serial_number;
    who->first_name = csam_identity_name(subject->given_name);
    who->last_name = csam_identity_name(subject->surname);
    who->source_name = "ssl-client-cert";
    who->subject = csam_identity_bounded(r, subject->dn,
                                         CSAM_IDENTITY_SUBJECT_MAX);
    return 1;
}

/* env NAME: the variable of the module that authenticated the request. */
static int csam_identity_from_env(request_rec *r,
                                  const struct csam_mod_dir *dir,
                                  struct csam_identity *who)
{
    const char *number;

    /* A CSAM session is a citizen logged in with their keys, not a
     * person identified by eID or itsme; and without a user no module
     * vouched for the variable. */
    if (r->user == NULL || r->ap_auth_type == NULL
        || strcasecmp(r->ap_auth_type, "CSAM") == 0
        || csam_auth_officer(r) != CSAM_OFFICER_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01005: online procedure refused: no user "
                      "authenticated by a module other than AuthType CSAM "
                      "on this location (CSAMIdentitySource env %s)",
                      dir->identity_env);
        return 0;
    }
    number = apr_table_get(r->subprocess_env, dir->identity_env);
    if (number == NULL || number[0] == '\0'
        || csam_text_check(number, CSAM_IDENTITY_NUMBER_MAX) != CSAM_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01006: online procedure refused: the "
                      "authenticated user has no usable %s",
                      dir->identity_env);
        return 0;
    }
    who->national_number = number;
    if (dir->identity_given != NULL) {
        who->first_name = csam_identity_name(
            apr_table_get(r->subprocess_env, dir->identity_given));
        who->last_name = csam_identity_name(
            apr_table_get(r->subprocess_env, dir->identity_family));
    }
    who->source_name = apr_pstrcat(r->pool, "env:", dir->identity_env, NULL);
    who->subject = csam_identity_bounded(r, r->user, CSAM_IDENTITY_SUBJECT_MAX);
    return 1;
}

int csam_identity_get(request_rec *r, struct csam_identity *who)
{
    const struct csam_mod_dir *dir = ap_get_module_config(r->per_dir_config,
                                                          &csam_module);

    memset(who, 0, sizeof(*who));
    /* The browser's language: the mails of the procedure then speak the
     * language its pages spoke. */
    who->language = csam_mod_languages[csam_page_lang_negotiate(r)];
    switch (dir != NULL ? dir->identity_source : CSAM_MOD_IDENTITY_UNSET) {
    case CSAM_MOD_IDENTITY_CERT: return csam_identity_from_cert(r, who);
    case CSAM_MOD_IDENTITY_ENV: return csam_identity_from_env(r, dir, who);
    case CSAM_MOD_IDENTITY_UNSET:
    default:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01000: online procedure refused: no "
                      "CSAMIdentitySource on %s",
                      ap_escape_logitem(r->pool, r->uri));
        return 0;
    }
}
