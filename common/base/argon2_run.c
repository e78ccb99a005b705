/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Argon2id runs in memory their caller lends (argon2_run.h says why), and
 * the decoder of the PHC strings they verify.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "argon2_run.h"
#include "crypto.h"

/* libargon2's bounds (argon2.h): ARGON2_MIN_SALT_LENGTH, ARGON2_MIN_OUTLEN. */
#define CSAM_PHC_SALT_MIN 8
#define CSAM_PHC_HASH_MIN 4
/* Its memory layout (core.c): ARGON2_SYNC_POINTS slices per lane, at
 * least two blocks per slice, ARGON2_BLOCK_SIZE bytes a block. */
#define CSAM_ARGON2_SLICES 4
#define CSAM_ARGON2_BLOCK 1024

/* ------------------------------------------------------------ PHC text */

/* A decimal number without a leading zero, at most UINT32_MAX, followed
 * by stop.  *s moves past the stop.  0 when malformed. */
static int csam_phc_number(const char **s, char stop, uint32_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    size_t n = 0;

    if (*p == '0' && p[1] != stop)
        return 0;
    for (; *p >= '0' && *p <= '9'; p++, n++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (n >= 10 || v > UINT32_MAX)
            return 0;
    }
    if (n == 0 || *p != stop)
        return 0;
    *out = (uint32_t)v;
    *s = p + 1;
    return 1;
}

/* The base64 up to stop (or the end when stop is '\0'): min to max
 * bytes.  *s moves to the stop.  0 when malformed. */
static int csam_phc_base64(const char **s, char stop, unsigned char *out,
                           size_t min, size_t max, size_t *len)
{
    const char *end = stop != '\0' ? strchr(*s, stop) : *s + strlen(*s);
    long n;

    if (end == NULL)
        return 0;
    n = csam_base64_decode(*s, (size_t)(end - *s), 0, out, max);
    if (n < 0 || (size_t)n < min)
        return 0;
    *len = (size_t)n;
    *s = end;
    return 1;
}

