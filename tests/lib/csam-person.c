/* SPDX-License-Identifier: Apache-2.0 */
/*
 * csam-person: the person helpers of the engine (common/engine/person.h)
 * from the command line, for the httpd tests that prepare an account's
 * sealed national number or check a CSAM_SUBJECT against the secret:
 *
 *   csam-person SECRET_FILE subject NRN_HASH_HEX
 *   csam-person SECRET_FILE seal NRN NRN_HASH_HEX
 *
 * subject prints the CSAM_SUBJECT of the account whose nrn_hash is given
 * (64 hex digits, as encode(nrn_hash, 'hex') shows it); seal prints the
 * 11 digits NRN sealed for that hash, in hex (for decode(..., 'hex')).
 * The secret file is read without the ownership check (a test tool runs
 * as anyone).  Exits 0, 1 with a message on stderr, 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "person.h"
#include "secret_file.h"

static int csam_person_tool_unhex(const char *hex,
                                  unsigned char out[CSAM_HASH_LEN])
{
    size_t i;

    if (strlen(hex) != 2 * CSAM_HASH_LEN)
        return 0;
    for (i = 0; i < CSAM_HASH_LEN; i++) {
        unsigned int byte;

        if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
            return 0;
        out[i] = (unsigned char)byte;
    }
    return 1;
}

int main(int argc, char **argv)
{
    unsigned char hash[CSAM_HASH_LEN];
    csam_secret *secret;
    int rc = 1;

    if (argc < 4 || (strcmp(argv[2], "subject") == 0 && argc != 4)
        || (strcmp(argv[2], "seal") == 0 && argc != 5)
        || (strcmp(argv[2], "subject") != 0 && strcmp(argv[2], "seal") != 0)
        || !csam_person_tool_unhex(argv[argc - 1], hash)) {
        fprintf(stderr, "usage: csam-person SECRET_FILE subject HASH_HEX\n"
                        "       csam-person SECRET_FILE seal NRN HASH_HEX\n");
        return 2;
    }
    secret = csam_test_secret_read(argv[1]);
    if (secret == NULL) {
        fprintf(stderr, "csam-person: cannot use the secret file %s\n",
                argv[1]);
        return 1;
    }
    if (strcmp(argv[2], "subject") == 0) {
        char subject[CSAM_SUBJECT_SIZE];

        if (csam_person_subject(secret, hash, subject) == CSAM_OK) {
            printf("%s\n", subject);
            rc = 0;
        }
    } else {
        char nrn[CSAM_NRN_SIZE] = "";
        unsigned char sealed[CSAM_PERSON_SEALED_LEN];
        size_t i;

        if (strlen(argv[3]) == CSAM_NRN_DIGITS)
            memcpy(nrn, argv[3], CSAM_NRN_SIZE);
        if (csam_person_seal(secret, nrn, hash, sealed) == CSAM_OK) {
            for (i = 0; i < sizeof(sealed); i++)
                printf("%02x", sealed[i]);
            printf("\n");
            rc = 0;
        }
    }
    if (rc != 0)
        fprintf(stderr, "csam-person: %s failed\n", argv[2]);
    csam_secret_free(secret);
    return rc;
}
