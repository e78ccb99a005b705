/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The person's pseudonym and sealed number (person.h).
 */
#include <string.h>

#include "person.h"

/* The sealed number's associated data: a label, so that no other sealed
 * value of the same key ever opens as a number, and the row's key. */
static void csam_person_aad(const unsigned char nrn_hash[CSAM_HASH_LEN],
                            unsigned char aad[16 + CSAM_HASH_LEN])
{
    static const char label[16] = "csam/v1/nrn-row";

    memcpy(aad, label, sizeof(label));
    memcpy(aad + sizeof(label), nrn_hash, CSAM_HASH_LEN);
}

csam_result csam_person_subject(const csam_secret *secret,
                                const unsigned char nrn_hash[CSAM_HASH_LEN],
                                char out[CSAM_SUBJECT_SIZE])
{
    unsigned char mac[CSAM_HASH_LEN];
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    out[0] = '\0';
    if (secret == NULL || nrn_hash == NULL)
        return CSAM_ERR_INVALID;
    res = csam_keyed_hash(secret, CSAM_PURPOSE_SUBJECT, nrn_hash, CSAM_HASH_LEN,
                          mac);
    if (res == CSAM_OK)
        csam_base64url_encode(mac, sizeof(mac), out);
    return res;
}

static int csam_person_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

csam_result csam_person_seal(const csam_secret *secret,
                             const char nrn[CSAM_NRN_SIZE],
                             const unsigned char nrn_hash[CSAM_HASH_LEN],
                             unsigned char out[CSAM_PERSON_SEALED_LEN])
{
    unsigned char aad[16 + CSAM_HASH_LEN];
    size_t len;

    if (secret == NULL || nrn == NULL || nrn_hash == NULL || out == NULL
        || !csam_person_digits(nrn, CSAM_NRN_DIGITS)
        || nrn[CSAM_NRN_DIGITS] != '\0')
        return CSAM_ERR_INVALID;
    csam_person_aad(nrn_hash, aad);
    return csam_seal_purpose(secret, CSAM_PURPOSE_NRN_SEAL, aad, sizeof(aad),
                             nrn, CSAM_NRN_DIGITS, out, CSAM_PERSON_SEALED_LEN,
                             &len);
}

csam_result csam_person_open(const csam_secret *secret,
                             const unsigned char *sealed, size_t len,
                             const unsigned char nrn_hash[CSAM_HASH_LEN],
                             char out[CSAM_NRN_SIZE])
{
    return csam_person_open_any(secret, sealed, len, nrn_hash, out, NULL);
}

csam_result csam_person_open_any(const csam_secret *secret,
                                 const unsigned char *sealed, size_t len,
                                 const unsigned char nrn_hash[CSAM_HASH_LEN],
                                 char out[CSAM_NRN_SIZE], int *by_previous)
{
    unsigned char aad[16 + CSAM_HASH_LEN];
    size_t plain = 0;
    int prev = 0;
    csam_result res;

    if (by_previous != NULL)
        *by_previous = 0;
    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, CSAM_NRN_SIZE);
    if (secret == NULL || sealed == NULL || nrn_hash == NULL
        || len != CSAM_PERSON_SEALED_LEN)
        return CSAM_ERR_INVALID;
    csam_person_aad(nrn_hash, aad);
    res = csam_open_any(secret, CSAM_PURPOSE_NRN_SEAL, aad, sizeof(aad), sealed,
                        len, (unsigned char *)out, CSAM_NRN_DIGITS, &plain,
                        &prev);
    if (res == CSAM_OK
        && (plain != CSAM_NRN_DIGITS || !csam_person_digits(out, plain)))
        res = CSAM_ERR_CRYPTO;
    if (res != CSAM_OK) {
        csam_wipe(out, CSAM_NRN_SIZE);
        return res;
    }
    if (by_previous != NULL)
        *by_previous = prev;
    return CSAM_OK;
}

static int csam_person_subject_shape(const char *s)
{
    size_t i;

    for (i = 0; i < CSAM_SUBJECT_LEN; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return 0;
    return s[CSAM_SUBJECT_LEN] == '\0';
}

csam_result csam_person_subject_of(const csam_secret *secret,
                                   const unsigned char nrn_hash[CSAM_HASH_LEN],
                                   const char *stored,
                                   const unsigned char *sealed,
                                   size_t sealed_len,
                                   char out[CSAM_SUBJECT_SIZE])
{
    const csam_secret *previous;
    char nrn[CSAM_NRN_SIZE];
    int by_previous = 0;
    csam_result res;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    out[0] = '\0';
    if (secret == NULL || nrn_hash == NULL)
        return CSAM_ERR_INVALID;
    if (stored != NULL && stored[0] != '\0') {
        if (!csam_person_subject_shape(stored))
            return CSAM_ERR_INVALID;
        memcpy(out, stored, CSAM_SUBJECT_SIZE);
        return CSAM_OK;
    }
    previous = csam_secret_previous(secret);
    if (previous == NULL)
        return csam_person_subject(secret, nrn_hash, out);
    if (sealed == NULL || sealed_len == 0)
        return csam_person_subject(previous, nrn_hash, out);
    res = csam_person_open_any(secret, sealed, sealed_len, nrn_hash, nrn,
                               &by_previous);
    csam_wipe(nrn, sizeof(nrn));
    if (res != CSAM_OK)
        return res;
    return csam_person_subject(by_previous ? previous : secret, nrn_hash, out);
}
