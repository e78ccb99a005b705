/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mail composition from the shipped templates (conf/ in the source tree)
 * and the RFC 5322 + MIME wire format.
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
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mail.h"
#include "validate.h"

static const char *const csam_test_langs[] = {"fr", "nl", "de", "en"};
static const char *const csam_test_kinds[] = {
    "activation",       "code",          "key_activated",    "key_deactivated",
    "password_changed", "email_confirm", "account_recovered"};
#define CSAM_TEST_FROM "CSAM Mes clés numériques <noreply@example.be>"
#define CSAM_TEST_LINK                                                         \
    "https://portal.example.be/csam/activate?t="                               \
    "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWpr"

static char csam_test_data_dir[4096];

/* The shipped templates of data_dir alone, no administrator's directory. */
static csam_result csam_test_mail_compose(const char *data_dir,
                                          const char *lang, const char *kind,
                                          const struct csam_tvar *vars,
                                          size_t nvars,
                                          struct csam_mail_content *out)
{
    const struct csam_template_dirs dirs = {NULL, data_dir};

    return csam_mail_compose(&dirs, lang, kind, vars, nvars, out, NULL, 0);
}

static int csam_test_setup(void **state)
{
    const char *src = getenv("CSAM_SRCDIR");

    (void)state;
    snprintf(csam_test_data_dir, sizeof(csam_test_data_dir), "%s/conf",
             src != NULL ? src : ".");
    return 0;
}

/* Every kind gets the variables the engine passes for it. */
static const struct csam_tvar csam_test_vars[] = {
    {"first_name", "Anaïs"},      {"last_name", "Dupont-Lemaître"},
    {"link", CSAM_TEST_LINK},     {"expires", "2026-12-31"},
    {"code", "04821937"},         {"minutes", "10"},
    {"username", "anais.dupont"}, {"key_label", "code de sécurité par e-mail"},
};
#define CSAM_TEST_NVARS (sizeof(csam_test_vars) / sizeof(csam_test_vars[0]))

static void csam_test_compose(const char *lang, const char *kind,
                              const struct csam_tvar *vars, size_t n,
                              struct csam_mail_content *out)
{
    assert_int_equal(csam_test_mail_compose(csam_test_data_dir, lang, kind,
                                            vars, n, out),
                     CSAM_OK);
    assert_non_null(out->subject);
    assert_non_null(out->text);
    assert_non_null(out->html);
    assert_true(strlen(out->subject) > 4);
    assert_null(strchr(out->subject, '\n'));
}

static void test_compose_every_kind_and_language(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < 4; i++) {
        for (j = 0; j < sizeof(csam_test_kinds) / sizeof(csam_test_kinds[0]);
             j++) {
            struct csam_mail_content c;
            char lang_attr[32];

            csam_test_compose(csam_test_langs[i], csam_test_kinds[j],
                              csam_test_vars, CSAM_TEST_NVARS, &c);
            assert_non_null(strstr(c.text, "Anaïs"));
            assert_non_null(strstr(c.html, "Anaïs"));
            assert_true(strncmp(c.subject, "CSAM – ", 9) == 0);
            snprintf(lang_attr, sizeof(lang_attr), "<html lang=\"%s\">",
                     csam_test_langs[i]);
            assert_non_null(strstr(c.html, lang_attr));
            /* no tag survives rendering */
            assert_null(strstr(c.text, "{{"));
            assert_null(strstr(c.html, "{{"));
            csam_mail_content_free(&c);
            assert_null(c.text);
        }
    }
}

static void test_activation_fr(void **state)
{
    struct csam_mail_content c;

    (void)state;
    csam_test_compose("fr", "activation", csam_test_vars, CSAM_TEST_NVARS, &c);
    assert_string_equal(c.subject, "CSAM – Mes clés numériques : activation");
    assert_non_null(strstr(c.html, ">Activer vos clés numériques</a>"));
    assert_non_null(strstr(c.html, "href=\"" CSAM_TEST_LINK "\""));
    assert_non_null(strstr(c.text, CSAM_TEST_LINK));
    assert_non_null(strstr(c.text, "2026-12-31"));
    assert_non_null(strstr(c.text, "Dupont-Lemaître"));
    csam_mail_content_free(&c);
}

