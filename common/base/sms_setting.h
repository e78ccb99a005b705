/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rules the sms_* settings follow: each value on its own, and what
 * each transport needs from the others.  csam_config_set and
 * csam_config_check apply them when a configuration is read; the SMS
 * delivery code applies the same ones before it sends.  Pure string
 * work, no I/O.
 */
#ifndef CSAM_COMMON_SMS_SETTING_H
#define CSAM_COMMON_SMS_SETTING_H

#include <stddef.h>

#include "result.h"

#define CSAM_SMS_AUTH_MAX 1024 /* sms_auth, bytes */
#define CSAM_SMS_BODY_MAX 4000 /* sms_body template, bytes */
#define CSAM_SMS_URL_MAX 2048  /* sms_url, bytes */
#define CSAM_SMS_JSON_TYPE "application/json"
#define CSAM_SMS_FORM_TYPE "application/x-www-form-urlencoded"

enum csam_sms_transport {
    CSAM_SMS_NONE = 0, /* SMS keys cannot be used */
    CSAM_SMS_HTTP,     /* POST to url */
    CSAM_SMS_COMMAND   /* run command NUMBER, text on stdin */
};

/* Single-key checks, used by csam_config_set for the sms_* keys: 1 when
 * the value is acceptable.
 *   transport: "none", "http" or "command"
 *   url: https://host[:port][/path][?query] (no userinfo, no fragment),
 *        or http:// to 127.0.0.1, [::1] or localhost only: the request
 *        carries a code and often a token
 *   body: a template naming {{to}} and {{text}} and no other variable
 *   content_type: "application/json" or "application/x-www-form-urlencoded"
 *   auth: "bearer TOKEN" or "basic USER:PASSWORD" (visible ASCII, the
 *         scheme word in any case) */
int csam_sms_transport_ok(const char *value);
int csam_sms_url_ok(const char *value);
int csam_sms_body_ok(const char *value);
int csam_sms_content_type_ok(const char *value);
int csam_sms_auth_ok(const char *value);

/* What spans keys: sms_transport (NULL: "none") names a transport, http
 * has a valid sms_url and sms_body, command has an absolute sms_command.
 * *transport (may be NULL) gets the transport named.
 * Errors: CSAM_ERR_CONFIG with a message in err (never a value). */
csam_result csam_sms_settings_check(const char *transport_name, const char *url,
                                    const char *body, const char *command,
                                    enum csam_sms_transport *transport,
                                    char *err, size_t errlen);

#endif
