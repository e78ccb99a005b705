#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An OpenID provider for the tests: the itsme side of the online procedure.

It speaks just enough OpenID Connect (authorization code flow) for a real
relying party, Debian's mod_auth_openidc, to authenticate people against it:

    /.well-known/openid-configuration   discovery
    /authorize    approves at once: redirects to redirect_uri with a code
                  and the state (no page, no consent)
    /token        client_secret_basic or client_secret_post; checks the
                  code (once, within CODE_TTL), redirect_uri, client and
                  PKCE when the request used it; answers an RS256 ID token
                  (iss, aud, azp, sub, exp, iat, auth_time, nonce and the
                  person's claims) and an access token
    /jwks         the RSA public key
    /userinfo     the person's claims, for the access token

Who logs in: the test registers people (sub, national_number, given_name,
family_name; a claim set to None is left out), each under a login hint.
An /authorize request with login_hint=HINT approves that person; without
one, the current person (the last one registered or chosen with use()).
A relying party adds no login hint of its own, so a test chooses with
use() in-process, or from another process with POST /test/person (a JSON
object: sub or login_hint, and the claims; the person is registered and
becomes the current one).

In a test (python3 standard library and python3-cryptography):

    provider = OidcProvider(client_id="csam", client_secret="s3cret")
    provider.add("85073003328", national_number="85073003328",
                 given_name="Marie", family_name="Dupont")
    provider.start(port)       # 0: the kernel picks; returns the port
    ...
    provider.stop()

From a shell (the browser walks): serves until SIGTERM or SIGINT,

    oidc_provider.py [--port P] [--port-file F] [--httpd-conf C]
                     [--client-id ID] [--client-secret S]
                     [--person NRN,Given,Family ...]

writes the port to F and, with --httpd-conf, mod_auth_openidc's
configuration for this provider to C (see relying_party_conf: the
locations to protect are the caller's), both atomically once it listens,
and prints "ready PORT".  --person's first field is also the person's sub
and login hint; an empty first field leaves the national number claim out
(,Given,Family).  A walk in a browser chooses who logs in next with POST
/test/person.  From a shell script, e.g.:

    python3 oidc_provider.py --port-file "$d/oidc.port" \
        --httpd-conf "$d/oidc.conf" --person 85073003328,Marie,Dupont &
    oidc=$!
    until [ -s "$d/oidc.port" ]; do sleep 0.1; done
    tests/lib/httpd-run --conf "$d/oidc.conf" --conf "$d/locations.conf" ...
    kill "$oidc"
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CODE_TTL = 60            # seconds an authorization code stays usable
TOKEN_TTL = 300          # lifetime of ID and access tokens
BODY_LIMIT = 16 * 1024   # a token request is a few hundred bytes
CLAIMS = ("national_number", "given_name", "family_name")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def int_b64url(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Signer:
    """One RSA key: signs compact JWS (RS256) and publishes itself as a JWK."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        numbers = self.key.public_key().public_numbers()
        self.kid = b64url(hashlib.sha256(
            str(numbers.n).encode()).digest()[:12])
        self.jwk = {"kty": "RSA", "use": "sig", "alg": "RS256",
                    "kid": self.kid, "n": int_b64url(numbers.n),
                    "e": int_b64url(numbers.e)}

    def sign(self, claims):
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        signature = self.key.sign(signing_input.encode("ascii"),
                                  padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)


class People:
    """The people the provider authenticates, by login hint."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_hint = {}
        self.current = None

    def add(self, hint, sub=None, **claims):
        """Register (or replace) a person; they become the current one.
        Claims outside CLAIMS are refused; a claim set to None is left
        out of the tokens."""
        unknown = set(claims) - set(CLAIMS)
        if unknown:
            raise ValueError("unknown claims %s" % sorted(unknown))
        person = {"sub": sub or hint}
        person.update({k: v for k, v in claims.items() if v is not None})
        with self.lock:
            self.by_hint[hint] = person
            self.current = hint
        return person

    def use(self, hint):
        with self.lock:
            if hint not in self.by_hint:
                raise KeyError(hint)
            self.current = hint

    def find(self, hint):
        """The person with this hint, or the current one when hint is
        empty; None when there is none."""
        with self.lock:
            return dict(self.by_hint.get(hint or self.current) or {}) or None


class Grants:
    """Codes and access tokens handed out, each used as the protocol says:
    a code once, an access token until it expires."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes = {}
        self.tokens = {}

    def issue_code(self, grant):
        code = secrets.token_urlsafe(32)
        grant["expires"] = time.time() + CODE_TTL
        with self.lock:
            self.codes[code] = grant
        return code

    def redeem_code(self, code):
        with self.lock:
            grant = self.codes.pop(code, None)
        if grant is None or grant["expires"] < time.time():
            return None
        return grant

    def issue_token(self, person):
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (person, time.time() + TOKEN_TTL)
        return token

    def person_of_token(self, token):
        with self.lock:
            person, expires = self.tokens.get(token, (None, 0))
        return person if expires >= time.time() else None


class Handler(BaseHTTPRequestHandler):
    """The provider's endpoints; self.server.provider holds the state."""

    server_version = "csam-oidc-provider"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.provider.verbose:
            sys.stderr.write("oidc_provider: " + fmt % args + "\n")

    # -- answers

    def send(self, status, body, ctype="application/json", headers=()):
        data = body if isinstance(body, bytes) else \
            (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def oauth_error(self, status, error, description, headers=()):
        self.send(status, {"error": error, "error_description": description},
                  headers=headers)

    # -- dispatch

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        route = {
            "/.well-known/openid-configuration": self.discovery,
            "/authorize": lambda: self.authorize(query),
            "/jwks": self.jwks,
            "/userinfo": self.userinfo,
        }.get(url.path)
        if route is None:
            self.send(404, {"error": "not_found"})
        else:
            route()

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        form = self.read_body()
        if form is None:
            return
        if path == "/token":
            self.token(dict(urllib.parse.parse_qsl(form.decode("utf-8",
                                                               "replace"))))
        elif path == "/userinfo":
            self.userinfo()
        elif path == "/test/person":
            self.set_person(form)
        else:
            self.send(404, {"error": "not_found"})

    def read_body(self):
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > BODY_LIMIT:
            self.close_connection = True
            self.oauth_error(413, "invalid_request", "body too large")
            return None
        return self.rfile.read(length)

    # -- endpoints

    def discovery(self):
        self.send(200, self.server.provider.metadata())

    def jwks(self):
        self.send(200, {"keys": [self.server.provider.signer.jwk]})

    def authorize(self, q):
        p = self.server.provider
        redirect_uri = q.get("redirect_uri", "")
        # An unknown client or a missing redirect_uri gets no redirect
        # (RFC 6749 4.1.2.1): the provider never bounces elsewhere.
        if q.get("client_id") != p.client_id or not redirect_uri:
            self.oauth_error(400, "invalid_request",
                             "unknown client or no redirect_uri")
            return
        sep = "&" if "?" in redirect_uri else "?"

        def back(params):
            params = {k: v for k, v in params.items() if v is not None}
            self.send(302, b"", "text/plain", headers=[
                ("Location",
                 redirect_uri + sep + urllib.parse.urlencode(params))])

        state = q.get("state")
        if q.get("response_type") != "code" or \
                "openid" not in q.get("scope", "").split():
            back({"error": "unsupported_response_type", "state": state})
            return
        person = p.people.find(q.get("login_hint", ""))
        if person is None:
            back({"error": "login_required", "state": state})
            return
        method = q.get("code_challenge_method", "plain")
        if q.get("code_challenge") and method not in ("plain", "S256"):
            back({"error": "invalid_request", "state": state})
            return
        code = p.grants.issue_code({
            "person": person, "redirect_uri": redirect_uri,
            "nonce": q.get("nonce"), "challenge": q.get("code_challenge"),
            "method": method, "auth_time": int(time.time())})
        back({"code": code, "state": state})

    def client_credentials(self, form):
        """(client_id, secret) from HTTP Basic or the form, not both."""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            if "client_secret" in form:
                return None, None
            try:
                raw = base64.b64decode(auth[6:], validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return None, None
            cid, _, secret = raw.partition(":")
            return (urllib.parse.unquote_plus(cid),
                    urllib.parse.unquote_plus(secret))
        return form.get("client_id"), form.get("client_secret")

    def token(self, form):
        p = self.server.provider
        cid, secret = self.client_credentials(form)
        if cid != p.client_id or secret is None or not hmac.compare_digest(
                secret.encode(), p.client_secret.encode()):
            self.oauth_error(401, "invalid_client", "client authentication",
                             headers=[("WWW-Authenticate",
                                       'Basic realm="token"')])
            return
        if form.get("grant_type") != "authorization_code":
            self.oauth_error(400, "unsupported_grant_type", "code only")
            return
        grant = p.grants.redeem_code(form.get("code", ""))
        if grant is None or grant["redirect_uri"] != \
                form.get("redirect_uri"):
            self.oauth_error(400, "invalid_grant",
                             "unknown, used or expired code, or another "
                             "redirect_uri")
            return
        if grant["challenge"] and not pkce_matches(
                grant["challenge"], grant["method"],
                form.get("code_verifier", "")):
            self.oauth_error(400, "invalid_grant", "PKCE verifier")
            return
        person = grant["person"]
        now = int(time.time())
        claims = dict(person)
        claims.update({"iss": p.issuer, "aud": p.client_id,
                       "azp": p.client_id, "iat": now,
                       "exp": now + TOKEN_TTL,
                       "auth_time": grant["auth_time"]})
        if grant["nonce"] is not None:
            claims["nonce"] = grant["nonce"]
        self.send(200, {"access_token": p.grants.issue_token(person),
                        "token_type": "Bearer", "expires_in": TOKEN_TTL,
                        "id_token": p.signer.sign(claims)})

    def userinfo(self):
        auth = self.headers.get("Authorization", "")
        person = None
        if auth.startswith("Bearer "):
            person = self.server.provider.grants.person_of_token(auth[7:])
        if person is None:
            self.send(401, {"error": "invalid_token"},
                      headers=[("WWW-Authenticate",
                                'Bearer error="invalid_token"')])
            return
        self.send(200, person)

    def set_person(self, body):
        try:
            person = json.loads(body.decode("utf-8"))
            hint = person.pop("login_hint", None) or person.get("sub")
            sub = person.pop("sub", None)
            if not isinstance(hint, str) or not hint:
                raise ValueError("a person needs a sub or a login_hint")
            self.server.provider.people.add(hint, sub=sub, **person)
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            self.oauth_error(400, "invalid_request", str(e))
            return
        self.send(200, {"login_hint": hint})


def relying_party_conf(issuer, client_id, client_secret,
                       redirect_uri="/oidc/redirect"):
    """httpd configuration lines making Debian's mod_auth_openidc a client
    of this provider.  The claims reach the request environment
    (OIDC_CLAIM_<name>) and never travel as request headers, which a
    client could send itself.  redirect_uri must lie under a location the
    caller protects with AuthType openid-connect."""
    return "\n".join([
        "LoadModule auth_openidc_module "
        "/usr/lib/apache2/modules/mod_auth_openidc.so",
        "OIDCProviderMetadataURL %s/.well-known/openid-configuration"
        % issuer,
        "OIDCClientID %s" % client_id,
        "OIDCClientSecret %s" % client_secret,
        "OIDCRedirectURI %s" % redirect_uri,
        "OIDCCryptoPassphrase %s" % secrets.token_hex(16),
        'OIDCScope "openid"',
        "OIDCProviderTokenEndpointAuth client_secret_basic",
        "OIDCPassClaimsAs environment",
        "OIDCPassIDTokenAs claims",
        "OIDCPassUserInfoAs claims",
        "OIDCPassRefreshToken Off",
    ]) + "\n"


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def pkce_matches(challenge, method, verifier):
    if method == "S256":
        verifier = b64url(hashlib.sha256(verifier.encode()).digest())
    return hmac.compare_digest(challenge.encode(), verifier.encode())


class OidcProvider:
    """The provider: its key, its people, its grants and its server."""

    def __init__(self, client_id="csam", client_secret="csam-test-secret",
                 verbose=False):
        self.client_id = client_id
        self.client_secret = client_secret
        self.verbose = verbose
        self.signer = Signer()
        self.people = People()
        self.grants = Grants()
        self.server = None
        self.thread = None
        self.issuer = None

    def add(self, hint, sub=None, **claims):
        return self.people.add(hint, sub=sub, **claims)

    def use(self, hint):
        self.people.use(hint)

    def metadata(self):
        i = self.issuer
        return {
            "issuer": i,
            "authorization_endpoint": i + "/authorize",
            "token_endpoint": i + "/token",
            "userinfo_endpoint": i + "/userinfo",
            "jwks_uri": i + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat",
                                 "nonce"] + list(CLAIMS),
        }

    def listen(self, port=0):
        """Bind 127.0.0.1:port (0: a free port); returns the port."""
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.provider = self
        self.port = self.server.server_address[1]
        self.issuer = "http://127.0.0.1:%d" % self.port
        return self.port

    def start(self, port=0):
        """Listen and serve in a background thread; returns the port."""
        self.listen(port)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       name="oidc-provider", daemon=True)
        self.thread.start()
        return self.port

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--httpd-conf")
    ap.add_argument("--client-id", default="csam")
    ap.add_argument("--client-secret", default="csam-test-secret")
    ap.add_argument("--person", action="append", default=[],
                    metavar="NRN,GIVEN,FAMILY")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    provider = OidcProvider(args.client_id, args.client_secret, args.verbose)
    for i, spec in enumerate(args.person):
        fields = spec.split(",")
        if len(fields) != 3:
            ap.error("--person takes NRN,Given,Family")
        nrn, given, family = fields
        provider.add(nrn or "no-number-%d" % (i + 1),
                     national_number=nrn or None, given_name=given or None,
                     family_name=family or None)
    port = provider.listen(args.port)
    if args.httpd_conf:
        write_atomically(args.httpd_conf, relying_party_conf(
            provider.issuer, args.client_id, args.client_secret))
    if args.port_file:
        write_atomically(args.port_file, "%d\n" % port)
    print("ready %d" % port, flush=True)

    def stop(signum, frame):
        # shutdown() waits for serve_forever, which runs in this thread.
        threading.Thread(target=provider.server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    provider.server.serve_forever()
    provider.server.server_close()


if __name__ == "__main__":
    main()
