/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bound on concurrent password checks (CSAMArgon2Max), for the whole
 * server: a table of slots (common/base/argon2_slots.h) that the parent
 * maps in post_config, so that every child it forks shares it, or that
 * several servers share through the file CSAMArgon2Slots names.  A check
 * runs in its slot's memory, which the check before it left warm.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "argon2_run.h"
#include "argon2_slots.h"
#include "mod_csam.h"

APLOG_USE_MODULE(csam);

/* A request's way through the gate (the engine's struct csam_gate ctx). */
struct csam_gate_use {
    struct csam_mod_runtime *rt;
    request_rec *r;
    int slot;
};

static apr_status_t csam_gate_unmap(void *data)
{
    struct csam_mod_runtime *rt = data;

    csam_argon2_slots_unmap(rt->argon2_slots);
    rt->argon2_slots = NULL;
    return APR_SUCCESS;
}

int csam_gate_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sv;

    (void)plog;
    (void)ptemp;
    for (sv = s; sv != NULL; sv = sv->next) {
        const struct csam_mod_server *conf = ap_get_module_config(
            sv->module_config, &csam_module);
        struct csam_mod_runtime *rt = conf->rt;
        char why[512] = "";
        size_t bytes;
        int replaced = 0;

        /* Virtual hosts that inherit share one table. */
        if (rt == NULL || rt->argon2_slots != NULL)
            continue;
        /* Each slot holds one run of the configured cost; a hash made
         * under a larger one runs in memory of its own. */
        bytes = csam_argon2_memory((uint32_t)rt->config.argon2_m_cost,
                                   (uint32_t)rt->config.argon2_parallelism);
        if (csam_argon2_slots_map(
                rt->argon2_slots_file, (unsigned)rt->argon2_max, bytes,
                &rt->argon2_slots, &replaced, why, sizeof(why))
            != CSAM_OK) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, sv,
                         "CSAM01111: cannot make the password-check slots "
                         "(CSAMArgon2Max %d%s%s): %s",
                         rt->argon2_max,
                         rt->argon2_slots_file ? ", CSAMArgon2Slots " : "",
                         rt->argon2_slots_file ? rt->argon2_slots_file : "",
                         why);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_cleanup_register(pconf, rt, csam_gate_unmap,
                                  apr_pool_cleanup_null);
        if (replaced)
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, sv,
                         "CSAM01112: CSAMArgon2Slots %s had other "
                         "dimensions (CSAMArgon2Max or the Argon2id memory "
                         "cost): replaced by a new file; servers still on "
                         "the old one share their checks again once they "
                         "restart with the same settings",
                         rt->argon2_slots_file);
    }
    return OK;
}

static int csam_gate_enter(void *ctx)
{
    struct csam_gate_use *use = ctx;
    struct csam_mod_runtime *rt = use->rt;
    unsigned busy = 0;
    int waited = 0;

    /* post_config failed the start without a table: fail closed. */
    if (rt->argon2_slots == NULL)
        return 1;
    use->slot = csam_argon2_slots_enter(
        rt->argon2_slots, (unsigned)apr_time_as_msec(CSAM_MOD_ARGON2_WAIT),
        &busy, &waited);
    if (use->slot < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, use->r,
                      "CSAM00750: %d password checks already running "
                      "(CSAMArgon2Max %d): answered 503",
                      rt->argon2_max, rt->argon2_max);
        return 1;
    }
    /* What an administrator sizing CSAMArgon2Max (and a test) can see at
     * debug level: the table's own count, every process's checks. */
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, use->r,
                  "CSAM00751: password check %u of at most %d running at "
                  "once, in slot %d%s",
                  busy, rt->argon2_max, use->slot, waited ? " (waited)" : "");
    return 0;
}

static void csam_gate_leave(void *ctx)
{
    struct csam_gate_use *use = ctx;

    csam_argon2_slots_leave(use->rt->argon2_slots, use->slot);
    use->slot = -1;
}

struct csam_gate csam_gate_for(request_rec *r, struct csam_mod_runtime *rt)
{
    struct csam_gate_use *use = apr_palloc(r->pool, sizeof(*use));
    struct csam_gate gate;

    use->rt = rt;
    use->r = r;
    use->slot = -1;
    gate.enter = csam_gate_enter;
    gate.leave = csam_gate_leave;
    gate.ctx = use;
    return gate;
}
