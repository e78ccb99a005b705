#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Key-based login on protected locations (DESIGN 3.1, 3.3): the JSON API
of login and of the session, AuthType CSAM in front of a CGI backend that
prints its environment, Require csam-key, the session cookie and what
tampering, expiry, lockout and spoofed identity headers get."""
import base64
import hashlib
import hmac
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


def server_conf():
    """The backend and the protected locations; None before the services
    exist (the first stage only re-executes)."""
    tmp = os.environ.get("CSAM_TEST_TMPDIR")
    if not tmp or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    cgi = os.path.join(tmp, "cgi-%d" % os.getpid())
    os.makedirs(cgi, exist_ok=True)
    os.chmod(cgi, 0o755)
    script = os.path.join(cgi, "env.cgi")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n")
    os.chmod(script, 0o755)
    return """
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
CSAMSessionCacheTTL %(ttl)d
CSAMLockoutThreshold 4
CSAMResendCooldown 0
ScriptAliasMatch "^/(pub|app|hdr|totp|mixed)/env$" "%(script)s"
<Directory "%(cgi)s">
    Require all granted
</Directory>
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
<Location /hdr>
    AuthType CSAM
    Require valid-user
    CSAMIdentityHeaders On
</Location>
<Location /totp>
    AuthType CSAM
    Require csam-key totp
    AuthzSendForbiddenOnFailure On
</Location>
<Location /mixed>
    AuthType CSAM
    AuthzSendForbiddenOnFailure On
    <RequireAll>
        Require valid-user
        Require csam-key email sms
    </RequireAll>
</Location>
""" % {"ttl": CACHE_TTL, "script": script, "cgi": cgi}


t.start(__file__, httpd_opts=("--nodes", "2"), extra_conf=server_conf())
mbox = t.Mailbox()
ONE, TWO = os.environ["CSAM_TEST_HTTPD_URLS"].split()[:2]
BROWSER = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


# ---------------------------------------------------------------- helpers

def active_account():
    """A citizen with an active e-mail key: (username, e-mail)."""
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"], a["reg"]["email"]


def code_from(email):
    """The next security code mailed to email (notices are skipped)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


def cookie_of(resp):
    """The csam_session value set by resp, and the whole Set-Cookie."""
    raw = resp.headers.get("set-cookie", "")
    m = re.search(r"csam_session=([A-Za-z0-9_-]*)", raw)
    t.check(m is not None, "no csam_session cookie set", raw)
    line = [c for c in raw.split("\n") if c.startswith("csam_session=")][0]
    return m.group(1), line


def login_handle(user, password=t.PASSWORD, url=None):
    body = t.expect(t.api("login", {"username": user, "password": password},
                          url=url), 200)
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", body.get("login", ""))
            is not None, "login handle shape", body)
    t.check(body.get("key_types") == ["email"], "key types", body)
    return body["login"]


def login(user, email, url=None):
    """Password, e-mail key, code: the session cookie's value."""
    handle = login_handle(user, url=url)
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "email"},
                   url=url), 202)
    code = code_from(email)
    resp = t.api("login/verify", {"login": handle, "code": code}, url=url)
    body = t.expect(resp, 200)
    t.check(body == {"username": user, "key_type": "email"}, "verify body",
            body)
    value, _ = cookie_of(resp)
    return value


def with_cookie(value, extra=None):
    h = {"Cookie": "csam_session=%s" % value}
    h.update(extra or {})
    return h


def backend(path, cookie=None, headers=None, url=None):
    """GET a CGI behind a location; (status, headers, env dict or body)."""
    h = dict(headers or {})
    if cookie is not None:
        h["Cookie"] = "csam_session=%s" % cookie
    status, rh, data = t.request("GET", path, None, h, url)
    text = data.decode("utf-8", "replace")
    if status == 200 and rh.get("content-type", "").startswith("text/plain"):
        env = {}
        for line in text.splitlines():
            k, _, v = line.partition("=")
            env[k] = v
        return status, rh, env
    return status, rh, text


def totp(secret, step_offset=0):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int(time.time()) // 30 + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    n = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % n


