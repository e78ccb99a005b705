#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A database that hangs instead of failing (its postmaster and backends
stopped with SIGSTOP) never hangs a request: an API call, a page and a
protected request each answer within CSAMDBConnectTimeout +
CSAMDBStatementTimeout + 0.5 s (4.5 s with the defaults; the bound
asserted is 5 s plus a margin for a busy machine), with 503 and nothing
written; a protected request whose session this child validated within
CSAMSessionCacheTTL is answered from the cache (200: that is the cache's
contract, it touches no database).  After SIGCONT the service comes back
without restarting httpd (after at most the few seconds of backoff a
stalled connection sets).  The measured times are printed."""
import http.client
import os
import sys
import time
import urllib.parse

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import csamtest as t  # noqa: E402
import pg_freeze  # noqa: E402

t.start(__file__, extra_conf="""
CSAMSessionCacheTTL 300
CSAMResendCooldown 0
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
""")
mbox = t.Mailbox()
WEB_BOUND = 5.0 + 2.0       # the 5 s goal, and a margin for a busy machine
measured = []


def timed(what, fn):
    t0 = time.monotonic()
    out = fn()
    took = time.monotonic() - t0
    measured.append((what, took))
    print("# %-40s %.2f s" % (what, took))
    t.check(took < WEB_BOUND, "%s answered within %.0f s" % (what, WEB_BOUND),
            took)
    return out


def count(table):
    return int(t.scalar("SELECT count(*) FROM %s" % table))


def httpd_parent():
    with open(os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"],
                           "httpd.pid")) as f:
        return int(f.read().strip())


def session():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return t.login(mbox, a["username"], a["reg"]["email"])


def page(cookie):
    """The key management page: it reads the session and the keys."""
    status, _, _ = t.request("GET", "/csam/keys", None,
                             {"Accept": "text/html",
                              "Cookie": "csam_session=" + cookie})
    return status


def protected(conn, cookie):
    conn.request("GET", "/app/", headers={"Cookie": "csam_session=" + cookie})
    resp = conn.getresponse()
    resp.read()
    return resp.status


def keepalive():
    u = urllib.parse.urlsplit(t.base_url())
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def test_hung_database():
    cached = session()
    uncached = session()
    _, reply, token = t.register(mbox)
    # Several pooled connections, in both children.
    for _ in range(4):
        t.expect(t.api("registrations", t.citizen(), auth=t.OFFICER), 201)
    conn = keepalive()
    # Validated once by this connection's child: now in its cache.  No
    # file behind /app: authorised means 404, refused 401/503.
    t.check(protected(conn, cached) == 404, "the session is valid")
    regs = count("csam_registrations")
    parent = httpd_parent()
    with t.log_expected(
            r"csam:error CSAM00006: database statement [a-z_]+: no answer "
            r"within [0-9]+ ms, connection dropped",
            optional=(r"csam:(error|warn) CSAM0(0006|0007|0011|1110): .*",
                      r"csam:(error|warn) .*")):
        with pg_freeze.Frozen():
            status = timed("protected request, cached session",
                           lambda: protected(conn, cached))
            t.check(status == 404, "a cached session is served from the "
                    "cache while the database hangs", status)
            r = timed("API call (registration, pooled connection)",
                      lambda: t.api("registrations", t.citizen(),
                                    auth=t.OFFICER))
            t.expect(r, 503, "unavailable")
            r = timed("API call (activation)",
                      lambda: t.api("activation", {
                          "token": token,
                          "activation_code": reply["activation_code"]}))
            t.expect(r, 503, "unavailable")
            status = timed("page request (/csam/keys)",
                           lambda: page(uncached))
            t.check(status == 503, "page: 503", status)
            status = timed("protected request, session not cached",
                           lambda: t.backend("/app/", uncached)[0])
            t.check(status == 503, "uncached session: 503", status)
            # Past the backoff: each child connects afresh, and that is
            # bounded too.
            time.sleep(5.5)
            for i in range(3):
                r = timed("API call after the backoff (%d)" % (i + 1),
                          lambda: t.api("registrations", t.citizen(),
                                        auth=t.OFFICER))
                t.expect(r, 503, "unavailable")
        conn.close()
        # Back without restarting httpd: within the backoff, every request
        # works again.
        t0 = time.monotonic()
        back = t.until(lambda: t.api("registrations", t.citizen(),
                                     auth=t.OFFICER).status == 201, 20)
        t.check(back is not None, "the API works again after SIGCONT")
        print("# %-40s %.2f s" % ("service back after SIGCONT",
                                  time.monotonic() - t0))
    t.check(httpd_parent() == parent, "httpd was not restarted")
    # Nothing half-written: of the registrations tried while frozen, none
    # exists (only the one that succeeded after), and no mail went out
    # for them.
    t.check(count("csam_registrations") == regs + 1,
            "no registration written while frozen",
            count("csam_registrations"), regs)
    t.check(page(uncached) == 200, "the page works again")
    t.check(t.backend("/app/", uncached)[0] == 404,
            "the uncached session works again")
    handle = t.open_activation(token, reply["activation_code"])
    t.check(handle, "the activation works again")


t.run([test_hung_database])
