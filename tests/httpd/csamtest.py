# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the httpd integration tests (python3 standard library).

A test script calls start(__file__) first: when it is not yet running under
tests/lib/httpd-run (itself under tests/lib/run-with-services), it re-executes
itself through them, so `make check` and a developer typing
tests/httpd/api_flow.py both get a real PostgreSQL, SMTP server and httpd.

Then: api() speaks to the JSON API and checks that every answer is JSON,
register() and the activation helpers walk the flow, Mailbox reads what the
SMTP server stored, psql() reads and ages rows, and log_expected() wraps a
step that makes httpd log an error on purpose, naming those lines exactly
(any other error line fails the test).
"""
import datetime
import email
import email.policy
import http.client
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.parse

OFFICER = ("officer", "officer")
PASSWORD = "Correct-Horse-Battery-7!"


def start(script, httpd_opts=(), extra_conf=None, child=False):
    """Re-execute `script` under run-with-services and httpd-run if needed.

    extra_conf: httpd configuration lines appended to the server's.
    child: run httpd-run (and the script under it) as a child and return
    its exit status, instead of replacing this process: for a test that
    has something of its own to stop afterwards (a second database
    cluster)."""
    srcdir = os.environ.get("CSAM_SRCDIR") or os.path.abspath(
        os.path.join(os.path.dirname(os.path.abspath(script)), "..", ".."))
    os.environ["CSAM_SRCDIR"] = srcdir
    if os.environ.get("CSAM_TEST_HTTPD_URL"):
        return
    lib = os.path.join(srcdir, "tests", "lib")
    me = [sys.executable, os.path.abspath(script)]
    if not os.environ.get("CSAM_TEST_PG"):
        os.environ.setdefault("CSAM_BUILDDIR", srcdir)
        os.execv(os.path.join(lib, "run-with-services"),
                 [os.path.join(lib, "run-with-services")] + me)
    opts = list(httpd_opts)
    if extra_conf:
        path = os.path.join(os.environ["CSAM_TEST_TMPDIR"],
                            "extra-%d.conf" % os.getpid())
        with open(path, "w", encoding="utf-8") as f:
            f.write(extra_conf)
        opts += ["--conf", path]
    if child:
        return subprocess.call([os.path.join(lib, "httpd-run")] + opts + me)
    os.execv(os.path.join(lib, "httpd-run"),
             [os.path.join(lib, "httpd-run")] + opts + me)


def base_url():
    return os.environ["CSAM_TEST_HTTPD_URL"]


class Failure(AssertionError):
    pass


def check(cond, what, *detail):
    if not cond:
        raise Failure(what + "".join(" | %r" % (d,) for d in detail))


_checks = [0]


def expect(resp, status, error=None):
    """Assert resp has this status (and API error code); returns its body."""
    _checks[0] += 1
    check(resp.status == status,
          "expected %d %s, got %d" % (status, error or "", resp.status),
          resp.body)
    if error is not None:
        check(isinstance(resp.body, dict) and resp.body.get("error") == error,
              "expected error %s" % error, resp.body)
        check(isinstance(resp.body.get("message"), str)
              and resp.body["message"] != "", "error without a message",
              resp.body)
    return resp.body


class Response:
    def __init__(self, status, headers, raw, body):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())


def request(method, path, body=None, headers=None, url=None):
    """One request on a fresh connection; body is bytes or None."""
    u = urllib.parse.urlsplit(url or base_url())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True,
                        skip_accept_encoding=True)
        hdrs = {"Host": u.netloc}
        hdrs.update(headers or {})
        if body is not None and "Transfer-Encoding" not in hdrs:
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body is not None:
            if hdrs.get("Transfer-Encoding") == "chunked":
                for i in range(0, len(body), 8192):
                    part = body[i:i + 8192]
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            else:
                conn.send(body)
        resp = conn.getresponse()
        raw = resp.read()
        headers = {}
        for k, v in resp.getheaders():
            k = k.lower()
            # Several cookies may be set at once: keep them all, one a line.
            if k == "set-cookie" and k in headers:
                headers[k] += "\n" + v
            else:
                headers[k] = v
        return resp.status, headers, raw
    finally:
        conn.close()


def _basic(auth):
    import base64
    return "Basic " + base64.b64encode(
        ("%s:%s" % auth).encode()).decode()


def api(path, payload=None, raw=None, content_type="application/json",
        method="POST", auth=None, headers=None, url=None):
    """Call /csam/api/v1/<path> (or path itself when it starts with '/');
    payload is JSON-encoded unless raw (bytes) is given.  Every answer of mod_csam must be JSON: checked here."""
    hdrs = dict(headers or {})
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    if auth is not None:
        hdrs["Authorization"] = _basic(auth)
    hdrs.setdefault("Accept", "application/json")
    body = raw
    if body is None and payload is not None:
        body = json.dumps(payload).encode("utf-8")
    if body is None and method == "POST":
        body = b""
    target = path if path.startswith("/") else "/csam/api/v1/" + path
    status, rh, data = request(method, target, body, hdrs, url)
    ctype = rh.get("content-type", "")
    check(ctype.startswith("application/json"),
          "answer to %s %s is not JSON (%s)" % (method, path, ctype),
          status, data[:300])
    check("charset=utf-8" in ctype.lower(), "no charset=utf-8", ctype)
    check(rh.get("cache-control") == "no-store", "API answer is cacheable",
          path, rh.get("cache-control"))
    check(rh.get("x-content-type-options") == "nosniff", "no nosniff", path)
    try:
        parsed = json.loads(data.decode("utf-8")) if data else None
    except ValueError:
        raise Failure("answer to %s is not valid JSON: %r" % (path, data))
    if status >= 400:
        check(isinstance(parsed, dict) and set(parsed) >= {"error",
                                                          "message"},
              "error answer without error and message", path, parsed)
    return Response(status, rh, data, parsed)


# ---------------------------------------------------------------- data

# Tests that register from several threads (tests/chaos, tests/failover)
# must not be handed the same number twice: a second registration of a
# person supersedes the first.
_counting = threading.Lock()
_serial = [random.randint(1, 400)]


def nrn(birth, serial=None, dotted=True, bis=0):
    """A valid national register number for a birth date (modulo 97); a
    BIS number with bis=20 or 40 (added to the month)."""
    if serial is None:
        with _counting:
            _serial[0] = _serial[0] % 997 + 1
            serial = _serial[0]
    head = "%02d%02d%02d%03d" % (birth.year % 100, birth.month + bis,
                                 birth.day, serial)
    base = int(head) + (2000000000 if birth.year >= 2000 else 0)
    check_digits = 97 - base % 97
    if dotted:
        return "%s.%s.%s-%s.%02d" % (head[0:2], head[2:4], head[4:6],
                                     head[6:9], check_digits)
    return "%s%02d" % (head, check_digits)


_citizen = [0]


def citizen(**over):
    """A valid registration body; fields can be overridden."""
    with _counting:
        _citizen[0] += 1
        n = "%d%d" % (os.getpid(), _citizen[0])
    birth = datetime.date(1985, 7, 30)
    reg = {
        "national_number": nrn(birth),
        "first_name": "Marie",
        "last_name": "Dupont",
        "birth_date": birth.isoformat(),
        "document": {"type": "eid", "number": "591-1234567-%s" % n[-2:]},
        "email": "marie.%s@example.be" % n,
        "language": "fr",
    }
    reg.update(over)
    return reg


def username():
    with _counting:
        _citizen[0] += 1
        return "citizen%d.%d" % (os.getpid() % 100000, _citizen[0])


# ---------------------------------------------------------------- mail

class Mailbox:
    """The SMTP server's Maildir: messages arrive as files in new/."""

    def __init__(self):
        self.dir = os.path.join(os.environ["CSAM_TEST_MAILDIR"], "new")
        self.seen = set()
        self.last = None
        self.skip_existing()

    def skip_existing(self):
        if os.path.isdir(self.dir):
            self.seen.update(os.listdir(self.dir))

    def _new(self):
        if not os.path.isdir(self.dir):
            return []
        return sorted(set(os.listdir(self.dir)) - self.seen)

    def wait(self, to, timeout=15):
        """The next message for address `to` (an email.message)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name in self._new():
                with open(os.path.join(self.dir, name), "rb") as f:
                    msg = email.message_from_binary_file(
                        f, policy=email.policy.default)
                if to.lower() in str(msg.get("To", "")).lower():
                    self.seen.add(name)
                    self.last = msg
                    return msg
            time.sleep(0.05)
        raise Failure("no mail for %s within %ds" % (to, timeout))

    def each(self, addresses, timeout=15):
        """{address: [messages]}: the new mails whose envelope names each
        address exactly (one mail to two addresses counts for both),
        waiting until every address has one."""
        got = {a.lower(): [] for a in addresses}
        deadline = time.time() + timeout
        while True:
            for name in self._new():
                with open(os.path.join(self.dir, name), "rb") as f:
                    msg = email.message_from_binary_file(
                        f, policy=email.policy.default)
                rcpts = {str(r).strip().strip("<>").lower()
                         for r in msg.get_all("X-Csam-Envelope-To") or []}
                for a in got:
                    if a in rcpts:
                        got[a].append(msg)
                        self.seen.add(name)
            if all(got.values()) or time.time() >= deadline:
                break
            time.sleep(0.05)
        missing = [a for a, msgs in got.items() if not msgs]
        check(not missing, "no mail within %ds for" % timeout, *missing)
        return got

    def none_for(self, to, wait=1.0):
        """Assert nothing arrives for `to` within `wait` seconds."""
        time.sleep(wait)
        for name in self._new():
            with open(os.path.join(self.dir, name), "rb") as f:
                msg = email.message_from_binary_file(
                    f, policy=email.policy.default)
            check(to.lower() not in str(msg.get("To", "")).lower(),
                  "unexpected mail for %s" % to, msg.get("Subject"))


def text_of(msg):
    part = msg.get_body(preferencelist=("plain",))
    check(part is not None, "mail without a text part")
    return part.get_content()


def activation_link(msg):
    """The token of the activation link, after checking the link's base."""
    text = text_of(msg)
    links = re.findall(r"https?://[^\s<>\"]+/csam/activate\?t=[^\s<>\"]+",
                       text)
    check(len(links) >= 1, "no activation link in the mail", text)
    link = links[0]
    check(link.startswith(base_url() + "/csam/activate?t="),
          "link not built from CSAMPublicURL", link, base_url())
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    check(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) is not None,
          "link token is not 256-bit base64url", token)
    return token


