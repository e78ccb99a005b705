#include <stdarg.h>
#include <stdio.h>

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