def refused(path, cookie, url=None):
    """1 when the API client's request is answered 401 (JSON)."""
    status, rh, data = t.request("GET", path, None,
                                 with_cookie(cookie,
                                             {"Accept": "application/json"}),
                                 url)
    if status == 401:
        t.check(rh.get("content-type", "").startswith("application/json"),
                "401 on a protected location is JSON", data[:200])
        t.check(b'"unauthenticated"' in data, "401 unauthenticated", data)
        return True
    t.check(status == 200, "a protected request is 200 or 401", status)
    return False


def until(pred, seconds):
    """Poll pred for up to seconds; the time it took, or None."""
    t0 = time.time()
    while time.time() - t0 < seconds:
        if pred():
            return time.time() - t0
        time.sleep(0.1)
    return None


# ---------------------------------------------------------------- tests

def test_login_and_backend_identity():
    user, email = active_account()
    handle = login_handle(user)
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "email"}),
             202)
    code = code_from(email)
    before = int(time.time())
    resp = t.api("login/verify", {"login": handle, "code": code})
    t.expect(resp, 200)
    value, raw = cookie_of(resp)
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", value) is not None,
            "session cookie is a 256-bit token", value)
    attrs = [a.strip().lower() for a in raw.split(";")]
    for a in ("httponly", "samesite=lax", "path=/"):
        t.check(a in attrs, "cookie attribute %s" % a, raw)
    # CSAMPublicURL is http here: no Secure.
    t.check("secure" not in attrs, "Secure on an http site", raw)
    # The handle is used up.
    t.expect(t.api("login/verify", {"login": handle, "code": code}), 410,
             "expired")

    me = t.expect(t.api("me", method="GET", headers=with_cookie(value)), 200)
    t.check(me["username"] == user and me["key_type"] == "email",
            "me", me)
    t.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", me["auth_time"])
            is not None, "auth_time RFC 3339", me)
    t.check([k["type"] for k in me["keys"]] == ["email"]
            and me["keys"][0]["status"] == "active"
            and me["keys"][0]["activated_at"], "keys of me", me)

    status, _, env = backend("/app/env", value)
    t.check(status == 200, "protected CGI with a session", status, env)
    t.check(env.get("REMOTE_USER") == user, "REMOTE_USER", env)
    t.check(env.get("CSAM_USER") == user, "CSAM_USER", env)
    t.check(env.get("CSAM_KEY") == "email", "CSAM_KEY", env)
    t.check(env.get("AUTH_TYPE") == "CSAM", "AUTH_TYPE", env)
    auth_time = int(env.get("CSAM_AUTH_TIME", "0"))
    t.check(before - 5 <= auth_time <= time.time() + 5,
            "CSAM_AUTH_TIME is Unix seconds of the login", auth_time, before)
    # No identity headers unless asked for.
    t.check(not any(k.startswith("HTTP_X_CSAM") for k in env),
            "identity headers without CSAMIdentityHeaders", env)
    # Another node sees the same session (the database is shared).
    status, _, env = backend("/app/env", value, url=TWO)
    t.check(status == 200 and env.get("CSAM_USER") == user,
            "session on the second node", status)


