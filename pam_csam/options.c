/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module arguments.  Each argument is matched whole against a short list;
 * the first unknown or repeated one stops the parse, so the caller can
 * refuse the call (fail closed) with a message naming it.
 */
#include <stdio.h>
#include <string.h>

#include "keytype.h"
#include "options.h"
#include "validate.h"

/* How much of a bad argument the message quotes: enough to find it in
 * the pam.d file, not enough to turn the log into a dump of it. */
#define CSAM_OPTIONS_QUOTE_MAX 32

enum csam_options_seen {
    CSAM_OPTIONS_SEEN_CONFIG = 1 << 0,
    CSAM_OPTIONS_SEEN_KEY = 1 << 1,
    CSAM_OPTIONS_SEEN_NULLOK = 1 << 2,
    CSAM_OPTIONS_SEEN_DEBUG = 1 << 3,
    CSAM_OPTIONS_SEEN_PROMPT = 1 << 4
};

/* Copy at most CSAM_OPTIONS_QUOTE_MAX bytes of arg, with anything but
 * printable ASCII replaced by '?', for the error message. */
static void csam_options_quote(const char *arg, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; i < CSAM_OPTIONS_QUOTE_MAX && i + 1 < outlen && arg[i] != '\0';
         i++) {
        unsigned char c = (unsigned char)arg[i];

        if (c >= 0x20 && c < 0x7f)
            out[i] = arg[i];
        else
            out[i] = '?';
    }
    out[i] = '\0';
}

static csam_result csam_options_fail(char *err, size_t errlen, const char *arg,
                                     const char *why)
{
    char quoted[CSAM_OPTIONS_QUOTE_MAX + 1];

    if (err != NULL && errlen > 0) {
        csam_options_quote(arg, quoted, sizeof(quoted));
        snprintf(err, errlen, "module argument '%s%s': %s", quoted,
                 strlen(arg) > CSAM_OPTIONS_QUOTE_MAX ? "..." : "", why);
    }
    return CSAM_ERR_CONFIG;
}

/* 1 and *value set when arg is "name=..." */
static int csam_options_match(const char *arg, const char *name,
                              const char **value)
{
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0 || arg[n] != '=')
        return 0;
    *value = arg + n + 1;
    return 1;
}

static csam_result csam_options_keys(const char *value, unsigned *keys)
{
    enum csam_key_type type;

    if (strcmp(value, "any") == 0) {
        *keys = CSAM_KEY_ALL;
        return CSAM_OK;
    }
    type = csam_key_type_parse(value);
    if (type == CSAM_KEY_NONE)
        return CSAM_ERR_CONFIG;
    *keys = (unsigned)type;
    return CSAM_OK;
}

csam_result csam_options_parse(int argc, const char **argv,
                               struct csam_options *opts, char *err,
                               size_t errlen)
{
    unsigned seen = 0, flag;
    const char *value;
    int i;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    opts->config = CSAM_OPTIONS_DEFAULT_CONFIG;
    opts->keys = CSAM_KEY_ALL;
    opts->nullok = 0;
    opts->debug = 0;
    opts->prompt = NULL;
    if (argc < 0 || (argc > 0 && argv == NULL))
        return csam_options_fail(err, errlen, "", "no argument vector");

    for (i = 0; i < argc; i++) {
        const char *arg = argv[i];

        if (arg == NULL)
            return csam_options_fail(err, errlen, "", "null argument");
        if (csam_options_match(arg, "config", &value)) {
            flag = CSAM_OPTIONS_SEEN_CONFIG;
            if (value[0] != '/' || strlen(value) >= CSAM_OPTIONS_PATH_MAX
                || csam_text_check(value, CSAM_OPTIONS_PATH_MAX) != CSAM_OK)
                return csam_options_fail(err, errlen, arg,
                                         "needs an absolute path");
            opts->config = value;
        } else if (csam_options_match(arg, "key", &value)) {
            flag = CSAM_OPTIONS_SEEN_KEY;
            if (csam_options_keys(value, &opts->keys) != CSAM_OK)
                return csam_options_fail(err, errlen, arg,
                                         "must be email, sms, totp or any");
        } else if (csam_options_match(arg, "prompt", &value)) {
            flag = CSAM_OPTIONS_SEEN_PROMPT;
            if (strlen(value) >= CSAM_OPTIONS_PROMPT_MAX
                || csam_text_check(value, CSAM_OPTIONS_PROMPT_MAX) != CSAM_OK)
                return csam_options_fail(err, errlen, arg,
                                         "needs 1 to 255 bytes of UTF-8 "
                                         "without control characters");
            opts->prompt = value;
        } else if (strcmp(arg, "nullok") == 0) {
            flag = CSAM_OPTIONS_SEEN_NULLOK;
            opts->nullok = 1;
        } else if (strcmp(arg, "debug") == 0) {
            flag = CSAM_OPTIONS_SEEN_DEBUG;
            opts->debug = 1;
        } else {
            return csam_options_fail(err, errlen, arg, "unknown argument");
        }
        if (seen & flag)
            return csam_options_fail(err, errlen, arg, "given twice");
        seen |= flag;
    }
    return CSAM_OK;
}