def security_code(msg):
    text = text_of(msg)
    codes = re.findall(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
    check(len(codes) == 1, "a code mail must show exactly one run of 6-8 "
          "digits", codes)
    seen_secrets.add(codes[0])
    return codes[0]


class SmsBox:
    """The recording SMS gateway's directory (tests/lib/sms_sink.py): one
    JSON file per POST, its body the request the module sent."""

    def __init__(self):
        self.dir = os.environ["CSAM_TEST_SMS_DIR"]
        self.seen = set(os.listdir(self.dir))

    def _to(self, phone, unseen):
        """[(file name, record, text)] of the SMS to phone (E.164), in
        arrival order; only those not yet read when unseen is set."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            # A dot-file is one being written (renamed when whole).
            if name.startswith(".") or not name.endswith(".json") \
                    or (unseen and name in self.seen):
                continue
            with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                rec = json.load(f)
            body = json.loads(rec["body"])
            if body.get("to") == phone:
                out.append((name, rec, body["text"]))
        return out

    def wait(self, phone, timeout=15):
        """The next SMS to phone: (the gateway's record, its text)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, rec, text in self._to(phone, True):
                self.seen.add(name)
                return rec, text
            time.sleep(0.05)
        raise Failure("no SMS to %s within %ds" % (phone, timeout))

    def code(self, phone, timeout=15):
        """The one code of the next SMS to phone."""
        _, text = self.wait(phone, timeout)
        codes = re.findall(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
        check(len(codes) == 1, "an SMS code must show exactly one run of "
              "6-8 digits", text)
        seen_secrets.add(codes[0])
        return codes[0]

    def unread(self, phone):
        """The records of the SMS to phone not read yet."""
        return [rec for _, rec, _ in self._to(phone, True)]

    def count(self, phone):
        """How many SMS the gateway received for phone, read or not."""
        return len(self._to(phone, False))


# ---------------------------------------------------------------- database

def psql(sql):
    """Run SQL on the test database; rows as lists of strings."""
    out = subprocess.run(
        [os.path.join(os.environ["CSAM_TEST_PG_BIN"], "psql"), "-X", "-q",
         "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
         "-d", os.environ["CSAM_TEST_PG"], "-c", sql],
        check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line != ""]


def scalar(sql):
    rows = psql(sql)
    return rows[0][0] if rows else None


def forgive_source():
    """Clear the per-address failure count: every test request comes from
    127.0.0.1, and the tests fail codes on purpose."""
    psql("DELETE FROM csam_source_failures")
    psql("UPDATE csam_accounts SET failures = 0, locked_until = NULL")


# ---------------------------------------------------------------- error log

def _errorlog():
    sys.path.insert(0, os.path.join(os.environ["CSAM_SRCDIR"], "tests",
                                    "lib"))
    try:
        import errorlog
    finally:
        sys.path.pop(0)
    return errorlog


def authz_failure(user, path):
    """The line httpd logs when Require refuses an authenticated user."""
    return (r'authz_core:error AH01631: user %s: authorization failure for '
            r'"%s": ' % (re.escape(user), re.escape(path)))


class log_expected:
    """A test step that makes httpd log at level error on purpose:

        with t.log_expected(r"csam:error CSAM00029: SMS not sent: ..."):
            ...the step...

    Each expected line is a regular expression matched whole against a
    log line stripped of its time, pid and client fields ("MODULE:LEVEL
    MESSAGE"; tests/lib/errorlog.py): spell the tag and the text, and keep
    wildcards for what varies.  When the step ends, every line it added to
    the error logs at level error or worse must be one of them, and each
    of them must have appeared (those in optional= may not: a line the
    step can cause but not always).  The span is then recorded, so that
    httpd-run's final check accepts these lines there and nowhere else.

    settle: seconds to wait before reading the logs, for lines written
    after the answer (a graceful restart's)."""

    def __init__(self, *expected, optional=(), settle=0.0):
        self.expected = list(expected)
        self.optional = list(optional)
        self.settle = settle

    def __enter__(self):
        self.lib = _errorlog()
        self.logs = os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split()
        self.start = {p: self.lib.complete_size(p) for p in self.logs}
        return self

    def __exit__(self, kind, value, tb):
        if self.settle:
            time.sleep(self.settle)
        patterns = self.expected + self.optional
        seen = set()
        bad = []
        with open(os.environ["CSAM_TEST_HTTPD_LOG_SPANS"], "a") as spans:
            for p in self.logs:
                end = self.lib.complete_size(p)
                for _, line in self.lib.lines(p, self.start[p], end):
                    text = self.lib.normalize(line)
                    hits = [e for e in patterns if re.fullmatch(e, text)]
                    seen.update(hits)
                    if self.lib.BAD.search(line) and not hits:
                        bad.append(text)
                spans.write(json.dumps({"log": p, "start": self.start[p],
                                        "end": end,
                                        "expect": patterns}) + "\n")
        if kind is not None:
            return False
        check(not bad, "unexpected error-log lines in this step", *bad)
        missing = [e for e in self.expected if e not in seen]
        check(not missing, "expected error-log lines did not appear",
              *missing)
        return False


# ---------------------------------------------------------------- flows

def register(mailbox, reg=None, headers=None):
    """Register a citizen; returns (registration body, reply, token)."""
    reg = reg or citizen()
    body = expect(api("registrations", reg, auth=OFFICER, headers=headers),
                  201)
    check(isinstance(body.get("registration_id"), int), "registration_id",
          body)
    check(re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}",
                       body.get("activation_code", "")) is not None,
          "activation code shape", body)
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
                       body.get("expires_at", "")) is not None,
          "expires_at is not RFC 3339 UTC", body)
    msg = mailbox.wait(reg["email"])
    token = activation_link(msg)
    seen_secrets.update((token, body["activation_code"]))
    return reg, body, token


