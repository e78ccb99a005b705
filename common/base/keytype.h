/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The three kinds of digital key (DESIGN 2) and their names on the wire.
 */
#ifndef CSAM_COMMON_KEYTYPE_H
#define CSAM_COMMON_KEYTYPE_H

enum csam_key_type {
    CSAM_KEY_NONE = 0,
    CSAM_KEY_EMAIL = 1 << 0, /* security code by e-mail */
    CSAM_KEY_SMS = 1 << 1,   /* security code by SMS */
    CSAM_KEY_TOTP = 1 << 2   /* mobile authenticator app */
};

#define CSAM_KEY_ALL (CSAM_KEY_EMAIL | CSAM_KEY_SMS | CSAM_KEY_TOTP)

/* "email", "sms", "totp"; NULL for anything else. */
const char *csam_key_type_name(enum csam_key_type type);

/* The key type named by s, or CSAM_KEY_NONE. */
enum csam_key_type csam_key_type_parse(const char *s);

/* The CSAM_KEY_* mask of a comma-separated list of names ("email,totp", as
 * the store aggregates an account's active keys); unknown names and NULL
 * count for nothing. */
unsigned csam_key_type_mask(const char *list);

#endif
