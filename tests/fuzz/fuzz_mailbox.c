/* SPDX-License-Identifier: Apache-2.0 */
/* Mailboxes (common/base/mailbox.c): the From of csam.conf and every
 * recipient.  An accepted mailbox yields an address csam_email_check()
 * accepts, in ASCII. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mailbox.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstring(data, size);
    char name[CSAM_MAILBOX_NAME_MAX + 1];
    char addr[CSAM_EMAIL_MAX + 1];
    size_t i;

    if (in == NULL)
        return 0;
    if (csam_mail_mailbox_parse(in, name, sizeof(name), addr, sizeof(addr))
        == CSAM_OK) {
        if (strlen(name) > CSAM_MAILBOX_NAME_MAX
            || csam_email_check(addr) != CSAM_OK)
            abort();
        for (i = 0; addr[i] != '\0'; i++)
            if ((unsigned char)addr[i] >= 0x80)
                abort();
    }
    /* Buffers too small for what they must hold fail, never overflow. */
    (void)csam_mail_mailbox_parse(in, name, 1, addr, 8);
    free(in);
    return 0;
}
