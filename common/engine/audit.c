/*
 * The audit trail: one csam_audit row per state change (who, what, when
 * from the database clock, from where).  Callers pass only identifiers,
 * key types and versions in detail: never a code, token, password or
 * national number.
 */
#include <stddef.h>

#include "engine_internal.h"

static const struct csam_store_stmt csam_audit_stmt_insert = {
    "csam_audit_insert",
    "INSERT INTO csam_audit (actor, action, registration_id, account_id,"
    " source, detail)"
    " VALUES ($1, $2, NULLIF($3::bigint, 0), NULLIF($4::bigint, 0), $5,"
    " COALESCE($6::jsonb, '{}'::jsonb))",
    6, 0};

csam_result csam_audit_write(csam_store *store, const char *actor,
                             const char *action, int64_t registration_id,
                             int64_t account_id, const char *source,
                             const char *detail)
{
    char reg[CSAM_STORE_INT_SIZE], acc[CSAM_STORE_INT_SIZE];
    struct csam_store_param p[6];

    if (action == NULL)
        return CSAM_ERR_INVALID;
    p[0] = csam_store_text(actor);
    p[1] = csam_store_text(action);
    p[2] = csam_store_int(registration_id, reg);
    p[3] = csam_store_int(account_id, acc);
    p[4] = csam_store_text(csam_engine_source(source));
    p[5] = csam_store_text(detail);
    return csam_store_exec(store, &csam_audit_stmt_insert, p, NULL);
}
