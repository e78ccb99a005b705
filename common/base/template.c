/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The template language: "{{name}}" (escaped as the template's mode says)
 * and "{{{name}}}" (verbatim), nothing else, but for one comment line at
 * the very top, "{{! ... }}", which the render drops with its newline (the
 * SPDX header of a mail or SMS file, which has no comment syntax of its
 * own); csam_template_expand() fills one family of names ahead of time and
 * leaves the rest.  Anything that is not
 * a well-formed tag naming a known variable is an error, so a broken template
 * fails when it is rendered in a test instead of mailing a citizen half a
 * sentence.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define CSAM_TEMPLATE_NAME_MAX 64
/* Output bound: a template that renders past this is a loop in the data,
 * not a mail. */
#define CSAM_TEMPLATE_OUT_MAX (4 * 1024 * 1024)

struct csam_template_buf {
    char *data;
    size_t len, cap;
};

static int csam_template_append(struct csam_template_buf *buf, const char *s,
                                size_t n)
{
    if (n > CSAM_TEMPLATE_OUT_MAX - buf->len)
        return 0;
    if (buf->len + n + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 256;
        char *p;

        while (cap < buf->len + n + 1)
            cap *= 2;
        p = realloc(buf->data, cap);
        if (p == NULL)
            return 0;
        buf->data = p;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, s, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 1;
}

static int csam_template_append_html(struct csam_template_buf *buf,
                                     const char *s)
{
    const char *run = s;

    for (; *s != '\0'; s++) {
        const char *rep;

        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        if (!csam_template_append(buf, run, (size_t)(s - run))
            || !csam_template_append(buf, rep, strlen(rep)))
            return 0;
        run = s + 1;
    }
    return csam_template_append(buf, run, (size_t)(s - run));
}

char *csam_html_escape(const char *s)
{
    struct csam_template_buf buf = {NULL, 0, 0};

    if (s == NULL)
        s = "";
    if (!csam_template_append(&buf, "", 0)
        || !csam_template_append_html(&buf, s)) {
        free(buf.data);
        return NULL;
    }
    return buf.data;
}

static int csam_template_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* The variable named by [name, name + len), or NULL. */
static const struct csam_tvar *
csam_template_lookup(const struct csam_tvar *vars, size_t nvars,
                     const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < nvars; i++)
        if (vars[i].name != NULL && strlen(vars[i].name) == len
            && memcmp(vars[i].name, name, len) == 0)
            return &vars[i];
    return NULL;
}

/* One tag starting at open ("{{"): its name, whether it is the verbatim
 * form, and where the text after it starts.  0 when malformed. */
struct csam_template_tag {
    const char *name;
    size_t len;
    int verbatim;
    const char *after;
};

static int csam_template_tag_parse(const char *open,
                                   struct csam_template_tag *tag)
{
    const char *end;

    tag->verbatim = open[2] == '{';
    tag->name = open + (tag->verbatim ? 3 : 2);
    while (*tag->name == ' ')
        tag->name++;
    end = tag->name;
    while (csam_template_name_char(*end))
        end++;
    tag->len = (size_t)(end - tag->name);
    while (*end == ' ')
        end++;
    if (tag->len == 0 || tag->len > CSAM_TEMPLATE_NAME_MAX)
        return 0;
    if (strncmp(end, tag->verbatim ? "}}}" : "}}", tag->verbatim ? 3 : 2) != 0)
        return 0; /* unterminated or malformed tag */
    tag->after = end + (tag->verbatim ? 3 : 2);
    return 1;
}

/* Both calls in one loop: with prefix NULL every tag is filled and a
 * malformed one is an error (the render); with a prefix only the tags of
 * that family are, everything else is copied (the expansion). */
static csam_result csam_template_fill(const char *tmpl, const char *prefix,
                                      const struct csam_tvar *vars,
                                      size_t nvars, enum csam_escape escape,
                                      char **out)
{
    struct csam_template_buf buf = {NULL, 0, 0};
    size_t plen = prefix ? strlen(prefix) : 0;
    csam_result res = CSAM_ERR_INVALID;
    const char *p = tmpl;

    if (!csam_template_append(&buf, "", 0))
        return CSAM_ERR_NOMEM;
    for (;;) {
        const char *open = strstr(p, "{{");
        const struct csam_tvar *var;
        struct csam_template_tag tag;
        int well_formed;

        if (open == NULL) {
            if (!csam_template_append(&buf, p, strlen(p)))
                goto nomem;
            break;
        }
        well_formed = csam_template_tag_parse(open, &tag);
        if (prefix != NULL
            && (!well_formed || tag.len < plen
                || memcmp(tag.name, prefix, plen) != 0)) {
            /* not of the family: left for the render to judge */
            const char *next = well_formed ? tag.after : open + 2;

            if (!csam_template_append(&buf, p, (size_t)(next - p)))
                goto nomem;
            p = next;
            continue;
        }
        if (!csam_template_append(&buf, p, (size_t)(open - p)))
            goto nomem;
        if (!well_formed)
            goto invalid;
        var = csam_template_lookup(vars, nvars, tag.name, tag.len);
        if (var == NULL)
            goto invalid;
        if (var->value != NULL) {
            int ok = (tag.verbatim || escape == CSAM_ESCAPE_NONE)
                         ? csam_template_append(&buf, var->value,
                                                strlen(var->value))
                         : csam_template_append_html(&buf, var->value);

            if (!ok)
                goto nomem;
        }
        p = tag.after;
    }
    *out = buf.data;
    return CSAM_OK;

nomem:
    res = CSAM_ERR_NOMEM;
invalid:
    free(buf.data);
    return res;
}

/* Where the template proper starts: after a first line "{{! ... }}" and
 * its newline, if tmpl starts with one.  NULL when that comment does not
 * end on its line with "}}" followed by a newline or the end. */
static const char *csam_template_skip_comment(const char *tmpl)
{
    const char *close;
    size_t line;

    if (strncmp(tmpl, "{{!", 3) != 0)
        return tmpl;
    line = strcspn(tmpl, "\n");
    close = strstr(tmpl + 3, "}}");
    if (close == NULL || (size_t)(close - tmpl) + 2 != line)
        return NULL;
    return tmpl[line] == '\n' ? tmpl + line + 1 : tmpl + line;
}

csam_result csam_template_render(const char *tmpl, const struct csam_tvar *vars,
                                 size_t nvars, enum csam_escape escape,
                                 char **out)
{
    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (tmpl == NULL || (vars == NULL && nvars > 0)
        || (escape != CSAM_ESCAPE_NONE && escape != CSAM_ESCAPE_HTML))
        return CSAM_ERR_INVALID;
    tmpl = csam_template_skip_comment(tmpl);
    if (tmpl == NULL)
        return CSAM_ERR_INVALID;
    return csam_template_fill(tmpl, NULL, vars, nvars, escape, out);
}

csam_result csam_template_expand(const char *tmpl, const char *prefix,
                                 const struct csam_tvar *vars, size_t nvars,
                                 char **out)
{
    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (tmpl == NULL || prefix == NULL || prefix[0] == '\0'
        || (vars == NULL && nvars > 0))
        return CSAM_ERR_INVALID;
    return csam_template_fill(tmpl, prefix, vars, nvars, CSAM_ESCAPE_NONE, out);
}
