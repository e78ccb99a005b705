#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A logout takes effect at once in every child process of the node that
did it, even with a long CSAMSessionCacheTTL: prefork children each hold
the session in their own cache, a logout through another child ends it
for all of them (the caches obey a generation shared by the node)."""
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

CHILDREN = 4

t.start(__file__, httpd_opts=("--mpm", "prefork"), extra_conf="""
StartServers %(n)d
MinSpareServers %(n)d
MaxSpareServers 8
CSAMSessionCacheTTL 300
CSAMResendCooldown 0
# Relative to ServerRoot (httpd-run's configuration directory): which
# child served what.
CustomLog pids_log "%%P %%>s %%U"
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
""" % {"n": CHILDREN})
mbox = t.Mailbox()


def login():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    handle = t.expect(t.api("login", {"username": a["username"],
                                      "password": t.PASSWORD}), 200)["login"]
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "email"}),
             202)
    deadline = time.time() + 15
    code = None
    while code is None and time.time() < deadline:
        msg = mbox.wait(a["reg"]["email"])
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            code = t.security_code(msg)
    resp = t.api("login/verify", {"login": handle, "code": code})
    t.expect(resp, 200)
    m = re.search(r"csam_session=([A-Za-z0-9_-]{43})",
                  resp.header("set-cookie") or "")
    t.check(m is not None, "session cookie", resp.header("set-cookie"))
    return m.group(1)


def get(conn, path, cookie):
    conn.request("GET", path, headers={"Cookie": "csam_session=" + cookie,
                                       "Accept": "application/json"})
    resp = conn.getresponse()
    resp.read()
    return resp.status


def pids_of(path):
    log = os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"], "pids_log")
    with open(log) as f:
        return {line.split()[0] for line in f
                if line.split()[2:3] == [path]}


def test_logout_reaches_every_child():
    cookie = login()
    u = urllib.parse.urlsplit(t.base_url())
    # Keep-alive connections held open at once: prefork gives each its
    # own child, and each child caches the session.
    conns = [http.client.HTTPConnection(u.hostname, u.port, timeout=30)
             for _ in range(CHILDREN)]
    try:
        for c in conns:
            t.check(get(c, "/app/index.html", cookie) == 404,
                    "authenticated (the file does not exist)")
        for c in conns:
            t.check(get(c, "/app/index.html", cookie) == 404,
                    "authenticated again, from the child's cache")
        served = pids_of("/app/index.html")
        t.check(len(served) >= 2, "the session cached in several children",
                served)
        # Logout through yet another connection, so another child.
        status, _, _ = t.request("POST", "/csam/api/v1/logout", b"",
                                 {"Cookie": "csam_session=" + cookie})
        t.check(status == 204, "logout", status)
        for c in conns:
            t.check(get(c, "/app/index.html", cookie) == 401,
                    "a child that cached the session refuses it at once")
        print("# %d children had the session cached; all refused it after "
              "the logout" % len(served))
    finally:
        for c in conns:
            c.close()


t.run([test_logout_reaches_every_child])
