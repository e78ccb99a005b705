#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What a session or an activation may do, and how often (issue 11 items 5,
7, 9, 10, 15; DESIGN 3.1, 4), through two httpd nodes on one database:

- every message carrying a code obeys the resend cooldown: a key added
  again, an activation resent or started again from the link is 429
  too_many_requests with retry_after, and no SMS leaves (API and page, in
  the four languages);
- reserved usernames (root, base-passwd and service names, any case, and
  an administrator's CSAMReservedUsernames file) get 409 username_taken,
  on the API and the activation page;
- a name refused at activation costs one of its attempts: probing names
  ends in 423 locked;
- deactivating a key ends the sessions it opened (Require csam-key totp
  too), at once on the node that did it and within CSAMSessionCacheTTL on
  the other;
- adding a key in a session older than CSAMReauthAfter asks for the
  password again (API field, page field)."""
import base64
import hashlib
import hmac
import http.client
import os
import re
import struct
import sys
import time
import urllib.parse

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

CACHE_TTL = 2
LANGS = ("fr", "nl", "de", "en")


def server_conf():
    """SMS through the recording gateway, a short session cache, the
    site's own reserved names, and CGIs behind AuthType CSAM; None before
    the services exist (the first stage only re-executes)."""
    tmp = os.environ.get("CSAM_TEST_TMPDIR")
    if not tmp or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    cgi = os.path.join(tmp, "cgi-limits-%d" % os.getpid())
    os.makedirs(cgi, exist_ok=True)
    os.chmod(cgi, 0o755)
    script = os.path.join(cgi, "env.cgi")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n")
    os.chmod(script, 0o755)
    reserved = os.path.join(tmp, "reserved-limits-%d.txt" % os.getpid())
    with open(reserved, "w") as f:
        f.write("# this site's own service accounts\nops-team\n"
                "Backup-Robot\n")
    return """
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
CSAMSMSTransport http
CSAMSMSURL %(sms)s/send
CSAMSMSTimeout 3
CSAMSessionCacheTTL %(ttl)d
CSAMReservedUsernames "%(reserved)s"
ScriptAliasMatch "^/(app|totp)/env$" "%(script)s"
<Directory "%(cgi)s">
    Require all granted
</Directory>
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
<Location /totp>
    AuthType CSAM
    Require csam-key totp
    AuthzSendForbiddenOnFailure On
</Location>
""" % {"sms": os.environ["CSAM_TEST_SMS_URL"], "ttl": CACHE_TTL,
       "reserved": reserved, "script": script, "cgi": cgi}


t.start(__file__, httpd_opts=("--nodes", "2"), extra_conf=server_conf())
mbox = t.Mailbox()
ONE, TWO = os.environ["CSAM_TEST_HTTPD_URLS"].split()[:2]
sms = t.SmsBox()


# ---------------------------------------------------------------- helpers

_phones = [int(time.time() * 1000) % 900000]


def phone():
    """A fresh Belgian mobile number as typed, and its E.164 form."""
    _phones[0] = (_phones[0] + 7919) % 1000000
    n = "%06d" % _phones[0]
    return "0470 %s %s %s" % (n[:2], n[2:4], n[4:]), "+32470" + n


def mail_code(email):
    """The next security code mailed to email (notices are skipped)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


def totp(secret, step_offset=0):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int(time.time()) // 30 + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    n = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % n


def active_account():
    """A citizen with an active e-mail key: (username, e-mail)."""
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"], a["reg"]["email"]


def login(user, key_type, code_of, url=None):
    """Password, the key, its code (code_of() gives it once asked): the
    session cookie's value.  The account's earlier codes are aged past the
    resend cooldown first: this test logs in again and again."""
    t.psql("UPDATE csam_challenges SET created_at = created_at - interval "
           "'61 seconds' WHERE account_id = (SELECT id FROM csam_accounts "
           "WHERE username = '%s')" % user)
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD}, url=url), 200)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": key_type}, url=url), 202)
    resp = t.api("login/verify", {"login": body["login"], "code": code_of()},
                 url=url)
    t.expect(resp, 200)
    m = re.search(r"csam_session=([A-Za-z0-9_-]{43})",
                  resp.headers.get("set-cookie", ""))
    t.check(m is not None, "session cookie", resp.headers)
    return m.group(1)