def test_login_failures():
    user, email = active_account()
    t.forgive_source()
    wrong = t.api("login", {"username": user, "password": "Wrong-Pass-123!"})
    t.expect(wrong, 401, "invalid_credentials")
    t.forgive_source()
    unknown = t.api("login", {"username": "nobody-" + user,
                              "password": "Wrong-Pass-123!"})
    t.expect(unknown, 401, "invalid_credentials")
    t.check(wrong.raw == unknown.raw, "unknown user and wrong password "
            "answer alike", wrong.raw, unknown.raw)
    t.forgive_source()
    for body in ({"username": user}, {"password": "x"},
                 {"username": user, "password": "x", "extra": 1},
                 {"username": 7, "password": "x"},
                 {"username": user, "password": "a\r\nb"}):
        t.expect(t.api("login", body), 400, "invalid_request")
    t.expect(t.api("login", raw=b"username=a", content_type="application/"
                   "x-www-form-urlencoded"), 415, "unsupported_media_type")
    t.expect(t.api("login", method="GET"), 405, "method_not_allowed")

    handle = login_handle(user)
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "ssh"}),
             400, "invalid_request")
    t.expect(t.api("login/challenge", {"login": "x" * 43,
                                       "key_type": "email"}), 410, "expired")
    t.expect(t.api("login/challenge", {"login": "short",
                                       "key_type": "email"}), 410, "expired")
    # Not a key of this account.
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "totp"}),
             400, "invalid_request")
    # A code before a key was chosen.
    t.expect(t.api("login/verify", {"login": handle, "code": "123456"}),
             403, "forbidden")
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "email"}),
             202)
    code = code_from(email)
    bad = t.expect(t.api("login/verify", {"login": handle,
                                          "code": t.wrong_code(code)}),
                   401, "invalid_code")
    t.check(isinstance(bad.get("attempts_left"), int)
            and bad["attempts_left"] >= 1, "attempts_left", bad)
    t.forgive_source()
    resp = t.api("login/verify", {"login": handle, "code": code})
    t.expect(resp, 200)
    t.forgive_source()


