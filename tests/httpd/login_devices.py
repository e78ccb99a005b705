#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Known devices and codes already sent (DESIGN 4), through httpd.

- OWASP device cookies: a browser that completed a login keeps csam_device
  and its own failure budget; an attacker who locks the account from a fresh
  client (wrong passwords), or wrong PAM codes that lock the account, never
  keep that browser out, while every other browser gets 423 locked.
- A login restarted while the code of the abandoned one is pending takes
  that code over: no second mail, the API says so ("reused", "sent_at"),
  the pages say when it was sent (fr, nl, de, en), and the mailed code logs
  the citizen in.
"""
import html
import json
import os
import re
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

# The resend cooldown keeps its default (60 s): the reuse happens inside it.
t.start(__file__, extra_conf="CSAMLockoutThreshold 4\n")
mbox = t.Mailbox()

ALREADY_SENT = {
    "fr": "Un code vous a déjà été envoyé à",
    "nl": "Er werd u om",
    "de": "Ihnen wurde um",
    "en": "A code was already sent to you at",
}


# ---------------------------------------------------------------- helpers

class Client:
    """A client with its own cookie jar: a browser, or a script."""

    def __init__(self, lang="en"):
        self.jar = {}
        self.lang = lang

    def _cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.jar.items())

    def _keep(self, headers):
        for line in headers.get("set-cookie", "").split("\n"):
            m = re.match(r"([a-z_]+)=([^;]*)", line)
            if not m:
                continue
            if "Max-Age=0" in line:
                self.jar.pop(m.group(1), None)
            else:
                self.jar[m.group(1)] = m.group(2)

    def api(self, path, payload):
        resp = t.api(path, payload, headers={"Cookie": self._cookie_header()})
        self._keep(resp.headers)
        return resp

    def page(self, method, path, form=None):
        """One request of a browser; returns (status, headers, text)."""
        h = {"Accept": "text/html", "Accept-Language": self.lang,
             "Cookie": self._cookie_header()}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        status, rh, data = t.request(method, path, body, h)
        self._keep(rh)
        return status, rh, data.decode("utf-8", "replace")

    def form_post(self, path, fields):
        """GET path, POST its form with the CSRF token, follow the 303;
        returns the page shown after it."""
        status, _, text = self.page("GET", path)
        t.check(status == 200, "form page", path, status)
        m = re.search(r'name="csrf" value="([^"]+)"', text)
        t.check(m is not None, "CSRF token on the page", path)
        fields = dict(fields, csrf=html.unescape(m.group(1)))
        status, rh, text = self.page("POST", path, fields)
        t.check(status == 303, "a POST is answered 303", status, text[:300])
        loc = rh["location"]
        if loc.startswith("http"):
            loc = urllib.parse.urlsplit(loc)._replace(scheme="", netloc="")
            loc = urllib.parse.urlunsplit(loc)
        return loc, self.page("GET", loc)


def active_account(lang="fr"):
    a = t.activate(mbox, t.citizen(language=lang))
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"], a["reg"]["email"]


def code_from(email):
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


def no_code_for(email, wait=1.0):
    """Assert no security code is mailed to email within wait seconds
    (notices, such as the key activation's, may come)."""
    time.sleep(wait)
    for name in mbox._new():
        with open(os.path.join(mbox.dir, name), "rb") as f:
            msg = t.email.message_from_binary_file(
                f, policy=t.email.policy.default)
        if email.lower() not in str(msg.get("To", "")).lower():
            continue
        mbox.seen.add(name)
        t.check(re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg))
                is None, "a second code was mailed", msg.get("Subject"))


def api_login(client, user, email, expect_mail=True):
    """Password, e-mail key, code through the API; the verify answer."""
    body = t.expect(client.api("login", {"username": user,
                                         "password": t.PASSWORD}), 200)
    t.expect(client.api("login/challenge", {"login": body["login"],
                                            "key_type": "email"}), 202)
    code = code_from(email)
    return client.api("login/verify", {"login": body["login"], "code": code})


