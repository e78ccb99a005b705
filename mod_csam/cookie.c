/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Browser-bound state for the HTML pages: the per-browser anchor cookie
 * csam_b (issued and MACed by the server, renewed at login), CSRF
 * tokens derived from it, and sealed cookies carrying the flow between two
 * pages (the activation handle, a one-time message, the officer's letter).
 *
 * Sealed cookies are AES-256-GCM under a key derived from the secret's
 * cookie-signing key: tampering is detected (they are signed) and what
 * they hold (a handle, personal data, an activation code) is not readable
 * in the browser.  The additional data binds each to its name and to the
 * browser id, so a cookie cannot be moved to another name or browser; each
 * carries its own expiry besides Max-Age.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "util_cookies.h"

#include "apr_strings.h"

#include <openssl/evp.h>

#include "mod_csam.h"

APLOG_USE_MODULE(csam);

#define CSAM_COOKIE_BROWSER "csam_b"
#define CSAM_COOKIE_NONCE_LEN 12
#define CSAM_COOKIE_TAG_LEN 16
/* Browsers keep cookies up to 4096 bytes; stay well below. */
#define CSAM_COOKIE_PLAIN_MAX 2800

static const char *csam_cookie_attrs(request_rec *r,
                                     const struct csam_mod_runtime *rt,
                                     long max_age)
{
    return apr_psprintf(
        r->pool, "; Path=%s; HttpOnly; SameSite=Strict%s%s",
        rt->config.handler_path, rt->secure_cookies ? "; Secure" : "",
        max_age >= 0 ? apr_psprintf(r->pool, "; Max-Age=%ld", max_age) : "");
}

static void csam_cookie_emit(request_rec *r, const struct csam_mod_runtime *rt,
                             const char *name, const char *value, long max_age)
{
    /* err_headers_out: the cookies go with 303s and error pages too. */
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   apr_pstrcat(r->pool, name, "=", value,
                               csam_cookie_attrs(r, rt, max_age), NULL));
}

/* The anchor csam_b is "<id>.<mac>": a random id and the server's MAC
 * over it.  Only a value this server issued opens: a value a client or
 * another site chose (cookie injection from a sibling host or plain http)
 * is replaced by a fresh one, so it never yields a CSRF token.  The id is
 * what CSRF tokens and sealed cookies are bound to. */
static int csam_cookie_anchor_mac(request_rec *r, const csam_secret *secret,
                                  const char *id, char out[CSAM_TOKEN_SIZE])
{
    unsigned char mac[CSAM_HASH_LEN];
    const char *data = apr_pstrcat(r->pool, "anchor/v1|", id, NULL);

    if (csam_keyed_hash(secret, CSAM_PURPOSE_CSRF, data, strlen(data), mac)
        != CSAM_OK)
        return 0;
    csam_base64url_encode(mac, sizeof(mac), out);
    return 1;
}

/* The id of a server-issued anchor, or NULL. */
static const char *csam_cookie_anchor_open(request_rec *r,
                                           struct csam_mod_runtime *rt,
                                           const char *value)
{
    const csam_secret *prev = csam_secret_previous(rt->secret);
    char expected[CSAM_TOKEN_SIZE];
    const char *dot;
    char *id;

    if (value == NULL || strlen(value) != 2 * CSAM_TOKEN_LEN + 1
        || value[CSAM_TOKEN_LEN] != '.')
        return NULL;
    dot = value + CSAM_TOKEN_LEN;
    id = apr_pstrmemdup(r->pool, value, CSAM_TOKEN_LEN);
    if (!csam_token_valid(id) || !csam_token_valid(dot + 1))
        return NULL;
    if (csam_cookie_anchor_mac(r, rt->secret, id, expected)
        && csam_ct_equal(dot + 1, expected, CSAM_TOKEN_LEN))
        return id;
    /* Issued before the secret was replaced: the browser keeps its flow
     * (the anchor is renewed at the next login). */
    if (prev != NULL && csam_cookie_anchor_mac(r, prev, id, expected)
        && csam_ct_equal(dot + 1, expected, CSAM_TOKEN_LEN))
        return id;
    return NULL;
}

/* Pool userdata rather than a note: r->notes can be logged (%{...}n). */
#define CSAM_COOKIE_ANCHOR_KEY "csam-browser-anchor"

static const char *csam_cookie_anchor_issue(request_rec *r,
                                            struct csam_mod_runtime *rt)
{
    char id[CSAM_TOKEN_SIZE];
    char mac[CSAM_TOKEN_SIZE];
    const char *value;