def test_same_time_unknown_and_wrong():
    user, _ = active_account()
    # Back-to-back pairs, in alternating order, and the median of their
    # ratios: a burst of load on the machine then skews one pair, not a
    # whole series, which comparing two medians would let it do.
    ratios = []
    med = {"wrong": [], "unknown": []}
    for i in range(21):
        pair = {}
        order = ("wrong", "unknown") if i % 2 == 0 else ("unknown", "wrong")
        for kind in order:
            t.forgive_source()
            t.psql("DELETE FROM csam_password_failures")
            name = user if kind == "wrong" else "ghost%d-%s" % (i, user)
            t0 = time.perf_counter()
            t.expect(t.api("login", {"username": name,
                                     "password": "Not-The-Password-9"}),
                     401, "invalid_credentials")
            pair[kind] = time.perf_counter() - t0
            med[kind].append(pair[kind])
        ratios.append(pair["unknown"] / pair["wrong"])
    ratio = sorted(ratios)[len(ratios) // 2]
    med = {k: sorted(v)[len(v) // 2] for k, v in med.items()}
    print("# login median: wrong password %.1f ms, unknown user %.1f ms, "
          "median pair ratio %.2f" % (med["wrong"] * 1000,
                                      med["unknown"] * 1000, ratio))
    # Within 20% of each other: the faster takes at least 0.8 times the
    # slower.
    t.check(0.8 <= ratio <= 1 / 0.8, "unknown user and wrong password take "
            "the same time (+-20%)", med)
    t.psql("DELETE FROM csam_password_failures")


def test_lockout_and_expiry():
    user, email = active_account()
    t.psql("DELETE FROM csam_password_failures")
    locked = None
    for i in range(12):
        t.forgive_source()
        # Growing delays are the engine's business; this test waits none.
        t.psql("UPDATE csam_password_failures SET delay_until = NULL")
        r = t.api("login", {"username": user, "password": "Not-It-123456"})
        t.expect(r, 401, "invalid_credentials")
        t.check("attempts_left" not in r.body, "attempts_left would tell "
                "a known username", r.body)
        if t.scalar("SELECT count(*) FROM csam_password_failures WHERE "
                    "locked_until > now()") != "0":
            break
    t.forgive_source()
    t.psql("UPDATE csam_password_failures SET delay_until = NULL")
    locked = t.api("login", {"username": user, "password": t.PASSWORD})
    t.expect(locked, 423, "locked")
    t.check(isinstance(locked.body.get("retry_after"), int)
            and locked.body["retry_after"] > 0, "retry_after", locked.body)
    t.check(locked.header("retry-after") is not None, "Retry-After header")
    # A wrong password on a locked account gets the very same answer: the
    # lock is no oracle (tests/httpd/login_lock.py measures the time).
    t.psql("UPDATE csam_password_failures SET delay_until = NULL")
    t.forgive_source()
    wrong = t.api("login", {"username": user, "password": "Not-It-123456"})
    t.expect(wrong, 423, "locked")
    t.check(set(wrong.body) == set(locked.body), "same body", wrong.body,
            locked.body)
    # The lock ends by itself.
    t.psql("UPDATE csam_password_failures SET delay_until = NULL, "
           "locked_until = now() - interval '1 second'")
    t.forgive_source()
    t.expect(t.api("login", {"username": user, "password": t.PASSWORD}), 200)
    t.psql("DELETE FROM csam_password_failures")
    t.forgive_source()


def test_unauthenticated():
    t.expect(t.api("me", method="GET"), 401, "unauthenticated")
    t.expect(t.api("logout"), 401, "unauthenticated")
    t.expect(t.api("keys", method="GET"), 401, "unauthenticated")
    r = t.api("/app/env", method="GET", content_type=None)
    t.expect(r, 401, "unauthenticated")
    t.check(r.header("www-authenticate") is not None, "WWW-Authenticate")
    status, rh, _ = backend("/app/env?a=1&b=%2F", headers=BROWSER)
    t.check(status == 303, "browser without a session is redirected", status)
    loc = rh.get("location", "")
    t.check(loc.startswith("/csam/login?return="), "redirect to the login "
            "page", loc)
    t.check(urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
            .get("return") == ["/app/env?a=1&b=%2F"], "the return path is "
            "the request's", loc)
    # An unprotected path is served as it is.
    status, _, env = backend("/pub/env")
    t.check(status == 200 and "REMOTE_USER" not in env
            and "CSAM_USER" not in env, "unprotected CGI", status)


def test_redirect_stays_local():
    """Whatever the request path, the login redirect names a local path."""
    for path in ("/app//evil.example/x", "/app/%2F%2Fevil",
                 "/app/env?return=https://evil.example",
                 "/app/x%0d%0aLocation:%20https://evil.example",
                 "/app/\\evil"):
        status, rh, _ = backend(path, headers=BROWSER)
        loc = rh.get("location", "")
        t.check(status == 303 or status == 400 or status == 404,
                "status for %s" % path, status)
        if status != 303:
            continue
        t.check(loc.startswith("/csam/login"), "login redirect", path, loc)
        t.check("\r" not in loc and "\n" not in loc and " " not in loc,
                "no CR, LF or space in Location", loc)
        m = re.search(r"[?&]return=([^&]*)", loc)
        if m:
            ret = re.sub(r"%([0-9A-F]{2})",
                         lambda x: chr(int(x.group(1), 16)), m.group(1))
            t.check(ret.startswith("/") and not ret.startswith("//")
                    and not ret.startswith("/\\"), "return is local", ret)


def test_return_one_rule():
    """AuthType CSAM carries a return path only when the login page would
    keep it: one rule for both (quotes, braces, angle brackets are not
    URI characters, so neither side takes them)."""
    for path in ('/app/env?a={x}', '/app/env?a="x"', '/app/env?a=<x>',
                 '/app/env?a=x|y', '/app/env?a=`x`'):
        status, rh, _ = backend(path, headers=BROWSER)
        t.check(status == 303, "browser without a session", path, status)
        loc = rh.get("location", "")
        t.check(loc == "/csam/login", "no return path the login page "
                "would drop", path, loc)
        q = urllib.parse.quote(path, safe="")
        status, _, data = t.request("GET", "/csam/login?return=" + q, None,
                                    BROWSER)
        m = re.search(r'name="return" value="([^"]*)"',
                      data.decode("utf-8", "replace"))
        t.check(status == 200 and m is not None
                and m.group(1) == "/csam/keys",
                "the login page drops it too", path,
                m.group(1) if m else None)
    status, rh, _ = backend("/app/env?a=(x)", headers=BROWSER)
    t.check(rh.get("location", "").startswith("/csam/login?return="),
            "a path of URI characters comes back", rh.get("location"))


def test_login_page_return_is_local():
    """The login page keeps a local return path and nothing else (the
    path it redirects to after the code)."""
    cases = {"/app/env?a=1": "/app/env?a=1",
             "//evil.example/x": None, "https://evil.example/": None,
             "/\\evil.example": None, "%2F%2Fevil.example": None,
             "/app%0d%0aSet-Cookie:%20x=y": None, "javascript:alert(1)": None,
             "\\/evil.example": None}
    for raw, want in cases.items():
        q = raw if raw.startswith("%") else urllib.parse.quote(raw, safe="")
        if "%0d" in raw:
            q = raw.replace("/", "%2F")
        status, rh, data = t.request("GET", "/csam/login?return=" + q, None,
                                     BROWSER)
        t.check(status == 200, "login page", raw, status)
        html = data.decode("utf-8", "replace")
        m = re.search(r'name="return" value="([^"]*)"', html)
        t.check(m is not None, "the login form carries a return path", raw)
        ret = m.group(1).replace("&amp;", "&")
        t.check(ret.startswith("/") and not ret.startswith("//")
                and "\\" not in ret and "\r" not in ret and "\n" not in ret,
                "return path is local", raw, ret)
        t.check("evil" not in ret and "javascript" not in ret,
                "a foreign return path is dropped", raw, ret)
        if want is not None:
            t.check(ret == want, "a local return path is kept", raw, ret)


def test_cookie_tampering():
    user, email = active_account()
    value = login(user, email)
    t.check(backend("/app/env", value)[0] == 200, "genuine cookie")
    flipped = value[:-1] + ("A" if value[-1] != "A" else "B")
    for bad in (flipped, value[:-1], value + "A", value.upper(),
                "A" * 43, "", value[:20] + "." + value[21:]):
        r = t.api("/app/env", method="GET", content_type=None,
                  headers=with_cookie(bad))
        t.expect(r, 401, "unauthenticated")
        t.expect(t.api("me", method="GET", headers=with_cookie(bad)), 401,
                 "unauthenticated")
    # Another cookie's name that merely ends like it is not it.
    r = t.api("/app/env", method="GET", content_type=None,
              headers={"Cookie": "xcsam_session=%s" % value})
    t.expect(r, 401, "unauthenticated")
    # Among other cookies, and the genuine one after a bogus one.
    h = {"Cookie": "a=b; csam_session=%s; c=d" % value}
    t.check(backend("/app/env", headers=h)[0] == 200, "among other cookies")
    h = {"Cookie": "csam_session=bogus; csam_session=%s" % value}
    t.check(backend("/app/env", headers=h)[0] == 200, "after a bogus one")


def test_expired_session():
    user, email = active_account()
    for column in ("idle", "absolute"):
        value = login(user, email)
        t.check(backend("/app/env", value)[0] == 200, "fresh session")
        if column == "idle":
            t.psql("UPDATE csam_sessions SET last_seen_at = now() - "
                   "interval '2 hours' WHERE revoked_at IS NULL AND "
                   "account_id = (SELECT id FROM csam_accounts WHERE "
                   "username = '%s')" % user)
        else:
            t.psql("UPDATE csam_sessions SET created_at = now() - "
                   "interval '13 hours', expires_at = now() - interval "
                   "'1 hour' WHERE revoked_at IS NULL AND account_id = "
                   "(SELECT id FROM csam_accounts WHERE username = '%s')"
                   % user)
        # The API asks the database at once.
        t.expect(t.api("me", method="GET", headers=with_cookie(value)), 401,
                 "unauthenticated")
        # Protected locations within the cache's bound.
        took = until(lambda: refused("/app/env", value), CACHE_TTL + 3)
        t.check(took is not None and took <= CACHE_TTL + 1.5,
                "%s-expired session refused within the cache bound" % column,
                took)
        status, rh, _ = backend("/app/env", value, headers=BROWSER)
        t.check(status == 303 and rh.get("location", "").startswith(
            "/csam/login"), "expired session: browser to the login page",
            status)


def test_logout_on_every_node():
    user, email = active_account()
    value = login(user, email, url=ONE)
    other = login(user, email, url=ONE)
    t.check(value != other, "a new session id at every login")
    for url in (ONE, TWO):
        t.check(backend("/app/env", value, url=url)[0] == 200,
                "session before logout", url)
    resp = t.request("POST", "/csam/api/v1/logout", b"",
                     with_cookie(value), ONE)
    t.check(resp[0] == 204, "logout is 204", resp[0], resp[2])
    t.check(re.search(r"csam_session=;.*Max-Age=0", resp[1].get(
        "set-cookie", "")) is not None, "logout expires the cookie",
        resp[1].get("set-cookie"))
    # At once on the node that did it (every child), and for the API.
    r = t.api("/app/env", method="GET", content_type=None,
              headers=with_cookie(value), url=ONE)
    t.expect(r, 401, "unauthenticated")
    # The second node's cache may still hold it, for CSAMSessionCacheTTL
    # at most (its API asks the database: checked afterwards, since that
    # check also refreshes the cache).
    took = until(lambda: refused("/app/env", value, TWO), CACHE_TTL + 3)
    print("# logout seen by the second node after %.2fs (bound %ds)"
          % (took if took is not None else -1, CACHE_TTL))
    t.check(took is not None and took <= CACHE_TTL + 1.5,
            "logout reaches the other node within CSAMSessionCacheTTL", took)
    t.expect(t.api("me", method="GET", headers=with_cookie(value), url=TWO),
             401, "unauthenticated")
    # The other session of the same account lives on.
    for url in (ONE, TWO):
        t.check(backend("/app/env", other, url=url)[0] == 200,
                "the account's other session", url)
    # Logging out twice.
    t.expect(t.api("logout", headers=with_cookie(value)), 401,
             "unauthenticated")


def test_spoofed_identity_headers():
    user, email = active_account()
    value = login(user, email)
    spoof = {"X-CSAM-User": "admin", "X-Csam-Key": "totp",
             "X_CSAM_User": "admin", "x-csam-auth-time": "1"}
    for path in ("/pub/env", "/app/env", "/hdr/env"):
        status, _, env = backend(path, value, headers=spoof)
        t.check(status == 200, "CGI", path, status)
        t.check("admin" not in env.values(), "a spoofed identity reached "
                "the backend", path, env)
        t.check(env.get("CSAM_USER") in (None, user), "CSAM_USER", env)
    status, _, env = backend("/hdr/env", value, headers=spoof)
    t.check(env.get("HTTP_X_CSAM_USER") == user
            and env.get("HTTP_X_CSAM_KEY") == "email"
            and env.get("HTTP_X_CSAM_AUTH_TIME") == env.get("CSAM_AUTH_TIME"),
            "CSAMIdentityHeaders On passes the real identity", env)
    status, _, env = backend("/app/env", value, headers=spoof)
    t.check(not any(k.startswith("HTTP_X_CSAM") for k in env),
            "no identity header without CSAMIdentityHeaders", env)


def test_require_csam_key():
    user, email = active_account()
    value = login(user, email)
    # httpd logs each refusal of an authenticated user at level error.
    with t.log_expected(t.authz_failure(user, "/totp/env")):
        r = t.api("/totp/env", method="GET", content_type=None,
                  headers=with_cookie(value))
    t.expect(r, 403, "forbidden")
    with t.log_expected(t.authz_failure(user, "/totp/env")):
        status, _, _ = backend("/totp/env", value, headers=BROWSER)
    t.check(status == 403, "Require csam-key totp refuses an e-mail session "
            "(browser)", status)
    status, _, env = backend("/mixed/env", value)
    t.check(status == 200 and env.get("CSAM_KEY") == "email",
            "RequireAll valid-user + csam-key email sms", status)
    # No session at all: the login page or 401, not 403.
    t.expect(t.api("/totp/env", method="GET", content_type=None), 401,
             "unauthenticated")


def totp_part(user, email, h):
    """Adding the app key: confirm step, a totp session and Require
    csam-key totp, which ends with its key."""
    t.expect(t.api("keys", {"key_type": "totp", "accept_terms": False},
                   headers=h), 400, "terms_not_accepted")
    added = t.expect(t.api("keys", {"key_type": "totp", "accept_terms": True},
                           headers=h), 202)
    t.check(added.get("next") == "confirm" and added.get("otpauth_uri", "")
            .startswith("otpauth://totp/") and added.get("secret"),
            "totp provisioning", added)
    t.forgive_source()
    t.expect(t.api("keys/confirm", {"key_type": "totp",
                                    "code": totp(added["secret"], 5)},
                   headers=h), 401, "invalid_code")
    t.forgive_source()
    t.expect(t.api("keys/confirm", {"key_type": "totp",
                                    "code": totp(added["secret"])},
                   headers=h), 200)
    keys = t.expect(t.api("keys", method="GET", headers=h), 200)["keys"]
    t.check(sorted(k["type"] for k in keys if k["status"] == "active")
            == ["email", "totp"], "two active keys", keys)
    handle = t.expect(t.api("login", {"username": user,
                                      "password": t.PASSWORD}), 200)["login"]
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "totp"}),
             202)
    resp = t.api("login/verify", {"login": handle,
                                  "code": totp(added["secret"], 1)})
    t.expect(resp, 200)
    app_session, _ = cookie_of(resp)
    status, _, env = backend("/totp/env", app_session)
    t.check(status == 200 and env.get("CSAM_KEY") == "totp",
            "a totp session passes Require csam-key totp", status, env)
    with t.log_expected(t.authz_failure(user, "/mixed/env")):
        refused = backend("/mixed/env", app_session)[0]
    t.check(refused == 403,
            "a totp session fails Require csam-key email sms")
    r = t.request("DELETE", "/csam/api/v1/keys/totp", None, h)
    t.check(r[0] == 204, "deactivate a key", r[0], r[2])
    # The sessions that key opened end with it (DESIGN 4).
    t.expect(t.api("/totp/env", method="GET", content_type=None,
                   headers=with_cookie(app_session)), 401, "unauthenticated")
    t.expect(t.api("/csam/api/v1/keys/email", method="DELETE",
                   content_type=None, headers=h), 403, "forbidden")


