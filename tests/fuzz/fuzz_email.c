/* SPDX-License-Identifier: Apache-2.0 */
/* E-mail addresses (common/base/validate.c): csam_email_check() and the
 * A-label form csam_email_ascii() sends to, which fails exactly where the
 * check fails and is itself an address the check accepts. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstring(data, size);
    char out[CSAM_EMAIL_MAX + 1];
    char small[16];
    csam_result checked, ascii;

    if (in == NULL)
        return 0;
    checked = csam_email_check(in);
    ascii = csam_email_ascii(in, out, sizeof(out));
    if ((checked == CSAM_OK) != (ascii == CSAM_OK))
        abort();
    if (ascii == CSAM_OK && csam_email_check(out) != CSAM_OK)
        abort();
    if (csam_email_ascii(in, small, sizeof(small)) != CSAM_OK
        && small[0] != '\0')
        abort();
    free(in);
    return 0;
}
