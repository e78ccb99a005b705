/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the test SMTP server's Maildir (tests/lib/smtp_server.py) from
 * C test tools: wait for the next mail to an address and take the link
 * token or the security code out of its text part.
 */
#ifndef CSAM_TESTS_MAILDIR_H
#define CSAM_TESTS_MAILDIR_H

#include <stddef.h>

#define CSAM_MAILDIR_SEEN_MAX 8192

/* The files of MAILDIR/new already looked at. */
struct csam_maildir {
    const char *path;
    char *seen[CSAM_MAILDIR_SEEN_MAX];
    size_t nseen;
};

enum csam_maildir_want {
    CSAM_MAILDIR_TOKEN = 0, /* the token after "activate?t=" */
    CSAM_MAILDIR_CODE       /* the only run of 6 to 8 digits */
};

/* Start watching path, taking every mail already there as seen.
 * Returns 0, or -1 when out of memory. */
int csam_maildir_open(struct csam_maildir *md, const char *path);
void csam_maildir_close(struct csam_maildir *md);

/* Wait up to timeout_ms for a mail not yet seen addressed to `to` (To: or
 * the server's X-Csam-Envelope-To:), mark it seen and write what `want`
 * asks for to out.  Returns 0, or -1 on timeout or when the mail does not
 * carry exactly one. */
int csam_maildir_await(struct csam_maildir *md, const char *to,
                       enum csam_maildir_want want, long timeout_ms, char *out,
                       size_t outlen);

#endif
