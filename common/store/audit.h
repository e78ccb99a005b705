/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit trail: one csam_audit row per state change (who, what, when
 * from the database clock, from where).  Callers pass only identifiers,
 * key types and versions in detail: never a code, token, password or
 * national number.
 */
#ifndef CSAM_COMMON_STORE_AUDIT_H
#define CSAM_COMMON_STORE_AUDIT_H

#include <stdint.h>

#include "result.h"
#include "store.h"

/* One row. */
struct csam_store_audit {
    const char *actor;       /* username, officer or NULL */
    const char *action;      /* "key.added", "password.changed", ... */
    int64_t registration_id; /* 0: none */
    int64_t account_id;      /* 0: none */
    const char *source;      /* the client address as checked, or NULL */
    const char *detail;      /* a JSON object text, or NULL for {} */
};

/* Write the row, inside the caller's transaction when one is open.
 * Errors: CSAM_ERR_INVALID (no action), CSAM_ERR_DB. */
csam_result csam_store_audit_write(csam_store *store,
                                   const struct csam_store_audit *row);

#endif
