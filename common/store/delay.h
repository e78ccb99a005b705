/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The growing delay (DESIGN 4), the one rule the account's code failures,
 * a known device's and a login name's password failures share: after
 * `after` failures, each further one makes the next try wait twice as long
 * as the one before (1, 2, 4 ... seconds), at most `max` seconds (the
 * delay_max setting).  The store's own header: only the store's files
 * include it.
 */
#ifndef CSAM_COMMON_STORE_DELAY_H
#define CSAM_COMMON_STORE_DELAY_H

/* The delay in seconds once `failures` (the count before this failure)
 * passed `after`: SQL text with the three expressions given as SQL. */
#define CSAM_STORE_DELAY_SQL(failures, after, max)                             \
    "least(power(2, " failures " - " after "), " max ")"

#endif
