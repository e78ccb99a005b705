/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "keytype.h"

const char *csam_key_type_name(enum csam_key_type type)
{
    switch (type) {
    case CSAM_KEY_EMAIL: return "email";
    case CSAM_KEY_SMS: return "sms";
    case CSAM_KEY_TOTP: return "totp";
    default: return NULL;
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

unsigned csam_key_type_mask(const char *list)
{
    unsigned mask = 0;
    char name[16];
    size_t n;

    while (list != NULL && *list != '\0') {
        n = strcspn(list, ",");
        if (n < sizeof(name)) {
            memcpy(name, list, n);
            name[n] = '\0';
            mask |= (unsigned)csam_key_type_parse(name);
        }
        list += n;
        if (*list == ',')
            list++;
    }
    return mask;
}