def lock_name(user):
    """A fresh client guesses until the name is locked (delays skipped)."""
    attacker = Client()
    for _ in range(4):
        t.psql("UPDATE csam_password_failures SET delay_until = NULL")
        t.expect(attacker.api("login", {"username": user,
                                        "password": "Guess-guess-42"}),
                 401, "invalid_credentials")
    t.check(t.scalar("SELECT count(*) FROM csam_password_failures WHERE "
                     "locked_until > now()") == "1", "the name is locked")


def reset():
    t.forgive_source()
    t.psql("DELETE FROM csam_password_failures")


# ---------------------------------------------------------------- tests

def test_known_browser_survives_a_locked_name():
    reset()
    user, email = active_account()
    own = Client()
    resp = t.expect(api_login(own, user, email), 200)
    t.check("csam_device" in own.jar, "a completed login sets csam_device",
            resp)
    check_sealed(own)
    lock_name(user)
    # Any other client: locked, right password or not, same answer.
    fresh = Client()
    r1 = t.expect(fresh.api("login", {"username": user,
                                      "password": t.PASSWORD}), 423, "locked")
    r2 = t.expect(fresh.api("login", {"username": user,
                                      "password": "Guess-guess-43"}), 423,
                  "locked")
    t.check(set(r1) == set(r2) and r1["error"] == r2["error"], "same body",
            r1, r2)
    # A stolen-looking cookie (another account's device) is no help.
    other_user, other_email = active_account()
    thief = Client()
    t.expect(api_login(thief, other_user, other_email), 200)
    t.expect(thief.api("login", {"username": user, "password": t.PASSWORD}),
             423, "locked")
    # The citizen's own browser: right password and code log it in.
    resp = api_login(own, user, email)
    t.expect(resp, 200)
    t.check("csam_session" in own.jar, "session cookie", own.jar.keys())
    # Its own typos count on it, not on the name: still locked for others,
    # still open for it.
    t.expect(own.api("login", {"username": user, "password": "Typo-typo-1"}),
             401, "invalid_credentials")
    t.expect(fresh.api("login", {"username": user, "password": t.PASSWORD}),
             423, "locked")
    t.expect(own.api("login", {"username": user, "password": t.PASSWORD}),
             200)
    reset()


def check_sealed(client):
    """The csam_device cookie is sealed: base64url, longer than a token,
    and no token or username of the database in clear."""
    value = client.jar.get("csam_device", "")
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{60,}", value) is not None,
            "csam_device is sealed", value)


def test_account_locked_by_codes_spares_known_browser():
    """Wrong codes (PAM's or another browser's) lock the account: every
    unknown browser is refused, the known one logs in."""
    reset()
    user, email = active_account()
    own = Client()
    t.expect(api_login(own, user, email), 200)
    # What wrong PAM codes leave behind (tests/integration/
    # test_engine_login.c test_known_device drives pam_csam's engine).
    t.psql("UPDATE csam_accounts SET failures = 0, locked_until = now() + "
           "interval '10 minutes' WHERE username = '%s'" % user)
    fresh = Client()
    t.expect(fresh.api("login", {"username": user, "password": t.PASSWORD}),
             423, "locked")
    t.expect(fresh.api("login", {"username": user, "password": "No-no-no-1"}),
             423, "locked")
    t.expect(api_login(own, user, email), 200)
    # Both factors from the citizen's own browser lift the account's lock.
    t.check(t.scalar("SELECT locked_until IS NULL FROM csam_accounts WHERE "
                     "username = '%s'" % user) == "t", "lock lifted")
    reset()


