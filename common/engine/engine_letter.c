/*
 * The desk's printable letter is shown once (DESIGN 2.1, 3.2).  The page
 * carries the paper code to the letter in a sealed cookie, which anyone
 * holding a copy can send again: the database, not the browser, decides
 * which one showing gets the code, on whichever node it lands.
 */
#include <stdint.h>

#include "engine_internal.h"

#define CSAM_LETTER_OFFICER_MAX 255

static const struct csam_store_stmt csam_letter_stmt_claim = {
    "csam_letter_claim",
    "UPDATE csam_registrations SET letter_shown_at = now()"
    " WHERE id = $1 AND created_by = $2 AND letter_shown_at IS NULL"
    " AND used_at IS NULL AND superseded_at IS NULL AND expires_at > now()"
    " RETURNING id",
    2, 0};

csam_result csam_engine_letter_claim(csam_engine *engine, const char *officer,
                                     const char *source,
                                     int64_t registration_id)
{
    struct csam_store_param p[2];
    char idtext[CSAM_STORE_INT_SIZE];
    csam_store_rows *rows = NULL;
    csam_store *store;
    csam_result res;
    int claimed;

    if (engine == NULL || registration_id <= 0
        || csam_text_check(officer, CSAM_LETTER_OFFICER_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    store = engine->deps.store;
    source = csam_engine_source(source);
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    p[0] = csam_store_int(registration_id, idtext);
    p[1] = csam_store_text(officer);
    res = csam_store_exec(store, &csam_letter_stmt_claim, p, &rows);
    if (res != CSAM_OK)
        goto rollback;
    claimed = csam_store_nrows(rows) == 1;
    csam_store_rows_free(rows);
    if (!claimed) {
        res = CSAM_ERR_EXPIRED;
        goto rollback;
    }
    res = csam_audit_write(store, officer, "registration.letter_shown",
                           registration_id, 0, source, NULL);
    if (res != CSAM_OK)
        goto rollback;
    return csam_store_commit(store);

rollback:
    csam_store_rollback(store);
    return res;
}
