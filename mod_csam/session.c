/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Web sessions on the httpd side: the csam_session cookie, and the check
 * of a request's session, through a small per-child cache of sessions the
 * database validated a moment ago.
 *
 * Why a cache: a protected request should cost about what the static file
 * costs, and a database round trip does not.  Its staleness is bounded by
 * CSAMSessionCacheTTL (5 seconds by default): a session ended on another
 * node is refused here at most that long after.  On this node a logout or
 * a password change takes effect at once in every child: the caches obey
 * a generation counter in shared memory that those bump, and drop every
 * entry older than the current generation.
 *
 * Entries are keyed by the SHA-256 of the cookie (a 256-bit random value,
 * so the hash is as unguessable), never the cookie itself.  The table is
 * direct-mapped and bounded: a collision evicts, which only costs a
 * database check.
 *
 * The national number (CSAMExposeNationalNumber) is personal data that
 * leaves the database only for the portals entitled to it.  A session is
 * checked with it only on such a location, and only such an entry holds
 * it: a citizen who never visits one never has the number in this process.
 * Such an entry serves other locations too, which get a copy without it.
 * It is cached rather than asked for on every request because an
 * entitled portal is as busy as any other, and a database round trip per
 * request is what the cache exists to avoid (DESIGN 5); it stays no longer
 * than the rest of the entry, and an entry found stale is wiped, not just
 * left to be overwritten.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include <openssl/evp.h>

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

#define CSAM_SESSION_COOKIE "csam_session"
/* Slots of each child's table, and locks striping it. */
#define CSAM_SESSION_CACHE_SLOTS 1024
#define CSAM_SESSION_CACHE_STRIPES 16
#define CSAM_SESSION_NOTE "csam-session"
/* The connection's SHA-256 context (csam_session_cache_id). */
#define CSAM_SESSION_DIGEST "csam-session-digest"
#define CSAM_SESSION_ID_LEN 32 /* SHA-256 */

struct csam_session_entry {
    unsigned char id[CSAM_SESSION_ID_LEN];
    apr_time_t checked_at; /* 0: empty slot */
    apr_uint32_t generation;
    int national; /* checked with the national number (may be "") */
    struct csam_session_info info;
};

struct csam_session_cache {
    apr_time_t ttl;
    /* Fetched once per child: SHA256() would look it up on every call,
     * which costs more than the digest itself. */
    EVP_MD *sha256;
    struct csam_session_entry *slots;
#if APR_HAS_THREADS
    apr_thread_mutex_t *locks[CSAM_SESSION_CACHE_STRIPES];
#endif
};

/* Node-wide: made by the parent in post_config, shared by its children.
 * Without shared memory, a per-process counter (logout then takes effect
 * at once in this child only, within the TTL in the others). */
static volatile apr_uint32_t *csam_session_generation;
static volatile apr_uint32_t csam_session_generation_local;

/* What csam_session_current() found for this request. */
struct csam_session_memo {
    int state;
    int national; /* info holds the national number (may be "") */
    struct csam_session_info info;
};

/* ---- the cookie ------------------------------------------------------- */

static void csam_session_cookie_emit(request_rec *r,
                                     const struct csam_mod_runtime *rt,
                                     const char *value, int expire)
{
    /* Path=/: protected locations are anywhere on the site.  Lax: a
     * link from elsewhere still arrives logged in, a cross-site POST
     * does not carry the session. */
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_pstrcat(r->pool, CSAM_SESSION_COOKIE "=", value,
                               "; Path=/; HttpOnly; SameSite=Lax",
                               rt->secure_cookies ? "; Secure" : "",
                               expire ? "; Max-Age=0" : "", NULL));
}

void csam_session_cookie_set(request_rec *r, struct csam_mod_runtime *rt,
                             const struct csam_session_ticket *t)
{
    /* No Max-Age: closing the browser ends it; the server enforces the
     * idle and absolute limits whatever the browser keeps. */
    /* A new session, a new CSRF anchor: one planted before the login
     * gives no token for the citizen's pages after it.  (Set before the
     * session cookie, which clients that keep one Set-Cookie look for.) */
    csam_cookie_browser_renew(r, rt);
    csam_session_cookie_emit(r, rt, apr_pstrdup(r->pool, t->cookie), 0);
    /* Shared caches must not keep a response that sets a session. */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
}

