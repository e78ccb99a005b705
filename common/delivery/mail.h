/* SPDX-License-Identifier: Apache-2.0 */
/*
 * E-mails to citizens: composing them from templates and sending them.
 *
 * Templates live in mail/<lang>/<kind>.subject, .txt and .html under the
 * administrator's templates_dir (each file that is there) and
 * <data_dir>/templates (template_file.h); data_dir is $(pkgdatadir) once
 * installed and conf/ in the source tree, which has the same layout.  Every
 * mail is a multipart/ alternative message (text + HTML) with RFC 2047-encoded
 * subject and display names, in the registration's language.
 */
#ifndef CSAM_COMMON_MAIL_H
#define CSAM_COMMON_MAIL_H

#include <stddef.h>

#include "keytype.h"
#include "mailbox.h"
#include "result.h"
#include "template.h"

/* What the engine hands to the "send this message" callback. */
struct csam_message {
    const char *to;      /* validated address */
    const char *subject; /* UTF-8, not yet encoded */
    const char *text;    /* text/plain body, UTF-8 */
    const char *html;    /* text/html body, UTF-8 */
    const char *kind;    /* template kind: "activation", "code", ... */
    const char *secret;  /* the code or link it carries, or NULL: lets
                            an SMS transport or a test find it; never
                            logged */
};

/* The engine's way out: deliver msg (SMTP, SMS gateway, a test's capture).
 * Must return CSAM_OK only once the relay accepted the message;
 * CSAM_ERR_MAIL otherwise. */
typedef csam_result (*csam_send_fn)(void *ctx, const struct csam_message *msg);

struct csam_sender {
    csam_send_fn fn;
    void *ctx;
};

/* A composed message owned by the caller (csam_mail_content_free). */
struct csam_mail_content {
    char *subject;
    char *text;
    char *html;
};

/* Compose the mail `kind` in `lang` from the templates in dirs (each
 * part the administrator's when there is one, else the shipped one), with
 * vars.  Falls back to "fr" when a part of the language is in neither.
 * err (may be NULL) names the file and what is wrong with it.
 * Errors: CSAM_ERR_IO (no template, or one unreadable), CSAM_ERR_INSECURE
 * (an administrator's file others could change), CSAM_ERR_INVALID,
 * CSAM_ERR_NOMEM. */
csam_result csam_mail_compose(const struct csam_template_dirs *dirs,
                              const char *lang, const char *kind,
                              const struct csam_tvar *vars, size_t nvars,
                              struct csam_mail_content *out, char *err,
                              size_t errlen);
void csam_mail_content_free(struct csam_mail_content *content);

/* Build the RFC 5322 message (headers + MIME body, CRLF line ends):
 * From, To, Subject (RFC 2047 when not ASCII), Date, Message-ID,
 * MIME-Version, multipart/alternative with quoted-printable parts.
 * Refuses CR or LF in from/to/subject (CSAM_ERR_INVALID).
 * *out is malloc'd. */
csam_result csam_mail_format(const char *from, const struct csam_message *msg,
                             char **out);

/* RFC 2047 encoded-word form of a header value ("=?UTF-8?B?...?=",
 * folded) or a copy when it is plain ASCII.  NULL on ENOMEM. */
char *csam_mail_encode_header(const char *value);

/* The localized name of a key type in a mail ("code de sécurité par
 * e-mail", "mobile app"...); lang falls back to "fr".  Static string,
 * "" for an unknown type. */
const char *csam_mail_key_label(const char *lang, enum csam_key_type type);

/* SMTP delivery settings (from struct csam_config). */
struct csam_smtp {
    const char *relay;   /* smtp://[user:pass@]host[:port] or smtps:// */
    const char *from;    /* mailbox, possibly with display name */
    long timeout;        /* seconds */
    const char *ca_file; /* PEM CAs the relay's certificate must chain
                            to, instead of the system store; NULL: the
                            system store */
};

/* Send a formatted message over SMTP with libcurl: smtps:// is TLS from
 * the start; smtp:// upgrades with STARTTLS when the server offers it, and
 * requires it when the URL carries credentials: a relay that does not
 * offer STARTTLS (or an attacker who strips it) gets no AUTH and no
 * message.  Certificates are verified (peer and host name).
 * Errors: CSAM_ERR_MAIL (relay refused or did not answer), CSAM_ERR_INVALID,
 * CSAM_ERR_NOMEM. */
csam_result csam_smtp_send(const struct csam_smtp *smtp,
                           const struct csam_message *msg);

/* csam_smtp_send() that also says why it failed, in err (may be NULL):
 * libcurl's description of the failure and the relay's last SMTP reply
 * code, fit for a log; never the relay URL (it may hold a password), an
 * address or any part of the message. */
csam_result csam_smtp_send_err(const struct csam_smtp *smtp,
                               const struct csam_message *msg, char *err,
                               size_t errlen);

/* libcurl's one-time global initialisation.  Call it once at startup,
 * before threads exist (mod_csam: post_config; pam_csam: first call);
 * csam_smtp_send works without it, but then libcurl initialises lazily,
 * which is not thread-safe with libcurl before 7.84.
 * Errors: CSAM_ERR_MAIL. */
csam_result csam_smtp_init(void);

/* The version of the libcurl loaded at run time ("7.88.1"); static. */
const char *csam_smtp_curl_version(void);

/* A csam_send_fn over csam_smtp_send; ctx is a const struct csam_smtp *. */
csam_result csam_smtp_sender(void *ctx, const struct csam_message *msg);

#endif
