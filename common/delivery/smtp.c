/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMTP delivery with libcurl.
 *
 * The relay URL may carry a password (smtp://user:pass@host): it goes to
 * libcurl and nowhere else, and no message here quotes it.  With a
 * password, TLS is required (smtps://, or STARTTLS that an active attacker
 * cannot strip: the session fails instead of falling back to clear text).
 * Certificates are verified (peer and host name) against the system store
 * or the CA file given (mail_ca_file).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "crypto.h"
#include "mail.h"
#include "validate.h"

/* Connecting is the part that hangs when a relay is down or firewalled;
 * it gets at most this much of the whole timeout. */
#define CSAM_SMTP_CONNECT_MAX 10L

struct csam_smtp_upload {
    const char *data;
    size_t len, pos;
};

static size_t csam_smtp_read(char *buf, size_t size, size_t nitems, void *ctx)
{
    struct csam_smtp_upload *up = ctx;
    size_t room = size * nitems;
    size_t n = up->len - up->pos;

    if (n > room)
        n = room;
    memcpy(buf, up->data + up->pos, n);
    up->pos += n;
    return n;
}

csam_result csam_smtp_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? CSAM_OK
                                                             : CSAM_ERR_MAIL;
}

/* 1 when the URL has a userinfo part: credentials must never travel in
 * clear, so STARTTLS becomes mandatory. */
static int csam_smtp_has_credentials(const char *relay)
{
    const char *auth = strstr(relay, "://");
    const char *end;
    const char *at;

    if (auth == NULL)
        return 0;
    auth += 3;
    end = strchr(auth, '/');
    if (end == NULL)
        end = auth + strlen(auth);
    at = memchr(auth, '@', (size_t)(end - auth));
    return at != NULL;
}

static void csam_smtp_explain(char *err, size_t errlen, const char *what,
                              CURL *curl, CURLcode code)
{
    long reply = 0;

    if (err == NULL || errlen == 0)
        return;
    if (curl == NULL) {
        snprintf(err, errlen, "%s", what);
        return;
    }
    /* curl_easy_strerror() is a fixed text: it cannot carry the URL */
    if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply) != CURLE_OK)
        reply = 0;
    if (reply > 0)
        snprintf(err, errlen, "%s: %s (last SMTP reply %ld)", what,
                 curl_easy_strerror(code), reply);
    else
        snprintf(err, errlen, "%s: %s", what, curl_easy_strerror(code));
}

csam_result csam_smtp_send(const struct csam_smtp *smtp,
                           const struct csam_message *msg)
{
    return csam_smtp_send_err(smtp, msg, NULL, 0);
}

