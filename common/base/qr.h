/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QR codes as inline SVG, for the otpauth:// URI of the mobile-app key: a
 * page shows it without JavaScript, an image service or a data: URL that
 * a Content-Security-Policy would have to allow.
 */
#ifndef CSAM_COMMON_QR_H
#define CSAM_COMMON_QR_H

#include <stddef.h>

#include "result.h"

/* What csam_qr_svg asks libqrencode for, so a test can ask the same:
 * QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1), i.e. the
 * smallest version, error correction M (15 %: a phone camera on a screen
 * copes), case kept. */
#define CSAM_QR_QUIET 4       /* light modules around the symbol */
#define CSAM_QR_TEXT_MAX 1024 /* bytes; an otpauth URI is ~150 */
#define CSAM_QR_LABEL_MAX 200 /* bytes of UTF-8 */
#define CSAM_QR_MODULE_PX 4   /* default rendered size of a module */

/* Render text as a self-contained SVG element:
 *   <svg xmlns=... viewBox="0 0 W W" width=... height=... role="img"
 *        aria-label="LABEL" ...><rect .../><path d="..."/></svg>
 * one unit per module, W = symbol width + 2 * CSAM_QR_QUIET, a light
 * background rect (readable on a dark page) and one path whose subpaths
 * are the horizontal runs of dark modules ("M x y h n v1 h-n z").  No
 * script, no style sheet, no external reference.  label is the accessible
 * name (say what the code is for, not the secret in it), XML-escaped here.
 * *svg is malloc'd and holds the text it encodes (for the mobile-app key,
 * a secret): the caller wipes it (csam_wipe) before freeing.
 * Errors: CSAM_ERR_INVALID (text empty, over CSAM_QR_TEXT_MAX or not
 * encodable; label not text), CSAM_ERR_NOMEM. */
csam_result csam_qr_svg(const char *text, const char *label, char **svg);

#endif
