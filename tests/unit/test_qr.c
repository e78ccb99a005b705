/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QR codes as SVG: the structure of the element (self-contained, no script
 * or external reference, accessible name), its size, and that the dark
 * modules drawn are exactly those of libqrencode's matrix for the same
 * text and parameters.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "qr.h"

#define CSAM_TEST_URI                                                          \
    "otpauth://totp/CSAM:jan.peeters?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  \
    "&issuer=CSAM&algorithm=SHA1&digits=6&period=30"

/* Parses the path's "M x y h n v1 h-n z" runs into a side x side grid of
 * dark modules; fails on anything else in d="...". */
static unsigned char *csam_test_grid(const char *svg, int side)
{
    unsigned char *grid = calloc((size_t)side * (size_t)side, 1);
    const char *d = strstr(svg, " d=\"");
    int x, y, n, m, used, i;

    assert_non_null(grid);
    assert_non_null(d);
    d += 4;
    while (*d != '"') {
        assert_int_equal(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &m, &used),
                         4);
        assert_int_equal(n, m);
        assert_true(n > 0 && x >= 0 && y >= 0 && x + n <= side && y < side);
        for (i = 0; i < n; i++) {
            /* each module is drawn once */
            assert_int_equal(grid[y * side + x + i], 0);
            grid[y * side + x + i] = 1;
        }
        d += used;
    }
    return grid;
}

static void csam_test_matches(const char *text)
{
    QRcode *code;
    char *svg = NULL;
    char head[160];
    unsigned char *grid;
    int side, x, y, width, px;

    assert_int_equal(csam_qr_svg(text, "QR code for the app", &svg), CSAM_OK);
    code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(code);
    side = code->width + 2 * CSAM_QR_QUIET;
    px = side * CSAM_QR_MODULE_PX;

    snprintf(head, sizeof(head),
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "width=\"%d\" height=\"%d\" role=\"img\" ",
             side, side, px, px);
    assert_true(strncmp(svg, head, strlen(head)) == 0);
    assert_non_null(strstr(svg, " aria-label=\"QR code for the app\""));
    assert_true(strcmp(svg + strlen(svg) - 6, "</svg>") == 0);
    /* one background, one path, nothing else */
    assert_non_null(strstr(svg, "<rect width=\""));
    assert_null(strstr(strstr(svg, "<path") + 1, "<path"));
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "href"));
    assert_null(strstr(svg, "url("));
    assert_null(strstr(svg, "style"));
    assert_null(strstr(svg, "<image"));

    grid = csam_test_grid(svg, side);
    width = code->width;
    for (y = 0; y < side; y++)
        for (x = 0; x < side; x++) {
            int inside = x >= CSAM_QR_QUIET && y >= CSAM_QR_QUIET
                         && x < CSAM_QR_QUIET + width
                         && y < CSAM_QR_QUIET + width;
            int dark = inside
                       && (code->data[(y - CSAM_QR_QUIET) * width
                                      + (x - CSAM_QR_QUIET)]
                           & 1);

            if (grid[y * side + x] != dark)
                fail_msg("module (%d, %d): svg %d, libqrencode %d", x, y,
                         grid[y * side + x], dark);
        }
    free(grid);
    QRcode_free(code);
    free(svg);
}

static void test_matrix(void **state)
{
    char big[CSAM_QR_TEXT_MAX + 1];

    (void)state;
    csam_test_matches(CSAM_TEST_URI);
    csam_test_matches("A");
    csam_test_matches("otpauth://totp/Mes%20cl%C3%A9s:a%40b?secret=ABC");
    memset(big, 'x', CSAM_QR_TEXT_MAX);
    big[CSAM_QR_TEXT_MAX] = '\0';
    csam_test_matches(big);
}

static void test_size(void **state)
{
    char *svg = NULL;

    (void)state;
    /* compact enough to inline in a page: an otpauth URI of the usual
     * length is version 6 or 7 (41-45 modules) and a few kilobytes */
    assert_int_equal(csam_qr_svg(CSAM_TEST_URI, "QR", &svg), CSAM_OK);
    if (strlen(svg) > 12000)
        fail_msg("%zu bytes of SVG for a %zu-byte URI", strlen(svg),
                 strlen(CSAM_TEST_URI));
    free(svg);
}

static void test_label_escaped(void **state)
{
    char *svg = NULL;

    (void)state;
    assert_int_equal(csam_qr_svg("x", "a\"b<c>&d'e", &svg), CSAM_OK);
    assert_non_null(
        strstr(svg, "aria-label=\"a&quot;b&lt;c&gt;&amp;d&#39;e\""));
    assert_null(strstr(svg, "<c>"));
    free(svg);
}

static void test_errors(void **state)
{
    char big[CSAM_QR_TEXT_MAX + 2];
    char *svg = (char *)1;

    (void)state;
    assert_int_equal(csam_qr_svg("", "QR", &svg), CSAM_ERR_INVALID);
    assert_null(svg);
    assert_int_equal(csam_qr_svg(NULL, "QR", &svg), CSAM_ERR_INVALID);
    assert_int_equal(csam_qr_svg("x", NULL, &svg), CSAM_ERR_INVALID);
    assert_int_equal(csam_qr_svg("x", "", &svg), CSAM_ERR_INVALID);
    assert_int_equal(csam_qr_svg("x", "a\nb", &svg), CSAM_ERR_INVALID);
    assert_int_equal(csam_qr_svg("x", "QR", NULL), CSAM_ERR_INVALID);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(csam_qr_svg(big, "QR", &svg), CSAM_ERR_INVALID);
    assert_null(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_label_escaped),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