def test_self_management():
    user, email = active_account()
    value = login(user, email)
    other = login(user, email)
    h = with_cookie(value)
    keys = t.expect(t.api("keys", method="GET", headers=h), 200)["keys"]
    t.check([k["type"] for k in keys] == ["email"]
            and keys[0]["status"] == "active", "one active key", keys)
    # The last active key stays.
    t.expect(t.api("/csam/api/v1/keys/email", method="DELETE",
                   content_type=None, headers=h), 403, "forbidden")
    t.expect(t.api("/csam/api/v1/keys/ssh", method="DELETE",
                   content_type=None, headers=h), 404, "not_found")
    t.expect(t.api("/csam/api/v1/keys/email", method="GET",
                   content_type=None, headers=h), 405, "method_not_allowed")
    t.expect(t.api("keys", {"key_type": "ssh", "accept_terms": True},
                   headers=h), 400, "invalid_request")
    t.expect(t.api("keys", {"key_type": "email", "accept_terms": True,
                            "colour": "red"}, headers=h), 400,
             "invalid_request")
    # A key type already active is a step out of order.
    t.expect(t.api("keys", {"key_type": "email", "accept_terms": True},
                   headers=h), 403, "forbidden")
    t.expect(t.api("keys/confirm", {"key_type": "email", "code": "123456"},
                   headers=h), 403, "forbidden")
    totp_part(user, email, h)
    still = other

    # Password change: the current one is required, the others end.
    new = "Another-Correct-Horse-8?"
    t.forgive_source()
    t.psql("DELETE FROM csam_password_failures")
    t.expect(t.api("password", {"current_password": "nope-nope-nope",
                                "password": new, "password_repeat": new},
                   headers=h), 401, "invalid_credentials")
    t.forgive_source()
    t.psql("DELETE FROM csam_password_failures")
    t.expect(t.api("password", {"current_password": t.PASSWORD,
                                "password": new, "password_repeat": new + "x"},
                   headers=h), 400, "password_mismatch")
    t.expect(t.api("password", {"current_password": t.PASSWORD,
                                "password": "short", "password_repeat":
                                "short"}, headers=h), 400, "weak_password")
    t.expect(t.api("password", {"password": new, "password_repeat": new},
                   headers=h), 400, "invalid_request")
    # Warm both nodes' caches with the other session first.
    for url in (ONE, TWO):
        t.check(backend("/app/env", still, url=url)[0] == 200,
                "other session before the change", url)
    r = t.request("POST", "/csam/api/v1/password",
                  ('{"current_password": "%s", "password": "%s", '
                   '"password_repeat": "%s"}' % (t.PASSWORD, new, new))
                  .encode(), dict(h, **{"Content-Type": "application/json"}))
    t.check(r[0] == 204, "password changed", r[0], r[2])
    t.check(backend("/app/env", value)[0] == 200,
            "the session that changed it lives on")
    # At once on this node, whichever child caches it.
    t.expect(t.api("/app/env", method="GET", content_type=None,
                   headers=with_cookie(still)), 401, "unauthenticated")
    took = until(lambda: refused("/app/env", still, TWO), CACHE_TTL + 3)
    t.check(took is not None and took <= CACHE_TTL + 1.5,
            "password change ends other sessions on every node", took)
    t.forgive_source()
    t.expect(t.api("login", {"username": user, "password": t.PASSWORD}),
             401, "invalid_credentials")
    t.forgive_source()
    t.psql("DELETE FROM csam_password_failures")
    t.expect(t.api("login", {"username": user, "password": new}), 200)
    t.forgive_source()


