/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit trail (see audit.h for the contract).
 */
#include <stddef.h>

#include "statement.h"
#include "audit.h"

static const struct csam_store_stmt csam_store_audit_stmt_insert = {
    "csam_store_audit_write",
    "INSERT INTO csam_audit (actor, action, registration_id, account_id,"
    " source, detail)"
    " VALUES ($1, $2, NULLIF($3::bigint, 0), NULLIF($4::bigint, 0), $5,"
    " COALESCE($6::jsonb, '{}'::jsonb))",
    6, 0};

csam_result csam_store_audit_write(csam_store *store,
                                   const struct csam_store_audit *row)
{
    char reg[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[6];

    if (row == NULL || row->action == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_text(row->actor);
    p[1] = csam_store_text(row->action);
    p[2] = csam_store_int(row->registration_id, reg);
    p[3] = csam_store_int(row->account_id, acc);
    p[4] = csam_store_text(row->source);
    p[5] = csam_store_text(row->detail);
    return csam_store_exec(store, &csam_store_audit_stmt_insert, p, NULL);
}