def open_activation(token, code):
    body = expect(api("activation", {"token": token,
                                     "activation_code": code}), 200)
    check(re.fullmatch(r"[A-Za-z0-9_-]{43}", body.get("activation", ""))
          is not None, "activation handle shape", body)
    seen_secrets.add(body["activation"])
    check("email" in body.get("key_types", []), "email key offered", body)
    return body["activation"]


def choose_email_key(handle):
    body = expect(api("activation/key", {"activation": handle,
                                         "key_type": "email",
                                         "accept_terms": True}), 200)
    check(body == {"next": "credentials"}, "next after key", body)


def set_credentials(handle, user, password=PASSWORD):
    body = expect(api("activation/credentials",
                      {"activation": handle, "username": user,
                       "password": password, "password_repeat": password}),
                  202)
    check(body.get("next") == "confirm", "next after credentials", body)


# Secrets a test handled, for tests that look for them in logs.
seen_secrets = set()


def activate(mailbox, reg=None):
    """The whole flow up to the key code mail; returns a dict of its parts."""
    reg, reply, token = register(mailbox, reg)
    handle = open_activation(token, reply["activation_code"])
    choose_email_key(handle)
    user = username()
    set_credentials(handle, user)
    code = security_code(mailbox.wait(reg["email"]))
    seen_secrets.update((token, handle, code, reply["activation_code"],
                         PASSWORD))
    return {"reg": reg, "reply": reply, "token": token, "handle": handle,
            "username": user, "code": code}


