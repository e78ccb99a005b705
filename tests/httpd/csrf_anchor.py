#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The pages' CSRF anchor (the csam_b cookie) and the logout's media type
(DESIGN 3.1, 3.2).

- csam_b is issued by the server: a value a client (or another site, by
  cookie injection) chose is replaced, and the token a page shows with it
  is worthless with the planted value: a planted csam_b yields no token a
  form accepts.
- A login renews csam_b: an anchor known before the login (planted, even
  one the server issued) gives no token for the pages after it.
- POST /api/v1/logout takes no body or a JSON one: any other body or
  Content-Type is 415 unsupported_media_type, and the session lives on."""
import http.client
import os
import re
import sys
import time
import urllib.parse

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__)
mbox = t.Mailbox()
BROWSER = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
FORM = "application/x-www-form-urlencoded"
# The shape of a server-made id (43 base64url characters, canonical
# last character), chosen by the client.
PLANTED = "Pl4nted-by-an-attacker-0123456789abcdefghig"


def fetch(method, path, cookies=None, form=None, headers=None, raw=None):
    """One request; (status, [Set-Cookie values], body text)."""
    u = urllib.parse.urlsplit(t.base_url())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    h = {"Accept": BROWSER}
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    body = raw
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        h["Content-Type"] = FORM
    h.update(headers or {})
    try:
        conn.request(method, path, body, h)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        sets = [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
        return resp.status, sets, data
    finally:
        conn.close()


def set_value(sets, name):
    """The last value set for cookie name, or None."""
    found = None
    for c in sets:
        m = re.match(r"%s=([^;]*)" % re.escape(name), c)
        if m:
            found = m.group(1)
    return found


def csrf_of(page):
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    t.check(m is not None, "the page has a CSRF token", page[:300])
    return m.group(1)


def code_from(email):
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


def account():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"], a["reg"]["email"]


def api_login(user, email, cookies):
    """Log in through the API sending cookies; the Set-Cookie values of
    the verify answer (every one: a dict of headers would keep one)."""
    hdr = {"Cookie": "; ".join("%s=%s" % kv for kv in cookies.items())}
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD}, headers=hdr),
                    200)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "email"}, headers=hdr),
             202)
    status, sets, _ = fetch(
        "POST", "/csam/api/v1/login/verify", cookies=cookies,
        raw=('{"login": "%s", "code": "%s"}'
             % (body["login"], code_from(email))).encode(),
        headers={"Accept": "application/json",
                 "Content-Type": "application/json"})
    t.check(status == 200, "login verified", status)
    return sets


def test_planted_anchor_gives_no_token():
    # The attacker asks for a page with the value it will plant...
    status, sets, page = fetch("GET", "/csam/login",
                               cookies={"csam_b": PLANTED})
    t.check(status == 200, "login page", status)
    issued = set_value(sets, "csam_b")
    t.check(issued is not None and issued != PLANTED,
            "a planted csam_b is replaced by one the server issues", sets)
    token = csrf_of(page)
    # ... and a form posted with the planted cookie and that token is
    # refused: the token belongs to the issued anchor only.
    status, _, _ = fetch("POST", "/csam/login", cookies={"csam_b": PLANTED},
                         form={"csrf": token, "step": "restart"})
    t.check(status == 403, "planted csam_b + its page's token: 403", status)
    # The issued anchor with its token is what the form takes.
    status, _, _ = fetch("POST", "/csam/login", cookies={"csam_b": issued},
                         form={"csrf": token, "step": "restart"})
    t.check(status == 303, "issued csam_b + token: accepted", status)
    # An issued id with a MAC of the attacker's making is not taken either.
    forged = issued.split(".")[0] + "." + PLANTED
    status, sets, _ = fetch("GET", "/csam/login", cookies={"csam_b": forged})
    t.check(set_value(sets, "csam_b") not in (None, forged),
            "a forged MAC is replaced", sets)
    status, _, _ = fetch("POST", "/csam/login", cookies={"csam_b": forged},
                         form={"csrf": token, "step": "restart"})
    t.check(status == 403, "forged csam_b: 403", status)


def test_login_renews_anchor():
    user, email = account()
    # An anchor the server issued, known to whoever planted it.
    _, sets, page = fetch("GET", "/csam/login")
    before = set_value(sets, "csam_b")
    old_token = csrf_of(page)
    t.check(before is not None, "an anchor issued", sets)
    sets = api_login(user, email, {"csam_b": before})
    session = set_value(sets, "csam_session")
    after = set_value(sets, "csam_b")
    t.check(session, "a session", sets)
    t.check(after is not None and after != before,
            "the login sets a new csam_b", sets)
    # The pages after the login: the old anchor's token is refused with the
    # new anchor, and the old anchor no longer opens at all.
    cookies = {"csam_session": session, "csam_b": after}
    status, _, page = fetch("GET", "/csam/logout", cookies=cookies)
    t.check(status == 200, "logout page", status)
    new_token = csrf_of(page)
    t.check(new_token != old_token, "a new token after login")
    status, _, _ = fetch("POST", "/csam/logout", cookies=cookies,
                         form={"csrf": old_token})
    t.check(status == 403, "the token from before the login is refused",
            status)
    status, _, _ = fetch("GET", "/csam/api/v1/me",
                         cookies={"csam_session": session},
                         headers={"Accept": "application/json"})
    t.check(status == 200, "still logged in", status)
    status, _, _ = fetch("POST", "/csam/logout", cookies=cookies,
                         form={"csrf": new_token})
    t.check(status == 303, "the new token logs out", status)


def test_page_login_renews_anchor():
    """The same through the login pages a browser uses."""
    user, email = account()
    jar = {}

    def go(method, path, form=None):
        status, sets, page = fetch(method, path, cookies=dict(jar), form=form)
        for c in sets:
            name, _, rest = c.partition("=")
            if "Max-Age=0" in c:
                jar.pop(name, None)
            else:
                jar[name] = rest.split(";")[0]
        return status, page

    status, page = go("GET", "/csam/login")
    before = jar.get("csam_b")
    old_token = csrf_of(page)
    t.check(status == 200 and before, "login page and an anchor", status)
    status, _ = go("POST", "/csam/login",
                   {"csrf": old_token, "step": "password", "username": user,
                    "password": t.PASSWORD})
    t.check(status == 303, "password step", status)
    status, page = go("GET", "/csam/login")
    if 'value="key"' in page:
        status, _ = go("POST", "/csam/login",
                       {"csrf": csrf_of(page), "step": "key",
                        "key_type": "email"})
        t.check(status == 303, "key step", status)
        status, page = go("GET", "/csam/login")
    t.check(jar.get("csam_b") == before, "no new anchor before the login")
    status, _ = go("POST", "/csam/login",
                   {"csrf": csrf_of(page), "step": "code",
                    "code": code_from(email)})
    t.check(status == 303 and "csam_session" in jar, "logged in", status,
            jar)
    t.check(jar.get("csam_b") not in (None, before),
            "the login page's answer sets a new csam_b", jar)
    # The token of the anchor from before the login: refused.
    status, _ = go("POST", "/csam/logout", {"csrf": old_token})
    t.check(status == 403, "the token from before the login is refused",
            status)
    status, page = go("GET", "/csam/logout")
    status, _ = go("POST", "/csam/logout", {"csrf": csrf_of(page)})
    t.check(status == 303, "the new token logs out", status)


def test_logout_media_type():
    user, email = account()
    session = set_value(api_login(user, email, {}), "csam_session")
    cookie = {"Cookie": "csam_session=" + session}

    def logout(raw, ctype):
        return t.api("logout", raw=raw, content_type=ctype, headers=cookie)

    for raw, ctype in ((b"x=1", FORM),
                       (b"logout", "text/plain"),
                       (b"--b\r\n\r\n--b--\r\n", "multipart/form-data; "
                                                 "boundary=b"),
                       (b"{}", None),
                       (b"", "text/plain"),
                       (b"{}", "application/json; charset=latin1")):
        t.expect(logout(raw, ctype), 415, "unsupported_media_type")
        t.expect(t.api("/csam/api/v1/me", method="GET", headers=cookie), 200)
    # A JSON body that is not empty is an unknown field, as everywhere.
    t.expect(logout(b'{"all": true}', "application/json"), 400,
             "invalid_request")
    # No body, or an empty JSON object: logged out.
    status, _, _ = fetch("POST", "/csam/api/v1/logout",
                         cookies={"csam_session": session}, raw=b"{}",
                         headers={"Accept": "application/json",
                                  "Content-Type": "application/json"})
    t.check(status == 204, "logout with {}", status)
    t.expect(t.api("/csam/api/v1/me", method="GET", headers=cookie), 401,
             "unauthenticated")
    session = set_value(api_login(user, email, {}), "csam_session")
    cookie = {"Cookie": "csam_session=" + session}
    status, _, _ = fetch("POST", "/csam/api/v1/logout",
                         cookies={"csam_session": session},
                         headers={"Accept": "application/json",
                                  "Content-Length": "0"})
    t.check(status == 204, "logout without a body", status)
    t.expect(t.api("/csam/api/v1/me", method="GET", headers=cookie), 401,
             "unauthenticated")


t.run([test_planted_anchor_gives_no_token, test_login_renews_anchor,
       test_page_login_renews_anchor, test_logout_media_type])
