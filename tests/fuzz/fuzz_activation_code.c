/* SPDX-License-Identifier: Apache-2.0 */
/* Activation codes as typed (common/base/crypto.c): normalising is
 * idempotent; tokens (links, handles) are checked by csam_token_valid(). */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstring(data, size);
    char code[CSAM_ACTIVATION_CODE_SIZE], again[CSAM_ACTIVATION_CODE_SIZE];

    if (in == NULL)
        return 0;
    if (csam_activation_code_normalize(in, code) == CSAM_OK) {
        /* A canonical code is its own canonical form. */
        const char *typed = code;

        if (strlen(code) != CSAM_ACTIVATION_CODE_LEN
            || csam_activation_code_normalize(typed, again) != CSAM_OK
            || strcmp(code, again) != 0)
            abort();
    }
    (void)csam_token_valid(in);
    free(in);
    return 0;
}