def cookie(value):
    return {"Cookie": "csam_session=%s" % value}


def refused(path, value, url):
    """True when an API client's request with this session is 401."""
    status, _, data = t.request("GET", path, None,
                                dict(cookie(value),
                                     Accept="application/json"), url)
    if status == 401:
        t.check(b'"unauthenticated"' in data, "401 unauthenticated", data)
        return True
    t.check(status == 200, "a protected request is 200 or 401", path, status)
    return False


def until(pred, seconds):
    t0 = time.time()
    while time.time() - t0 < seconds:
        if pred():
            return time.time() - t0
        time.sleep(0.1)
    return None


def error_logs():
    text = ""
    for path in os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split():
        with open(path, encoding="utf-8", errors="replace") as f:
            text += f.read()
    return text


def account_id(user):
    return t.scalar("SELECT id FROM csam_accounts WHERE username = '%s'"
                    % user)


def age_session(value_user):
    """Every session of the account opened ten minutes ago."""
    t.psql("UPDATE csam_sessions SET created_at = now() - interval "
           "'10 minutes' WHERE account_id = %s" % account_id(value_user))


def start_activation():
    """Register and open the activation: (citizen, reply, token, handle)."""
    reg, reply, token = t.register(mbox)
    return reg, reply, token, t.open_activation(token,
                                                reply["activation_code"])


def credentials(handle, user):
    return t.api("activation/credentials",
                 {"activation": handle, "username": user,
                  "password": t.PASSWORD, "password_repeat": t.PASSWORD})


class Browser:
    """A browser on the HTML pages: its own cookies (the CSRF anchor, the
    flash, the flow), a language, and 303s followed."""

    def __init__(self, lang, session=None, url=None):
        self.lang = lang
        self.url = url
        self.jar = {}
        if session is not None:
            self.jar["csam_session"] = session

    def _go(self, method, path, form=None):
        u = urllib.parse.urlsplit(self.url or t.base_url())
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        headers = {"Host": u.netloc, "Accept": "text/html",
                   "Accept-Language": self.lang}
        if self.jar:
            headers["Cookie"] = "; ".join("%s=%s" % kv
                                          for kv in self.jar.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body, headers)
            resp = conn.getresponse()
            html = resp.read().decode("utf-8", "replace")
            for c in resp.msg.get_all("Set-Cookie") or []:
                name, _, rest = c.partition("=")
                if "Max-Age=0" in c:
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = rest.split(";")[0]
            return resp.status, resp.getheader("Location"), html
        finally:
            conn.close()

    def get(self, path):
        status, location, html = self._go("GET", path)
        if status == 303 and "/csam/activate?t=" in path:
            # the link trades its token for the flow cookie, then the plain
            # page (the token stays out of logs and history)
            path = location
            status, _, html = self._go("GET", path)
        t.check(status == 200, "GET %s" % path, status, html[:300])
        self.path = path
        return html

    def post(self, form):
        """Submit a form of the page last shown (with its CSRF token);
        the page the 303 leads to."""
        m = re.search(r'name="csrf" value="([^"]+)"', self.html_last)
        t.check(m is not None, "a CSRF token on the page")
        status, location, html = self._go("POST", self.path,
                                          dict(form, csrf=m.group(1)))
        t.check(status == 303, "a POST is answered 303", status, html[:300])
        return location

    def show(self, path):
        self.html_last = self.get(path)
        return self.html_last

    def submit(self, form):
        return self.show(self.post(form))


# ---------------------------------------------------------------- item 5

