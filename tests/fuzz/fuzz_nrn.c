/* SPDX-License-Identifier: Apache-2.0 */
/* National register numbers and dates (common/base/validate.c).  Input: a
 * number, and after a first '\n' a date of birth. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstring(data, size);
    char *date;
    char out[CSAM_NRN_SIZE], again[CSAM_NRN_SIZE];
    struct csam_date encoded, birth;

    if (in == NULL)
        return 0;
    date = fuzz_split(in);
    if (csam_nrn_parse(in, out, &encoded) == CSAM_OK) {
        /* eleven digits, which parse again to the same number */
        if (strlen(out) != CSAM_NRN_DIGITS
            || strspn(out, "0123456789") != CSAM_NRN_DIGITS
            || csam_nrn_parse(out, again, NULL) != CSAM_OK
            || strcmp(out, again) != 0)
            abort();
        if (csam_date_parse(date, &birth) == CSAM_OK)
            (void)csam_nrn_matches_birth(&encoded, &birth);
    }
    (void)csam_date_parse(in, &birth);
    free(in);
    return 0;
}
