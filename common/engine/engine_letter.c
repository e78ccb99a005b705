/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The desk's printable letter is shown once (DESIGN 2.1, 3.2).  The page
 * carries the paper code to the letter in a sealed cookie, which anyone
 * holding a copy can send again: the database, not the browser, decides
 * which one showing gets the code, on whichever node it lands.
 */
#include <stdint.h>

#include "engine_internal.h"
#include "registration.h"

#define CSAM_LETTER_OFFICER_MAX 255

csam_result csam_engine_letter_claim(csam_engine *engine, const char *officer,
                                     const char *source,
                                     int64_t registration_id)
{
    csam_store *store;
    csam_result res;

    if (engine == NULL || registration_id <= 0
        || csam_text_check(officer, CSAM_LETTER_OFFICER_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    store = engine->deps.store;
    source = csam_engine_source(source);
    res = csam_store_begin(store);
    if (res != CSAM_OK)
        return res;
    res = csam_store_registration_letter_claim(store, registration_id, officer);
    if (res == CSAM_ERR_NOT_FOUND)
        res = CSAM_ERR_EXPIRED;
    if (res != CSAM_OK)
        goto rollback;
    res = csam_audit_write(store, officer, "registration.letter_shown",
                           registration_id, 0, source, NULL);
    if (res != CSAM_OK)
        goto rollback;
    res = csam_store_commit(store);
    if (res == CSAM_OK)
        csam_log(&engine->deps.logger, CSAM_LOG_NOTICE,
                 "desk: officer %s: registration.letter_shown registration "
                 "%lld from %s",
                 officer, (long long)registration_id,
                 source != NULL ? source : "-");
    return res;

rollback:
    csam_store_rollback(store);
    return res;
}
