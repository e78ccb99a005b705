/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fuzz targets (tests/fuzz/README): each fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput, called with one input by libFuzzer (scripts/fuzz,
 * clang) or by replay.c (make check, any compiler) on every file of
 * tests/fuzz/corpus/<name>/.  A target returns 0; a bug shows as a
 * sanitizer's report, an assert or a crash.
 */
#ifndef CSAM_TESTS_FUZZ_H
#define CSAM_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string, in a buffer of exactly size + 1 bytes so that
 * AddressSanitizer sees a read past its end; NULL when out of memory.  An
 * input holding a NUL byte is cut there, as a C caller would cut it. */
char *fuzz_cstring(const uint8_t *data, size_t size);

/* Splits s at its first '\n' (replaced by '\0'); the rest, or "" when s
 * has none.  Lets one input carry two fields. */
char *fuzz_split(char *s);

#endif