void csam_session_cookie_clear(request_rec *r, struct csam_mod_runtime *rt)
{
    csam_session_cookie_emit(r, rt, "", 1);
}

static int csam_session_is_sep(char c)
{
    return c == ';' || c == ',' || c == ' ' || c == '\t';
}

const char *csam_session_cookie_get(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "Cookie");
    const size_t nlen = sizeof(CSAM_SESSION_COOKIE) - 1;
    const char *p;

    if (h == NULL)
        return NULL;
    /* The first csam_session=<token> whose name starts a cookie; other
     * values (a malformed or empty one) are skipped. */
    for (p = strstr(h, CSAM_SESSION_COOKIE "="); p != NULL;
         p = strstr(p + 1, CSAM_SESSION_COOKIE "=")) {
        const char *v = p + nlen + 1;
        size_t len = 0;

        if (p != h && !csam_session_is_sep(p[-1]))
            continue;
        while (v[len] != '\0' && !csam_session_is_sep(v[len])
               && len <= CSAM_TOKEN_LEN)
            len++;
        if (len == CSAM_TOKEN_LEN
            && (v[len] == '\0' || csam_session_is_sep(v[len]))) {
            char *value = apr_pstrmemdup(r->pool, v, len);

            if (csam_token_valid(value))
                return value;
        }
    }
    return NULL;
}

/* ---- the per-child cache ---------------------------------------------- */

static apr_uint32_t csam_session_generation_now(void)
{
    if (csam_session_generation != NULL)
        return apr_atomic_read32(csam_session_generation);
    return apr_atomic_read32(&csam_session_generation_local);
}

void csam_session_cache_flush(struct csam_mod_runtime *rt)
{
    (void)rt;
    if (csam_session_generation != NULL)
        apr_atomic_inc32(csam_session_generation);
    else
        apr_atomic_inc32(&csam_session_generation_local);
}

int csam_session_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    (void)plog;
    (void)ptemp;
    csam_session_generation = NULL;
    /* Anonymous: inherited by the children forked after this. */
    rv = apr_shm_create(&shm, sizeof(apr_uint32_t), NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "CSAM00021: no shared memory for the session cache: "
                     "a logout reaches the other children of this server "
                     "within CSAMSessionCacheTTL only");
        return OK;
    }
    csam_session_generation = apr_shm_baseaddr_get(shm);
    apr_atomic_set32(csam_session_generation, 0);
    return OK;
}

static apr_status_t csam_session_cache_free_md(void *data)
{
    EVP_MD_free(data);
    return APR_SUCCESS;
}

void csam_session_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *sv;

    for (sv = s; sv != NULL; sv = sv->next) {
        const struct csam_mod_server *conf = ap_get_module_config(
            sv->module_config, &csam_module);
        struct csam_mod_runtime *rt = conf->rt;
        struct csam_session_cache *c;
        int i;

        if (rt == NULL || rt->session_cache != NULL
            || rt->session_cache_ttl <= 0)
            continue;
        c = apr_pcalloc(pchild, sizeof(*c));
        c->ttl = apr_time_from_sec(rt->session_cache_ttl);
        c->slots = apr_pcalloc(pchild,
                               CSAM_SESSION_CACHE_SLOTS * sizeof(*c->slots));
        c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (c->sha256 == NULL) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, sv,
                         "CSAM00028: no SHA-256 for the session cache: "
                         "sessions are checked in the database on every "
                         "request");
            continue;
        }
        apr_pool_cleanup_register(pchild, c->sha256, csam_session_cache_free_md,
                                  apr_pool_cleanup_null);
#if APR_HAS_THREADS
        for (i = 0; i < CSAM_SESSION_CACHE_STRIPES; i++)
            if (apr_thread_mutex_create(&c->locks[i], APR_THREAD_MUTEX_DEFAULT,
                                        pchild)
                != APR_SUCCESS) {
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, sv,
                             "CSAM00022: cannot create the session cache's "
                             "locks: sessions are checked in the database "
                             "on every request");
                c = NULL;
                break;
            }
#else
        (void)i;
#endif
        rt->session_cache = c;
    }
}

static void csam_session_cache_lock(struct csam_session_cache *c, size_t slot)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(c->locks[slot % CSAM_SESSION_CACHE_STRIPES]);
#else
    (void)c;
    (void)slot;
#endif
}

static void csam_session_cache_unlock(struct csam_session_cache *c, size_t slot)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(c->locks[slot % CSAM_SESSION_CACHE_STRIPES]);
#else
    (void)c;
    (void)slot;
