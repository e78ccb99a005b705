/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The services an engine works with, loaded once per process from the
 * configuration: the secret, the mail relay, the SMS gateway and the word
 * lists.  Hosts keep one (mod_csam per configured server, pam_csam per
 * call) and open cheap engines over it and a store connection, instead of
 * wiring each dependency by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_internal.h"
#include "crypto.h"
#include "mail.h"
#include "password.h"
#include "sms.h"

struct csam_services {
    const struct csam_config *config; /* borrowed */
    csam_secret *secret;
    csam_wordlist *common_passwords;   /* NULL unless CSAM_SERVICES_LISTS */
    csam_wordlist *reserved_usernames; /* NULL unless CSAM_SERVICES_LISTS */
    struct csam_smtp smtp;             /* borrows config's strings */
    struct csam_sms sms;               /* ditto; CSAM_SMS_NONE: no SMS */
};

csam_result csam_services_init(void)
{
    return csam_smtp_init();
}

const char *csam_services_versions(char *buf, size_t len)
{
    int pq = csam_store_libpq_version();
    int us = csam_password_unistring_version();

    if (buf == NULL || len == 0)
        return "";
    snprintf(buf, len, "%s, libpq %d.%d, libcurl %s, libunistring %d.%d",
             csam_crypto_openssl_version(), pq / 10000, pq % 10000,
             csam_smtp_curl_version(), us >> 8, us & 0xff);
    return buf;
}

static csam_result csam_services_fail(struct csam_services_error *err,
                                      enum csam_services_part part,
                                      const char *path, csam_result res)
{
    if (err != NULL) {
        err->part = part;
        err->path = path;
        if (err->msg[0] == '\0')
            snprintf(err->msg, sizeof(err->msg), "%s", csam_result_name(res));
    }
    return res;
}

/* secret_file, and while the secret is replaced previous_secret_file
 * attached to it; a failure names the setting at fault, so that an operator
 * replacing the secret edits the right line. */
static csam_result csam_services_secrets(struct csam_services *sv,
                                         struct csam_services_error *err)
{
    const struct csam_config *config = sv->config;
    const char *path = config->previous_secret_file;
    csam_secret *previous = NULL;
    csam_result res;

    res = csam_secret_load_group(config->secret_file, config->secret_group,
                                 &sv->secret, err->msg, sizeof(err->msg));
    if (res != CSAM_OK)
        return csam_services_fail(err, CSAM_SERVICES_SECRET,
                                  config->secret_file, res);
    if (path == NULL || *path == '\0')
        return CSAM_OK;
    res = csam_secret_load_group(path, config->secret_group, &previous,
                                 err->msg, sizeof(err->msg));
    if (res == CSAM_OK) {
        res = csam_secret_attach_previous(sv->secret, previous);
        if (res == CSAM_ERR_CONFIG)
            snprintf(err->msg, sizeof(err->msg),
                     "%s holds the same secret as %s: the previous secret is "
                     "the one the current one replaces",
                     path, config->secret_file);
        if (res != CSAM_OK)
            csam_secret_free(previous);
    }
    if (res != CSAM_OK)
        return csam_services_fail(err, CSAM_SERVICES_PREVIOUS_SECRET, path,
                                  res);
    return CSAM_OK;
}

/* The shipped reserved-usernames.txt, and the administrator's file when
 * reserved_usernames names one: it adds to the shipped list, so that no
 * configuration can give "root" back. */
static csam_result csam_services_reserved(struct csam_services *sv,
                                          struct csam_services_error *err)
{
    const struct csam_config *cfg = sv->config;
    const char *paths[2];
    csam_wordlist *one = NULL;
    size_t n = 0;

    paths[n++] = err->path_buf;
    if (cfg->reserved_usernames != NULL)
        paths[n++] = cfg->reserved_usernames;
    if (csam_wordlist_load_files(paths, n, &sv->reserved_usernames) == CSAM_OK)
        return CSAM_OK;
    /* Name the file that failed. */
    if (n > 1 && csam_wordlist_load(paths[0], &one) == CSAM_OK) {
        csam_wordlist_free(one);
        return csam_services_fail(err, CSAM_SERVICES_RESERVED_OWN, paths[1],
                                  CSAM_ERR_IO);
    }
    return csam_services_fail(err, CSAM_SERVICES_RESERVED_SHIPPED, paths[0],
                              CSAM_ERR_IO);
}