static void test_activation_subjects(void **state)
{
    static const char *const subjects[] = {
        "CSAM – Mes clés numériques : activation",
        "CSAM – Mijn digitale sleutels: activering",
        "CSAM – Meine digitalen Schlüssel: Aktivierung",
        "CSAM – My digital keys: activation"};
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        struct csam_mail_content c;

        csam_test_compose(csam_test_langs[i], "activation", csam_test_vars,
                          CSAM_TEST_NVARS, &c);
        assert_string_equal(c.subject, subjects[i]);
        csam_mail_content_free(&c);
    }
}

static void test_html_values_escaped(void **state)
{
    const struct csam_tvar vars[] = {
        {"first_name", "<script>x</script>"},
        {"username", "a&b"},
    };
    struct csam_mail_content c;

    (void)state;
    csam_test_compose("en", "password_changed", vars, 2, &c);
    assert_null(strstr(c.html, "<script>"));
    assert_non_null(strstr(c.html, "&lt;script&gt;x&lt;/script&gt;"));
    assert_non_null(strstr(c.html, "a&amp;b"));
    csam_mail_content_free(&c);
}

/* Runs of at least 6 digits in s: their count, the first copied out. */
static int csam_test_digit_runs(const char *s, char *first, size_t size)
{
    int runs = 0;

    while (*s != '\0') {
        size_t n = 0;

        while (s[n] >= '0' && s[n] <= '9')
            n++;
        if (n >= 6) {
            if (runs == 0 && n < size) {
                memcpy(first, s, n);
                first[n] = '\0';
            }
            runs++;
        }
        s += n > 0 ? n : 1;
    }
    return runs;
}

static void test_code_is_only_digit_run(void **state)
{
    static const char *const codes[] = {"04821937", "123456", "9876543"};
    size_t i, k;

    (void)state;
    for (i = 0; i < 4; i++) {
        for (k = 0; k < 3; k++) {
            const struct csam_tvar vars[] = {
                {"first_name", "Jan"},
                {"code", codes[k]},
                {"minutes", "10"},
            };
            struct csam_mail_content c;
            char run[16] = "";

            csam_test_compose(csam_test_langs[i], "code", vars, 3, &c);
            assert_int_equal(csam_test_digit_runs(c.text, run, sizeof(run)), 1);
            assert_string_equal(run, codes[k]);
            /* the subject (shown on lock screens) does not carry it */
            assert_null(strstr(c.subject, codes[k]));
            csam_mail_content_free(&c);
        }
    }
}

static void test_compose_errors(void **state)
{
    struct csam_mail_content c;
    const struct csam_tvar vars[] = {{"first_name", "Jan"}, {"minutes", "10"}};

    (void)state;
    /* a variable the template names is missing */
    assert_int_equal(csam_test_mail_compose(csam_test_data_dir, "fr", "code",
                                            vars, 2, &c),
                     CSAM_ERR_INVALID);
    assert_null(c.subject);
    assert_int_equal(csam_test_mail_compose(csam_test_data_dir, "fr", "nosuch",
                                            vars, 2, &c),
                     CSAM_ERR_IO);
    /* kinds are file names: no path can be smuggled in */
    assert_int_equal(csam_test_mail_compose(csam_test_data_dir, "fr",
                                            "../fr/code", vars, 2, &c),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_test_mail_compose(csam_test_data_dir, "fr", "", vars,
                                            2, &c),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_test_mail_compose("/nonexistent", "fr", "code", vars,
                                            2, &c),
                     CSAM_ERR_IO);
}