#endif
}

static apr_status_t csam_session_cache_free_ctx(void *data)
{
    EVP_MD_CTX_free(data);
    return APR_SUCCESS;
}

/* The cache's key for a cookie: 1 when made.  EVP_Digest() makes and
 * frees a context on every call, which in OpenSSL 3 costs several times
 * the digest of a 43-byte cookie; the context lives instead as long as the
 * connection (one thread at a time uses a connection, so it needs no
 * lock), and keep-alive requests only re-initialise it. */
static int csam_session_cache_id(request_rec *r,
                                 const struct csam_session_cache *c,
                                 const char *cookie, unsigned char *id)
{
    apr_pool_t *cp = r->connection->pool;
    EVP_MD_CTX *ctx = NULL;
    unsigned int len = 0;

    apr_pool_userdata_get((void **)&ctx, CSAM_SESSION_DIGEST, cp);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
            return 0;
        apr_pool_cleanup_register(cp, ctx, csam_session_cache_free_ctx,
                                  apr_pool_cleanup_null);
        apr_pool_userdata_setn(ctx, CSAM_SESSION_DIGEST, NULL, cp);
    }
    return EVP_DigestInit_ex2(ctx, c->sha256, NULL) == 1
           && EVP_DigestUpdate(ctx, cookie, strlen(cookie)) == 1
           && EVP_DigestFinal_ex(ctx, id, &len) == 1
           && len == CSAM_SESSION_ID_LEN;
}

static size_t csam_session_cache_slot(const unsigned char *id)
{
    return (((size_t)id[0] << 8) | id[1]) % CSAM_SESSION_CACHE_SLOTS;
}

/* 1 and *out when the cookie's session was validated within the TTL, in
 * this generation, and has not reached an expiry since; when national,
 * also with the national number.  Without national, *out never carries
 * the number. */
static int csam_session_cache_get(struct csam_session_cache *c,
                                  const unsigned char *id, int national,
                                  struct csam_session_info *out)
{
    size_t slot = csam_session_cache_slot(id);
    struct csam_session_entry *e = &c->slots[slot];
    apr_time_t now = apr_time_now();
    apr_int64_t now_sec = apr_time_sec(now);
    int live, hit;

    csam_session_cache_lock(c, slot);
    live = e->checked_at != 0 && now - e->checked_at < c->ttl
           && now >= e->checked_at
           && e->generation == csam_session_generation_now()
           && now_sec < e->info.expires_at && now_sec < e->info.idle_expires_at;
    hit = live && (e->national || !national)
          && csam_ct_equal(e->id, id, sizeof(e->id));
    if (hit) {
        *out = e->info;
        if (!national)
            memset(out->national_number, 0, sizeof(out->national_number));
    } else if (!live && e->national)
        csam_wipe(e, sizeof(*e));
    csam_session_cache_unlock(c, slot);
    return hit;
}

static void csam_session_cache_put(struct csam_session_cache *c,
                                   const unsigned char *id,
                                   apr_uint32_t generation, int national,
                                   const struct csam_session_info *info)
{
    size_t slot = csam_session_cache_slot(id);
    struct csam_session_entry *e = &c->slots[slot];

    csam_session_cache_lock(c, slot);
    memcpy(e->id, id, sizeof(e->id));
    e->info = *info;
    e->national = national;
    e->generation = generation;
    e->checked_at = apr_time_now();
    csam_session_cache_unlock(c, slot);
}

static void csam_session_cache_drop(struct csam_session_cache *c,
                                    const unsigned char *id)
{
    size_t slot = csam_session_cache_slot(id);
    struct csam_session_entry *e = &c->slots[slot];

    csam_session_cache_lock(c, slot);
    if (csam_ct_equal(e->id, id, sizeof(e->id)))
        csam_wipe(e, sizeof(*e));
    csam_session_cache_unlock(c, slot);
}

/* ---- checking a request's session ------------------------------------- */

