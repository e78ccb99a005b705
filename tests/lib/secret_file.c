/* SPDX-License-Identifier: Apache-2.0 */
/* See secret_file.h. */
#include <stdio.h>

#include "secret_file.h"

csam_secret *csam_test_secret_read(const char *path)
{
    unsigned char raw[CSAM_SECRET_MAX + 1];
    csam_secret *secret = NULL;
    size_t len;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return NULL;
    len = fread(raw, 1, sizeof(raw), f);
    fclose(f);
    if (csam_secret_from_bytes(raw, len, &secret) != CSAM_OK)
        secret = NULL;
    csam_wipe(raw, sizeof(raw));
    return secret;
}
