/* SPDX-License-Identifier: Apache-2.0 */
/* Templates (common/base/template.c): an input is a template, expanded
 * for "msg." tags as the texts are assembled at startup, then rendered in
 * both escape modes with the variables the pages and mails use. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "template.h"

static const struct csam_tvar fuzz_template_vars[] = {
    {"name", "Émile <Zola> & \"fils\""},
    {"link", "https://portal.example/csam/activate?t=a&b=c"},
    {"code", "K7QF-M2XD-9RTA"},
    {"empty", ""},
    {"msg.title", "{{name}}"},
};
#define FUZZ_TEMPLATE_NVARS                                                    \
    (sizeof(fuzz_template_vars) / sizeof(fuzz_template_vars[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstring(data, size);
    char *expanded = NULL, *out = NULL, *escaped;

    if (in == NULL)
        return 0;
    if (csam_template_render(in, fuzz_template_vars, FUZZ_TEMPLATE_NVARS,
                             CSAM_ESCAPE_HTML, &out)
        == CSAM_OK)
        free(out);
    out = NULL;
    if (csam_template_render(in, fuzz_template_vars, FUZZ_TEMPLATE_NVARS,
                             CSAM_ESCAPE_NONE, &out)
        == CSAM_OK)
        free(out);
    out = NULL;
    if (csam_template_expand(in, "msg.", fuzz_template_vars,
                             FUZZ_TEMPLATE_NVARS, &expanded)
        == CSAM_OK) {
        if (csam_template_render(expanded, fuzz_template_vars,
                                 FUZZ_TEMPLATE_NVARS, CSAM_ESCAPE_HTML, &out)
            == CSAM_OK)
            free(out);
        free(expanded);
    }
    /* The escaped form holds none of the characters it escapes. */
    escaped = csam_html_escape(in);
    if (escaped != NULL) {
        if (strpbrk(escaped, "<>\"'") != NULL)
            abort();
        free(escaped);
    }
    free(in);
    return 0;
}