def test_key_add_cooldown():
    t.forgive_source()
    user, email = active_account()
    value = login(user, "email", lambda: mail_code(email))
    h = cookie(value)
    typed, e164 = phone()
    t.expect(t.api("keys", {"key_type": "sms", "accept_terms": True,
                            "phone": typed}, headers=h), 202)
    sms.code(e164)
    # The review's pump: twenty more at once, to this number and others.
    other_typed, other = phone()
    for i in range(20):
        r = t.api("keys", {"key_type": "sms", "accept_terms": True,
                           "phone": typed if i % 2 else other_typed},
                  headers=h, url=ONE if i % 3 else TWO)
        body = t.expect(r, 429, "too_many_requests")
        t.check(isinstance(body.get("retry_after"), int)
                and 1 <= body["retry_after"] <= 60, "retry_after", body)
        t.check(r.header("Retry-After") == str(body["retry_after"]),
                "Retry-After header", r.headers)
    time.sleep(0.5)
    t.check(sms.count(e164) == 1 and sms.count(other) == 0,
            "one SMS sent, not 21", sms.count(e164), sms.count(other))
    t.check(len(re.findall(r"\[csam:notice\].*CSAM00801: key add for "
                           r"account %s refused" % re.escape(user),
                           error_logs())) == 20,
            "each refusal is a NOTICE line", error_logs()[-2000:])
    # Once the cooldown is over (the database's clock decides).
    t.psql("UPDATE csam_challenges SET created_at = created_at - interval "
           "'61 seconds' WHERE account_id = %s" % account_id(user))
    t.expect(t.api("keys", {"key_type": "sms", "accept_terms": True,
                            "phone": other_typed}, headers=h), 202)
    t.expect(t.api("keys/confirm", {"key_type": "sms",
                                    "code": sms.code(other)},
                   headers=h), 200)


def test_activation_cooldown():
    t.forgive_source()
    reg, reply, token, handle = start_activation()
    typed, e164 = phone()
    t.expect(t.api("activation/key", {"activation": handle, "key_type": "sms",
                                      "accept_terms": True, "phone": typed}),
             200)
    user = t.username()
    t.expect(credentials(handle, user), 202)
    sms.code(e164)
    body = t.expect(t.api("activation/resend", {"activation": handle}), 429,
                    "too_many_requests")
    t.check(1 <= body.get("retry_after", 0) <= 60, "retry_after", body)
    # Opening the link again (a new pending account each time) buys no
    # second message either.
    again = t.open_activation(token, reply["activation_code"])
    t.expect(t.api("activation/key", {"activation": again, "key_type": "sms",
                                      "accept_terms": True, "phone": typed}),
             200)
    body = t.expect(credentials(again, user), 429, "too_many_requests")
    t.check(1 <= body.get("retry_after", 0) <= 60, "retry_after", body)
    time.sleep(0.5)
    t.check(sms.count(e164) == 1, "one SMS for the activation",
            sms.count(e164))


WAIT_TEXT = {"fr": "Attendez %s secondes", "nl": "Wacht %s seconden",
             "de": "Warten Sie %s Sekunden", "en": "Wait %s seconds"}


def test_key_add_cooldown_page():
    t.forgive_source()
    user, email = active_account()
    value = login(user, "email", lambda: mail_code(email))
    typed, e164 = phone()
    for i, lang in enumerate(LANGS):
        b = Browser(lang, value)
        b.show("/csam/keys")
        form = {"step": "add", "key_type": "sms", "phone": typed,
                "accept_terms": "yes"}
        if i == 0:
            b.submit(form)
            sms.code(e164)
            b.show("/csam/keys")
        html = b.submit(form)
        m = re.search(WAIT_TEXT[lang] % r"([0-9]+)", html)
        t.check(m is not None and 1 <= int(m.group(1)) <= 60,
                "%s: the page says how long to wait" % lang, html[-3000:])
    time.sleep(0.5)
    t.check(sms.count(e164) == 1, "one SMS from the page", sms.count(e164))


# ---------------------------------------------------------------- items 7, 15

