# SPDX-License-Identifier: Apache-2.0
"""Helpers of the httpd tests behind mod_auth_openidc (python3 standard
library and python3-cryptography).

Debian's mod_auth_openidc authenticates people against the test's own
OpenID provider (tests/lib/oidc_provider.py), as itsme would, and passes
the ID token's claims to the request environment only (OIDC_CLAIM_<name>,
never as headers).  A test has three stages (csamtest.start): the second
writes httpd's configuration, the third runs the test; so

    t.start(__file__, extra_conf=oidc.server_conf(["/oidc"]))
    provider = oidc.provider()        # third stage: serves the port the
                                      # configuration names
    provider.add("p1", national_number="85073003328", given_name="Marie",
                 family_name="Dupont")
    client = oidc.login("p1", "/oidc/env")  # a browser's round trip

server_conf() picks the provider's port and exports it (CSAM_TEST_OIDC_PORT)
to the later stages; mod_auth_openidc fetches the provider's metadata at
the first login, so the provider need not run before httpd starts.
"""
import http.cookiejar
import os
import socket
import sys
import urllib.error
import urllib.request

import csamtest as t

MODULE = "/usr/lib/apache2/modules/mod_auth_openidc.so"
CLIENT_ID = "csam"
CLIENT_SECRET = "csam-test-secret"
# Under a location mod_auth_openidc protects, as it requires.
REDIRECT_PATH = "/oidc/redirect"
# The session cookie a logged-in person's browser holds.
SESSION_COOKIE = "mod_auth_openidc_session"


def _lib():
    lib = os.path.join(os.environ["CSAM_SRCDIR"], "tests", "lib")
    if lib not in sys.path:
        sys.path.insert(0, lib)
    import oidc_provider
    return oidc_provider


def server_conf(locations=(), extra=""):
    """httpd configuration lines loading mod_auth_openidc in front of
    /oidc (REDIRECT_PATH and an environment-printing CGI at /oidc/env) and
    of every path in `locations` (each <Location> gets AuthType
    openid-connect and Require valid-user); the same CGI answers /app/env,
    unprotected unless `extra` (appended: more <Location>s, virtual hosts)
    protects /app.  Only in the stage that writes the configuration; None
    in the others."""
    tmp = os.environ.get("CSAM_TEST_TMPDIR")
    if not tmp or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    if not os.path.exists(MODULE):
        print("SKIP: %s missing (Debian package "
              "libapache2-mod-auth-openidc; scripts/deps)" % MODULE)
        sys.exit(77)
    # A free port for the provider the test will start; httpd-run picks
    # its own ports the same way.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ["CSAM_TEST_OIDC_PORT"] = str(port)
    cgi = os.path.join(tmp, "oidc-cgi-%d" % os.getpid())
    os.makedirs(cgi, exist_ok=True)
    os.chmod(cgi, 0o755)
    script = os.path.join(cgi, "env.cgi")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n")
    os.chmod(script, 0o755)
    protected = "".join("""
<Location %s>
    AuthType openid-connect
    Require valid-user
</Location>
""" % path for path in ["/oidc"] + list(locations))
    return _lib().relying_party_conf(
        "http://127.0.0.1:%d" % port, CLIENT_ID, CLIENT_SECRET,
        REDIRECT_PATH) + """
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
# /app/env is the same CGI, for a location the test protects otherwise.
ScriptAliasMatch "^/(oidc|app)/env$" "%(script)s"
<Directory "%(cgi)s">
    Require all granted
</Directory>
%(protected)s
%(extra)s
""" % {"script": script, "cgi": cgi, "protected": protected,
       "extra": extra}


def provider():
    """Start the provider on the port the configuration names (third
    stage); it serves in a thread of the test until the test exits."""
    p = _lib().OidcProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                            verbose=bool(os.environ.get("CSAM_TEST_VERBOSE")))
    p.start(int(os.environ["CSAM_TEST_OIDC_PORT"]))
    return p


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A client that keeps cookies across httpd and the provider (both on
    127.0.0.1, on two ports) and follows redirects, as a browser does."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self.follow = urllib.request.build_opener(cookies)
        self.stay = urllib.request.build_opener(cookies, _NoRedirect())

    def get(self, path, follow=True, headers=None):
        """(status, final URL, headers, body text) of a GET of path under
        httpd's URL (or of a whole URL)."""
        url = path if "://" in path else t.base_url() + path
        req = urllib.request.Request(url, headers=dict(
            {"Accept": "text/html"}, **(headers or {})))
        opener = self.follow if follow else self.stay
        try:
            with opener.open(req, timeout=30) as resp:
                return (resp.status, resp.geturl(), resp.headers,
                        resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            with e:
                return (e.code, e.geturl(), e.headers,
                        e.read().decode("utf-8", "replace"))

    def cookie_header(self):
        """The Cookie header this browser sends httpd (for csamtest.api)."""
        return "; ".join("%s=%s" % (c.name, c.value) for c in self.jar
                         if c.domain.lstrip(".") == "127.0.0.1")

    def session(self):
        return [c.value for c in self.jar if c.name == SESSION_COOKIE]


def environment(text):
    """The CGI's `env` output as a dict."""
    env = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            env[name] = value
    return env


def login(hint, provider, path="/oidc/env"):
    """A browser that logged in as the provider's person `hint` through
    mod_auth_openidc, having asked for `path`; returns (browser, status,
    body) of the page it landed on, after checking that it did land on
    `path` with a session cookie."""
    provider.use(hint)
    b = Browser()
    status, url, _, body = b.get(path)
    t.check(url == t.base_url() + path,
            "the round trip did not come back to %s" % path, url, status,
            body[:300])
    t.check(len(b.session()) == 1, "no mod_auth_openidc session cookie",
            [c.name for c in b.jar])
    return b, status, body
