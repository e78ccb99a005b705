#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Branding that survives upgrades: CSAMTemplatesDir (the administrator's
directory, /etc/csam/templates by default) holds one page in one language,
one mail template in one language and a few texts; each of those files is
used instead of the shipped one, every other file stays the shipped one.
A directory or file there that others could change stops httpd at
startup with a message naming it."""
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
# httpd-run names it in CSAMTemplatesDir and leaves it absent.
OWN = os.path.join(CONF_DIR, "templates")
SHIPPED = os.path.join(CONF_DIR, "data", "templates")

OWN_NL_PAGE = ('<h1 class="portal-nl">Portaal: {{msg.login.heading}}</h1>\n'
               '<p>{{lang}}</p>\n')
OWN_NL_SUBJECT = "Gemeente Voorbeeld: activering van uw sleutels\n"
OWN_FR_TEXTS = ("# only the texts the portal changes\n"
                "login.heading = Connexion au portail de la commune\n")


def write(rel, text, mode=0o644):
    path = os.path.join(OWN, rel)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def shipped(rel):
    with open(os.path.join(SHIPPED, rel), encoding="utf-8") as f:
        return f.read()


def shipped_sent(rel):
    """A shipped mail or SMS template as what is sent starts: without its
    first line, the "{{! ... }}" licence comment the render drops."""
    text = shipped(rel)
    return text.partition("\n")[2] if text.startswith("{{!") else text


def shipped_text(lang, key):
    for line in shipped("pages/%s/messages.txt" % lang).splitlines():
        k, sep, v = line.partition("=")
        if sep and k.strip() == key:
            return v.strip()
    raise t.Failure("no %s in %s/messages.txt" % (key, lang))


def page(path, lang):
    status, _, raw = t.request("GET", path,
                               headers={"Accept-Language": lang})
    t.check(status == 200, "GET %s in %s" % (path, lang), status, raw[:300])
    return raw.decode("utf-8")


def restart():
    subprocess.run([os.environ["CSAM_TEST_HTTPD_RESTART"], "1"], check=True)


def test_overrides_used_file_by_file():
    """One page (nl), one mail part (nl subject) and one text (fr) of the
    administrator's; everything else shipped."""
    os.makedirs(OWN, mode=0o755, exist_ok=True)
    os.chmod(OWN, 0o755)
    write("pages/nl/login.html", OWN_NL_PAGE)
    write("mail/nl/activation.subject", OWN_NL_SUBJECT)
    write("pages/fr/messages.txt", OWN_FR_TEXTS)
    restart()

    nl = page("/csam/login", "nl")
    t.check('<h1 class="portal-nl">Portaal: %s</h1>'
            % shipped_text("nl", "login.heading") in nl,
            "the administrator's nl login page, with the shipped nl texts",
            nl[:800])
    t.check('name="password"' not in nl,
            "the nl page is the override, not the shipped one", nl[:800])
    fr = page("/csam/login", "fr")
    t.check("<h1>Connexion au portail de la commune</h1>" in fr,
            "the administrator's fr text replaces the shipped one", fr[:1200])
    t.check(shipped_text("fr", "button.next") in fr
            and 'name="password"' in fr,
            "the other fr texts and the page are the shipped ones",
            fr[:1600])
    for lang in ("de", "en"):
        html = page("/csam/login", lang)
        t.check("<h1>%s</h1>" % shipped_text(lang, "login.heading") in html
                and "portal-nl" not in html,
                "%s is the shipped page with the shipped texts" % lang,
                html[:800])
    # the stylesheet, not overridden, is the shipped one
    status, _, css = t.request("GET", "/csam/static/csam.css")
    t.check(status == 200 and css.decode("utf-8") == shipped(
        "pages/csam.css"), "the shipped stylesheet")

    mailbox = t.Mailbox()
    reg = t.citizen(language="nl")
    _, _, token = t.register(mailbox, reg)
    msg = mailbox.last
    t.check(str(msg["Subject"]) == OWN_NL_SUBJECT.strip(),
            "the administrator's nl subject", str(msg["Subject"]))
    body = t.text_of(msg)
    t.check(body.startswith("Beste %s %s," % (reg["first_name"],
                                              reg["last_name"]))
            and token in body,
            "the shipped nl body, link and all", body[:300])
    reg = t.citizen(language="fr")
    t.register(mailbox, reg)
    t.check(str(mailbox.last["Subject"])
            == "CSAM – Mes clés numériques : activation",
            "fr keeps the shipped subject (the override is nl's alone)",
            str(mailbox.last["Subject"]))
    reg = t.citizen(language="de")
    t.register(mailbox, reg)
    t.check(str(mailbox.last["Subject"])
            == shipped_sent("mail/de/activation.subject").strip(),
            "de keeps its shipped subject", str(mailbox.last["Subject"]))


def configtest(own):
    """`apache2 -t` with CSAMTemplatesDir own: (status, output)."""
    path = os.path.join(SCRATCH, "templates-configtest.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write("Include %s/base.conf\n" % CONF_DIR)
        with open(os.path.join(CONF_DIR, "csam.conf"),
                  encoding="utf-8") as conf:
            for line in conf:
                if not line.startswith("CSAMTemplatesDir "):
                    f.write(line)
        f.write('CSAMTemplatesDir "%s"\n' % own)
    p = subprocess.run([os.environ["CSAM_TEST_APACHE2"], "-t", "-f", path],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def own_copy(name):
    own = os.path.join(SCRATCH, name)
    shutil.rmtree(own, ignore_errors=True)
    shutil.copytree(OWN, own)
    os.chmod(own, 0o755)
    return own


def test_unsafe_override_refused_at_startup():
    own = own_copy("templates-good")
    status, out = configtest(own)
    t.check(status == 0, "the copy itself passes", out)
    status, out = configtest(os.path.join(SCRATCH, "templates-absent"))
    t.check(status == 0, "an absent directory overrides nothing", out)

    own = own_copy("templates-open-dir")
    os.chmod(own, 0o777)
    status, out = configtest(own)
    t.check(status != 0, "a directory everyone can write is refused", out)
    t.check("CSAMTemplatesDir" in out and own in out
            and "writable by group or others (mode 0777)" in out,
            "the message names the directive, the directory and why", out)

    own = own_copy("templates-open-file")
    mail = os.path.join(own, "mail", "nl", "activation.subject")
    os.chmod(mail, 0o666)
    status, out = configtest(own)
    t.check(status != 0 and mail in out
            and "writable by group or others (mode 0666)" in out,
            "a mail template others can write is refused, named", out)

    own = own_copy("templates-open-subdir")
    os.chmod(os.path.join(own, "pages", "nl"), 0o775)
    status, out = configtest(own)
    t.check(status != 0 and os.path.join(own, "pages", "nl") in out,
            "a subdirectory its group can write is refused, named", out)


t.run([
    test_overrides_used_file_by_file,
    test_unsafe_override_refused_at_startup,
])
