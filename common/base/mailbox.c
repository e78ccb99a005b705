/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mailboxes ("Display Name <addr>"): the rule a mailbox follows, shared by
 * the mail_from setting's check and by the mail and SMTP code that split
 * From and To.  Pure string work, no I/O.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "mailbox.h"
#include "validate.h"

static int csam_mailbox_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

csam_result csam_mail_mailbox_parse(const char *mailbox, char *name,
                                    size_t namelen, char *addr, size_t addrlen)
{
    const char *lt;
    const char *start;
    const char *end;
    size_t n;

    if (mailbox == NULL || name == NULL || addr == NULL || namelen == 0
        || addrlen == 0)
        return CSAM_ERR_INVALID;
    name[0] = '\0';
    addr[0] = '\0';
    if (csam_text_check(mailbox, CSAM_MAILBOX_NAME_MAX + CSAM_EMAIL_MAX + 8)
        != CSAM_OK)
        return CSAM_ERR_INVALID;

    lt = strchr(mailbox, '<');
    if (lt == NULL) {
        start = mailbox;
        end = mailbox + strlen(mailbox);
    } else {
        const char *gt = strchr(lt, '>');

        if (gt == NULL || gt[1] != '\0' || strchr(lt + 1, '<') != NULL)
            return CSAM_ERR_INVALID;
        start = lt + 1;
        end = gt;
    }
    n = (size_t)(end - start);
    if (n == 0 || n > CSAM_EMAIL_MAX)
        return CSAM_ERR_INVALID;
    {
        char typed[CSAM_EMAIL_MAX + 1];

        memcpy(typed, start, n);
        typed[n] = '\0';
        /* the wire form: an IDN domain in its A-label form */
        if (csam_email_ascii(typed, addr, addrlen) != CSAM_OK) {
            addr[0] = '\0';
            return CSAM_ERR_INVALID;
        }
    }
    if (lt == NULL)
        return CSAM_OK;

    start = mailbox;
    end = lt;
    while (start < end && csam_mailbox_is_blank(*start))
        start++;
    while (end > start && csam_mailbox_is_blank(end[-1]))
        end--;
    /* cppcheck-suppress knownConditionTrueFalse
     * cppcheck 2.10 loses track of end (= lt, past start): a quoted name
     * ("\"CSAM, BOSA\" <a@example.be>", test_mail) takes this branch. */
    if (end - start >= 2 && *start == '"' && end[-1] == '"') {
        start++;
        end--;
    }
    n = (size_t)(end - start);
    if (n > CSAM_MAILBOX_NAME_MAX || n >= namelen)
        goto bad;
    for (const char *p = start; p < end; p++)
        if (*p == '"' || *p == '\\' || *p == '<' || *p == '>')
            goto bad;
    memcpy(name, start, n);
    name[n] = '\0';
    return CSAM_OK;

bad:
    addr[0] = '\0';
    return CSAM_ERR_INVALID;
}