    if (csam_token_new(id) != CSAM_OK
        || !csam_cookie_anchor_mac(r, rt->secret, id, mac))
        return NULL;
    value = apr_pstrcat(r->pool, id, ".", mac, NULL);
    /* A browser-session cookie: closing the browser ends the flow. */
    csam_cookie_emit(r, rt, CSAM_COOKIE_BROWSER, value, -1);
    value = apr_pstrdup(r->pool, id);
    apr_pool_userdata_setn(value, CSAM_COOKIE_ANCHOR_KEY, NULL, r->pool);
    return value;
}

const char *csam_cookie_browser(request_rec *r, struct csam_mod_runtime *rt,
                                int create)
{
    void *known = NULL;
    const char *value = NULL;
    const char *id;

    if (apr_pool_userdata_get(&known, CSAM_COOKIE_ANCHOR_KEY, r->pool)
            == APR_SUCCESS
        && known != NULL)
        return known;
    if (ap_cookie_read(r, CSAM_COOKIE_BROWSER, &value, 0) == APR_SUCCESS
        && (id = csam_cookie_anchor_open(r, rt, value)) != NULL) {
        apr_pool_userdata_setn(id, CSAM_COOKIE_ANCHOR_KEY, NULL, r->pool);
        return id;
    }
    return create ? csam_cookie_anchor_issue(r, rt) : NULL;
}

const char *csam_cookie_browser_renew(request_rec *r,
                                      struct csam_mod_runtime *rt)
{
    return csam_cookie_anchor_issue(r, rt);
}

/* The CSRF token of browser under secret. */
static const char *csam_csrf_token_under(request_rec *r,
                                         const csam_secret *secret,
                                         const char *browser)
{
    unsigned char mac[CSAM_HASH_LEN];
    char *out = apr_palloc(r->pool, CSAM_TOKEN_SIZE);
    const char *data = apr_pstrcat(r->pool, "csrf/v1|", browser, NULL);

    if (csam_keyed_hash(secret, CSAM_PURPOSE_CSRF, data, strlen(data), mac)
        != CSAM_OK)
        return NULL;
    csam_base64url_encode(mac, sizeof(mac), out);
    return out;
}

const char *csam_csrf_token(request_rec *r, struct csam_mod_runtime *rt,
                            const char *browser)
{
    return csam_csrf_token_under(r, rt->secret, browser);
}

static int csam_csrf_matches(const char *token, const char *expected)
{
    return expected != NULL && strlen(token) == strlen(expected)
           && csam_ct_equal(token, expected, strlen(expected));
}

int csam_csrf_check(request_rec *r, struct csam_mod_runtime *rt,
                    const char *browser, const char *token)
{
    const csam_secret *prev;

    if (browser == NULL || token == NULL)
        return 0;
    if (csam_csrf_matches(token, csam_csrf_token(r, rt, browser)))
        return 1;
    /* A form served before the secret was replaced. */
    prev = csam_secret_previous(rt->secret);
    return prev != NULL
           && csam_csrf_matches(token, csam_csrf_token_under(r, prev, browser));
}

static apr_status_t csam_cookie_free_ctx(void *data)
{
    EVP_CIPHER_CTX_free(data);
    return APR_SUCCESS;
}

static EVP_CIPHER_CTX *csam_cookie_ctx(request_rec *r)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    if (ctx != NULL)
        apr_pool_cleanup_register(r->pool, ctx, csam_cookie_free_ctx,
                                  apr_pool_cleanup_null);
    return ctx;
}

static const char *csam_cookie_aad(request_rec *r, const char *name,
                                   const char *browser)
{
    return apr_pstrcat(r->pool, "csam-cookie/v1|", name, "|", browser, NULL);
}

static apr_status_t csam_cookie_wipe(void *data)
{
    char *s = data;

    csam_wipe(s, strlen(s));
    return APR_SUCCESS;
}

