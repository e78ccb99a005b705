/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rules the sms_* settings follow (sms_setting.h).
 */
/* strncasecmp */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sms_setting.h"
#include "template.h"
#include "validate.h"

static void csam_sms_setting_error(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

int csam_sms_transport_ok(const char *value)
{
    return value != NULL
           && (strcmp(value, "none") == 0 || strcmp(value, "http") == 0
               || strcmp(value, "command") == 0);
}

int csam_sms_content_type_ok(const char *value)
{
    return value != NULL
           && (strcmp(value, CSAM_SMS_JSON_TYPE) == 0
               || strcmp(value, CSAM_SMS_FORM_TYPE) == 0);
}

static int csam_sms_setting_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}

/* host[:port] of an http(s) URL; *loopback says whether host is one. */
static int csam_sms_authority_ok(const char *s, size_t len, int *loopback)
{
    size_t hostlen = 0;

    if (!csam_authority_check(s, len, &hostlen))
        return 0;
    *loopback = (hostlen == 9 && memcmp(s, "127.0.0.1", 9) == 0)
                || (hostlen == 5 && memcmp(s, "[::1]", 5) == 0)
                || (hostlen == 9 && strncasecmp(s, "localhost", 9) == 0);
    return 1;
}

int csam_sms_url_ok(const char *value)
{
    const char *rest;
    size_t i, end;
    int https, loopback = 0;

    if (value == NULL
        || strnlen(value, CSAM_SMS_URL_MAX + 1) > CSAM_SMS_URL_MAX)
        return 0;
    if (strncmp(value, "https://", 8) == 0) {
        https = 1;
        rest = value + 8;
    } else if (strncmp(value, "http://", 7) == 0) {
        https = 0;
        rest = value + 7;
    } else {
        return 0;
    }
    end = strcspn(rest, "/?");
    if (!csam_sms_authority_ok(rest, end, &loopback))
        return 0;
    /* path and query: RFC 3986 pchar, '/' and '?'; no fragment, no space,
     * no userinfo (credentials go in sms_auth, not in the URL) */
    for (i = end; rest[i] != '\0'; i++) {
        char c = rest[i];

        if (!(csam_sms_setting_is_alnum(c)
              || strchr("-._~%!$&'()*+,;=:@/?", c)))
            return 0;
    }
    return https || loopback;
}

int csam_sms_auth_ok(const char *value)
{
    const char *cred;
    const char *colon;
    size_t i, len;

    if (value == NULL)
        return 0;
    len = strnlen(value, CSAM_SMS_AUTH_MAX + 1);
    if (len > CSAM_SMS_AUTH_MAX)
        return 0;
    if (strncasecmp(value, "bearer ", 7) == 0)
        cred = value + 7;
    else if (strncasecmp(value, "basic ", 6) == 0)
        cred = value + 6;
    else
        return 0;
    if (cred[0] == '\0')
        return 0;
    for (i = 0; cred[i] != '\0'; i++)
        if (cred[i] <= ' ' || cred[i] >= 0x7f)
            return 0;
    if (cred == value + 6) {
        colon = strchr(cred, ':');
        if (colon == NULL || colon == cred)
            return 0;
    }
    return 1;
}

int csam_sms_body_ok(const char *value)
{
    static const struct csam_tvar vars[] = {{"to", ""}, {"text", ""}};
    char *out = NULL;
    csam_result res;

    if (value == NULL || csam_text_check(value, CSAM_SMS_BODY_MAX) != CSAM_OK
        || strstr(value, "{{to}}") == NULL || strstr(value, "{{text}}") == NULL)
        return 0;
    /* an unknown {{name}} fails here, at startup, not at the first SMS */
    res = csam_template_render(value, vars, 2, CSAM_ESCAPE_NONE, &out);
    free(out);
    return res == CSAM_OK;
}

csam_result csam_sms_settings_check(const char *transport_name, const char *url,
                                    const char *body, const char *command,
                                    enum csam_sms_transport *transport,
                                    char *err, size_t errlen)
{
    enum csam_sms_transport t;

    if (transport_name == NULL || strcmp(transport_name, "none") == 0)
        t = CSAM_SMS_NONE;
    else if (strcmp(transport_name, "http") == 0)
        t = CSAM_SMS_HTTP;
    else if (strcmp(transport_name, "command") == 0)
        t = CSAM_SMS_COMMAND;
    else {
        csam_sms_setting_error(err, errlen,
                               "sms_transport must be none, http or command");
        return CSAM_ERR_CONFIG;
    }
    if (transport != NULL)
        *transport = t;
    if (t == CSAM_SMS_HTTP && (url == NULL || !csam_sms_url_ok(url))) {
        csam_sms_setting_error(err, errlen,
                               "sms_transport = http needs sms_url "
                               "(https://, or http:// to loopback)");
        return CSAM_ERR_CONFIG;
    }
    if (t == CSAM_SMS_HTTP && !csam_sms_body_ok(body)) {
        csam_sms_setting_error(err, errlen,
                               "sms_body must name {{to}} and {{text}} "
                               "and no other variable");
        return CSAM_ERR_CONFIG;
    }
    if (t == CSAM_SMS_COMMAND && (command == NULL || command[0] != '/')) {
        csam_sms_setting_error(err, errlen,
                               "sms_transport = command needs "
                               "sms_command (an absolute path)");
        return CSAM_ERR_CONFIG;
    }
    return CSAM_OK;
}
