/* SPDX-License-Identifier: Apache-2.0 */
/* host[:port] of the relay, gateway and public URLs
 * (common/base/validate.c), checked on a length, not a C string: the input
 * as it is, NUL bytes included. */
#include <stdlib.h>

#include "fuzz.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t hostlen = (size_t)-1;

    if (csam_authority_check((const char *)data, size, &hostlen)
        && (hostlen == 0 || hostlen > size))
        abort();
    (void)csam_authority_check((const char *)data, size, NULL);
    return 0;
}