def test_reserved_usernames_api():
    t.forgive_source()
    reg, _, _, handle = start_activation()
    t.choose_email_key(handle)
    left = []
    for name in ("root", "www-data", "Root", "ops-team"):
        body = t.expect(credentials(handle, name), 409, "username_taken")
        left.append(body.get("attempts_left"))
    t.check(left == [4, 3, 2, 1], "each refused name costs an attempt", left)
    user = t.username()
    t.set_credentials(handle, user)
    t.expect(t.api("activation/confirm",
                   {"activation": handle,
                    "code": mail_code(reg["email"])}), 200)
    # The administrator's file, in any case; and base-passwd's names.
    _, _, _, handle = start_activation()
    t.choose_email_key(handle)
    for name in ("backup-robot", "POSTGRES", "nobody"):
        t.expect(credentials(handle, name), 409, "username_taken")
    t.check(t.scalar("SELECT count(*) FROM csam_accounts WHERE lower("
                     "username) IN ('root', 'www-data', 'ops-team', "
                     "'backup-robot', 'postgres', 'nobody')") == "0",
            "no account holds a reserved name")


def test_username_probing_locks():
    t.forgive_source()
    taken, _ = active_account()
    reg, reply, token, handle = start_activation()
    t.choose_email_key(handle)
    for left in (4, 3, 2, 1):
        body = t.expect(credentials(handle, taken), 409, "username_taken")
        t.check(body.get("attempts_left") == left, "attempts_left", left,
                body)
    body = t.expect(credentials(handle, taken), 423, "locked")
    t.check(body.get("attempts_left") == 0, "no attempt left", body)
    # A free name does not help now, nor opening the link again.
    t.expect(credentials(handle, t.username()), 423, "locked")
    t.expect(t.api("activation", {"token": token, "activation_code":
                                  reply["activation_code"]}), 423, "locked")
    t.check(t.scalar("SELECT count(*) FROM csam_audit WHERE action = "
                     "'activation.username_refused' AND registration_id = "
                     "%d" % reply["registration_id"]) == "5",
            "each probe audited")
    t.check(re.search(r"\[csam:notice\].*registration %d locked: too many "
                      r"refused usernames from 127\.0\.0\.1"
                      % reply["registration_id"], error_logs()) is not None,
            "the lock is a NOTICE line", error_logs()[-2000:])
    t.forgive_source()


TAKEN_TEXT = {"fr": "est déjà utilisé", "en": "is already taken"}
LEFT_TEXT = {"fr": "Il vous reste %d tentatives",
             "en": "You have %d attempts left"}


def test_reserved_usernames_page():
    t.forgive_source()
    for lang in ("fr", "en"):
        reg, reply, token = t.register(mbox, t.citizen(language=lang))
        b = Browser(lang)
        b.show("/csam/activate?t=" + token)
        b.submit({"step": "code", "activation_code": reply["activation_code"]})
        html = b.submit({"step": "key", "key_type": "email",
                         "accept_terms": "yes"})
        t.check('name="username"' in html, "%s: the credentials step" % lang)
        for left, name in ((4, "root"), (3, "Root"), (2, "www-data")):
            html = b.submit({"step": "credentials", "username": name,
                             "password": t.PASSWORD,
                             "password_repeat": t.PASSWORD})
            t.check(TAKEN_TEXT[lang] in html and LEFT_TEXT[lang] % left
                    in html, "%s: %s refused as taken" % (lang, name),
                    html[-3000:])
        user = t.username()
        html = b.submit({"step": "credentials", "username": user,
                         "password": t.PASSWORD,
                         "password_repeat": t.PASSWORD})
        t.check('name="code"' in html, "%s: a free name goes on" % lang)
        mail_code(reg["email"])


# ---------------------------------------------------------------- item 9

