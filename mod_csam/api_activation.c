/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON API of the registration desk and of activation (DESIGN 3.1),
 * as the pages page_registration.c and page_activate.c: each endpoint
 * checks its body against its field list, calls one engine flow and
 * answers; errors go through csam_api_error(), the one mapping.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"

#include "apr_strings.h"

#include "mod_csam.h"
#include "api.h"

APLOG_USE_MODULE(csam);

/* Generous edge bounds: the engine applies the real limits and answers
 * with the precise error (invalid_email, weak_password, ...). */
#define CSAM_API_TEXT_MAX 1024
#define CSAM_API_TOKEN_MAX 128

static const struct csam_api_field csam_api_document_fields[] = {
    {"type", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"number", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_registration_fields[] = {
    {"national_number", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"first_name", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"last_name", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"birth_date", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"document", CSAM_API_OBJECT, 1, 0, csam_api_document_fields},
    {"email", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"language", CSAM_API_STRING, 0, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_open_fields[] = {
    {"token", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"activation_code", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_key_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"key_type", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {"accept_terms", CSAM_API_BOOLEAN, 1, 0, NULL},
    {"phone", CSAM_API_STRING, 0, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

/* Which of them a procedure needs is the engine's to say: a recovery
 * keeps its username, an online recovery may keep its password, only an
 * online new person gives an e-mail address. */
static const struct csam_api_field csam_api_credentials_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"username", CSAM_API_STRING, 0, CSAM_API_TEXT_MAX, NULL},
    /* No edge bound below the body's: a long password is weak_password. */
    {"password", CSAM_API_STRING, 0, 0, NULL},
    {"password_repeat", CSAM_API_STRING, 0, 0, NULL},
    {"email", CSAM_API_STRING, 0, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_confirm_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {"code", CSAM_API_STRING, 1, CSAM_API_TEXT_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_field csam_api_resend_fields[] = {
    {"activation", CSAM_API_STRING, 1, CSAM_API_TOKEN_MAX, NULL},
    {NULL, CSAM_API_STRING, 0, 0, NULL}};

static const struct csam_api_prelude csam_api_registration_prelude = {
    csam_api_registration_fields, NULL, NULL};

int csam_api_registrations(request_rec *r)
{
    struct csam_registration reg;
    struct csam_registration_receipt receipt;
    struct csam_api_call call;
    json_t *doc, *reply;
    csam_result res;
    int rv;

    if (csam_api_officer_refused(r, &rv)
        || !csam_api_begin(r, &csam_api_registration_prelude, &call, &rv))
        return rv;
    doc = json_object_get(call.body, "document");
    memset(&reg, 0, sizeof(reg));
    reg.national_number = csam_api_string(call.body, "national_number");
    reg.first_name = csam_api_string(call.body, "first_name");
    reg.last_name = csam_api_string(call.body, "last_name");
    reg.birth_date = csam_api_string(call.body, "birth_date");
    reg.document_type = csam_api_string(doc, "type");
    reg.document_number = csam_api_string(doc, "number");
    reg.email = csam_api_string(call.body, "email");
    reg.language = csam_api_string(call.body, "language");
    memset(&receipt, 0, sizeof(receipt));
    res = csam_engine_register(call.engine, r->user, csam_http_source(r), &reg,
                               &receipt);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CSAM00014: registration %" APR_INT64_T_FMT
                  " recorded by officer %s",
                  (apr_int64_t)receipt.registration_id, r->user);
    reply = csam_api_own(r,
                         json_pack("{s:I, s:s, s:s}", "registration_id",
                                   (json_int_t)receipt.registration_id,
                                   "activation_code", receipt.activation_code,
                                   "expires_at", receipt.expires_at));
    csam_wipe(receipt.activation_code, sizeof(receipt.activation_code));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_CREATED, reply);
}

static const struct csam_api_prelude csam_api_open_prelude = {
    csam_api_open_fields, NULL, "token"};
static const struct csam_api_prelude csam_api_key_prelude = {
    csam_api_key_fields, "key_type", "activation"};
static const struct csam_api_prelude csam_api_credentials_prelude = {
    csam_api_credentials_fields, NULL, "activation"};
static const struct csam_api_prelude csam_api_confirm_prelude = {
    csam_api_confirm_fields, NULL, "activation"};
static const struct csam_api_prelude csam_api_resend_prelude = {
    csam_api_resend_fields, NULL, "activation"};

/* {activation, key_types, account, username (existing only)}: what the
 * online procedure and the paper code answer alike. */
static int csam_api_send_opened(request_rec *r, const char *handle,
                                unsigned key_types, int existing,
                                const char *username)
{
    json_t *reply = csam_api_own(
        r, json_pack("{s:s, s:o, s:s}", "activation", handle, "key_types",
                     csam_api_key_types(key_types), "account",
                     existing ? "existing" : "new"));

    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (existing)
        json_object_set_new(reply, "username", json_string(username));
    return csam_api_send(r, HTTP_OK, reply);
}

int csam_api_activation_open(request_rec *r)
{
    char handle[CSAM_TOKEN_SIZE] = "";
    struct csam_attempts att = {-1, 0};
    struct csam_activation_state st;
    struct csam_api_call call;
    unsigned key_types = 0;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_open_prelude, &call, &rv))
        return rv;
    res = csam_engine_activation_open(
        call.engine, csam_http_source(r), call.handle,
        csam_api_string(call.body, "activation_code"), handle, &key_types,
        &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    /* Whether the paper code was a recovery's (DESIGN 2.7). */
    memset(&st, 0, sizeof(st));
    res = csam_engine_activation_state(call.engine, handle, &st);
    if (res != CSAM_OK) {
        csam_wipe(handle, sizeof(handle));
        return csam_api_error(r, res, NULL);
    }
    rv = csam_api_send_opened(r, handle, key_types, st.existing, st.username);
    csam_wipe(handle, sizeof(handle));
    return rv;
}

static const struct csam_api_prelude csam_api_online_prelude = {NULL, NULL,
                                                                NULL};

int csam_api_online(request_rec *r)
{
    char handle[CSAM_TOKEN_SIZE] = "";
    struct csam_identity who;
    struct csam_procedure proc;
    struct csam_api_call call;
    csam_result res;
    int rv;

    if (!csam_api_bodiless(r, &rv))
        return rv;
    if (!csam_identity_get(r, &who))
        return csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                             "The online procedure needs a person identified "
                             "by this server (eID or itsme).");
    if (!csam_api_begin(r, &csam_api_online_prelude, &call, &rv))
        return rv;
    memset(&proc, 0, sizeof(proc));
    res = csam_engine_online_open(call.engine, csam_http_source(r), &who,
                                  handle, &proc);
    if (res == CSAM_ERR_NATIONAL_NUMBER) {
        /* The source vouched for nothing usable: no identity. */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "CSAM01007: online procedure refused: %s gave a "
                      "number that is no national register or BIS number",
                      who.source_name);
        return csam_api_fail(r, HTTP_FORBIDDEN, "forbidden",
                             "The identity given is not a valid national "
                             "register or BIS number.");
    }
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CSAM01008: online procedure opened (%s, %s account)",
                  who.source_name, proc.existing ? "existing" : "new");
    rv = csam_api_send_opened(r, handle, proc.key_types, proc.existing,
                              proc.username);
    csam_wipe(handle, sizeof(handle));
    return rv;
}

static int csam_api_next(request_rec *r, int status, enum csam_step next)
{
    json_t *reply = csam_api_own(r, json_pack("{s:s}", "next",
                                              csam_step_name(next)));

    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, status, reply);
}

int csam_api_activation_key(request_rec *r)
{
    struct csam_api_call call;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_key_prelude, &call, &rv))
        return rv;
    res = csam_engine_activation_key(
        call.engine, csam_http_source(r), call.handle, call.key_type,
        json_is_true(json_object_get(call.body, "accept_terms")),
        csam_api_string(call.body, "phone"),
        csam_runtime_get(r)->terms_version);
    if (res != CSAM_OK)
        return csam_api_error(r, res, NULL);
    return csam_api_next(r, HTTP_OK, CSAM_STEP_CREDENTIALS);
}

