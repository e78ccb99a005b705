/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the test SMS gateway's records (tests/lib/sms_sink.py) from C
 * test tools: wait for the next SMS to a number and take the security
 * code out of it.
 */
#ifndef CSAM_TESTS_SMSDIR_H
#define CSAM_TESTS_SMSDIR_H

#include <stddef.h>

#define CSAM_SMSDIR_NAME_MAX 64

/* The sink names its files <time_ns>.<seq>.json, so in name order they
 * are in arrival order: everything up to `last` has been looked at. */
struct csam_smsdir {
    const char *path;
    char last[CSAM_SMSDIR_NAME_MAX];
};

/* Start watching path, taking every record already there as seen.
 * Returns 0, or -1 when the directory cannot be read. */
int csam_smsdir_open(struct csam_smsdir *sd, const char *path);

/* Wait up to timeout_ms for a record newer than any seen whose body
 * names `to` (E.164), mark it and every older one seen, and write its
 * code (the only run of 6 to 8 digits in the record) to out.  Returns 0,
 * or -1 on timeout or when the record does not carry exactly one. */
int csam_smsdir_await(struct csam_smsdir *sd, const char *to, long timeout_ms,
                      char *out, size_t outlen);

#endif