def test_deactivation_ends_sessions_on_every_node():
    t.forgive_source()
    user, email = active_account()
    mine = login(user, "email", lambda: mail_code(email), url=ONE)
    other = login(user, "email", lambda: mail_code(email), url=TWO)
    added = t.expect(t.api("keys", {"key_type": "totp", "accept_terms": True},
                           headers=cookie(mine)), 202)
    t.expect(t.api("keys/confirm", {"key_type": "totp",
                                    "code": totp(added["secret"])},
                   headers=cookie(mine)), 200)
    app = login(user, "totp", lambda: totp(added["secret"], 1), url=TWO)
    # Warm both nodes' caches.
    for url in (ONE, TWO):
        for path in ("/totp/env", "/app/env"):
            t.check(not refused(path, app, url), "the app's session", url,
                    path)
    r = t.request("DELETE", "/csam/api/v1/keys/totp", None, cookie(mine),
                  ONE)
    t.check(r[0] == 204, "deactivate the app key", r[0], r[2])
    t.check("csam_session=;" not in r[1].get("set-cookie", ""),
            "a session of another key keeps its cookie", r[1])
    # At once on the node that did it, in whichever child.
    for path in ("/totp/env", "/app/env"):
        t.check(refused(path, app, ONE), "ended on this node", path)
    took = until(lambda: refused("/totp/env", app, TWO), CACHE_TTL + 3)
    print("# deactivation seen by the second node after %.2fs (bound %ds)"
          % (took if took is not None else -1, CACHE_TTL))
    t.check(took is not None and took <= CACHE_TTL + 1.5,
            "the app's session ends on every node within "
            "CSAMSessionCacheTTL", took)
    t.expect(t.api("me", method="GET", headers=cookie(app), url=TWO), 401,
             "unauthenticated")
    for url in (ONE, TWO):
        for value in (mine, other):
            t.check(not refused("/app/env", value, url),
                    "the e-mail sessions live on", url)
    t.check(t.scalar("SELECT detail->>'sessions_ended' FROM csam_audit "
                     "WHERE action = 'key.deactivated' AND account_id = %s"
                     % account_id(user)) == "1", "audited")

    # A key that opened the very session deactivating it: that one too.
    typed, e164 = phone()
    t.expect(t.api("keys", {"key_type": "sms", "accept_terms": True,
                            "phone": typed}, headers=cookie(mine)), 202)
    t.expect(t.api("keys/confirm", {"key_type": "sms",
                                    "code": sms.code(e164)},
                   headers=cookie(mine)), 200)
    sms_session = login(user, "sms", lambda: sms.code(e164),
                        url=ONE)
    r = t.request("DELETE", "/csam/api/v1/keys/email", None, cookie(mine),
                  ONE)
    t.check(r[0] == 204, "deactivate the e-mail key", r[0], r[2])
    t.check(re.search(r"csam_session=;.*Max-Age=0",
                      r[1].get("set-cookie", "")) is not None,
            "the browser drops the cookie of the session that ended",
            r[1].get("set-cookie"))
    for value in (mine, other):
        t.expect(t.api("keys", method="GET", headers=cookie(value), url=ONE),
                 401, "unauthenticated")
    took = until(lambda: refused("/app/env", other, TWO), CACHE_TTL + 3)
    t.check(took is not None and took <= CACHE_TTL + 1.5,
            "the e-mail sessions end on every node", took)
    t.check(not refused("/app/env", sms_session, TWO),
            "the SMS session lives on")


RELOGIN_TEXT = {"fr": "Vous vous étiez connecté avec elle",
                "nl": "U had zich ermee aangemeld",
                "de": "Sie hatten sich damit angemeldet",
                "en": "You had logged in with it"}


def test_deactivation_page():
    """The keys page deactivating the key of its own session: the session
    ends, and the login page says why."""
    t.forgive_source()
    user, email = active_account()
    value = login(user, "email", lambda: mail_code(email))
    added = t.expect(t.api("keys", {"key_type": "totp", "accept_terms": True},
                           headers=cookie(value)), 202)
    t.expect(t.api("keys/confirm", {"key_type": "totp",
                                    "code": totp(added["secret"])},
                   headers=cookie(value)), 200)
    b = Browser("nl", value)
    b.show("/csam/keys")
    location = b.post({"step": "deactivate", "key_type": "email"})
    t.check(location.startswith("/csam/login"), "back to the login page",
            location)
    t.check("csam_session" not in b.jar, "the session cookie is dropped",
            b.jar)
    html = b.show(location)
    t.check(RELOGIN_TEXT["nl"] in html, "the login page says why",
            html[-3000:])
    t.expect(t.api("me", method="GET", headers=cookie(value)), 401,
             "unauthenticated")


