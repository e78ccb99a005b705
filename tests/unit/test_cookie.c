/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_csam's sealed cookies and CSRF tokens (mod_csam/cookie.c), called
 * directly on request records made here, with httpd's functions from
 * tests/lib/httpd_stubs.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpd.h"

#include "apr_general.h"
#include "apr_strings.h"

#include "httpd_stubs.h"
#include "mod_csam.h"

struct test_ctx {
    apr_pool_t *pool;
    struct csam_mod_runtime rt;
    char handler_path[8];
};

static int test_setup(void **state)
{
    static const unsigned char bytes[48] = "0123456789abcdef0123456789abcdef"
                                           "the test secret";
    struct test_ctx *t = calloc(1, sizeof(*t));

    assert_non_null(t);
    assert_int_equal(apr_pool_create(&t->pool, NULL), APR_SUCCESS);
    assert_int_equal(
        csam_secret_from_bytes(bytes, sizeof(bytes), &t->rt.secret), CSAM_OK);
    assert_int_equal(csam_keyed_hash(t->rt.secret, CSAM_PURPOSE_COOKIE_SIGN,
                                     "test", 4, t->rt.cookie_key),
                     CSAM_OK);
    strcpy(t->handler_path, "/csam");
    t->rt.config.handler_path = t->handler_path;
    csam_test_httpd_logged = 0;
    *state = t;
    return 0;
}

static int test_teardown(void **state)
{
    struct test_ctx *t = *state;

    csam_secret_free(t->rt.secret);
    apr_pool_destroy(t->pool);
    free(t);
    return 0;
}

static request_rec *test_request(struct test_ctx *t)
{
    request_rec *r = apr_pcalloc(t->pool, sizeof(*r));

    /* Each request its own pool, as in httpd: what a request keeps in
     * its pool's userdata is not the next request's. */
    assert_int_equal(apr_pool_create(&r->pool, t->pool), APR_SUCCESS);
    r->headers_in = apr_table_make(r->pool, 4);
    r->headers_out = apr_table_make(r->pool, 4);
    r->err_headers_out = apr_table_make(r->pool, 4);
    r->notes = apr_table_make(r->pool, 4);
    return r;
}

/* The last Set-Cookie of r, and its name=value part in *pair. */
static const char *test_set_cookie(request_rec *r, char **pair)
{
    const apr_array_header_t *arr = apr_table_elts(r->err_headers_out);
    const apr_table_entry_t *e = (const apr_table_entry_t *)(void *)arr->elts;
    const char *found = NULL;
    int i;

    for (i = 0; i < arr->nelts; i++)
        if (strcasecmp(e[i].key, "Set-Cookie") == 0)
            found = e[i].val;
    assert_non_null(found);
    if (pair != NULL) {
        *pair = apr_pstrdup(r->pool, found);
        *strchr(*pair, ';') = '\0';
    }
    return found;
}

/* A request that sends back what r set. */
static request_rec *test_echo(struct test_ctx *t, request_rec *r)
{
    request_rec *next = test_request(t);
    char *pair;

    test_set_cookie(r, &pair);
    apr_table_setn(next->headers_in, "Cookie", pair);
    return next;
}

static const char *const test_browser =
    "Bf3Ks9wQ2xZ7mN1pL5vR8tY4cD6gH0jA2eW9uI3oP7k";

static void test_seal_round_trip(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    const char *set;
    char *pair;
    char *got;

    csam_cookie_set(r, &t->rt, "csam_flow", test_browser,
                    "{\"handle\":\"abc\"}", 600);
    set = test_set_cookie(r, &pair);
    assert_non_null(strstr(set, "; Path=/csam"));
    assert_non_null(strstr(set, "; HttpOnly"));
    assert_non_null(strstr(set, "; SameSite=Strict"));
    assert_non_null(strstr(set, "; Max-Age=600"));
    assert_null(strstr(set, "Secure"));
    /* Sealed: the browser cannot read what it carries. */
    assert_null(strstr(pair, "handle"));
    assert_null(strstr(pair, "abc"));
    got = csam_cookie_get(test_echo(t, r), &t->rt, "csam_flow", test_browser);
    assert_non_null(got);
    assert_string_equal(got, "{\"handle\":\"abc\"}");
}

