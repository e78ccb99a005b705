/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The template language: escaping per mode, verbatim tags, the errors
 * that keep a broken template from being sent, and the assembly of a page
 * from its texts ahead of the render.
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
#include <unistd.h>

#include "template.h"

static const struct csam_tvar csam_test_vars[] = {
    {"name", "Anaïs <b>&\"'"},
    {"link", "https://portal.example.be/csam/activate?t=a&b"},
    {"empty", ""},
    {"none", NULL},
};
#define CSAM_TEST_NVARS (sizeof(csam_test_vars) / sizeof(csam_test_vars[0]))

static char *csam_test_render(const char *tmpl, enum csam_escape mode,
                              csam_result expect)
{
    char *out = (char *)1;

    assert_int_equal(csam_template_render(tmpl, csam_test_vars, CSAM_TEST_NVARS,
                                          mode, &out),
                     expect);
    if (expect != CSAM_OK)
        assert_null(out);
    return out;
}

static void test_html_mode_escapes(void **state)
{
    char *out;

    (void)state;
    out = csam_test_render("<p>Bonjour {{name}} !</p>", CSAM_ESCAPE_HTML,
                           CSAM_OK);
    assert_string_equal(out,
                        "<p>Bonjour Anaïs &lt;b&gt;&amp;&quot;&#39; !</p>");
    free(out);
    out = csam_test_render("<a href=\"{{link}}\">x</a>", CSAM_ESCAPE_HTML,
                           CSAM_OK);
    assert_string_equal(out, "<a href=\"https://portal.example.be/csam/"
                             "activate?t=a&amp;b\">x</a>");
    free(out);
}

static void test_text_mode_does_not_escape(void **state)
{
    char *out;

    (void)state;
    out = csam_test_render("Bonjour {{name}}", CSAM_ESCAPE_NONE, CSAM_OK);
    assert_string_equal(out, "Bonjour Anaïs <b>&\"'");
    free(out);
}

static void test_verbatim(void **state)
{
    char *out;

    (void)state;
    out = csam_test_render("[{{{name}}}]", CSAM_ESCAPE_HTML, CSAM_OK);
    assert_string_equal(out, "[Anaïs <b>&\"']");
    free(out);
    out = csam_test_render("{{ name }}|{{{ empty }}}|{{none}}|",
                           CSAM_ESCAPE_HTML, CSAM_OK);
    assert_string_equal(out, "Anaïs &lt;b&gt;&amp;&quot;&#39;|||");
    free(out);
}

static void test_plain_text_and_single_braces(void **state)
{
    char *out;

    (void)state;
    out = csam_test_render("a { b } c }} d", CSAM_ESCAPE_HTML, CSAM_OK);
    assert_string_equal(out, "a { b } c }} d");
    free(out);
    out = csam_test_render("", CSAM_ESCAPE_NONE, CSAM_OK);
    assert_string_equal(out, "");
    free(out);
    /* a value holding a tag is data, not a template */
    {
        const struct csam_tvar v[] = {{"x", "{{name}}"}};

        assert_int_equal(csam_template_render("{{x}}", v, 1, CSAM_ESCAPE_NONE,
                                              &out),
                         CSAM_OK);
        assert_string_equal(out, "{{name}}");
        free(out);
    }
}

