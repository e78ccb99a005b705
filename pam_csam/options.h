/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam_csam's module arguments (DESIGN 3.4):
 *
 *   [config=/etc/csam/csam.conf] [key=email|sms|totp|any] [nullok] [debug]
 *   [prompt=TEXT]
 *
 * Parsing knows nothing of PAM, so the unit tests link it alone.  Anything
 * it does not recognise is refused, never skipped: a typo in a pam.d line
 * must not quietly weaken the second factor.
 */
#ifndef CSAM_PAM_OPTIONS_H
#define CSAM_PAM_OPTIONS_H

#include <stddef.h>

#include "result.h"

#define CSAM_OPTIONS_DEFAULT_CONFIG "/etc/csam/csam.conf"
#define CSAM_OPTIONS_PATH_MAX 4096  /* bytes, with the NUL */
#define CSAM_OPTIONS_PROMPT_MAX 256 /* bytes, with the NUL */
#define CSAM_OPTIONS_ERRLEN 160

struct csam_options {
    const char *config; /* absolute path; points into argv or static */
    unsigned keys;      /* CSAM_KEY_* mask the account may use */
    int nullok;         /* no CSAM account: PAM_IGNORE, not failure */
    int debug;          /* log each step at LOG_DEBUG */
    const char *prompt; /* NULL: the account's language's default;
                           points into argv */
};

/* Fill opts from the module arguments.  The strings in opts point into
 * argv (or are static), so argv must outlive opts; nothing is allocated.
 * Refuses an unknown argument, an argument given twice, a config= that is
 * not an absolute path, a key= outside email|sms|totp|any, an empty or
 * over-long prompt= or one with control characters: CSAM_ERR_CONFIG with
 * a message in err naming the argument (at most its first 32 bytes,
 * control characters replaced), fit for a log.  err may be NULL. */
csam_result csam_options_parse(int argc, const char **argv,
                               struct csam_options *opts, char *err,
                               size_t errlen);

#endif