static void test_seal_secure(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);

    t->rt.secure_cookies = 1;
    csam_cookie_set(r, &t->rt, "csam_flow", test_browser, "{}", 60);
    assert_non_null(strstr(test_set_cookie(r, NULL), "; Secure"));
}

static void test_seal_tampered(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    request_rec *back;
    char *pair;
    size_t len, i;

    csam_cookie_set(r, &t->rt, "csam_flow", test_browser, "{\"a\":1}", 600);
    test_set_cookie(r, &pair);
    len = strlen(pair);
    /* Every position of the sealed value, one character changed. */
    for (i = strlen("csam_flow="); i < len; i++) {
        char *bad = apr_pstrdup(t->pool, pair);

        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        back = test_request(t);
        apr_table_setn(back->headers_in, "Cookie", bad);
        assert_null(csam_cookie_get(back, &t->rt, "csam_flow", test_browser));
    }
    /* Cut short, lengthened, or not base64url. */
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie",
                   apr_pstrmemdup(t->pool, pair, len - 1));
    assert_null(csam_cookie_get(back, &t->rt, "csam_flow", test_browser));
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie",
                   apr_pstrcat(t->pool, pair, "AA", NULL));
    assert_null(csam_cookie_get(back, &t->rt, "csam_flow", test_browser));
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie", "csam_flow=%%%%====");
    assert_null(csam_cookie_get(back, &t->rt, "csam_flow", test_browser));
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie", "csam_flow=");
    assert_null(csam_cookie_get(back, &t->rt, "csam_flow", test_browser));
}

static void test_seal_bound(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    request_rec *back;
    char *pair;
    struct csam_mod_runtime other = t->rt;

    csam_cookie_set(r, &t->rt, "csam_flow", test_browser, "{\"a\":1}", 600);
    test_set_cookie(r, &pair);
    /* Another browser presenting it. */
    back = test_echo(t, r);
    assert_null(csam_cookie_get(back, &t->rt, "csam_flow",
                                "Zz3Ks9wQ2xZ7mN1pL5vR8tY4cD6gH0jA2eW9uI3oP7k"));
    assert_null(csam_cookie_get(back, &t->rt, "csam_flow", NULL));
    /* Moved to another cookie name. */
    back = test_request(t);
    apr_table_setn(
        back->headers_in, "Cookie",
        apr_pstrcat(t->pool, "csam_flash=", pair + strlen("csam_flow="), NULL));
    assert_null(csam_cookie_get(back, &t->rt, "csam_flash", test_browser));
    /* Sealed under another secret's key. */
    memset(other.cookie_key, 0x5a, sizeof(other.cookie_key));
    assert_null(
        csam_cookie_get(test_echo(t, r), &other, "csam_flow", test_browser));
    /* Absent. */
    assert_null(
        csam_cookie_get(test_request(t), &t->rt, "csam_flow", test_browser));
}

static void test_seal_expired(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);

    /* Its own expiry, whatever the browser keeps. */
    csam_cookie_set(r, &t->rt, "csam_flow", test_browser, "{}", -10);
    assert_null(
        csam_cookie_get(test_echo(t, r), &t->rt, "csam_flow", test_browser));
}

static void test_seal_too_large(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    char *big = apr_palloc(t->pool, 4000);

    memset(big, 'x', 3999);
    big[3999] = '\0';
    csam_cookie_set(r, &t->rt, "csam_flow", test_browser, big, 600);
    assert_null(apr_table_get(r->err_headers_out, "Set-Cookie"));
    assert_int_equal(csam_test_httpd_logged, 1);
}

static void test_clear(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    const char *set;

    csam_cookie_clear(r, &t->rt, "csam_flow");
    set = test_set_cookie(r, NULL);
    assert_true(strncmp(set, "csam_flow=;", 11) == 0);
    assert_non_null(strstr(set, "; Max-Age=0"));
}

