/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One Argon2id run in memory that stays warm, and the PHC strings
 * libargon2 writes.
 *
 * libargon2 takes argon2_m_cost of fresh memory for every run.  In a
 * server, the run happens on whichever worker thread has the request, and
 * glibc keeps the memory it frees in that thread's arena: the next run on
 * another thread fills 19 MiB that have long left the caches.  Measured on
 * one core: 16 threads taking turns verify 14% fewer passwords per second
 * than one thread, and as many as one thread when they share one buffer.
 * So a run takes the memory its caller lends it, when there is such a
 * loan: the password-check slots (argon2_slots.h) lend each check the
 * slot's buffer, the one most recently used first.  Other runs (a password
 * being set) allocate and free, as libargon2 alone does.
 */
#ifndef CSAM_COMMON_ARGON2_RUN_H
#define CSAM_COMMON_ARGON2_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define CSAM_PHC_BYTES_MAX 64 /* salt and hash: libargon2's own bounds */

/* An "$argon2id$v=19$m=M,t=T,p=P$<salt>$<hash>" string, decoded. */
struct csam_phc {
    uint32_t m_cost; /* KiB */
    uint32_t t_cost;
    uint32_t lanes;
    unsigned char salt[CSAM_PHC_BYTES_MAX];
    size_t salt_len;
    unsigned char hash[CSAM_PHC_BYTES_MAX];
    size_t hash_len;
};

/* Decode what libargon2's encoder writes for Argon2id version 19: decimal
 * parameters without leading zeros, unpadded standard base64, salt of 8
 * to 64 bytes, hash of 4 to 64.  CSAM_ERR_INVALID for anything else (the
 * caller may hand such a string to libargon2's own decoder). */
csam_result csam_phc_parse(const char *phc, struct csam_phc *out);

/* The bytes of memory one run of these parameters takes (libargon2
 * rounds m_cost to whole slices of every lane); 0 for no lane. */
size_t csam_argon2_memory(uint32_t m_cost, uint32_t lanes);

/* Lend this thread's next runs mem (size bytes): a run that needs more
 * than size takes its memory as usual.  NULL ends the loan.  The lender
 * keeps mem for no other run meanwhile; libargon2 wipes it at the end of
 * each run. */
void csam_argon2_lend(void *mem, size_t size);

/* Argon2id v19 of pwd under salt into out (out_len bytes).  libargon2's
 * result: ARGON2_OK, or its error for parameters out of range or memory
 * that ran out. */
int csam_argon2_run(uint32_t t_cost, uint32_t m_cost, uint32_t lanes,
                    const void *pwd, size_t pwd_len, const void *salt,
                    size_t salt_len, unsigned char *out, size_t out_len);

/* Run under phc's parameters and salt and compare with its hash in
 * constant time: ARGON2_OK, ARGON2_VERIFY_MISMATCH, or an error. */
int csam_argon2_verify(const struct csam_phc *phc, const void *pwd,
                       size_t pwd_len);

#endif
