#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The pages' markup is written once: an edit of a shared page (or of a
part several pages share) shows in fr, nl, de and en, each with its own
words from its messages.txt; a portal's <lang>/<page>.html wins over the
shared page for that language only; a page naming a text or a part that
does not exist stops httpd at startup with a message naming the file."""
import os
import shutil
import subprocess
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__)
CONF_DIR = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
SCRATCH = os.environ["CSAM_TEST_TMPDIR"]
PAGES = os.path.join(CONF_DIR, "data", "templates", "pages")
LANGS = ("fr", "nl", "de", "en")


def texts(lang):
    """messages.txt of lang, as the module reads it."""
    out = {}
    with open(os.path.join(PAGES, lang, "messages.txt"),
              encoding="utf-8") as f:
        for line in f:
            line = line.strip(" \t\r\n")
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                out[key.strip(" \t")] = value.strip(" \t")
    return out


def page(path, lang):
    status, _, raw = t.request("GET", path,
                               headers={"Accept-Language": lang})
    t.check(status == 200, "GET %s in %s" % (path, lang), status, raw[:300])
    return raw.decode("utf-8")


def restart():
    subprocess.run([os.environ["CSAM_TEST_HTTPD_RESTART"], "1"], check=True)


def edit(name, old, new):
    path = os.path.join(PAGES, name)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    t.check(old in text, "%s holds %r" % (name, old))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))


def test_one_edit_shows_in_every_language():
    """An attribute added once to login.html: every language has it,
    around its own words."""
    edit("login.html", "<h1>", '<h1 data-portal="edited-once">')
    restart()
    for lang in LANGS:
        html = page("/csam/login", lang)
        t.check('<html lang="%s">' % lang in html, "page in " + lang)
        heading = '<h1 data-portal="edited-once">%s</h1>' % texts(lang)[
            "login.heading"]
        t.check(heading in html, "shared markup with the %s words" % lang,
                heading, html[:800])


def test_part_edited_once():
    """A part edited once shows, with each language's words, wherever it
    is named: here in fr and en pages of a portal's own (login.html, whose
    action and csrf the cancel form needs), so no key flow is needed."""
    edit(os.path.join("parts", "code_cancel.html"), "<form ",
         '<form data-portal="part-once" ')
    for lang in ("fr", "en"):
        with open(os.path.join(PAGES, lang, "login.html"), "w",
                  encoding="utf-8") as f:
            f.write("<h1>{{msg.login.heading}}</h1>\n{{part.code_cancel}}\n")
    restart()
    for lang in ("fr", "en"):
        html = page("/csam/login", lang)
        words = texts(lang)
        t.check('<form data-portal="part-once" method="post" '
                'action="/csam/login?' in html,
                "the edited part in " + lang, html[:1200])
        t.check('class="secondary">%s</button>\n</form>\n\n</main>'
                % words["button.cancel"] in html,
                "the part with the %s words, its last newline dropped"
                % lang, html[-600:])
        t.check("<h1>%s</h1>" % words["login.heading"] in html,
                "the page's own text in " + lang)
        os.unlink(os.path.join(PAGES, lang, "login.html"))


def test_language_override_wins_for_that_language_only():
    override = os.path.join(PAGES, "nl", "login.html")
    with open(override, "w", encoding="utf-8") as f:
        f.write('<h1>Portaal {{msg.login.heading}}</h1>\n'
                '<p class="portal-nl">{{lang}} &amp; {{base}}</p>\n')
    restart()
    nl = page("/csam/login", "nl")
    t.check("<h1>Portaal %s</h1>" % texts("nl")["login.heading"] in nl,
            "the nl override is served", nl[:800])
    t.check('<p class="portal-nl">nl &amp; /csam</p>' in nl,
            "the override's own variables are filled", nl[:800])
    for lang in ("fr", "de", "en"):
        html = page("/csam/login", lang)
        t.check("portal-nl" not in html and 'data-portal="edited-once"'
                in html, "%s keeps the shared page" % lang)
    os.unlink(override)
    restart()
    t.check("portal-nl" not in page("/csam/login", "nl"),
            "without the file, nl is the shared page again")


def configtest(data_dir):
    """`apache2 -t` with CSAMDataDir data_dir: (status, output)."""
    path = os.path.join(SCRATCH, "pages-configtest.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write("Include %s/base.conf\n" % CONF_DIR)
        with open(os.path.join(CONF_DIR, "csam.conf"),
                  encoding="utf-8") as conf:
            for line in conf:
                if not line.startswith("CSAMDataDir "):
                    f.write(line)
        f.write('CSAMDataDir "%s"\n' % data_dir)
    p = subprocess.run([os.environ["CSAM_TEST_APACHE2"], "-t", "-f", path],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def broken_copy(name):
    data = os.path.join(SCRATCH, name)
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(os.path.join(CONF_DIR, "data"), data)
    return data, os.path.join(data, "templates", "pages")


def test_missing_text_or_part_refused_at_startup():
    data, pages = broken_copy("pages-good")
    status, out = configtest(data)
    t.check(status == 0, "the copy itself passes", out)

    data, pages = broken_copy("pages-no-text")
    messages = os.path.join(pages, "de", "messages.txt")
    with open(messages, encoding="utf-8") as f:
        lines = [ln for ln in f if not ln.startswith("login.heading ")]
    with open(messages, "w", encoding="utf-8") as f:
        f.writelines(lines)
    status, out = configtest(data)
    t.check(status != 0, "a text missing in de is refused", out)
    t.check("login.html" in out
            and "de/messages.txt has no text 'login.heading'" in out,
            "the message names the page, messages.txt and the text", out)

    data, pages = broken_copy("pages-no-part")
    os.unlink(os.path.join(pages, "parts", "code_cancel.html"))
    status, out = configtest(data)
    t.check(status != 0 and "code_cancel.html" in out,
            "a missing part is refused, named", out)

    data, pages = broken_copy("pages-nested-part")
    with open(os.path.join(pages, "parts", "code_cancel.html"), "a",
              encoding="utf-8") as f:
        f.write("{{part.code_resend}}\n")
    status, out = configtest(data)
    t.check(status != 0 and "holds a {{part.*}}" in out,
            "a part inside a part is refused", out)


t.run([
    test_one_edit_shows_in_every_language,
    test_part_edited_once,
    test_language_override_wins_for_that_language_only,
    test_missing_text_or_part_refused_at_startup,
])