static void test_browser_id(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    request_rec *back;
    const char *id;

    assert_null(csam_cookie_browser(r, &t->rt, 0));
    id = csam_cookie_browser(r, &t->rt, 1);
    assert_non_null(id);
    assert_true(csam_token_valid(id));
    /* The same for the rest of the request. */
    assert_string_equal(csam_cookie_browser(r, &t->rt, 1), id);
    back = test_echo(t, r);
    assert_string_equal(csam_cookie_browser(back, &t->rt, 0), id);
    /* A malformed id is not taken. */
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie", "csam_b=short");
    assert_null(csam_cookie_browser(back, &t->rt, 0));
}

/* Only an anchor this server issued opens: a value of the right shape
 * that a client chose, or an issued one with its MAC changed, gives no
 * id (and a new one is issued when asked to create). */
static void test_browser_planted(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    request_rec *back;
    const char *id, *fresh;
    char *pair, *forged;

    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie",
                   apr_pstrcat(t->pool, "csam_b=", test_browser, NULL));
    assert_null(csam_cookie_browser(back, &t->rt, 0));
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie",
                   apr_pstrcat(t->pool, "csam_b=", test_browser, ".",
                               test_browser, NULL));
    assert_null(csam_cookie_browser(back, &t->rt, 0));
    fresh = csam_cookie_browser(back, &t->rt, 1);
    assert_non_null(fresh);
    assert_string_not_equal(fresh, test_browser);

    id = csam_cookie_browser(r, &t->rt, 1);
    test_set_cookie(r, &pair);
    forged = apr_pstrdup(t->pool, pair);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'A' ? 'B' : 'A';
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie", forged);
    assert_null(csam_cookie_browser(back, &t->rt, 0));
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie", pair);
    assert_string_equal(csam_cookie_browser(back, &t->rt, 0), id);
}

/* Renewal: a new id for the rest of the request and on the response. */
static void test_browser_renew(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    const char *id, *renewed;

    id = csam_cookie_browser(r, &t->rt, 1);
    r = test_echo(t, r);
    assert_string_equal(csam_cookie_browser(r, &t->rt, 0), id);
    renewed = csam_cookie_browser_renew(r, &t->rt);
    assert_non_null(renewed);
    assert_string_not_equal(renewed, id);
    assert_string_equal(csam_cookie_browser(r, &t->rt, 0), renewed);
    assert_string_equal(csam_cookie_browser(test_echo(t, r), &t->rt, 0),
                        renewed);
}

static void test_csrf(void **state)
{
    struct test_ctx *t = *state;
    request_rec *r = test_request(t);
    const char *token = csam_csrf_token(r, &t->rt, test_browser);
    char *bad;

    assert_non_null(token);
    assert_true(csam_token_valid(token));
    assert_int_equal(csam_csrf_check(r, &t->rt, test_browser, token), 1);
    assert_int_equal(csam_csrf_check(r, &t->rt,
                                     "Zz3Ks9wQ2xZ7mN1pL5vR8tY4cD6gH0jA2eW9uI3"
                                     "oP7k",
                                     token),
                     0);
    assert_int_equal(csam_csrf_check(r, &t->rt, NULL, token), 0);
    assert_int_equal(csam_csrf_check(r, &t->rt, test_browser, NULL), 0);
    assert_int_equal(csam_csrf_check(r, &t->rt, test_browser, ""), 0);
    bad = apr_pstrdup(t->pool, token);
    bad[strlen(bad) - 1] = '\0';
    assert_int_equal(csam_csrf_check(r, &t->rt, test_browser, bad), 0);
    bad = apr_pstrcat(t->pool, token, "x", NULL);
    assert_int_equal(csam_csrf_check(r, &t->rt, test_browser, bad), 0);
}

