/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The conversation.  Answers are secrets (codes): they are wiped before
 * they are freed, here and by the callers.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "crypto.h"

/* Indexed by language, then by enum csam_conv_text.  The French wording
 * follows the seeds ("code de sécurité"); the others are its counterparts
 * on the Belgian federal portals. */
static const char *const csam_conv_texts[4][CSAM_CONV_TEXT_COUNT] = {
    {/* fr */
     "Code de sécurité : ", "Code de votre application mobile : ",
     "Un code de sécurité vous a été envoyé par e-mail.",
     "Un code de sécurité vous a été envoyé par SMS.",
     "Le code de sécurité envoyé il y a peu est toujours valable."},
    {/* nl */
     "Beveiligingscode: ", "Code van uw mobiele app: ",
     "Er is u een beveiligingscode per e-mail gestuurd.",
     "Er is u een beveiligingscode per sms gestuurd.",
     "De beveiligingscode die u net ontving, is nog geldig."},
    {/* de */
     "Sicherheitscode: ", "Code Ihrer mobilen App: ",
     "Ein Sicherheitscode wurde Ihnen per E-Mail gesendet.",
     "Ein Sicherheitscode wurde Ihnen per SMS gesendet.",
     "Der soeben gesendete Sicherheitscode ist noch gültig."},
    {/* en */
     "Security code: ", "Code from your mobile app: ",
     "A security code has been sent to you by e-mail.",
     "A security code has been sent to you by SMS.",
     "The security code sent a moment ago is still valid."},
};

const char *csam_conv_text(const char *lang, enum csam_conv_text which)
{
    static const char *const langs[4] = {"fr", "nl", "de", "en"};
    size_t i, l = 0;

    if ((unsigned)which >= CSAM_CONV_TEXT_COUNT)
        which = CSAM_CONV_PROMPT_CODE;
    for (i = 0; lang != NULL && i < 4; i++) {
        if (strcmp(lang, langs[i]) == 0) {
            l = i;
            break;
        }
    }
    return csam_conv_texts[l][which];
}

/* One message through the application's conversation function.  The
 * response array and its text belong to us afterwards (pam_conv(3)). */
static int csam_conv_one(pam_handle_t *pamh, int style, const char *text,
                         char **answer)
{
    const struct pam_conv *conv = NULL;
    struct pam_message msg;
    const struct pam_message *msgp = &msg;
    struct pam_response *resp = NULL;
    int status;

    status = pam_get_item(pamh, PAM_CONV, (const void **)&conv);
    if (status != PAM_SUCCESS || conv == NULL || conv->conv == NULL)
        return PAM_CONV_ERR;
    msg.msg_style = style;
    msg.msg = text;
    status = conv->conv(1, &msgp, &resp, conv->appdata_ptr);
    if (status != PAM_SUCCESS) {
        /* A failing conversation may still have handed back memory. */
        if (resp != NULL) {
            if (resp->resp != NULL) {
                csam_wipe(resp->resp, strlen(resp->resp));
                free(resp->resp);
            }
            free(resp);
        }
        return PAM_CONV_ERR;
    }
    if (answer != NULL) {
        if (resp == NULL || resp->resp == NULL) {
            free(resp);
            return PAM_CONV_ERR;
        }
        *answer = resp->resp;
        free(resp);
        return PAM_SUCCESS;
    }
    if (resp != NULL) {
        if (resp->resp != NULL) {
            csam_wipe(resp->resp, strlen(resp->resp));
            free(resp->resp);
        }
        free(resp);
    }
    return PAM_SUCCESS;
}

int csam_conv_ask(pam_handle_t *pamh, const char *prompt, char **answer)
{
    char *typed = NULL;
    size_t len;
    int status;

    *answer = NULL;
    status = csam_conv_one(pamh, PAM_PROMPT_ECHO_OFF, prompt, &typed);
    if (status != PAM_SUCCESS)
        return status;
    len = strnlen(typed, CSAM_CONV_ANSWER_MAX + 1);
    if (len > CSAM_CONV_ANSWER_MAX) {
        csam_wipe(typed, strlen(typed));
        free(typed);
        return PAM_AUTH_ERR;
    }
    *answer = typed;
    return PAM_SUCCESS;
}

int csam_conv_info(pam_handle_t *pamh, int flags, const char *text)
{
    if (flags & PAM_SILENT)
        return PAM_SUCCESS;
    return csam_conv_one(pamh, PAM_TEXT_INFO, text, NULL);
}
