/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otpauth:// URI -> inline SVG QR code, with libqrencode.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "crypto.h"
#include "qr.h"
#include "template.h"
#include "validate.h"

/* Longest subpath: "M177 177h177v1h-177z", with room to spare. */
#define CSAM_QR_RUN_MAX 32

/* Appends the subpaths of one row's dark runs at y, returns bytes written. */
static size_t csam_qr_row(const QRcode *code, int y, char *out, size_t room)
{
    const unsigned char *row = code->data + (size_t)y * (size_t)code->width;
    size_t n = 0;
    int x = 0;

    while (x < code->width) {
        int start, len, w;

        if ((row[x] & 1) == 0) {
            x++;
            continue;
        }
        start = x;
        while (x < code->width && (row[x] & 1) != 0)
            x++;
        len = x - start;
        if (room - n < CSAM_QR_RUN_MAX)
            return n; /* cannot happen: the caller sized for every run */
        w = snprintf(out + n, room - n, "M%d %dh%dv1h-%dz",
                     start + CSAM_QR_QUIET, y + CSAM_QR_QUIET, len, len);
        if (w > 0)
            n += (size_t)w;
    }
    return n;
}

csam_result csam_qr_svg(const char *text, const char *label, char **svg)
{
    QRcode *code;
    char *escaped = NULL;
    char *out = NULL;
    size_t size = 0, n, textlen;
    int side, px, w, y;
    csam_result res = CSAM_ERR_NOMEM;

    if (svg != NULL)
        *svg = NULL;
    if (svg == NULL || text == NULL || label == NULL)
        return CSAM_ERR_INVALID;
    textlen = strnlen(text, CSAM_QR_TEXT_MAX + 1);
    if (textlen == 0 || textlen > CSAM_QR_TEXT_MAX
        || csam_text_check(label, CSAM_QR_LABEL_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;

    errno = 0;
    code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (code == NULL)
        return errno == ENOMEM ? CSAM_ERR_NOMEM : CSAM_ERR_INVALID;
    escaped = csam_html_escape(label);
    if (escaped == NULL)
        goto out;

    side = code->width + 2 * CSAM_QR_QUIET;
    px = side * CSAM_QR_MODULE_PX;
    /* at most (width + 1) / 2 runs per row */
    size = (size_t)code->width * (size_t)((code->width + 1) / 2)
               * CSAM_QR_RUN_MAX
           + strlen(escaped) + 512;
    out = malloc(size);
    if (out == NULL)
        goto out;
    /* width and height give a size to browsers that ignore viewBox alone;
     * crispEdges keeps module borders sharp when the page scales it */
    w = snprintf(out, size,
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                 "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                 "role=\"img\" aria-label=\"%s\" "
                 "shape-rendering=\"crispEdges\">"
                 "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                 "<path fill=\"#000\" d=\"",
                 side, side, px, px, escaped, side, side);
    if (w < 0 || (size_t)w >= size) {
        res = CSAM_ERR_INVALID;
        goto out;
    }
    n = (size_t)w;
    for (y = 0; y < code->width; y++)
        n += csam_qr_row(code, y, out + n, size - n);
    if (size - n < sizeof("\"/></svg>")) {
        res = CSAM_ERR_INVALID;
        goto out;
    }
    memcpy(out + n, "\"/></svg>", sizeof("\"/></svg>"));
    *svg = out;
    out = NULL;
    res = CSAM_OK;

out:
    if (out != NULL) {
        csam_wipe(out, size);
        free(out);
    }
    free(escaped);
    /* the symbol is the secret, drawn */
    csam_wipe(code->data, (size_t)code->width * (size_t)code->width);
    QRcode_free(code);
    return res;
}