/* While the secret is replaced (secret B, the test secret A attached as
 * the previous one): the anchor, CSRF token and sealed cookie A made still
 * open; what is made is B's; B alone opens none of A's. */
static void test_previous_secret(void **state)
{
    static const unsigned char bytes_a[48] = "0123456789abcdef0123456789abcdef"
                                             "the test secret";
    static const unsigned char bytes_b[40] =
        "the replacing secret, B, 40 bytes.....";
    struct test_ctx *t = *state;
    struct csam_mod_runtime next = t->rt, alone = t->rt;
    csam_secret *a = NULL;
    request_rec *r = test_request(t), *back;
    const char *id, *token, *fresh;
    char *pair;

    assert_int_equal(csam_secret_from_bytes(bytes_b, sizeof(bytes_b),
                                            &next.secret),
                     CSAM_OK);
    assert_int_equal(csam_secret_from_bytes(bytes_a, sizeof(bytes_a), &a),
                     CSAM_OK);
    assert_int_equal(csam_secret_attach_previous(next.secret, a), CSAM_OK);
    assert_int_equal(csam_secret_from_bytes(bytes_b, sizeof(bytes_b),
                                            &alone.secret),
                     CSAM_OK);
    assert_int_equal(csam_keyed_hash(next.secret, CSAM_PURPOSE_COOKIE_SIGN,
                                     "test", 4, next.cookie_key),
                     CSAM_OK);
    memcpy(next.cookie_key_previous, t->rt.cookie_key, CSAM_KEY_LEN);
    next.has_cookie_key_previous = 1;
    memcpy(alone.cookie_key, next.cookie_key, CSAM_KEY_LEN);
    alone.has_cookie_key_previous = 0;

    /* the anchor A issued */
    id = csam_cookie_browser(r, &t->rt, 1);
    test_set_cookie(r, &pair);
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie", pair);
    assert_string_equal(csam_cookie_browser(back, &next, 0), id);
    back = test_request(t);
    apr_table_setn(back->headers_in, "Cookie", pair);
    assert_null(csam_cookie_browser(back, &alone, 0));

    /* A's CSRF token; B's own is another, and A alone refuses it */
    token = csam_csrf_token(r, &t->rt, test_browser);
    assert_int_equal(csam_csrf_check(r, &next, test_browser, token), 1);
    assert_int_equal(csam_csrf_check(r, &alone, test_browser, token), 0);
    fresh = csam_csrf_token(r, &next, test_browser);
    assert_string_not_equal(fresh, token);
    assert_int_equal(csam_csrf_check(r, &next, test_browser, fresh), 1);
    assert_int_equal(csam_csrf_check(r, &alone, test_browser, fresh), 1);
    assert_int_equal(csam_csrf_check(r, &t->rt, test_browser, fresh), 0);

    /* the flow cookie A sealed; what B seals opens under B alone */
    r = test_request(t);
    csam_cookie_set(r, &t->rt, "csam_flow", test_browser, "{\"a\": 1}", 60);
    assert_string_equal(csam_cookie_get(test_echo(t, r), &next, "csam_flow",
                                        test_browser),
                        "{\"a\": 1}");
    assert_null(
        csam_cookie_get(test_echo(t, r), &alone, "csam_flow", test_browser));
    r = test_request(t);
    csam_cookie_set(r, &next, "csam_flow", test_browser, "{\"b\": 2}", 60);
    assert_string_equal(csam_cookie_get(test_echo(t, r), &alone, "csam_flow",
                                        test_browser),
                        "{\"b\": 2}");
    assert_null(
        csam_cookie_get(test_echo(t, r), &t->rt, "csam_flow", test_browser));

    csam_secret_free(next.secret);
    csam_secret_free(alone.secret);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seal_round_trip, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_seal_secure, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_seal_tampered, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_seal_bound, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_seal_expired, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_seal_too_large, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_clear, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_browser_id, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_browser_planted, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_browser_renew, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_csrf, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_previous_secret, test_setup,
                                        test_teardown),
    };
    int rc;

    apr_initialize();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_terminate();
    return rc;
}