static void csam_test_write(const char *dir, const char *name, const char *text)
{
    char path[4200];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_fallback_to_fr(void **state)
{
    char root[] = "/tmp/csam-test-mail.XXXXXX";
    char dir[256], sub[512];
    struct csam_mail_content c;
    const struct csam_tvar vars[] = {{"first_name", "Jan"}};

    (void)state;
    assert_non_null(mkdtemp(root));
    snprintf(dir, sizeof(dir), "%s/templates", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof(dir), "%s/templates/mail", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/fr", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    csam_test_write(sub, "hello.subject", "Bonjour\n");
    csam_test_write(sub, "hello.txt", "Bonjour {{first_name}}\n");
    csam_test_write(sub, "hello.html", "<p>Bonjour {{first_name}}</p>\n");
    /* nl has a subject but no body: the whole mail falls back to fr */
    snprintf(sub, sizeof(sub), "%s/nl", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    csam_test_write(sub, "hello.subject", "Hallo\n");

    assert_int_equal(csam_test_mail_compose(root, "nl", "hello", vars, 1, &c),
                     CSAM_OK);
    assert_string_equal(c.subject, "Bonjour");
    assert_string_equal(c.text, "Bonjour Jan\n");
    csam_mail_content_free(&c);
    /* an unknown language is French too */
    assert_int_equal(csam_test_mail_compose(root, "xx", "hello", vars, 1, &c),
                     CSAM_OK);
    assert_string_equal(c.subject, "Bonjour");
    csam_mail_content_free(&c);
    assert_int_equal(csam_test_mail_compose(root, NULL, "hello", vars, 1, &c),
                     CSAM_OK);
    csam_mail_content_free(&c);

    /* a subject that renders to two lines is refused */
    snprintf(sub, sizeof(sub), "%s/fr", dir);
    csam_test_write(sub, "hello.subject", "Bonjour\nBcc: x@example.be\n");
    assert_int_equal(csam_test_mail_compose(root, "fr", "hello", vars, 1, &c),
                     CSAM_ERR_INVALID);

    snprintf(sub, sizeof(sub), "rm -rf '%s'", root);
    assert_int_equal(system(sub), 0);
}

static void test_key_labels(void **state)
{
    (void)state;
    assert_string_equal(csam_mail_key_label("fr", CSAM_KEY_EMAIL),
                        "code de sécurité par e-mail");
    assert_string_equal(csam_mail_key_label("fr", CSAM_KEY_SMS),
                        "code de sécurité par SMS");
    assert_string_equal(csam_mail_key_label("fr", CSAM_KEY_TOTP),
                        "application mobile");
    assert_string_equal(csam_mail_key_label("nl", CSAM_KEY_EMAIL),
                        "beveiligingscode via e-mail");
    assert_string_equal(csam_mail_key_label("nl", CSAM_KEY_SMS),
                        "beveiligingscode via sms");
    assert_string_equal(csam_mail_key_label("nl", CSAM_KEY_TOTP),
                        "mobiele app");
    assert_string_equal(csam_mail_key_label("de", CSAM_KEY_EMAIL),
                        "Sicherheitscode per E-Mail");
    assert_string_equal(csam_mail_key_label("de", CSAM_KEY_SMS),
                        "Sicherheitscode per SMS");
    assert_string_equal(csam_mail_key_label("de", CSAM_KEY_TOTP), "Mobile App");
    assert_string_equal(csam_mail_key_label("en", CSAM_KEY_EMAIL),
                        "security code by e-mail");
    assert_string_equal(csam_mail_key_label("en", CSAM_KEY_SMS),
                        "security code by SMS");
    assert_string_equal(csam_mail_key_label("en", CSAM_KEY_TOTP), "mobile app");
    assert_string_equal(csam_mail_key_label("xx", CSAM_KEY_TOTP),
                        "application mobile");
    assert_string_equal(csam_mail_key_label(NULL, CSAM_KEY_SMS),
                        "code de sécurité par SMS");
    assert_string_equal(csam_mail_key_label("en", CSAM_KEY_NONE), "");
}

static void test_mailbox_parse(void **state)
{
    char name[CSAM_MAILBOX_NAME_MAX + 1], addr[300];

    (void)state;
    assert_int_equal(csam_mail_mailbox_parse(CSAM_TEST_FROM, name, sizeof(name),
                                             addr, sizeof(addr)),
                     CSAM_OK);
    assert_string_equal(name, "CSAM Mes clés numériques");
    assert_string_equal(addr, "noreply@example.be");
    assert_int_equal(csam_mail_mailbox_parse("\"CSAM, BOSA\" <a@example.be>",
                                             name, sizeof(name), addr,
                                             sizeof(addr)),
                     CSAM_OK);
    assert_string_equal(name, "CSAM, BOSA");
    assert_int_equal(csam_mail_mailbox_parse("a@example.be", name, sizeof(name),
                                             addr, sizeof(addr)),
                     CSAM_OK);
    assert_string_equal(name, "");
    assert_string_equal(addr, "a@example.be");
    assert_int_equal(csam_mail_mailbox_parse("<a@example.be>", name,
                                             sizeof(name), addr, sizeof(addr)),
                     CSAM_OK);
    assert_int_equal(csam_mail_mailbox_parse("Name <a@example.be", name,
                                             sizeof(name), addr, sizeof(addr)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_mail_mailbox_parse("Name <a@example.be> x", name,
                                             sizeof(name), addr, sizeof(addr)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_mail_mailbox_parse("Na\"me <a@example.be>", name,
                                             sizeof(name), addr, sizeof(addr)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_mail_mailbox_parse("Name <not-an-address>", name,
                                             sizeof(name), addr, sizeof(addr)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_mail_mailbox_parse("Name\r\nBcc: x <a@example.be>",
                                             name, sizeof(name), addr,
                                             sizeof(addr)),
                     CSAM_ERR_INVALID);
    assert_int_equal(csam_mail_mailbox_parse("", name, sizeof(name), addr,
                                             sizeof(addr)),
                     CSAM_ERR_INVALID);
}

/* ------------------------------------------------------------ encoding */

/* 1 if buf[0..n) is whole UTF-8 characters: no sequence cut at either
 * end (RFC 2047 5: each encoded word stands on its own). */
static int csam_test_whole_utf8(const unsigned char *buf, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t len = buf[i] < 0x80    ? 1
                     : buf[i] >= 0xf0 ? 4
                     : buf[i] >= 0xe0 ? 3
                     : buf[i] >= 0xc0 ? 2
                                      : 0;

        if (len == 0 || i + len > n)
            return 0;
        i += len;
    }
    return 1;
}

/* Decodes "=?UTF-8?B?...?=" words separated by folding into out. */
static void csam_test_decode_words(const char *s, char *out, size_t size)
{
    size_t len = 0;

    while (*s != '\0') {
        const char *end;
        unsigned char buf[256];
        int n, pad = 0;
        size_t wlen;

        while (*s == '\r' || *s == '\n' || *s == ' ')
            s++;
        if (*s == '\0')
            break;
        assert_true(strncmp(s, "=?UTF-8?B?", 10) == 0);
        s += 10;
        end = strstr(s, "?=");
        assert_non_null(end);
        wlen = (size_t)(end - s);
        /* an encoded word is at most 75 characters (RFC 2047 2) */
        assert_true(wlen + 12 <= 75);
        n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)wlen);
        assert_true(n >= 0);
        if (wlen >= 1 && s[wlen - 1] == '=')
            pad++;
        if (wlen >= 2 && s[wlen - 2] == '=')
            pad++;
        n -= pad;
        assert_true(csam_test_whole_utf8(buf, (size_t)n));
        assert_true(len + (size_t)n < size);
        memcpy(out + len, buf, (size_t)n);
        len += (size_t)n;
        s = end + 2;
    }
    out[len] = '\0';
}

static void test_encode_header(void **state)
{
    const char *subject = "CSAM – Mes clés numériques : activation";
    const char *longer = "CSAM – Mes clés numériques : une clé numérique a "
                         "été désactivée pour votre nom d'utilisateur, "
                         "vérifiez vos accès à l'administration en ligne";
    char *enc;
    char dec[512];
    const char *p;

    (void)state;
    enc = csam_mail_encode_header("Plain ASCII subject");
    assert_string_equal(enc, "Plain ASCII subject");
    free(enc);

    enc = csam_mail_encode_header(subject);
    assert_non_null(enc);
    assert_true(strncmp(enc, "=?UTF-8?B?", 10) == 0);
    csam_test_decode_words(enc, dec, sizeof(dec));
    assert_string_equal(dec, subject);
    free(enc);

    enc = csam_mail_encode_header(longer);
    csam_test_decode_words(enc, dec, sizeof(dec));
    assert_string_equal(dec, longer);
    /* folded: every physical line within 78 columns with "Subject: " */
    p = enc;
    {
        size_t col = 9;

        for (; *p != '\0'; p++) {
            if (*p == '\r') {
                assert_int_equal(p[1], '\n');
                assert_int_equal(p[2], ' ');
                col = 0;
                p++;
                continue;
            }
            col++;
            assert_true(col <= 78);
        }
    }
    free(enc);

    /* long ASCII: folded at spaces, every continuation starting with a
     * space, and unfolding gives the value back */
    {
        const char *ascii = "Your CSAM digital key was deactivated for the "
                            "username you use to log in to online public "
                            "services, check your access now please";
        char unfolded[512];
        size_t len = 0, col = 9;

        enc = csam_mail_encode_header(ascii);
        assert_non_null(strstr(enc, "\r\n "));
        for (p = enc; *p != '\0'; p++) {
            if (p[0] == '\r') {
                assert_int_equal(p[1], '\n');
                assert_int_equal(p[2], ' ');
                assert_true(col <= 78);
                col = 0;
                p++;
                continue;
            }
            col++;
            unfolded[len++] = *p;
        }
        assert_true(col <= 78);
        unfolded[len] = '\0';
        assert_string_equal(unfolded, ascii);
        free(enc);
    }

    /* only multibyte characters (2, 3 and 4 bytes): no word boundary may
     * fall inside one */
    {
        char multi[256] = "";

        for (size_t i = 0; i < 12; i++)
            strcat(multi, "é€😀");
        enc = csam_mail_encode_header(multi);
        csam_test_decode_words(enc, dec, sizeof(dec));
        assert_string_equal(dec, multi);
        free(enc);
    }

    /* something that looks like an encoded word is encoded, not passed */
    enc = csam_mail_encode_header("=?UTF-8?B?eA==?=");
    assert_true(strcmp(enc, "=?UTF-8?B?eA==?=") != 0);
    csam_test_decode_words(enc, dec, sizeof(dec));
    assert_string_equal(dec, "=?UTF-8?B?eA==?=");
    free(enc);
}

/* Decodes a quoted-printable body (CRLF lines), checking line lengths. */
static void csam_test_qp_decode(const char *s, const char *end, char *out,
                                size_t size)
{
    size_t len = 0, col = 0;

    while (s < end) {
        if (s[0] == '\r') {
            assert_int_equal(s[1], '\n');
            assert_true(col <= 76);
            out[len++] = '\n';
            col = 0;
            s += 2;
            continue;
        }
        assert_int_not_equal(s[0], '\n'); /* no bare LF */
        if (s[0] == '=') {
            if (s[1] == '\r' && s[2] == '\n') {
                assert_true(col + 1 <= 76);
                col = 0;
                s += 3;
                continue;
            }
            {
                char hex[3] = {s[1], s[2], '\0'};

                out[len++] = (char)strtol(hex, NULL, 16);
            }
            col += 3;
            s += 3;
        } else {
            assert_true((unsigned char)s[0] >= 32 || s[0] == '\t');
            assert_true((unsigned char)s[0] < 127);
            out[len++] = s[0];
            col++;
            s++;
        }
        assert_true(len < size);
    }
    assert_true(col <= 76);
    out[len] = '\0';
}

/* The body between a part's blank line and the next boundary. */
static void csam_test_part(const char *msg, const char *type, char *out,
                           size_t size)
{
    char header[128];
    const char *start, *end;

    snprintf(header, sizeof(header),
             "Content-Type: %s; charset=UTF-8\r\n"
             "Content-Transfer-Encoding: "
             "quoted-printable\r\n\r\n",
             type);
    start = strstr(msg, header);
    assert_non_null(start);
    start += strlen(header);
    end = strstr(start, "\r\n--=_csam_");
    assert_non_null(end);
    csam_test_qp_decode(start, end, out, size);
}

static char *csam_test_header(const char *msg, const char *name)
{
    const char *p = msg;
    size_t n = strlen(name);
    const char *body = strstr(msg, "\r\n\r\n");

    assert_non_null(body);
    while (p < body) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            const char *e = v;

            while (!(e[0] == '\r' && e[1] == '\n' && e[2] != ' '))
                e++;
            while (*v == ' ')
                v++;
            return strndup(v, (size_t)(e - v));
        }
        p = strstr(p, "\r\n") + 2;
    }
    return NULL;
}

static void test_format_message(void **state)
{
    struct csam_mail_content c;
    struct csam_message msg;
    char *wire, *h;
    char dec[8192], words[512];
    const char *p;
    size_t i, k;

    (void)state;
    for (i = 0; i < 4; i++) {
        for (k = 0; k < 5; k++) {
            csam_test_compose(csam_test_langs[i], csam_test_kinds[k],
                              csam_test_vars, CSAM_TEST_NVARS, &c);
            msg.to = "anais.dupont@example.org";
            msg.subject = c.subject;
            msg.text = c.text;
            msg.html = c.html;
            msg.kind = csam_test_kinds[k];
            msg.secret = NULL;
            assert_int_equal(csam_mail_format(CSAM_TEST_FROM, &msg, &wire),
                             CSAM_OK);

            /* CRLF only, header lines within 998 */
            for (p = wire; *p != '\0'; p++)
                if (*p == '\n')
                    assert_int_equal(p[-1], '\r');
            h = csam_test_header(wire, "Subject");
            assert_non_null(h);
            csam_test_decode_words(h, words, sizeof(words));
            assert_string_equal(words, c.subject);
            free(h);
            h = csam_test_header(wire, "To");
            assert_string_equal(h, "<anais.dupont@example.org>");
            free(h);
            h = csam_test_header(wire, "From");
            assert_true(strncmp(h, "=?UTF-8?B?", 10) == 0);
            assert_non_null(strstr(h, " <noreply@example.be>"));
            free(h);
            h = csam_test_header(wire, "MIME-Version");
            assert_string_equal(h, "1.0");
            free(h);
            h = csam_test_header(wire, "Message-ID");
            assert_non_null(strstr(h, "@example.be>"));
            free(h);
            h = csam_test_header(wire, "Date");
            assert_non_null(strstr(h, " +0000"));
            free(h);
            h = csam_test_header(wire, "Content-Type");
            assert_true(strncmp(h, "multipart/alternative;", 22) == 0);
            free(h);

            csam_test_part(wire, "text/plain", dec, sizeof(dec));
            assert_string_equal(dec, c.text);
            if (strcmp(csam_test_kinds[k], "code") == 0) {
                char run[16] = "";

                assert_int_equal(csam_test_digit_runs(dec, run, sizeof(run)),
                                 1);
                assert_string_equal(run, "04821937");
            }
            csam_test_part(wire, "text/html", dec, sizeof(dec));
            assert_string_equal(dec, c.html);
            assert_non_null(strstr(wire, "--\r\n"));
            free(wire);
            csam_mail_content_free(&c);
        }
    }
}

static void test_format_qp_edges(void **state)
{
    struct csam_message msg = {"a@example.be", "Test", NULL,
                               "<p>x</p>",     "test", NULL};
    char text[600], dec[2048];
    char *wire;

    (void)state;
    /* a long line of multibyte characters, a trailing blank, a leading
     * dot and "From " at the start of a line */
    memset(text, 0, sizeof(text));
    for (size_t i = 0; i < 100; i++)
        strcat(text, "é");
    strcat(text, " \n.hidden\nFrom here\n= sign\tand tab\t\nend");
    msg.text = text;
    assert_int_equal(csam_mail_format("a@example.be", &msg, &wire), CSAM_OK);
    assert_null(strstr(wire, "\r\n.hidden"));
    assert_null(strstr(wire, "\r\nFrom here"));
    csam_test_part(wire, "text/plain", dec, sizeof(dec));
    assert_string_equal(dec, text);
    free(wire);
}

static void test_format_refuses_injection(void **state)
{
    struct csam_message msg = {"a@example.be", "Test", "x",
                               "<p>x</p>",     "test", NULL};
    char *wire = (char *)1;

    (void)state;
    assert_int_equal(csam_mail_format("a@example.be\r\nBcc: b@example.be", &msg,
                                      &wire),
                     CSAM_ERR_INVALID);
    assert_null(wire);
    msg.to = "a@example.be\nBcc: b@example.be";
    assert_int_equal(csam_mail_format("a@example.be", &msg, &wire),
                     CSAM_ERR_INVALID);
    msg.to = "a@example.be";
    msg.subject = "Hi\r\nBcc: b@example.be";
    assert_int_equal(csam_mail_format("a@example.be", &msg, &wire),
                     CSAM_ERR_INVALID);
    msg.subject = "Hi\rX";
    assert_int_equal(csam_mail_format("a@example.be", &msg, &wire),
                     CSAM_ERR_INVALID);
    msg.subject = "Test";
    msg.to = "not an address";
    assert_int_equal(csam_mail_format("a@example.be", &msg, &wire),
                     CSAM_ERR_INVALID);
    msg.to = "a@example.be";
    assert_int_equal(csam_mail_format(NULL, &msg, &wire), CSAM_ERR_INVALID);
    msg.text = NULL;
    assert_int_equal(csam_mail_format("a@example.be", &msg, &wire),
                     CSAM_ERR_INVALID);
}

static void test_display_name_quoting(void **state)
{
    struct csam_message msg = {"a@example.be", "Test", "x",
                               "<p>x</p>",     "test", NULL};
    char *wire, *h;

    (void)state;
    assert_int_equal(csam_mail_format("CSAM, BOSA <n@example.be>", &msg, &wire),
                     CSAM_OK);
    h = csam_test_header(wire, "From");
    assert_string_equal(h, "\"CSAM, BOSA\" <n@example.be>");
    free(h);
    free(wire);
    assert_int_equal(csam_mail_format("CSAM <n@example.be>", &msg, &wire),
                     CSAM_OK);
    h = csam_test_header(wire, "From");
    assert_string_equal(h, "CSAM <n@example.be>");
    free(h);
    free(wire);
}

/* An address whose domain is typed in Unicode goes into the headers in
 * its A-label form (no SMTPUTF8): To and From, mailbox and bare. */
static void test_format_idn_domain(void **state)
{
    struct csam_message msg = {
        "citoyen@exemple-été.be", "Test", "x", "<p>x</p>", "test", NULL};
    char name[CSAM_MAILBOX_NAME_MAX + 1], addr[CSAM_EMAIL_MAX + 1];
    char *wire, *h;

    (void)state;
    assert_int_equal(csam_mail_format("Commune <noreply@exemple-été.be>", &msg,
                                      &wire),
                     CSAM_OK);
    h = csam_test_header(wire, "To");
    assert_string_equal(h, "<citoyen@xn--exemple-t-i4ab.be>");
    free(h);
    h = csam_test_header(wire, "From");
    assert_string_equal(h, "Commune <noreply@xn--exemple-t-i4ab.be>");
    free(h);
    /* the Message-ID's domain is the sender's, in the same form */
    assert_null(strstr(wire, "été"));
    free(wire);

    assert_int_equal(csam_mail_mailbox_parse("Anaïs <anais@bücher.example>",
                                             name, sizeof(name), addr,
                                             sizeof(addr)),
                     CSAM_OK);
    assert_string_equal(name, "Anaïs");
    assert_string_equal(addr, "anais@xn--bcher-kva.example");
    /* a UTF-8 local part would need SMTPUTF8: refused */
    msg.to = "citoyén@exemple-été.be";
    assert_int_equal(csam_mail_format("noreply@example.be", &msg, &wire),
                     CSAM_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose_every_kind_and_language),
        cmocka_unit_test(test_activation_fr),
        cmocka_unit_test(test_activation_subjects),
        cmocka_unit_test(test_html_values_escaped),
        cmocka_unit_test(test_code_is_only_digit_run),
        cmocka_unit_test(test_compose_errors),
        cmocka_unit_test(test_fallback_to_fr),
        cmocka_unit_test(test_key_labels),
        cmocka_unit_test(test_mailbox_parse),
        cmocka_unit_test(test_encode_header),
        cmocka_unit_test(test_format_message),
        cmocka_unit_test(test_format_qp_edges),
        cmocka_unit_test(test_format_refuses_injection),
        cmocka_unit_test(test_display_name_quoting),
        cmocka_unit_test(test_format_idn_domain),
    };

    return cmocka_run_group_tests(tests, csam_test_setup, NULL);
}
