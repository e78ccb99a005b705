/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A deliberately small template language for e-mails and pages:
 * "{{name}}" is replaced by a variable's value (HTML-escaped when the
 * template is HTML), "{{{name}}}" inserts a value verbatim (only for values
 * the code built itself, e.g. an already-escaped fragment).  No logic, no
 * loops: templates stay brandable by administrators and safe by default.
 * One comment: a first line "{{! ... }}" (the file's SPDX header), dropped
 * by the render with its newline; "{{!" anywhere else is a malformed tag.
 */
#ifndef CSAM_COMMON_TEMPLATE_H
#define CSAM_COMMON_TEMPLATE_H

#include <stddef.h>

#include "result.h"
#include "template_file.h"

struct csam_tvar {
    const char *name;
    const char *value;
};

enum csam_escape { CSAM_ESCAPE_NONE = 0, CSAM_ESCAPE_HTML };

/* Render tmpl with vars[0..nvars), without its first line when that is a
 * "{{! ... }}" comment (one whose "}}" does not end the line is an error,
 * as "{{!" is anywhere else).  An unknown "{{name}}" is an error
 * (CSAM_ERR_INVALID), so a typo in a template is caught, not sent.
 * *out is malloc'd, owned by the caller.  Errors: CSAM_ERR_INVALID,
 * CSAM_ERR_NOMEM. */
csam_result csam_template_render(const char *tmpl, const struct csam_tvar *vars,
                                 size_t nvars, enum csam_escape escape,
                                 char **out);

/* Fill, ahead of the render, only the tags whose name starts with prefix
 * (e.g. "msg."), with the value inserted as it is in either form; every
 * other tag and "{{" is copied unchanged for csam_template_render() to
 * judge later.  A value is not scanned again.  Lets a template be
 * assembled from texts and fragments once (at startup) and rendered with
 * the request's values many times.  A tag with the prefix that names no
 * variable is an error (CSAM_ERR_INVALID): with nvars 0 the call checks
 * that no such tag is left.  *out is malloc'd, owned by the caller.
 * Errors: CSAM_ERR_INVALID, CSAM_ERR_NOMEM. */
csam_result csam_template_expand(const char *tmpl, const char *prefix,
                                 const struct csam_tvar *vars, size_t nvars,
                                 char **out);

/* HTML-escape s (& < > " ') into a malloc'd string; NULL on ENOMEM. */
char *csam_html_escape(const char *s);

#endif