/* Ask the database; the cache learns the answer. */
static int csam_session_ask(request_rec *r, struct csam_mod_runtime *rt,
                            const char *cookie, const unsigned char *id,
                            int national, struct csam_session_info *out)
{
    /* Read before the check: a flush racing with it makes the entry
     * stale rather than letting a just-ended session live on. */
    apr_uint32_t generation = csam_session_generation_now();
    csam_store *store = NULL;
    csam_result res;

    /* A store connection is all a check needs: no engine is built. */
    if (csam_pool_store(r, &store) != APR_SUCCESS)
        return -1;
    res = csam_session_check_flags(
        rt->services, store, cookie,
        CSAM_SESSION_TOUCH | (national ? CSAM_SESSION_NATIONAL_NUMBER : 0U),
        out);
    if (res == CSAM_OK) {
        if (id != NULL)
            csam_session_cache_put(rt->session_cache, id, generation, national,
                                   out);
        return 1;
    }
    if (id != NULL)
        csam_session_cache_drop(rt->session_cache, id);
    if (res == CSAM_ERR_EXPIRED)
        return 0;
    if (res == CSAM_ERR_CRYPTO)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00990: the national number stored for this "
                      "session's account does not open with this secret "
                      "file (copied from another account, altered, or "
                      "another installation's): refused");
    return -1;
}

static int csam_session_lookup(request_rec *r, struct csam_mod_runtime *rt,
                               struct csam_session_info *out, int fresh,
                               int national)
{
    struct csam_session_memo *memo = NULL;
    unsigned char id[CSAM_SESSION_ID_LEN];
    const char *cookie;
    int state;

    apr_pool_userdata_get((void **)&memo, CSAM_SESSION_NOTE, r->pool);
    /* A memo of a live session serves unless it must be fresh, or lacks
     * the number asked for. */
    if (memo != NULL
        && (memo->state != 1 || (!fresh && (memo->national || !national)))) {
        if (memo->state == 1) {
            *out = memo->info;
            if (!national)
                memset(out->national_number, 0, sizeof(out->national_number));
        }
        return memo->state;
    }
    cookie = csam_session_cookie_get(r);
    if (cookie == NULL)
        state = 0;
    else {
        /* Without a cache (CSAMSessionCacheTTL 0) nothing is hashed. */
        int cached = rt->session_cache != NULL
                     && csam_session_cache_id(r, rt->session_cache, cookie, id);

        if (!fresh && cached
            && csam_session_cache_get(rt->session_cache, id, national, out))
            state = 1;
        else
            state = csam_session_ask(r, rt, cookie, cached ? id : NULL,
                                     national, out);
    }
    if (memo == NULL) {
        memo = apr_palloc(r->pool, sizeof(*memo));
        apr_pool_userdata_setn(memo, CSAM_SESSION_NOTE, NULL, r->pool);
    }
    memo->state = state;
    memo->national = state == 1 && national;
    if (state == 1)
        memo->info = *out;
    return state;
}

int csam_session_current(request_rec *r, struct csam_mod_runtime *rt,
                         struct csam_session_info *out)
{
    return csam_session_lookup(r, rt, out, 0, 0);
}

int csam_session_current_national(request_rec *r, struct csam_mod_runtime *rt,
                                  struct csam_session_info *out)
{
    return csam_session_lookup(r, rt, out, 0, 1);
}

int csam_session_fresh(request_rec *r, struct csam_mod_runtime *rt,
                       struct csam_session_info *out)
{
    return csam_session_lookup(r, rt, out, 1, 0);
}

csam_result csam_session_end(request_rec *r, struct csam_mod_runtime *rt)
{
    const char *cookie = csam_session_cookie_get(r);
    struct csam_session_memo *memo = NULL;
    csam_engine *engine = NULL;
    unsigned char id[CSAM_SESSION_ID_LEN];
    csam_result res;

    if (cookie == NULL) {
        csam_session_cookie_clear(r, rt);
        return CSAM_OK;
    }
    if (rt->session_cache != NULL
        && csam_session_cache_id(r, rt->session_cache, cookie, id))
        csam_session_cache_drop(rt->session_cache, id);
    apr_pool_userdata_get((void **)&memo, CSAM_SESSION_NOTE, r->pool);
    if (memo != NULL)
        memo->state = 0;
    if (csam_pool_engine(r, &engine) != APR_SUCCESS)
        return CSAM_ERR_DB;
    res = csam_engine_session_end(engine, csam_http_source(r), cookie);
    if (res != CSAM_OK)
        return res;
    /* The other children of this node forget it now too.  The cookie
     * goes only now: after a failure the client still holds it to try
     * the logout again. */
    csam_session_cache_flush(rt);
    csam_session_cookie_clear(r, rt);
    return CSAM_OK;
}
