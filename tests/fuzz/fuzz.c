/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the fuzz targets (fuzz.h). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        return NULL;
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

char *fuzz_split(char *s)
{
    char *nl = strchr(s, '\n');

    if (nl == NULL)
        return s + strlen(s);
    *nl = '\0';
    return nl + 1;
}