int csam_api_activation_credentials(request_rec *r)
{
    struct csam_credentials_outcome *outcome;
    struct csam_credentials in;
    struct csam_api_call call;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_credentials_prelude, &call, &rv))
        return rv;
    outcome = csam_api_outcome(r);
    memset(&in, 0, sizeof(in));
    in.username = csam_api_string(call.body, "username");
    in.password = csam_api_string(call.body, "password");
    in.password_repeat = csam_api_string(call.body, "password_repeat");
    in.email = csam_api_string(call.body, "email");
    res = csam_engine_activation_set_credentials(
        call.engine, csam_http_source(r), call.handle, &in, outcome);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &outcome->attempts);
    /* CSAM_STEP_EMAIL too: its code goes to activation/confirm. */
    return csam_api_send_outcome(r, outcome);
}

int csam_api_activation_confirm(request_rec *r)
{
    struct csam_attempts att = {-1, 0};
    struct csam_activated done;
    struct csam_api_call call;
    const char *key;
    json_t *reply;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_confirm_prelude, &call, &rv))
        return rv;
    memset(&done, 0, sizeof(done));
    res = csam_engine_activation_confirm(
        call.engine, csam_http_source(r), call.handle,
        csam_api_string(call.body, "code"), &done, &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    /* The code was the e-mail address's; the key's comes next. */
    if (done.next == CSAM_STEP_CONFIRM)
        return csam_api_next(r, HTTP_ACCEPTED, CSAM_STEP_CONFIRM);
    key = csam_key_type_name(done.key_type);
    reply = csam_api_own(r, json_pack("{s:s, s:s, s:s}", "username",
                                      done.username, "key_type", key ? key : "",
                                      "status", "active"));
    if (reply == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return csam_api_send(r, HTTP_OK, reply);
}

int csam_api_activation_resend(request_rec *r)
{
    struct csam_attempts att = {-1, 0};
    struct csam_api_call call;
    csam_result res;
    int rv;

    if (!csam_api_begin(r, &csam_api_resend_prelude, &call, &rv))
        return rv;
    res = csam_engine_activation_resend(call.engine, csam_http_source(r),
                                        call.handle, &att);
    if (res != CSAM_OK)
        return csam_api_error(r, res, &att);
    return csam_api_next(r, HTTP_ACCEPTED, CSAM_STEP_CONFIRM);
}
