/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Database connections, the mod_dbd way: each child process keeps an APR
 * reslist of csam_store handles sized for its threads; a request takes one
 * the first time it needs the database, keeps it in r->request_config and
 * gives it back from a cleanup on r->pool.  Like mod_dbd, the pool looks
 * at a handle when it comes back: one whose connection is gone, or that
 * left a transaction open, is closed instead of given back, so after a
 * PostgreSQL restart the next request opens a fresh connection and httpd
 * needs no restart, whatever path the request took.
 *
 * A database that hangs instead of failing is bounded by the store
 * (store.h): CSAMDBConnectTimeout per connection, CSAMDBStatementTimeout
 * per statement and for all the statements of one request (the store's
 * budget, refilled when the handle comes back).  A handle whose database
 * stopped answering has dropped its connection and is closed here.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"

#include "apr_atomic.h"
#include "apr_strings.h"

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

/* Idle connections beyond the first are closed after this long (the
 * reslist's soft maximum is 1), so a burst does not hold connections
 * PostgreSQL could give to others. */
#define CSAM_POOL_IDLE_TTL apr_time_from_sec(300)
/* A request waits this long for a connection when all are busy. */
#define CSAM_POOL_ACQUIRE_TIMEOUT apr_time_from_sec(10)
/* A connection attempt that failed after this long means the database
 * host does not answer (not merely refuses): for CSAM_POOL_BACKOFF
 * seconds requests get 503 at once instead of each blocking a worker for
 * the whole connect timeout.  A quick refusal needs no such pause, so the
 * service resumes the moment PostgreSQL is back. */
#define CSAM_POOL_SLOW_CONNECT apr_time_from_sec(1)
#define CSAM_POOL_BACKOFF 5

/* What a request holds, in r->request_config. */
struct csam_pool_request {
    struct csam_mod_runtime *rt;
    csam_store *store;
    csam_engine *engine;
};

/* The SMS way out of one request: the reason a delivery failed reaches
 * the error log (the engine only learns CSAM_ERR_MAIL). */
struct csam_pool_sms {
    const csam_services *services;
    request_rec *r;
};

static csam_result csam_pool_sms_send(void *ctx, const struct csam_message *msg)
{
    const struct csam_pool_sms *out = ctx;
    char why[256] = "";
    csam_result res;

    res = csam_services_sms_send(out->services, msg, why, sizeof(why));
    /* why names the failing step and the gateway's status, never the
     * text, the code, the number or the URL. */
    if (res != CSAM_OK)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, out->r,
                      "CSAM00029: SMS not sent: %s (%s)",
                      why[0] ? why : "no reason given", csam_result_name(res));
    return res;
}

static void csam_pool_log(void *ctx, enum csam_log_level level,
                          const char *message)
{
    server_rec *s = ctx;

    ap_log_error(APLOG_MARK, (int)level, 0, s, "CSAM00006: %s", message);
}

static apr_status_t csam_pool_construct(void **resource, void *params,
                                        apr_pool_t *pool)
{
    struct csam_mod_runtime *rt = params;
    /* The store may keep the logger: it lives as long as the child. */
    struct csam_logger *logger = apr_palloc(pool, sizeof(*logger));
    csam_store *store = NULL;
    csam_result res;

    apr_time_t started = apr_time_now();

    struct csam_store_bounds bounds;

    logger->fn = csam_pool_log;
    logger->ctx = rt->server;
    csam_store_bounds_from_config(&rt->config, &bounds);
    res = csam_store_open_bounded(rt->config.database, &bounds, logger, &store);
    if (res != CSAM_OK) {
        int slow = apr_time_now() - started > CSAM_POOL_SLOW_CONNECT;

        if (slow)
            apr_atomic_set32(&rt->db_backoff_until,
                             (apr_uint32_t)apr_time_sec(apr_time_now())
                                 + CSAM_POOL_BACKOFF);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->server,
                     "CSAM00007: cannot connect to the CSAM database: %s%s",
                     csam_result_name(res),
                     slow ? " (no answer: not trying again for a few "
                            "seconds)"
                          : "");
        return APR_EGENERAL;
    }
    /* Checked on every new connection: cheap, and an upgrade of the
     * database under a running httpd is noticed. */
    res = csam_store_check_schema(store);
    if (res != CSAM_OK) {
        if (res == CSAM_ERR_SCHEMA)
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, rt->server,
                         "CSAM00008: the CSAM database schema is missing "
                         "or older than this mod_csam needs: run psql -v "
                         "ON_ERROR_STOP=1 -f " CSAM_SCHEMA_FILE " on it");
        else
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, rt->server,
                         "CSAM00009: cannot check the CSAM database schema: "
                         "%s",
                         csam_result_name(res));
        csam_store_close(store);
        return APR_EGENERAL;
    }
    *resource = store;
    return APR_SUCCESS;
}

static apr_status_t csam_pool_destruct(void *resource, void *params,
                                       apr_pool_t *pool)
{
    (void)params;
    (void)pool;
    csam_store_close(resource);
    return APR_SUCCESS;
}