def activate_app(mailbox, reg=None):
    """Registered at the desk and activated with the app's key, whose
    secret this plays the authenticator of: a dict of reg, reply, username
    and secret.  The confirmation spends the current 30-second step: a
    login right after takes totp(secret, 1)."""
    reg, reply, token = register(mailbox, reg)
    handle = open_activation(token, reply["activation_code"])
    expect(api("activation/key", {"activation": handle, "key_type": "totp",
                                  "accept_terms": True}), 200)
    user = username()
    body = expect(api("activation/credentials",
                      {"activation": handle, "username": user,
                       "password": PASSWORD, "password_repeat": PASSWORD}),
                  202)
    secret = body.get("secret", "")
    check(len(secret) == 32, "the app's secret in the credentials answer",
          body)
    seen_secrets.update((token, handle, secret, reply["activation_code"],
                         PASSWORD))
    expect(api("activation/confirm", {"activation": handle,
                                      "code": totp(secret)}), 200)
    return {"reg": reg, "reply": reply, "username": user, "secret": secret}


def wrong_code(code):
    """A code of the same shape that is not `code`."""
    return "%0*d" % (len(code), (int(code) + 1) % (10 ** len(code)))


# ---------------------------------------------------------------- logins

def totp(secret, offset=0):
    """The code an authenticator app shows for the base32 secret `offset`
    30-second steps from now (RFC 6238: SHA-1, 6 digits), computed here,
    not by the module."""
    import base64
    import hashlib
    import hmac
    import struct
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int(time.time()) // 30 + offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    at = mac[-1] & 0x0F
    n = (struct.unpack(">I", mac[at:at + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % n


def mail_code(mailbox, to, timeout=15):
    """The next security code mailed to `to`; notices (mails without a
    code) on the way are skipped."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = mailbox.wait(to, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text_of(msg)):
            return security_code(msg)
    raise Failure("no code mailed to %s" % to)


def session_cookie(resp):
    """The csam_session value a login/verify answer set."""
    m = re.search(r"csam_session=([A-Za-z0-9_-]{43})",
                  resp.headers.get("set-cookie", ""))
    check(m is not None, "no csam_session cookie set", resp.headers)
    seen_secrets.add(m.group(1))
    return m.group(1)


def login(mailbox, user, email, password=PASSWORD, url=None):
    """Password, then the e-mail key's code: the session cookie's value."""
    body = expect(api("login", {"username": user, "password": password},
                      url=url), 200)
    check("email" in body.get("key_types", []), "the e-mail key offered",
          body)
    expect(api("login/challenge", {"login": body["login"],
                                   "key_type": "email"}, url=url), 202)
    code = mail_code(mailbox, email)
    resp = api("login/verify", {"login": body["login"], "code": code},
               url=url)
    check(expect(resp, 200) == {"username": user, "key_type": "email"},
          "verify body", resp.body)
    return session_cookie(resp)


def until(pred, seconds):
    """Poll pred for up to `seconds`; the time it took, or None."""
    t0 = time.time()
    while time.time() - t0 < seconds:
        if pred():
            return time.time() - t0
        time.sleep(0.1)
    return None


def env_cgi_conf(*prefixes):
    """httpd configuration of a CGI printing its environment at
    /PREFIX/env for each prefix (the locations themselves, AuthType CSAM
    and the like, are the test's to write); None before the services
    exist (the first stage only re-executes)."""
    tmp = os.environ.get("CSAM_TEST_TMPDIR")
    if not tmp or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    cgi = os.path.join(tmp, "cgi-env-%d" % os.getpid())
    os.makedirs(cgi, exist_ok=True)
    os.chmod(cgi, 0o755)
    script = os.path.join(cgi, "env.cgi")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n")
    os.chmod(script, 0o755)
    return """
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
ScriptAliasMatch "^/(%s)/env$" "%s"
<Directory "%s">
    Require all granted
</Directory>
""" % ("|".join(prefixes), script, cgi)


def backend(path, cookie=None, headers=None, url=None):
    """GET a protected location; (status, headers, the CGI's environment
    as a dict when it answered, else the body's text)."""
    h = dict(headers or {})
    if cookie is not None:
        h["Cookie"] = "csam_session=%s" % cookie
    status, rh, data = request("GET", path, None, h, url)
    text = data.decode("utf-8", "replace")
    if status == 200 and rh.get("content-type", "").startswith("text/plain"):
        return status, rh, dict(line.partition("=")[::2]
                                for line in text.splitlines())
    return status, rh, text


def run(tests):
    """Run test functions in order; report and exit 0 or 1."""
    failed = 0
    for t in tests:
        t0 = time.time()
        try:
            t()
            print("ok - %s (%.2fs)" % (t.__name__, time.time() - t0))
        except Exception as e:  # report every test, then fail
            failed += 1
            print("not ok - %s: %s: %s" % (t.__name__, type(e).__name__, e))
            import traceback
            traceback.print_exc()
        sys.stdout.flush()
    print("# %d tests, %d failed, %d checks" % (len(tests), failed,
                                                _checks[0]))
    sys.exit(1 if failed else 0)