static void test_unknown_variable(void **state)
{
    (void)state;
    csam_test_render("Bonjour {{nom}}", CSAM_ESCAPE_HTML, CSAM_ERR_INVALID);
    csam_test_render("Bonjour {{{nom}}}", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
    /* a prefix of a known name is not that name */
    csam_test_render("{{nam}}", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
    csam_test_render("{{names}}", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
}

static void test_malformed_tags(void **state)
{
    (void)state;
    csam_test_render("Bonjour {{name", CSAM_ESCAPE_HTML, CSAM_ERR_INVALID);
    csam_test_render("Bonjour {{name}", CSAM_ESCAPE_HTML, CSAM_ERR_INVALID);
    csam_test_render("Bonjour {{{name}}", CSAM_ESCAPE_HTML, CSAM_ERR_INVALID);
    csam_test_render("{{}}", CSAM_ESCAPE_HTML, CSAM_ERR_INVALID);
    csam_test_render("{{na me}}", CSAM_ESCAPE_HTML, CSAM_ERR_INVALID);
    csam_test_render("{{name|upper}}", CSAM_ESCAPE_HTML, CSAM_ERR_INVALID);
    csam_test_render("{{", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
}

static void test_bad_arguments(void **state)
{
    char *out = NULL;

    (void)state;
    assert_int_equal(csam_template_render(NULL, csam_test_vars, 1,
                                          CSAM_ESCAPE_NONE, &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_template_render("x", NULL, 1, CSAM_ESCAPE_NONE, &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_template_render("x", NULL, 0, CSAM_ESCAPE_NONE, &out),
                     CSAM_OK);
    assert_string_equal(out, "x");
    free(out);
    assert_int_equal(csam_template_render("x", NULL, 0, (enum csam_escape)7,
                                          &out),
                     CSAM_ERR_INVALID);
}

static void test_html_escape(void **state)
{
    char *s;

    (void)state;
    s = csam_html_escape("<script>alert('x') & \"y\"</script>");
    assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;) &amp; "
                           "&quot;y&quot;&lt;/script&gt;");
    free(s);
    s = csam_html_escape("");
    assert_string_equal(s, "");
    free(s);
    s = csam_html_escape("déjà vu");
    assert_string_equal(s, "déjà vu");
    free(s);
}

static char *csam_test_tmpfile(const void *data, size_t len)
{
    char path[] = "/tmp/csam-test-template.XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return strdup(path);
}

static void test_read(void **state)
{
    char *path, *out = NULL;
    char *big;
    size_t limit = 256 * 1024;

    (void)state;
    path = csam_test_tmpfile("Bonjour {{name}}\n", 17);
    assert_int_equal(csam_template_read(path, &out), CSAM_OK);
    assert_string_equal(out, "Bonjour {{name}}\n");
    free(out);
    unlink(path);
    free(path);

    /* exactly the limit is read; one byte more is refused */
    big = malloc(limit + 1);
    assert_non_null(big);
    memset(big, 'x', limit + 1);
    path = csam_test_tmpfile(big, limit);
    assert_int_equal(csam_template_read(path, &out), CSAM_OK);
    assert_int_equal(strlen(out), limit);
    free(out);
    unlink(path);
    free(path);
    path = csam_test_tmpfile(big, limit + 1);
    out = (char *)1;
    assert_int_equal(csam_template_read(path, &out), CSAM_ERR_IO);
    assert_null(out);
    unlink(path);
    free(path);
    free(big);

    /* a NUL byte would cut the template short */
    path = csam_test_tmpfile("ab\0cd", 5);
    assert_int_equal(csam_template_read(path, &out), CSAM_ERR_IO);
    unlink(path);
    free(path);

    assert_int_equal(csam_template_read("/nonexistent/csam/x.txt", &out),
                     CSAM_ERR_IO);
    assert_int_equal(csam_template_read("/tmp", &out), CSAM_ERR_IO);
}

/* A page assembled ahead of time: only the "msg." tags are filled, as
 * they are (texts are markup), the request's tags stay for the render. */
static void test_expand_fills_only_its_prefix(void **state)
{
    static const struct csam_tvar texts[] = {
        {"msg.title", "Activer la clé « application mobile »"},
        {"msg.hint", "(<span lang=\"en\">{{terms_version}}</span>)"},
        {"msg.empty", NULL},
    };
    char *out = NULL, *page = NULL;

    (void)state;
    assert_int_equal(
        csam_template_expand("<h1>{{msg.title}}</h1><p>{{{msg.hint}}}"
                             "{{ msg.empty }}</p><p>{{name}} {{{link}}} "
                             "{ {{link}}",
                             "msg.", texts, 3, &out),
        CSAM_OK);
    assert_string_equal(out, "<h1>Activer la clé « application mobile »</h1>"
                             "<p>(<span lang=\"en\">{{terms_version}}"
                             "</span>)</p><p>{{name}} {{{link}}} { {{link}}");
    /* a text's own tags are not expanded again, but rendered later */
    assert_int_equal(csam_template_render(out, csam_test_vars, CSAM_TEST_NVARS,
                                          CSAM_ESCAPE_HTML, &page),
                     CSAM_ERR_INVALID); /* terms_version is not a variable */
    assert_null(page);
    free(out);
}

static void test_expand_text_not_rescanned(void **state)
{
    static const struct csam_tvar texts[] = {
        {"msg.loop", "{{msg.loop}}"},
    };
    char *out = NULL;

    (void)state;
    assert_int_equal(csam_template_expand("<b>{{msg.loop}}</b>", "msg.", texts,
                                          1, &out),
                     CSAM_OK);
    assert_string_equal(out, "<b>{{msg.loop}}</b>");
    free(out);
}

static void test_expand_errors(void **state)
{
    static const struct csam_tvar texts[] = {
        {"msg.known", "x"},
    };
    char *out = (char *)1;

    (void)state;
    /* a text that does not exist is caught when the page is assembled */
    assert_int_equal(csam_template_expand("{{msg.unknown}}", "msg.", texts, 1,
                                          &out),
                     CSAM_ERR_INVALID);
    assert_null(out);
    /* with no variables: a check that no tag of the family is left */
    assert_int_equal(csam_template_expand("a {{part.qr}} b", "part.", NULL, 0,
                                          &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_template_expand("a {{msg.known}} {{name", "part.",
                                          NULL, 0, &out),
                     CSAM_OK);
    assert_string_equal(out, "a {{msg.known}} {{name");
    free(out);
    assert_int_equal(csam_template_expand(NULL, "msg.", texts, 1, &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_template_expand("x", "", texts, 1, &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_template_expand("x", NULL, texts, 1, &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_template_expand("x", "msg.", NULL, 1, &out),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_template_expand("x", "msg.", texts, 1, NULL),
                     CSAM_ERR_INVALID);
}

/* Dotted names are names: "{{msg.x}}" left by mistake fails the render. */
static void test_dotted_names(void **state)
{
    static const struct csam_tvar vars[] = {
        {"key.sms", "SMS"},
    };
    char *out = NULL;

    (void)state;
    assert_int_equal(csam_template_render("{{key.sms}}", vars, 1,
                                          CSAM_ESCAPE_HTML, &out),
                     CSAM_OK);
    assert_string_equal(out, "SMS");
    free(out);
    assert_int_equal(csam_template_render("{{msg.title}}", vars, 1,
                                          CSAM_ESCAPE_HTML, &out),
                     CSAM_ERR_INVALID);
}

/* The first line "{{! ... }}" (a file's SPDX header) goes with its
 * newline and nothing else changes; a comment that does not end its line,
 * or "{{!" further on, is malformed; the expansion leaves it for the
 * render. */
static void test_leading_comment(void **state)
{
    char *out;

    (void)state;
    out = csam_test_render("{{! SPDX-License-Identifier: Apache-2.0 }}\n"
                           "Hello {{name}}\n",
                           CSAM_ESCAPE_NONE, CSAM_OK);
    assert_string_equal(out, "Hello Anaïs <b>&\"'\n");
    free(out);
    out = csam_test_render("{{!}}", CSAM_ESCAPE_NONE, CSAM_OK);
    assert_string_equal(out, "");
    free(out);
    /* only the first line, only once */
    out = csam_test_render("{{! a }}\n\nx", CSAM_ESCAPE_NONE, CSAM_OK);
    assert_string_equal(out, "\nx");
    free(out);
    csam_test_render("{{! a }}\n{{! b }}\nx", CSAM_ESCAPE_NONE,
                     CSAM_ERR_INVALID);
    csam_test_render("x\n{{! a }}\n", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
    csam_test_render(" {{! a }}\n", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
    /* the comment ends its line, or it is no comment */
    csam_test_render("{{! a }} x\n", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
    csam_test_render("{{! a\n }}\n", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
    csam_test_render("{{! a", CSAM_ESCAPE_NONE, CSAM_ERR_INVALID);
    /* the expansion copies it; the render then drops it */
    assert_int_equal(csam_template_expand("{{! c }}\n{{msg.x}}", "msg.",
                                          &(struct csam_tvar){"msg.x", "y"}, 1,
                                          &out),
                     CSAM_OK);
    assert_string_equal(out, "{{! c }}\ny");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_mode_escapes),
        cmocka_unit_test(test_text_mode_does_not_escape),
        cmocka_unit_test(test_verbatim),
        cmocka_unit_test(test_plain_text_and_single_braces),
        cmocka_unit_test(test_unknown_variable),
        cmocka_unit_test(test_malformed_tags),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_expand_fills_only_its_prefix),
        cmocka_unit_test(test_expand_text_not_rescanned),
        cmocka_unit_test(test_expand_errors),
        cmocka_unit_test(test_dotted_names),
        cmocka_unit_test(test_leading_comment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