def pg_log():
    return os.path.join(os.path.dirname(os.environ["CSAM_TEST_PG_CTL"]),
                        "pg", "log")


def session_statements(fn):
    """How many statements on csam_sessions PostgreSQL ran during fn()."""
    t.psql("ALTER SYSTEM SET log_statement = 'all'")
    t.psql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    start = os.path.getsize(pg_log())
    try:
        fn()
        time.sleep(0.5)
    finally:
        t.psql("ALTER SYSTEM RESET log_statement")
        t.psql("SELECT pg_reload_conf()")
    with open(pg_log(), "rb") as f:
        f.seek(start)
        text = f.read().decode("utf-8", "replace")
    return sum(1 for line in text.splitlines()
               if ("execute" in line or "statement:" in line)
               and "csam_sessions" in line)


def test_statements_per_protected_request():
    """With the cache, repeated protected requests cost no statement; the
    API's session checks always ask the database."""
    user, email = active_account()
    value = login(user, email)
    n = 60

    def protected():
        for _ in range(n):
            t.check(backend("/app/env", value)[0] == 200, "cached session")

    def api_checks():
        for _ in range(10):
            t.expect(t.api("me", method="GET", headers=with_cookie(value)),
                     200)

    # A child asks the database at most once per cache period (CACHE_TTL)
    # and the node has at most two children: a fixed bound of a quarter of
    # the requests leaves room for a slow machine (the loop may last six
    # periods) and fails without the cache (one statement a request).
    t0 = time.time()
    cached = session_statements(protected)
    took = time.time() - t0
    fresh = session_statements(api_checks)
    print("# session statements: %d for %d protected requests in %.2fs "
          "(cache %ds), %d for 10 GET /me" % (cached, n, took, CACHE_TTL,
                                              fresh))
    t.check(cached <= n // 4,
            "protected requests served from the cache", cached, took)
    t.check(fresh >= 10, "the API asks the database", fresh)


t.run([test_login_and_backend_identity, test_login_failures,
       test_same_time_unknown_and_wrong, test_lockout_and_expiry,
       test_unauthenticated, test_redirect_stays_local,
       test_login_page_return_is_local, test_return_one_rule,
       test_cookie_tampering, test_expired_session,
       test_logout_on_every_node, test_spoofed_identity_headers,
       test_require_csam_key, test_self_management,
       test_statements_per_protected_request])
