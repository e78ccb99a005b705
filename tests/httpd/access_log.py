#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The activation link's token never reaches a log (DESIGN 4).

The link's first request trades the token for the sealed flow cookie and
answers 303 to /csam/activate, without it; its own request line is
logged as t=redacted.  A citizen then walks the whole activation through
the HTML pages, and no log of the server (the access log in Apache's
default combined format, one with %q and %U%q, mod_log_forensic's, the
error log at LogLevel debug, every module) holds the token, the paper code,
the password or the security code."""
import http.client
import os
import re
import sys
import urllib.parse

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402


# Apache's (and Debian's apache2.conf's) combined format.
COMBINED = ('%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" '
            '\\"%{User-Agent}i\\"')


def server_conf():
    tmp = os.environ.get("CSAM_TEST_TMPDIR")
    if not tmp or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    logs = os.path.join(tmp, "logs-%d" % os.getpid())
    # Read back by the test, which httpd-run starts as a child.
    os.environ["CSAM_TEST_LOG_DIR"] = logs
    os.makedirs(logs, exist_ok=True)
    return """
LoadModule log_forensic_module /usr/lib/apache2/modules/mod_log_forensic.so
LogFormat "%(combined)s" combined
CustomLog "%(logs)s/combined_log" combined
CustomLog "%(logs)s/query_log" "%%U%%q %%q %%{Referer}i"
ForensicLog "%(logs)s/forensic_log"
LogLevel debug
""" % {"logs": logs, "combined": COMBINED}


t.start(__file__, extra_conf=server_conf())
LOGS = os.environ["CSAM_TEST_LOG_DIR"]
mbox = t.Mailbox()
BROWSER = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"


class Browser:
    """Just enough of a browser: a cookie jar, forms, no redirects."""

    def __init__(self):
        self.cookies = {}

    def go(self, method, path, form=None):
        u = urllib.parse.urlsplit(t.base_url())
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        h = {"Accept": BROWSER, "User-Agent": "csam-test-browser"}
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv
                                    for kv in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body, h)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            for k, v in resp.getheaders():
                if k.lower() != "set-cookie":
                    continue
                name, _, rest = v.partition("=")
                value = rest.split(";")[0]
                if "Max-Age=0" in v:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            return resp.status, dict(resp.getheaders()), text
        finally:
            conn.close()

    def page(self, path="/csam/activate"):
        status, _, text = self.go("GET", path)
        t.check(status == 200, "page %s" % path, status, text[:300])
        m = re.search(r'name="csrf" value="([^"]+)"', text)
        return text, (m.group(1) if m else None)

    def post(self, form, path="/csam/activate"):
        _, csrf = self.page(path)
        form = dict(form, csrf=csrf)
        status, headers, text = self.go("POST", path, form)
        t.check(status == 303, "form %s answered by 303" % form.get("step"),
                status, text[:300])
        t.check(headers.get("Location") == path, "back to the page",
                headers.get("Location"))


def logs():
    out = {}
    for name in ("combined_log", "query_log", "forensic_log"):
        with open(os.path.join(LOGS, name), encoding="utf-8",
                  errors="replace") as f:
            out[name] = f.read()
    for path in os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split():
        with open(path, encoding="utf-8", errors="replace") as f:
            out[path] = f.read()
    return out


def test_activation_by_link_leaves_no_secret_in_logs():
    reg, reply, token = t.register(mbox)
    b = Browser()
    # The link, as the mail client opens it.
    status, headers, _ = b.go("GET", "/csam/activate?t=" + token)
    t.check(status == 303, "the link's first request is a redirect", status)
    t.check(headers.get("Location") == "/csam/activate",
            "to the page without the token", headers.get("Location"))
    t.check("csam_act" in b.cookies, "the token went into the flow cookie",
            b.cookies)
    t.check(token not in "".join(b.cookies.values()),
            "sealed: the cookie does not show the token")
    # The whole activation on the pages.
    page, _ = b.page()
    t.check('name="activation_code"' in page, "the paper code page")
    t.check(token not in page, "the page does not carry the token")
    b.post({"step": "code", "activation_code": reply["activation_code"]})
    page, _ = b.page()
    t.check('name="key_type"' in page, "the key page", page[:300])
    b.post({"step": "key", "key_type": "email", "accept_terms": "yes"})
    user = t.username()
    b.post({"step": "credentials", "username": user,
            "password": t.PASSWORD, "password_repeat": t.PASSWORD})
    code = t.security_code(mbox.wait(reg["email"]))
    b.post({"step": "confirm", "code": code})
    page, _ = b.page()
    t.check(user in page, "the success page names the account", page[:300])
    t.check(t.scalar("SELECT count(*) FROM csam_accounts WHERE username = "
                     "'%s' AND status = 'active'" % user) == "1",
            "the account is active")
    # The link again in the same browser: the success page, still no token.
    status, headers, _ = b.go("GET", "/csam/activate?t=" + token)
    t.check(status == 303 and headers.get("Location") == "/csam/activate",
            "the link again: redirected", status)
    page, _ = b.page()
    t.check(user in page, "and the success page again")

    secrets = {"link token": token, "paper code": reply["activation_code"],
               "password": t.PASSWORD, "security code": code}
    seen = logs()
    t.check("t=redacted" in seen["combined_log"],
            "the link's request line is logged, redacted",
            seen["combined_log"][-600:])
    t.check("/csam/activate?t=redacted" in seen["query_log"],
            "%U%q redacted too", seen["query_log"][-300:])
    t.check(seen["forensic_log"].count("t=redacted") >= 2,
            "mod_log_forensic saw only the redacted line",
            seen["forensic_log"][-600:])
    for log, text in seen.items():
        for what, secret in secrets.items():
            t.check(secret not in text, "the %s is in %s" % (what, log),
                    [line for line in text.splitlines() if secret in line])
    # A percent-encoded spelling of the page is redacted as well.
    status, _, _ = b.go("GET", "/csam/%61ctivate?t=" + token)
    t.check(status == 303, "the link under another spelling", status)
    seen = logs()
    for log, text in seen.items():
        t.check(token not in text, "the token is in %s" % log,
                [line for line in text.splitlines() if token in line])


t.run([test_activation_by_link_leaves_no_secret_in_logs])
