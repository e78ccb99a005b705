/* SPDX-License-Identifier: Apache-2.0 */
/* The PHC strings of stored passwords (common/base/argon2_run.c).  Only
 * the canonical form libargon2 writes is accepted, so an accepted string
 * must be written back, byte for byte, from what was decoded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argon2_run.h"
#include "crypto.h"
#include "fuzz.h"

/* Standard unpadded base64: the url alphabet's encoder, two letters
 * changed. */
static void b64(const unsigned char *in, size_t n, char *out)
{
    char *c;

    csam_base64url_encode(in, n, out);
    for (c = out; *c != '\0'; c++) {
        if (*c == '-')
            *c = '+';
        else if (*c == '_')
            *c = '/';
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstring(data, size);
    char again[400], salt[100], hash[100];
    struct csam_phc d;

    if (in == NULL)
        return 0;
    if (csam_phc_parse(in, &d) == CSAM_OK) {
        if (d.salt_len < 8 || d.salt_len > CSAM_PHC_BYTES_MAX || d.hash_len < 4
            || d.hash_len > CSAM_PHC_BYTES_MAX)
            abort();
        b64(d.salt, d.salt_len, salt);
        b64(d.hash, d.hash_len, hash);
        snprintf(again, sizeof(again), "$argon2id$v=19$m=%u,t=%u,p=%u$%s$%s",
                 (unsigned)d.m_cost, (unsigned)d.t_cost, (unsigned)d.lanes,
                 salt, hash);
        if (strcmp(again, in) != 0)
            abort();
    }
    free(in);
    return 0;
}
