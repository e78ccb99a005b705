#include <string.h>

#include "keytype.h"

const char *csam_key_type_name(enum csam_key_type type)
{
    switch (type) {
    case CSAM_KEY_EMAIL: return "email";
    case CSAM_KEY_SMS:   return "sms";
    case CSAM_KEY_TOTP:  return "totp";
    default:             return NULL;
    }
}

enum csam_key_type csam_key_type_parse(const char *s)
{
    if (s == NULL)
        return CSAM_KEY_NONE;
    if (strcmp(s, "email") == 0)
        return CSAM_KEY_EMAIL;
    if (strcmp(s, "sms") == 0)
        return CSAM_KEY_SMS;
    if (strcmp(s, "totp") == 0)
        return CSAM_KEY_TOTP;
    return CSAM_KEY_NONE;
}
