/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PAM conversation: one hidden prompt for the code, optional
 * informational lines, and the texts shown, in the account's language.
 */
#ifndef CSAM_PAM_CONV_H
#define CSAM_PAM_CONV_H

#include <security/pam_modules.h>

/* Longest answer taken as a possible code; anything longer cannot be one
 * and is refused before it reaches the core. */
#define CSAM_CONV_ANSWER_MAX 64

enum csam_conv_text {
    CSAM_CONV_PROMPT_CODE = 0, /* e-mailed or SMS code */
    CSAM_CONV_PROMPT_TOTP,     /* code from the mobile app */
    CSAM_CONV_SENT_EMAIL,      /* a code was just e-mailed */
    CSAM_CONV_SENT_SMS,        /* a code was just sent by SMS */
    CSAM_CONV_REUSED,          /* the code sent a moment ago still holds */
    CSAM_CONV_TEXT_COUNT
};

/* The text in language lang ("fr", "nl", "de", "en"; anything else: "fr",
 * the reference wording).  Static; never NULL. */
const char *csam_conv_text(const char *lang, enum csam_conv_text which);

/* Ask once with PAM_PROMPT_ECHO_OFF.  On PAM_SUCCESS *answer is a
 * malloc'd NUL-terminated string the caller wipes and frees.
 * Errors: PAM_CONV_ERR (no conversation, it failed, or gave no answer),
 * PAM_AUTH_ERR (an answer longer than CSAM_CONV_ANSWER_MAX, wiped here),
 * PAM_BUF_ERR. */
int csam_conv_ask(pam_handle_t *pamh, const char *prompt, char **answer);

/* Show text as PAM_TEXT_INFO, unless flags has PAM_SILENT.  The result is
 * the conversation's; callers may ignore it, an info line is a courtesy. */
int csam_conv_info(pam_handle_t *pamh, int flags, const char *text);

#endif