void csam_pool_child_init(apr_pool_t *pchild, server_rec *s)
{
    int threads = 0;
    server_rec *sv;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || threads < 1)
        threads = 1;
    for (sv = s; sv != NULL; sv = sv->next) {
        const struct csam_mod_server *conf = ap_get_module_config(
            sv->module_config, &csam_module);
        struct csam_mod_runtime *rt = conf->rt;
        apr_status_t rv;
        int max;

        /* Virtual hosts that inherit share one pool. */
        if (rt == NULL || rt->stores != NULL)
            continue;
        /* No connection is opened here: a database that is down when
         * httpd starts must not stop it; requests answer 503 until it is
         * back. */
        /* Each configuration has its own pool in every child, so
         * PostgreSQL sees children x pools x max connections at worst:
         * CSAMPoolMax bounds the last factor (mod_csam.8 has the sizing
         * rule).  Threads beyond it wait for a connection; most
         * protected requests need none (the session cache). */
        max = threads < rt->pool_max ? threads : rt->pool_max;
        rv = apr_reslist_create(&rt->stores, 0, 1, max, CSAM_POOL_IDLE_TTL,
                                csam_pool_construct, csam_pool_destruct, rt,
                                pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, sv,
                         "CSAM00010: cannot create the database pool");
            rt->stores = NULL;
            continue;
        }
        apr_reslist_timeout_set(rt->stores, CSAM_POOL_ACQUIRE_TIMEOUT);
    }
}

static apr_status_t csam_pool_release(void *data)
{
    struct csam_pool_request *req = data;

    if (req->store == NULL)
        return APR_SUCCESS;
    if (csam_store_stalled(req->store)) {
        /* The next connection would most likely hang as well: the
         * backoff answers 503 at once for a few seconds. */
        apr_atomic_set32(&req->rt->db_backoff_until,
                         (apr_uint32_t)apr_time_sec(apr_time_now())
                             + CSAM_POOL_BACKOFF);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, req->rt->server,
                     "CSAM01110: the CSAM database stopped answering: "
                     "connection dropped, not trying again for a few "
                     "seconds");
    }
    if (!csam_store_healthy(req->store)) {
        apr_reslist_invalidate(req->rt->stores, req->store);
    } else {
        /* The next request gets the whole budget again. */
        csam_store_budget(req->store, 0);
        apr_reslist_release(req->rt->stores, req->store);
    }
    req->store = NULL;
    return APR_SUCCESS;
}

static apr_status_t csam_pool_free_engine(void *data)
{
    struct csam_pool_request *req = data;

    csam_engine_free(req->engine);
    req->engine = NULL;
    return APR_SUCCESS;
}

apr_status_t csam_pool_store(request_rec *r, csam_store **out)
{
    struct csam_pool_request *req = ap_get_module_config(r->request_config,
                                                         &csam_module);
    struct csam_mod_runtime *rt = csam_runtime_get(r);
    void *store = NULL;
    apr_status_t rv;

    *out = NULL;
    if (req != NULL && req->store != NULL) {
        *out = req->store;
        return APR_SUCCESS;
    }
    if (rt == NULL || rt->stores == NULL)
        return APR_EGENERAL;
    if ((apr_uint32_t)apr_time_sec(apr_time_now())
        < apr_atomic_read32(&rt->db_backoff_until))
        return APR_EAGAIN;
    rv = apr_reslist_acquire(rt->stores, &store);
    if (rv != APR_SUCCESS) {
        /* CSAM00007 said why when a connection could not be made; this
         * is also what a pool exhausted for CSAM_POOL_ACQUIRE_TIMEOUT
         * says. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                      "CSAM00011: no database connection available");
        return rv;
    }
    req = apr_pcalloc(r->pool, sizeof(*req));
    req->rt = rt;
    req->store = store;
    ap_set_module_config(r->request_config, &csam_module, req);
    /* Registered before the engine's cleanup, so it runs after it:
     * the engine is gone before its connection goes back. */
    apr_pool_cleanup_register(r->pool, req, csam_pool_release,
                              apr_pool_cleanup_null);
    *out = req->store;
    return APR_SUCCESS;
}

/* What this request adds to the services: its error log, its way
 * through the Argon2id gate, and an SMS way out that logs why. */
static struct csam_engine_host csam_pool_host(request_rec *r,
                                              struct csam_mod_runtime *rt)
{
    struct csam_pool_sms *sms = apr_palloc(r->pool, sizeof(*sms));
    struct csam_engine_host host;

    memset(&host, 0, sizeof(host));
    host.logger = csam_http_logger(r);
    host.hash_gate = csam_gate_for(r, rt);
    sms->services = rt->services;
    sms->r = r;
    host.sms.fn = csam_pool_sms_send;
    host.sms.ctx = sms;
    return host;
}

apr_status_t csam_pool_engine(request_rec *r, csam_engine **out)
{
    struct csam_pool_request *req;
    struct csam_mod_runtime *rt = csam_runtime_get(r);
    struct csam_engine_host host;
    csam_store *store;
    apr_status_t rv;
    csam_result res;

    *out = NULL;
    rv = csam_pool_store(r, &store);
    if (rv != APR_SUCCESS)
        return rv;
    req = ap_get_module_config(r->request_config, &csam_module);
    if (req->engine != NULL) {
        *out = req->engine;
        return APR_SUCCESS;
    }
    host = csam_pool_host(r, rt);
    res = csam_engine_open(rt->services, store, &host, &req->engine);
    if (res != CSAM_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00012: cannot create the engine: %s",
                      csam_result_name(res));
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(r->pool, req, csam_pool_free_engine,
                              apr_pool_cleanup_null);
    *out = req->engine;
    return APR_SUCCESS;
}
