/* SPDX-License-Identifier: Apache-2.0 */
/* strerror_r, the POSIX one returning int */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void csam_log(const struct csam_logger *logger, enum csam_log_level level,
              const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (logger == NULL || logger->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    logger->fn(logger->ctx, level, buf);
}

const char *csam_log_errno(int errnum, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (strerror_r(errnum, buf, len) != 0)
        snprintf(buf, len, "error %d", errnum);
    return buf;
}
