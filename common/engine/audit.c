/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's side of the audit trail: the client address goes in only
 * as csam_engine_source() let it through; the row is the store's
 * (common/store/audit.c).
 */
#include "audit.h"
#include "engine_internal.h"

csam_result csam_audit_write(csam_store *store, const char *actor,
                             const char *action, int64_t registration_id,
                             int64_t account_id, const char *source,
                             const char *detail)
{
    struct csam_store_audit row;

    row.actor = actor;
    row.action = action;
    row.registration_id = registration_id;
    row.account_id = account_id;
    row.source = csam_engine_source(source);
    row.detail = detail;
    return csam_store_audit_write(store, &row);
}