# ---------------------------------------------------------------- item 10

def test_reauth_api():
    t.forgive_source()
    user, email = active_account()
    value = login(user, "email", lambda: mail_code(email))
    h = cookie(value)
    # A fresh session adds a key as it is.
    t.expect(t.api("keys", {"key_type": "totp", "accept_terms": True},
                   headers=h), 202)
    age_session(user)
    typed, e164 = phone()
    payload = {"key_type": "sms", "accept_terms": True, "phone": typed}
    body = t.expect(t.api("keys", payload, headers=h), 403, "forbidden")
    t.check(body.get("password_required") is True, "password_required",
            body)
    t.expect(t.api("keys", dict(payload, password=""), headers=h), 403,
             "forbidden")
    t.expect(t.api("keys", dict(payload, password="Wrong-Horse-Battery-1"),
                   headers=h), 401, "invalid_credentials")
    t.check(re.search(r"\[csam:notice\].*CSAM00800: wrong password asked "
                      r"again to add a key for account %s" % re.escape(user),
                      error_logs()) is not None,
            "a wrong password is a NOTICE line", error_logs()[-2000:])
    time.sleep(0.3)
    t.check(sms.count(e164) == 0, "nothing sent without the password")
    t.forgive_source()
    t.psql("DELETE FROM csam_password_failures")
    t.expect(t.api("keys", dict(payload, password=t.PASSWORD), headers=h),
             202)
    sms.code(e164)
    t.check(t.scalar("SELECT count(*) FROM csam_audit WHERE action = "
                     "'password.reconfirmed' AND account_id = %s"
                     % account_id(user)) == "1", "audited")


REAUTH_TEXT = {"fr": "Tapez votre mot de passe", "nl": "Typ uw wachtwoord",
               "de": "Geben Sie Ihr Passwort ein",
               "en": "Type your password"}


def test_reauth_page():
    t.forgive_source()
    user, email = active_account()
    value = login(user, "email", lambda: mail_code(email))
    b = Browser("fr", value)
    html = b.show("/csam/keys")
    t.check('id="reauth_password"' not in html,
            "no password asked in a fresh session")
    age_session(user)
    # The login time is what a child cached with the session: the aged one
    # shows once the cache let it go.
    time.sleep(CACHE_TTL + 0.5)
    for lang in LANGS:
        b = Browser(lang, value)
        html = b.show("/csam/keys")
        t.check('id="reauth_password"' in html
                and 'autocomplete="current-password"' in html,
                "%s: the password field in an older session" % lang)
        html = b.submit({"step": "add", "key_type": "totp",
                         "accept_terms": "yes"})
        t.check(REAUTH_TEXT[lang] in html
                and 'aria-describedby="reauth_password-error"' in html,
                "%s: the password is asked for, next to its field" % lang,
                html[-3000:])
    html = b.submit({"step": "add", "key_type": "totp", "accept_terms": "yes",
                     "reauth_password": "Wrong-Horse-Battery-1"})
    t.check("This password is not correct" in html, "a wrong password",
            html[-3000:])
    t.forgive_source()
    t.psql("DELETE FROM csam_password_failures")
    html = b.submit({"step": "add", "key_type": "totp", "accept_terms": "yes",
                     "reauth_password": t.PASSWORD})
    t.check('id="totp-secret"' in html, "the right password goes on to the "
            "app key", html[-2000:])


t.run([test_key_add_cooldown, test_activation_cooldown,
       test_key_add_cooldown_page, test_reserved_usernames_api,
       test_username_probing_locks, test_reserved_usernames_page,
       test_deactivation_ends_sessions_on_every_node, test_deactivation_page,
       test_reauth_api,
       test_reauth_page])
