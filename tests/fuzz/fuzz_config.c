/* SPDX-License-Identifier: Apache-2.0 */
/* csam.conf (common/base/config.c), read from a file as the hosts read it:
 * each input is written to one temporary file (in $TMPDIR, else /tmp),
 * loaded, and when it loads, checked as pam_csam and mod_csam check it. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../common/base/config.h"
#include "fuzz.h"

static int fuzz_config_fd = -1;
static char fuzz_config_path[4096];

static void fuzz_config_cleanup(void)
{
    unlink(fuzz_config_path);
}

static void fuzz_config_open(void)
{
    const char *tmp = getenv("TMPDIR");

    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if ((size_t)snprintf(fuzz_config_path, sizeof(fuzz_config_path),
                         "%s/csam-fuzz-config.XXXXXX", tmp)
            >= sizeof(fuzz_config_path)
        || (fuzz_config_fd = mkstemp(fuzz_config_path)) < 0) {
        perror("fuzz_config: mkstemp");
        abort();
    }
    atexit(fuzz_config_cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csam_config cfg;
    char err[512];

    if (fuzz_config_fd < 0)
        fuzz_config_open();
    if (ftruncate(fuzz_config_fd, 0) != 0
        || (size > 0
            && pwrite(fuzz_config_fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_config: write");
        abort();
    }
    if (csam_config_init(&cfg) != CSAM_OK)
        return 0;
    if (csam_config_load(&cfg, fuzz_config_path, 0, err, sizeof(err))
        == CSAM_OK) {
        (void)csam_config_check(&cfg, err, sizeof(err));
        (void)csam_config_check_web(&cfg, err, sizeof(err));
    }
    csam_config_free(&cfg);
    return 0;
}
