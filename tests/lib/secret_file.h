/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test tools' reader of a secret file (tests/lib/csam-person,
 * tests/bench/storm-keys): the bytes as csam_secret_from_bytes takes them,
 * without csam_secret_load's ownership and mode checks, since a test tool
 * runs as whoever runs the tests.
 */
#ifndef CSAM_TEST_SECRET_FILE_H
#define CSAM_TEST_SECRET_FILE_H

#include "crypto.h"

/* The secret of the file at path, or NULL (unreadable, wrong size). */
csam_secret *csam_test_secret_read(const char *path);

#endif