void csam_cookie_set(request_rec *r, struct csam_mod_runtime *rt,
                     const char *name, const char *browser,
                     const char *json_text, long max_age)
{
    const char *aad = csam_cookie_aad(r, name, browser);
    char *plain = apr_psprintf(r->pool, "%" APR_TIME_T_FMT "|%s",
                               apr_time_sec(apr_time_now()) + max_age,
                               json_text);
    size_t plen = strlen(plain);
    unsigned char *sealed;
    char *encoded;
    EVP_CIPHER_CTX *ctx;
    int n = 0, fin = 0;

    apr_pool_cleanup_register(r->pool, plain, csam_cookie_wipe,
                              apr_pool_cleanup_null);
    if (plen > CSAM_COOKIE_PLAIN_MAX) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00015: cookie %s too large, not set", name);
        return;
    }
    sealed = apr_palloc(r->pool,
                        CSAM_COOKIE_NONCE_LEN + plen + CSAM_COOKIE_TAG_LEN);
    ctx = csam_cookie_ctx(r);
    if (ctx == NULL
        || csam_random_bytes(sealed, CSAM_COOKIE_NONCE_LEN) != CSAM_OK
        || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, rt->cookie_key,
                              sealed)
               != 1
        || EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
                             (int)strlen(aad))
               != 1
        || EVP_EncryptUpdate(ctx, sealed + CSAM_COOKIE_NONCE_LEN, &n,
                             (const unsigned char *)plain, (int)plen)
               != 1
        || EVP_EncryptFinal_ex(ctx, sealed + CSAM_COOKIE_NONCE_LEN + n, &fin)
               != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CSAM_COOKIE_TAG_LEN,
                               sealed + CSAM_COOKIE_NONCE_LEN + plen)
               != 1) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "CSAM00016: cannot seal cookie %s", name);
        return;
    }
    encoded = apr_palloc(
        r->pool,
        4 * ((CSAM_COOKIE_NONCE_LEN + plen + CSAM_COOKIE_TAG_LEN + 2) / 3) + 1);
    csam_base64url_encode(
        sealed, CSAM_COOKIE_NONCE_LEN + plen + CSAM_COOKIE_TAG_LEN, encoded);
    csam_cookie_emit(r, rt, name, encoded, max_age);
}

/* Open the clen bytes sealed in raw (nonce, ciphertext, tag) under key
 * into plain: 1 if they open. */
static int csam_cookie_open(request_rec *r, const unsigned char *key,
                            const char *aad, unsigned char *raw, size_t clen,
                            char *plain)
{
    EVP_CIPHER_CTX *ctx = csam_cookie_ctx(r);
    int n = 0, fin = 0;

    return ctx != NULL
           && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) == 1
           && EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad,
                                (int)strlen(aad))
                  == 1
           && EVP_DecryptUpdate(ctx, (unsigned char *)plain, &n,
                                raw + CSAM_COOKIE_NONCE_LEN, (int)clen)
                  == 1
           && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                                  CSAM_COOKIE_TAG_LEN,
                                  raw + CSAM_COOKIE_NONCE_LEN + clen)
                  == 1
           && EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + n, &fin) == 1;
}

char *csam_cookie_get(request_rec *r, struct csam_mod_runtime *rt,
                      const char *name, const char *browser)
{
    const char *value = NULL;
    const char *aad;
    unsigned char *raw;
    char *plain, *end;
    size_t rawsize;
    long rawlen;
    apr_int64_t expiry;
    size_t clen;

    if (browser == NULL || ap_cookie_read(r, name, &value, 0) != APR_SUCCESS
        || value == NULL)
        return NULL;
    rawsize = strlen(value) * 3 / 4 + 3;
    if (rawsize > 4 * CSAM_COOKIE_PLAIN_MAX)
        return NULL;
    raw = apr_palloc(r->pool, rawsize);
    rawlen = csam_base64_decode(value, strlen(value), 1, raw, rawsize);
    if (rawlen < CSAM_COOKIE_NONCE_LEN + CSAM_COOKIE_TAG_LEN + 1)
        return NULL;
    clen = (size_t)rawlen - CSAM_COOKIE_NONCE_LEN - CSAM_COOKIE_TAG_LEN;
    plain = apr_palloc(r->pool, clen + 1);
    aad = csam_cookie_aad(r, name, browser);
    /* Sealed before the secret was replaced: the previous key opens it. */
    if (!csam_cookie_open(r, rt->cookie_key, aad, raw, clen, plain)
        && !(rt->has_cookie_key_previous
             && csam_cookie_open(r, rt->cookie_key_previous, aad, raw, clen,
                                 plain)))
        return NULL;
    plain[clen] = '\0';
    apr_pool_cleanup_register(r->pool, plain, csam_cookie_wipe,
                              apr_pool_cleanup_null);
    /* Left intact so that the cleanup wipes all of it. */
    expiry = apr_strtoi64(plain, &end, 10);
    if (end == plain || *end != '|' || expiry < apr_time_sec(apr_time_now()))
        return NULL;
    return end + 1;
}

void csam_cookie_clear(request_rec *r, struct csam_mod_runtime *rt,
                       const char *name)
{
    csam_cookie_emit(r, rt, name, "", 0);
}
