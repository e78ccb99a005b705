/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mail content: localized key names, composing from templates, and the
 * RFC 5322 + MIME wire format (mailboxes are split by base's mailbox.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "mail.h"
#include "validate.h"

static void csam_mail_wipe_string(char *s)
{
    csam_wipe(s, strlen(s));
}

const char *csam_mail_key_label(const char *lang, enum csam_key_type type)
{
    static const struct {
        const char *lang;
        const char *email, *sms, *totp;
    } labels[] = {
        {"fr", "code de sécurité par e-mail", "code de sécurité par SMS",
         "application mobile"},
        {"nl", "beveiligingscode via e-mail", "beveiligingscode via sms",
         "mobiele app"},
        {"de", "Sicherheitscode per E-Mail", "Sicherheitscode per SMS",
         "Mobile App"},
        {"en", "security code by e-mail", "security code by SMS", "mobile app"},
    };
    size_t i, which = 0;

    for (i = 0; lang != NULL && i < sizeof(labels) / sizeof(labels[0]); i++)
        if (strcmp(lang, labels[i].lang) == 0)
            which = i;
    switch (type) {
    case CSAM_KEY_EMAIL: return labels[which].email;
    case CSAM_KEY_SMS: return labels[which].sms;
    case CSAM_KEY_TOTP: return labels[which].totp;
    case CSAM_KEY_NONE: break;
    }
    return "";
}

/* ------------------------------------------------------------ compose */

#define CSAM_MAIL_KIND_MAX 32
#define CSAM_MAIL_SUBJECT_MAX 512

static const char *csam_mail_lang(const char *lang)
{
    if (lang != NULL && csam_language_check(lang) == CSAM_OK)
        return lang;
    return "fr";
}

/* Kinds become file names: only [a-z_], so no path can be smuggled in. */
static int csam_mail_kind_ok(const char *kind)
{
    size_t i;

    if (kind == NULL || kind[0] == '\0')
        return 0;
    for (i = 0; kind[i] != '\0'; i++)
        if (i >= CSAM_MAIL_KIND_MAX
            || !((kind[i] >= 'a' && kind[i] <= 'z') || kind[i] == '_'))
            return 0;
    return 1;
}

/* One part of a mail, the administrator's file when there is one. */
static csam_result csam_mail_read_part(const struct csam_template_dirs *dirs,
                                       const char *lang, const char *kind,
                                       const char *ext, char **out, char *err,
                                       size_t errlen)
{
    char rel[96];

    snprintf(rel, sizeof(rel), "mail/%s/%s.%s", lang, kind, ext);
    return csam_template_load(dirs, CSAM_TEMPLATE_ANY, rel, out, NULL, err,
                              errlen);
}

void csam_mail_content_free(struct csam_mail_content *content)
{
    if (content == NULL)
        return;
    /* rendered parts hold codes and links */
    if (content->subject != NULL)
        csam_mail_wipe_string(content->subject);
    if (content->text != NULL)
        csam_mail_wipe_string(content->text);
    if (content->html != NULL)
        csam_mail_wipe_string(content->html);
    free(content->subject);
    free(content->text);
    free(content->html);
    memset(content, 0, sizeof(*content));
}

csam_result csam_mail_compose(const struct csam_template_dirs *dirs,
                              const char *lang, const char *kind,
                              const struct csam_tvar *vars, size_t nvars,
                              struct csam_mail_content *out, char *err,
                              size_t errlen)
{
    static const char *const exts[3] = {"subject", "txt", "html"};
    char *tmpl[3] = {NULL, NULL, NULL};
    char *rendered[3] = {NULL, NULL, NULL};
    csam_result res;
    size_t i, len;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (dirs == NULL || !csam_mail_kind_ok(kind))
        return CSAM_ERR_INVALID;
    lang = csam_mail_lang(lang);

    /* All three parts from one language: a mail is never half French.
     * Each part is looked for on its own, though: an administrator's
     * subject line goes with the shipped bodies. */
    for (i = 0; i < 3; i++) {
        res = csam_mail_read_part(dirs, lang, kind, exts[i], &tmpl[i], err,
                                  errlen);
        if (res != CSAM_OK)
            break;
    }
    if (res == CSAM_ERR_NOT_FOUND && strcmp(lang, "fr") != 0) {
        for (i = 0; i < 3; i++) {
            free(tmpl[i]);
            tmpl[i] = NULL;
        }
        for (i = 0; i < 3; i++) {
            res = csam_mail_read_part(dirs, "fr", kind, exts[i], &tmpl[i], err,
                                      errlen);
            if (res != CSAM_OK)
                break;
        }
    }
    if (res == CSAM_ERR_NOT_FOUND)
        res = CSAM_ERR_IO; /* the contract: no template is an I/O error */
    if (res != CSAM_OK)
        goto out;

    for (i = 0; i < 3; i++) {
        res = csam_template_render(tmpl[i], vars, nvars,
                                   i == 2 ? CSAM_ESCAPE_HTML : CSAM_ESCAPE_NONE,
                                   &rendered[i]);
        if (res != CSAM_OK) {
            csam_error_set(err, errlen,
                           "the %s template of '%s' (%s) does not render",
                           exts[i], kind, lang);
            goto out;
        }
    }
    /* the subject file ends with a newline; the subject itself is one line */
    len = strlen(rendered[0]);
    while (len > 0
           && (rendered[0][len - 1] == '\n' || rendered[0][len - 1] == '\r'
               || rendered[0][len - 1] == ' '))
        rendered[0][--len] = '\0';
    if (len == 0 || len > CSAM_MAIL_SUBJECT_MAX
        || csam_text_check(rendered[0], CSAM_MAIL_SUBJECT_MAX) != CSAM_OK) {
        res = CSAM_ERR_INVALID;
        goto out;
    }
    out->subject = rendered[0];
    out->text = rendered[1];
    out->html = rendered[2];
    rendered[0] = rendered[1] = rendered[2] = NULL;

out:
    for (i = 0; i < 3; i++) {
        free(tmpl[i]);
        if (rendered[i] != NULL)
            csam_mail_wipe_string(rendered[i]);
        free(rendered[i]);
    }
    return res;
}

/* ------------------------------------------------------------ wire format */

struct csam_mail_buf {
    char *data;
    size_t len, cap;
    int failed;
};

/* A message body is bounded by its templates (256 KiB each) and their
 * values; past this something is wrong. */
#define CSAM_MAIL_MAX (8 * 1024 * 1024)

static void csam_mail_put(struct csam_mail_buf *buf, const char *s, size_t n)
{
    if (buf->failed)
        return;
    if (n > CSAM_MAIL_MAX - buf->len) {
        buf->failed = 1;
        return;
    }
    if (buf->len + n + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 1024;
        char *p;

        while (cap < buf->len + n + 1)
            cap *= 2;
        p = realloc(buf->data, cap);
        if (p == NULL) {
            buf->failed = 1;
            return;
        }
        buf->data = p;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, s, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
}

static void csam_mail_puts(struct csam_mail_buf *buf, const char *s)
{
    csam_mail_put(buf, s, strlen(s));
}

static void csam_mail_buf_free(struct csam_mail_buf *buf)
{
    if (buf->data != NULL)
        csam_wipe(buf->data, buf->cap);
    free(buf->data);
    memset(buf, 0, sizeof(*buf));
}

static int csam_mail_plain_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* Length of the UTF-8 sequence starting with byte c (1 for stray bytes,
 * which csam_text_check refused earlier anyway). */
static size_t csam_mail_utf8_len(unsigned char c)
{
    if (c >= 0xf0)
        return 4;
    if (c >= 0xe0)
        return 3;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/* Each encoded word carries at most 39 bytes (52 base64 characters, a
 * 64-character word) so that "Subject: " plus the first word stays within
 * 78 columns; words never split a UTF-8 character (RFC 2047 section 5). */
#define CSAM_MAIL_WORD_BYTES 39

static void csam_mail_put_encoded(struct csam_mail_buf *buf, const char *s)
{
    size_t len = strlen(s);
    size_t pos = 0;
    int first = 1;

    while (pos < len) {
        unsigned char b64[CSAM_MAIL_WORD_BYTES * 4 / 3 + 4];
        size_t n = 0;
        int enc;

        while (pos + n < len) {
            size_t c = csam_mail_utf8_len((unsigned char)s[pos + n]);

            if (n + c > CSAM_MAIL_WORD_BYTES)
                break;
            n += c;
        }
        if (pos + n > len)
            n = len - pos;
        enc = EVP_EncodeBlock(b64, (const unsigned char *)s + pos, (int)n);
        if (!first)
            csam_mail_puts(buf, "\r\n ");
        csam_mail_puts(buf, "=?UTF-8?B?");
        csam_mail_put(buf, (const char *)b64, enc > 0 ? (size_t)enc : 0);
        csam_mail_puts(buf, "?=");
        pos += n;
        first = 0;
    }
}

/* Plain ASCII folded at spaces so lines stay near 78 columns: a fold is
 * CRLF followed by the space it replaces, so unfolding restores the value
 * (RFC 5322 2.2.3). */
static void csam_mail_put_folded(struct csam_mail_buf *buf, const char *s,
                                 size_t col)
{
    int first = 1;

    for (;;) {
        const char *sp = strchr(s, ' ');
        size_t n = sp ? (size_t)(sp - s) : strlen(s);

        if (!first) {
            if (col + 1 + n > 78 && n > 0) {
                csam_mail_puts(buf, "\r\n ");
                col = 1;
            } else {
                csam_mail_put(buf, " ", 1);
                col++;
            }
        }
        csam_mail_put(buf, s, n);
        col += n;
        if (sp == NULL)
            break;
        s = sp + 1;
        first = 0;
    }
}

static int csam_mail_needs_encoding(const char *s)
{
    return !csam_mail_plain_ascii(s) || strstr(s, "=?") != NULL;
}

char *csam_mail_encode_header(const char *value)
{
    struct csam_mail_buf buf = {NULL, 0, 0, 0};

    if (value == NULL)
        return NULL;
    csam_mail_put(&buf, "", 0);
    if (csam_mail_needs_encoding(value))
        csam_mail_put_encoded(&buf, value);
    else
        csam_mail_put_folded(&buf, value, 9);
    if (buf.failed) {
        csam_mail_buf_free(&buf);
        return NULL;
    }
    return buf.data;
}

static int csam_mail_has_crlf(const char *s)
{
    return s == NULL || strchr(s, '\r') != NULL || strchr(s, '\n') != NULL;
}

/* A display name as a phrase: encoded words when not ASCII, a quoted
 * string when it holds RFC 5322 specials, else as it is. */
static void csam_mail_put_mailbox(struct csam_mail_buf *buf, const char *name,
                                  const char *addr)
{
    if (name[0] != '\0') {
        if (csam_mail_needs_encoding(name)) {
            csam_mail_put_encoded(buf, name);
        } else if (strpbrk(name, "()<>[]:;@\\,.\"") != NULL) {
            csam_mail_puts(buf, "\"");
            csam_mail_puts(buf, name);
            csam_mail_puts(buf, "\"");
        } else {
            csam_mail_puts(buf, name);
        }
        csam_mail_puts(buf, " ");
    }
    csam_mail_puts(buf, "<");
    csam_mail_puts(buf, addr);
    csam_mail_puts(buf, ">");
}

/* Quoted-printable (RFC 2045 6.7): lines of at most 76 characters, CRLF
 * hard breaks for the text's own line ends, trailing blanks encoded, and a
 * leading '.' or "From " encoded so no relay or mbox mangles a line. */
static void csam_mail_put_qp(struct csam_mail_buf *buf, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char enc[4];
        size_t n;
        int literal;

        if (c == '\n' || (c == '\r' && s[1] == '\n')) {
            if (c == '\r')
                s++;
            csam_mail_puts(buf, "\r\n");
            col = 0;
            continue;
        }
        literal = (c >= 33 && c <= 126 && c != '=')
                  || ((c == ' ' || c == '\t') && s[1] != '\0' && s[1] != '\n'
                      && s[1] != '\r');
        /* room for the soft break '=' at column 76 (an encoded byte
         * never splits) */
        if (col + (literal ? 1 : 3) > 75) {
            csam_mail_puts(buf, "=\r\n");
            col = 0;
        }
        if (col == 0 && (c == '.' || (c == 'F' && strncmp(s, "From ", 5) == 0)))
            literal = 0;
        if (literal) {
            enc[0] = (char)c;
            n = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            n = 3;
        }
        csam_mail_put(buf, enc, n);
        col += n;
    }
}

static void csam_mail_put_date(struct csam_mail_buf *buf, time_t now)
{
    /* English names whatever the process locale (RFC 5322 3.3) */
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    char line[64];

    if (gmtime_r(&now, &tm) == NULL) {
        buf->failed = 1;
        return;
    }
    snprintf(line, sizeof(line), "%s, %02d %s %04d %02d:%02d:%02d +0000",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    csam_mail_puts(buf, line);
}

static csam_result csam_mail_random_hex(char *out, size_t bytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[32];
    size_t i;

    if (bytes > sizeof(raw) || csam_random_bytes(raw, bytes) != CSAM_OK)
        return CSAM_ERR_CRYPTO;
    for (i = 0; i < bytes; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * bytes] = '\0';
    return CSAM_OK;
}

csam_result csam_mail_format(const char *from, const struct csam_message *msg,
                             char **out)
{
    struct csam_mail_buf buf = {NULL, 0, 0, 0};
    char from_name[CSAM_MAILBOX_NAME_MAX + 1];
    char from_addr[CSAM_EMAIL_MAX + 1];
    char to_name[CSAM_MAILBOX_NAME_MAX + 1];
    char to_addr[CSAM_EMAIL_MAX + 1];
    /* "=_" cannot appear in quoted-printable output: a safe boundary */
    char boundary[48] = "=_csam_";
    char id[33];
    const char *domain;
    char *subject;

    if (out == NULL)
        return CSAM_ERR_INVALID;
    *out = NULL;
    if (msg == NULL || csam_mail_has_crlf(from) || csam_mail_has_crlf(msg->to)
        || csam_mail_has_crlf(msg->subject) || msg->text == NULL
        || msg->html == NULL)
        return CSAM_ERR_INVALID;
    if (csam_mail_mailbox_parse(from, from_name, sizeof(from_name), from_addr,
                                sizeof(from_addr))
            != CSAM_OK
        || csam_mail_mailbox_parse(msg->to, to_name, sizeof(to_name), to_addr,
                                   sizeof(to_addr))
               != CSAM_OK
        || csam_text_check(msg->subject, CSAM_MAIL_SUBJECT_MAX) != CSAM_OK)
        return CSAM_ERR_INVALID;
    if (csam_mail_random_hex(boundary + 7, 16) != CSAM_OK
        || csam_mail_random_hex(id, 16) != CSAM_OK)
        return CSAM_ERR_CRYPTO;
    subject = csam_mail_encode_header(msg->subject);
    if (subject == NULL)
        return CSAM_ERR_NOMEM;
    domain = strrchr(from_addr, '@') + 1;

    csam_mail_puts(&buf, "From: ");
    csam_mail_put_mailbox(&buf, from_name, from_addr);
    csam_mail_puts(&buf, "\r\nTo: ");
    csam_mail_put_mailbox(&buf, to_name, to_addr);
    csam_mail_puts(&buf, "\r\nSubject: ");
    csam_mail_puts(&buf, subject);
    csam_mail_puts(&buf, "\r\nDate: ");
    csam_mail_put_date(&buf, time(NULL));
    csam_mail_puts(&buf, "\r\nMessage-ID: <");
    csam_mail_puts(&buf, id);
    csam_mail_puts(&buf, "@");
    csam_mail_puts(&buf, domain);
    csam_mail_puts(&buf, ">\r\nMIME-Version: 1.0\r\n"
                         "Auto-Submitted: auto-generated\r\n"
                         "Content-Type: multipart/alternative;\r\n"
                         " boundary=\"");
    csam_mail_puts(&buf, boundary);
    csam_mail_puts(&buf, "\"\r\n\r\n--");
    csam_mail_puts(&buf, boundary);
    csam_mail_puts(&buf, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n"
                         "\r\n");
    csam_mail_put_qp(&buf, msg->text);
    /* the CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1) */
    csam_mail_puts(&buf, "\r\n--");
    csam_mail_puts(&buf, boundary);
    csam_mail_puts(&buf, "\r\nContent-Type: text/html; charset=UTF-8\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n"
                         "\r\n");
    csam_mail_put_qp(&buf, msg->html);
    csam_mail_puts(&buf, "\r\n--");
    csam_mail_puts(&buf, boundary);
    csam_mail_puts(&buf, "--\r\n");
    free(subject);
    if (buf.failed) {
        csam_mail_buf_free(&buf);
        return CSAM_ERR_NOMEM;
    }
    *out = buf.data;
    return CSAM_OK;
}
