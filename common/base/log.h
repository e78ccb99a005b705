/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging callback.  libcsam never writes to stdout, stderr or syslog by
 * itself: the host (httpd, a PAM module, a test) hands it a function.
 * Messages never contain a code, a password, a token or a secret.
 */
#ifndef CSAM_COMMON_LOG_H
#define CSAM_COMMON_LOG_H

#include <stddef.h>

enum csam_log_level {
    CSAM_LOG_ERR = 3, /* same numbers as syslog(3) priorities */
    CSAM_LOG_WARNING = 4,
    CSAM_LOG_NOTICE = 5,
    CSAM_LOG_INFO = 6,
    CSAM_LOG_DEBUG = 7
};

typedef void (*csam_log_fn)(void *ctx, enum csam_log_level level,
                            const char *message);

struct csam_logger {
    csam_log_fn fn; /* may be NULL: messages are dropped */
    void *ctx;
};

/* Format and hand a message to logger->fn; a NULL logger or fn is a no-op.
 * Messages are truncated at 1 KiB. */
void csam_log(const struct csam_logger *logger, enum csam_log_level level,
              const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The text of errnum in buf (len bytes), for messages: strerror() shares
 * one buffer between threads, and PAM hosts and httpd's workers are
 * threaded.  Returns buf. */
const char *csam_log_errno(int errnum, char *buf, size_t len);

#endif
