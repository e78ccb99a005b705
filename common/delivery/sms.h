/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SMS delivery, for the SMS key's security codes.
 *
 * Every operator's gateway differs, so the transport is configured, not
 * coded: an HTTP POST of a body template (JSON or form-encoded) with
 * optional bearer or basic auth (libcurl), or a command run without a
 * shell with the number as its argument and the text on its standard
 * input (never in its arguments: those are public in ps and /proc).  The
 * sender has the csam_send_fn shape, so the engine hands an SMS over as
 * it hands a mail: struct csam_message with `to` the phone number and
 * `text` the message (subject and html unused).
 *
 * Neither the text (it carries the code) nor the auth ever reaches a log
 * or an error message; errors say which step failed and the gateway's
 * HTTP status or the command's exit status, nothing else.
 */
#ifndef CSAM_COMMON_SMS_H
#define CSAM_COMMON_SMS_H

#include <stddef.h>

#include "config.h"
#include "mail.h"
#include "result.h"
#include "sms_setting.h"
#include "template.h"

#define CSAM_SMS_TEXT_MAX 640 /* bytes of UTF-8: four long SMS parts */
#define CSAM_SMS_ERRLEN 256

enum csam_sms_encoding {
    CSAM_SMS_JSON = 0, /* application/json: values JSON-string escaped */
    CSAM_SMS_FORM      /* application/x-www-form-urlencoded */
};

/* Delivery settings; the strings are borrowed (from struct csam_config)
 * and must outlive every send. */
struct csam_sms {
    enum csam_sms_transport transport;
    const char *url;  /* http: https://..., or http:// to loopback */
    const char *body; /* http: template with {{to}} and {{text}} */
    enum csam_sms_encoding encoding;
    const char *auth;      /* http: "bearer TOKEN", "basic user:pass"
                              or NULL; secret */
    const char *command;   /* command: absolute path */
    long timeout;          /* seconds, whole delivery */
    const char *countries; /* country calling codes a recipient may
                              have (sms_countries); NULL: EU/EEA */
};

/* Settings from a configuration whose keys were each validated by
 * csam_config_set: checks what spans keys with csam_sms_settings_check
 * (http needs sms_url, command needs sms_command).  out borrows cfg's
 * strings.
 * Errors: CSAM_ERR_CONFIG with a message in err (never a value). */
csam_result csam_sms_from_config(const struct csam_config *cfg,
                                 struct csam_sms *out, char *err,
                                 size_t errlen);

/* The text of an SMS of `kind` in `lang`, from sms/<lang>/<kind>.txt in
 * dirs (the administrator's, else the shipped one; falling back to "fr"),
 * rendered with vars, trailing newlines removed, at most
 * CSAM_SMS_TEXT_MAX bytes.  *text is malloc'd and carries the code: wipe
 * it (csam_wipe) before freeing.
 * Errors: CSAM_ERR_IO (no template, or one unreadable), CSAM_ERR_INSECURE
 * (an administrator's file others could change), CSAM_ERR_INVALID,
 * CSAM_ERR_NOMEM. */
csam_result csam_sms_compose(const struct csam_template_dirs *dirs,
                             const char *lang, const char *kind,
                             const struct csam_tvar *vars, size_t nvars,
                             char **text);

/* The HTTP body for one message: sms->body with {{to}} and {{text}}
 * replaced by to and text, escaped for sms->encoding (JSON string
 * escapes, or percent-encoding with '+' for spaces).  *out is malloc'd;
 * wipe it.  Errors: CSAM_ERR_INVALID, CSAM_ERR_NOMEM. */
csam_result csam_sms_body_render(const struct csam_sms *sms, const char *to,
                                 const char *text, char **out);

/* Deliver msg->text to msg->to (normalised to E.164 and checked against
 * sms->countries with csam_phone_check).  http: CSAM_OK only for a 2xx
 * answer within the timeout, TLS certificates verified, no redirect
 * followed.  command: runs `command NUMBER` without a shell, the text
 * (then end of file) on its standard input, stdout and stderr on
 * /dev/null, no other descriptor, the working directory "/" and a fixed
 * environment (PATH=/usr/sbin:/usr/bin:/sbin:/bin, LANG=C.UTF-8), never
 * the caller's (pam_csam may run inside setuid su, whose environment the
 * invoking user chose); CSAM_OK only for exit status 0 within the timeout,
 * otherwise its process group is killed.  A command that does not read
 * its input cannot make this wait longer than the timeout.
 * err (may be NULL) says why it failed, fit for a log.
 * Errors: CSAM_ERR_MAIL (gateway or command failed, or no transport),
 * CSAM_ERR_PHONE (msg->to is not a phone number of an allowed country),
 * CSAM_ERR_INVALID (bad settings or text), CSAM_ERR_NOMEM. */
csam_result csam_sms_send_err(const struct csam_sms *sms,
                              const struct csam_message *msg, char *err,
                              size_t errlen);

/* csam_sms_send_err without the reason. */
csam_result csam_sms_send(const struct csam_sms *sms,
                          const struct csam_message *msg);

/* A csam_send_fn over csam_sms_send; ctx is a const struct csam_sms *. */
csam_result csam_sms_sender(void *ctx, const struct csam_message *msg);

#endif