static csam_result csam_services_lists(struct csam_services *sv,
                                       struct csam_services_error *err)
{
    const char *dir = sv->config->data_dir != NULL ? sv->config->data_dir : "";

    snprintf(err->path_buf, sizeof(err->path_buf), "%s/common-passwords.txt",
             dir);
    if (csam_wordlist_load(err->path_buf, &sv->common_passwords) != CSAM_OK)
        return csam_services_fail(err, CSAM_SERVICES_COMMON_PASSWORDS,
                                  err->path_buf, CSAM_ERR_IO);
    snprintf(err->path_buf, sizeof(err->path_buf), "%s/reserved-usernames.txt",
             dir);
    return csam_services_reserved(sv, err);
}

csam_result csam_services_open(const struct csam_config *config, unsigned flags,
                               csam_services **out,
                               struct csam_services_error *err)
{
    struct csam_services_error dummy;
    struct csam_services *sv;
    csam_result res;

    if (err == NULL)
        err = &dummy;
    memset(err, 0, sizeof(*err));
    if (out == NULL || config == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    sv = calloc(1, sizeof(*sv));
    if (sv == NULL)
        return CSAM_ERR_NOMEM;
    sv->config = config;
    res = csam_services_secrets(sv, err);
    if (res == CSAM_OK) {
        res = csam_sms_from_config(config, &sv->sms, err->msg,
                                   sizeof(err->msg));
        if (res != CSAM_OK)
            res = csam_services_fail(err, CSAM_SERVICES_SMS, NULL, res);
    }
    if (res == CSAM_OK && (flags & CSAM_SERVICES_LISTS))
        res = csam_services_lists(sv, err);
    if (res != CSAM_OK) {
        csam_services_free(sv);
        return res;
    }
    sv->smtp.relay = config->mail_relay;
    sv->smtp.from = config->mail_from;
    sv->smtp.timeout = config->mail_timeout;
    sv->smtp.ca_file = config->mail_ca_file;
    *out = sv;
    return CSAM_OK;
}

void csam_services_free(csam_services *sv)
{
    if (sv == NULL)
        return;
    csam_secret_free(sv->secret);
    csam_wordlist_free(sv->common_passwords);
    csam_wordlist_free(sv->reserved_usernames);
    free(sv);
}

csam_secret *csam_services_secret(const csam_services *sv)
{
    return sv != NULL ? sv->secret : NULL;
}

unsigned csam_services_offered(const csam_services *sv)
{
    unsigned types = (unsigned)CSAM_KEY_EMAIL | (unsigned)CSAM_KEY_TOTP;

    /* Without a gateway an SMS key could never receive its codes. */
    if (sv != NULL && sv->sms.transport != CSAM_SMS_NONE)
        types |= (unsigned)CSAM_KEY_SMS;
    return types;
}

csam_result csam_services_sms_send(const csam_services *sv,
                                   const struct csam_message *msg, char *why,
                                   size_t why_len)
{
    if (sv == NULL)
        return CSAM_ERR_INVALID;
    return csam_sms_send_err(&sv->sms, msg, why, why_len);
}

static csam_result csam_services_sms_sender(void *ctx,
                                            const struct csam_message *msg)
{
    return csam_services_sms_send(ctx, msg, NULL, 0);
}

csam_result csam_engine_open(const csam_services *sv, csam_store *store,
                             const struct csam_engine_host *host,
                             csam_engine **out)
{
    struct csam_engine_deps deps;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (sv == NULL || store == NULL)
        return CSAM_ERR_INVALID;
    memset(&deps, 0, sizeof(deps));
    deps.config = sv->config;
    deps.secret = sv->secret;
    deps.store = store;
    deps.common_passwords = sv->common_passwords;
    deps.reserved_usernames = sv->reserved_usernames;
    deps.sender.fn = csam_smtp_sender;
    deps.sender.ctx = (void *)&sv->smtp;
    /* No SMS transport: the engine offers and uses no SMS key at all. */
    if (sv->sms.transport != CSAM_SMS_NONE) {
        deps.sms.fn = csam_services_sms_sender;
        deps.sms.ctx = (void *)sv;
        if (host != NULL && host->sms.fn != NULL)
            deps.sms = host->sms;
    }
    if (host != NULL) {
        deps.logger = host->logger;
        deps.hash_gate = host->hash_gate;
    }
    return csam_engine_new(&deps, out);
}