csam_result csam_phc_parse(const char *phc, struct csam_phc *out)
{
    static const char head[] = "$argon2id$v=19$m=";
    const char *p = phc;

    if (phc == NULL || out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (strncmp(p, head, sizeof(head) - 1) != 0)
        return CSAM_ERR_INVALID;
    p += sizeof(head) - 1;
    if (!csam_phc_number(&p, ',', &out->m_cost) || strncmp(p, "t=", 2) != 0)
        return CSAM_ERR_INVALID;
    p += 2;
    if (!csam_phc_number(&p, ',', &out->t_cost) || strncmp(p, "p=", 2) != 0)
        return CSAM_ERR_INVALID;
    p += 2;
    if (!csam_phc_number(&p, '$', &out->lanes)
        || !csam_phc_base64(&p, '$', out->salt, CSAM_PHC_SALT_MIN,
                            sizeof(out->salt), &out->salt_len)
        || *p++ != '$'
        || !csam_phc_base64(&p, '\0', out->hash, CSAM_PHC_HASH_MIN,
                            sizeof(out->hash), &out->hash_len))
        return CSAM_ERR_INVALID;
    return CSAM_OK;
}

/* ---------------------------------------------------------- lent memory */

/* The buffer the caller lent this thread (csam_argon2_lend). */
static _Thread_local unsigned char *csam_argon2_given;
static _Thread_local size_t csam_argon2_given_size;
/* The buffer this thread's run lends libargon2 (its allocation callback
 * takes no argument of ours). */
static _Thread_local unsigned char *csam_argon2_lent;
static _Thread_local size_t csam_argon2_lent_size;

void csam_argon2_lend(void *mem, size_t size)
{
    csam_argon2_given = mem;
    csam_argon2_given_size = mem != NULL ? size : 0;
}

/* libargon2's rounding (core.c); 0 for lanes it refuses anyway. */
size_t csam_argon2_memory(uint32_t m_cost, uint32_t lanes)
{
    uint64_t blocks = m_cost, slices;

    if (lanes == 0)
        return 0;
    slices = (uint64_t)lanes * CSAM_ARGON2_SLICES;
    if (blocks < 2 * slices)
        blocks = 2 * slices;
    blocks = blocks / slices * slices;
    if (blocks > SIZE_MAX / CSAM_ARGON2_BLOCK)
        return 0;
    return (size_t)blocks * CSAM_ARGON2_BLOCK;
}

static int csam_argon2_allocate(uint8_t **memory, size_t bytes)
{
    if (csam_argon2_lent != NULL && bytes <= csam_argon2_lent_size) {
        *memory = csam_argon2_lent;
        return 0;
    }
    *memory = malloc(bytes);
    return *memory != NULL ? 0 : -1;
}

/* libargon2 has wiped the memory before it calls this (its
 * clear_internal_memory, on by default): a lent buffer goes back holding
 * zeros. */
static void csam_argon2_deallocate(uint8_t *memory, size_t bytes)
{
    (void)bytes;
    if (memory != csam_argon2_lent)
        free(memory);
}

int csam_argon2_run(uint32_t t_cost, uint32_t m_cost, uint32_t lanes,
                    const void *pwd, size_t pwd_len, const void *salt,
                    size_t salt_len, unsigned char *out, size_t out_len)
{
    argon2_context ctx;
    size_t size = csam_argon2_memory(m_cost, lanes);
    int rc;

    if (pwd_len > ARGON2_MAX_PWD_LENGTH)
        return ARGON2_PWD_TOO_LONG;
    if (salt_len > ARGON2_MAX_SALT_LENGTH)
        return ARGON2_SALT_TOO_LONG;
    if (out_len > ARGON2_MAX_OUTLEN)
        return ARGON2_OUTPUT_TOO_LONG;
    memset(&ctx, 0, sizeof(ctx));
    ctx.out = out;
    ctx.outlen = (uint32_t)out_len;
    /* libargon2 writes the password only with ARGON2_FLAG_CLEAR_PASSWORD,
     * which is not set. */
    ctx.pwd = (uint8_t *)(uintptr_t)pwd;
    ctx.pwdlen = (uint32_t)pwd_len;
    ctx.salt = (uint8_t *)(uintptr_t)salt;
    ctx.saltlen = (uint32_t)salt_len;
    ctx.t_cost = t_cost;
    ctx.m_cost = m_cost;
    ctx.lanes = lanes;
    ctx.threads = lanes;
    ctx.version = ARGON2_VERSION_13;
    ctx.allocate_cbk = csam_argon2_allocate;
    ctx.free_cbk = csam_argon2_deallocate;
    ctx.flags = ARGON2_DEFAULT_FLAGS;

    if (size != 0 && size <= csam_argon2_given_size) {
        csam_argon2_lent = csam_argon2_given;
        csam_argon2_lent_size = csam_argon2_given_size;
    }
    rc = argon2_ctx(&ctx, Argon2_id);
    csam_argon2_lent = NULL;
    csam_argon2_lent_size = 0;
    return rc;
}

int csam_argon2_verify(const struct csam_phc *phc, const void *pwd,
                       size_t pwd_len)
{
    unsigned char out[CSAM_PHC_BYTES_MAX];
    int rc;

    if (phc == NULL || phc->hash_len < CSAM_PHC_HASH_MIN
        || phc->hash_len > sizeof(out))
        return ARGON2_DECODING_FAIL;
    rc = csam_argon2_run(phc->t_cost, phc->m_cost, phc->lanes, pwd, pwd_len,
                         phc->salt, phc->salt_len, out, phc->hash_len);
    if (rc == ARGON2_OK && !csam_ct_equal(out, phc->hash, phc->hash_len))
        rc = ARGON2_VERIFY_MISMATCH;
    csam_wipe(out, sizeof(out));
    return rc;
}
