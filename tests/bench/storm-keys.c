/* SPDX-License-Identifier: Apache-2.0 */
/*
 * storm-keys: app (TOTP) keys for the accounts tests/bench/storm.py makes
 * in SQL, sealed as the engine seals them (common/base/totp_key.h: under
 * the secret file's TOTP key, bound to the key row's id), so that the
 * module accepts their codes as it accepts an activated key's:
 *
 *   storm-keys SECRET_FILE FIRST_ID COUNT
 *
 * prints COUNT lines "ID SEALED_HEX BASE32", one per key id from FIRST_ID
 * on, each with a fresh secret from the CSPRNG (BASE32 is what the
 * citizen's app holds: the benchmark's clients compute codes from it).
 * The secret file is read without the ownership check (a test tool runs
 * as anyone).  Exits 0, 1 with a message on stderr, 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto.h"
#include "secret_file.h"
#include "totp_key.h"

#define CSAM_STORM_KEYS_MAX 10000000L

static int csam_storm_keys_one(const csam_secret *secret, int64_t id)
{
    unsigned char key[CSAM_TOTP_KEY_LEN];
    unsigned char sealed[CSAM_TOTP_KEY_SEALED_LEN];
    char b32[CSAM_TOTP_KEY_B32_SIZE];
    csam_result res;
    size_t i;

    res = csam_totp_key_new(key);
    if (res == CSAM_OK)
        res = csam_totp_key_seal(secret, id, key, sealed);
    if (res == CSAM_OK)
        res = csam_totp_key_base32(key, b32);
    csam_wipe(key, sizeof(key));
    if (res != CSAM_OK) {
        fprintf(stderr, "storm-keys: key %" PRId64 ": %s\n", id,
                csam_result_name(res));
        return -1;
    }
    printf("%" PRId64 " ", id);
    for (i = 0; i < sizeof(sealed); i++)
        printf("%02x", sealed[i]);
    printf(" %s\n", b32);
    csam_wipe(b32, sizeof(b32));
    return 0;
}

int main(int argc, char **argv)
{
    csam_secret *secret;
    char *end1 = NULL, *end2 = NULL;
    long long first = 0;
    long count = 0, i;
    int rc = 0;

    if (argc == 4) {
        first = strtoll(argv[2], &end1, 10);
        count = strtol(argv[3], &end2, 10);
    }
    if (argc != 4 || *end1 != '\0' || *end2 != '\0' || first <= 0 || count < 0
        || count > CSAM_STORM_KEYS_MAX) {
        fprintf(stderr, "usage: storm-keys SECRET_FILE FIRST_ID COUNT\n");
        return 2;
    }
    secret = csam_test_secret_read(argv[1]);
    if (secret == NULL) {
        fprintf(stderr, "storm-keys: cannot use the secret file %s\n", argv[1]);
        return 1;
    }
    for (i = 0; i < count && rc == 0; i++)
        if (csam_storm_keys_one(secret, (int64_t)(first + i)) != 0)
            rc = 1;
    csam_secret_free(secret);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