def test_known_browser_pages():
    """The same through the HTML pages: the attacker locks the name, the
    browser that logged in before still logs in."""
    reset()
    user, email = active_account("en")
    own = Client("en")
    loc, (status, _, text) = own.form_post(
        "/csam/login", {"step": "password", "username": user,
                        "password": t.PASSWORD})
    t.check(status == 200 and 'name="code"' in text, "code page", status)
    code = code_from(email)
    loc, (status, _, text) = own.form_post(loc, {"step": "code",
                                                 "code": code})
    t.check("csam_session" in own.jar and "csam_device" in own.jar,
            "session and device cookies", own.jar.keys())
    lock_name(user)
    fresh = Client("en")
    loc, (status, _, text) = fresh.form_post(
        "/csam/login", {"step": "password", "username": user,
                        "password": t.PASSWORD})
    t.check("Too many wrong attempts" in text and 'name="code"' not in text,
            "a fresh browser is told the lock", text[:2000])
    own.jar.pop("csam_session", None)
    loc, (status, _, text) = own.form_post(
        "/csam/login", {"step": "password", "username": user,
                        "password": t.PASSWORD})
    t.check(status == 200 and 'name="code"' in text, "known browser: code "
            "page", status, text[:2000])
    code = code_from(email)
    loc, (status, _, text) = own.form_post(loc, {"step": "code",
                                                 "code": code})
    t.check("csam_session" in own.jar, "known browser logged in")
    reset()


def test_restart_reuses_pending_code_api():
    reset()
    user, email = active_account()
    c = Client()
    first = t.expect(c.api("login", {"username": user,
                                     "password": t.PASSWORD}), 200)["login"]
    sent = t.expect(c.api("login/challenge", {"login": first,
                                              "key_type": "email"}), 202)
    t.check(sent.get("reused") is False, "a fresh code", sent)
    code = code_from(email)
    # Abandoned; a new login within the cooldown.
    second = t.expect(c.api("login", {"username": user,
                                      "password": t.PASSWORD}), 200)["login"]
    again = t.expect(c.api("login/challenge", {"login": second,
                                               "key_type": "email"}), 202)
    t.check(again.get("reused") is True and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", again.get("sent_at", ""))
        is not None, "the code sent is taken over, and when", again)
    t.check(again["sent_at"] == sent["sent_at"], "same code, same time",
            again, sent)
    no_code_for(email)
    # The old login is superseded; the mailed code opens the new one.
    t.expect(c.api("login/verify", {"login": first, "code": code}), 410,
             "expired")
    t.expect(c.api("login/verify", {"login": second, "code": code}), 200)
    reset()


def test_restart_reuses_pending_code_pages():
    for lang in ("fr", "nl", "de", "en"):
        reset()
        user, email = active_account(lang)
        b = Client(lang)
        loc, (status, _, text) = b.form_post(
            "/csam/login", {"step": "password", "username": user,
                            "password": t.PASSWORD})
        t.check(status == 200 and 'name="code"' in text, "code page", lang)
        code = code_from(email)
        # Start again, then log in again at once.
        b.form_post(loc, {"step": "restart"})
        loc, (status, _, text) = b.form_post(
            "/csam/login", {"step": "password", "username": user,
                            "password": t.PASSWORD})
        t.check(status == 200 and 'name="code"' in text, "code page again",
                lang, text[:2000])
        m = re.search(re.escape(html.escape(ALREADY_SENT[lang], quote=False))
                      + r".{0,12}?(\d\d:\d\d)", text)
        t.check(m is not None, "the page says a code was already sent, and "
                "when", lang, text[:3000])
        t.check("Too many" not in text and "Trop de" not in text,
                "never 'too many attempts'", lang)
        no_code_for(email, wait=0.5)
        loc, (status, _, text) = b.form_post(loc, {"step": "code",
                                                   "code": code})
        t.check("csam_session" in b.jar, "the mailed code logs in", lang,
                loc, text[:2000])
    reset()


t.run([test_known_browser_survives_a_locked_name,
       test_account_locked_by_codes_spares_known_browser,
       test_known_browser_pages,
       test_restart_reuses_pending_code_api,
       test_restart_reuses_pending_code_pages])
