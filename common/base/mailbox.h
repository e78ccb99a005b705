/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mailboxes: "Display Name <addr>", "\"Display Name\" <addr>" or "addr".
 */
#ifndef CSAM_COMMON_MAILBOX_H
#define CSAM_COMMON_MAILBOX_H

#include <stddef.h>

#include "result.h"

#define CSAM_MAILBOX_NAME_MAX 200 /* display name, bytes of UTF-8 */

/* Split a mailbox "Display Name <addr>", "\"Display Name\" <addr>" or a
 * bare "addr" into its display name (UTF-8, "" when none; quotes removed)
 * and its address (checked with csam_email_check()) in the form that goes
 * on the wire: a domain typed in Unicode is given in its A-label form
 * (csam_email_ascii(), no SMTPUTF8).  The name may not
 * hold '"', '\\', '<', '>' or a control character.
 * Errors: CSAM_ERR_INVALID. */
csam_result csam_mail_mailbox_parse(const char *mailbox, char *name,
                                    size_t namelen, char *addr, size_t addrlen);

#endif