csam_result csam_smtp_send_err(const struct csam_smtp *smtp,
                               const struct csam_message *msg, char *err,
                               size_t errlen)
{
    char from_name[CSAM_MAILBOX_NAME_MAX + 1];
    char from_addr[CSAM_EMAIL_MAX + 1];
    char sender[CSAM_EMAIL_MAX + 3];
    char to_name[CSAM_MAILBOX_NAME_MAX + 1];
    char to_addr[CSAM_EMAIL_MAX + 1];
    char rcpt[CSAM_EMAIL_MAX + 3];
    struct csam_smtp_upload up;
    struct curl_slist *rcpts = NULL;
    csam_result res;
    char *wire = NULL;
    CURL *curl = NULL;
    CURLcode code = CURLE_OK;
    long timeout;
    int smtps;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (smtp == NULL || msg == NULL || smtp->relay == NULL
        || smtp->from == NULL) {
        csam_smtp_explain(err, errlen, "no relay, sender or message", NULL,
                          CURLE_OK);
        return CSAM_ERR_INVALID;
    }
    if (strncmp(smtp->relay, "smtps://", 8) == 0) {
        smtps = 1;
    } else if (strncmp(smtp->relay, "smtp://", 7) == 0) {
        smtps = 0;
    } else {
        csam_smtp_explain(err, errlen,
                          "relay is not an smtp:// or smtps:// "
                          "URL",
                          NULL, CURLE_OK);
        return CSAM_ERR_INVALID;
    }
    if (csam_mail_mailbox_parse(smtp->from, from_name, sizeof(from_name),
                                from_addr, sizeof(from_addr))
            != CSAM_OK
        || csam_mail_mailbox_parse(msg->to, to_name, sizeof(to_name), to_addr,
                                   sizeof(to_addr))
               != CSAM_OK) {
        csam_smtp_explain(err, errlen, "invalid sender or recipient", NULL,
                          CURLE_OK);
        return CSAM_ERR_INVALID;
    }
    res = csam_mail_format(smtp->from, msg, &wire);
    if (res != CSAM_OK) {
        csam_smtp_explain(err, errlen, "message refused by the formatter", NULL,
                          CURLE_OK);
        return res;
    }

    /* the envelope takes bare addresses in angle brackets */
    snprintf(sender, sizeof(sender), "<%s>", from_addr);
    snprintf(rcpt, sizeof(rcpt), "<%s>", to_addr);

    timeout = smtp->timeout > 0 ? smtp->timeout : 30;
    res = CSAM_ERR_NOMEM;
    curl = curl_easy_init();
    if (curl != NULL)
        rcpts = curl_slist_append(NULL, rcpt);
    if (rcpts == NULL) {
        csam_smtp_explain(err, errlen, "out of memory", NULL, CURLE_OK);
        goto out;
    }
    up.data = wire;
    up.len = strlen(wire);
    up.pos = 0;

    res = CSAM_ERR_MAIL;
    if (curl_easy_setopt(curl, CURLOPT_URL, smtp->relay) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_MAIL_FROM, sender) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts) != CURLE_OK
        /* No proxy: only the configuration decides where a code goes,
         * never smtp_proxy, ALL_PROXY or NO_PROXY from the environment
         * (a setuid PAM host keeps its caller's). */
        || curl_easy_setopt(curl, CURLOPT_PROXY, "") != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_NOPROXY, "*") != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_READFUNCTION, csam_smtp_read)
               != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_READDATA, &up) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len)
               != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                            timeout < CSAM_SMTP_CONNECT_MAX
                                ? timeout
                                : CSAM_SMTP_CONNECT_MAX)
               != CURLE_OK
        /* no SIGALRM-based DNS timeouts inside httpd's threads */
        || curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_USE_SSL,
                            smtps || csam_smtp_has_credentials(smtp->relay)
                                ? (long)CURLUSESSL_ALL
                                : (long)CURLUSESSL_TRY)
               != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK
        || curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK
        /* the file given is the only trust anchor, not an addition to the
         * system's directory of CAs */
        || (smtp->ca_file != NULL
            && (curl_easy_setopt(curl, CURLOPT_CAINFO, smtp->ca_file)
                    != CURLE_OK
                || curl_easy_setopt(curl, CURLOPT_CAPATH, NULL) != CURLE_OK))) {
        csam_smtp_explain(err, errlen, "libcurl refused an option", NULL,
                          CURLE_OK);
        goto out;
    }
    code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        csam_smtp_explain(err, errlen, "relay did not take the message", curl,
                          code);
        goto out;
    }
    res = CSAM_OK;

out:
    curl_slist_free_all(rcpts);
    if (curl != NULL)
        curl_easy_cleanup(curl);
    if (wire != NULL) {
        /* the message carries a code or an activation link */
        csam_wipe(wire, strlen(wire));
        free(wire);
    }
    return res;
}

csam_result csam_smtp_sender(void *ctx, const struct csam_message *msg)
{
    return csam_smtp_send((const struct csam_smtp *)ctx, msg);
}

const char *csam_smtp_curl_version(void)
{
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);

    return info != NULL && info->version != NULL ? info->version : "?";
}
