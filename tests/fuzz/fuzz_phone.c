/* SPDX-License-Identifier: Apache-2.0 */
/* Phone numbers (common/base/validate.c).  Input: a number, and after a
 * first '\n' a list of country codes (csam.conf's sms_countries).  A
 * normalised number is E.164 and normalises to itself. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstring(data, size);
    char *countries;
    char out[CSAM_PHONE_SIZE], again[CSAM_PHONE_SIZE];

    if (in == NULL)
        return 0;
    countries = fuzz_split(in);
    if (csam_phone_normalize(in, out) == CSAM_OK) {
        size_t i, len = strlen(out);

        if (out[0] != '+' || len < 2 || len > CSAM_PHONE_SIZE - 1)
            abort();
        for (i = 1; i < len; i++)
            if (out[i] < '0' || out[i] > '9')
                abort();
        if (csam_phone_normalize(out, again) != CSAM_OK
            || strcmp(out, again) != 0)
            abort();
        (void)csam_phone_country_allowed(out, CSAM_PHONE_COUNTRIES_DEFAULT);
    }
    if (csam_phone_countries_ok(countries)) {
        (void)csam_phone_check(in, countries, out);
        (void)csam_phone_country_allowed(in, countries);
    }
    free(in);
    return 0;
}
