#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The online procedure with real mod_ssl (DESIGN 2.6, 3.3): a test CA and
eID-like client certificates (subject C=BE, CN=... (Authentication), SN,
GN, serialNumber=<national number>) made here with openssl; httpd with a
TLS port (SSLVerifyClient optional_no_ca, so that a certificate of another
CA reaches mod_csam with SSL_CLIENT_VERIFY=GENEROUS) and
CSAMIdentitySource ssl-client-cert on the online paths.

- a new person online: account "new", e-mail key, credentials with the
  personal address, the code from the mailbox: active; then logs in;
- a person with an account (registered at the desk and activated):
  account "existing" with the username, recovery with a new key (the
  mobile app), the old password kept, the username kept;
- the pages: /csam/online explains and POSTs, 303 to /csam/activate where
  the activation pages take over;
- refused with 403 and nothing written: another CA's certificate, one
  without serialNumber, a serialNumber failing modulo 97, no certificate,
  request headers naming a number (over TLS and over plain http), the
  plain http port (no CSAMIdentitySource there); an expired certificate
  fails the handshake or gets 403, nothing written either."""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

MODDIR = "/usr/lib/apache2/modules"
DN_CA = "/CN=CSAM test eID CA"
DN_OTHER_CA = "/CN=Some other CA"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True)


def make_ca(d, name, subject):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            os.path.join(d, name + ".key"), "-out",
            os.path.join(d, name + ".pem"), "-subj", subject, "-days", "2")


def make_cert(d, name, subject, ca="ca", days="2", ext=None):
    """A key and a certificate signed by ca; ext: an extensions file."""
    key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", csr, "-subj", subject,
            "-utf8")
    argv = ["x509", "-req", "-in", csr, "-CA", os.path.join(d, ca + ".pem"),
            "-CAkey", os.path.join(d, ca + ".key"), "-set_serial",
            str(abs(hash(name)) % 10 ** 9 + 2), "-days", days,
            "-out", os.path.join(d, name + ".pem")]
    if ext:
        argv += ["-extfile", ext]
    openssl(*argv)


def eid_subject(number, first="Marie", last="Dupont"):
    return "/C=BE/CN=%s %s (Authentication)/SN=%s/GN=%s/serialNumber=%s" % (
        first, last, last, first, number)


def prepare():
    """Before httpd starts: the certificates and the TLS configuration."""
    d = os.path.join(os.environ["CSAM_TEST_TMPDIR"], "online-cert")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    make_ca(d, "ca", DN_CA)
    make_ca(d, "other_ca", DN_OTHER_CA)
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\n")
    make_cert(d, "server", "/CN=127.0.0.1", ext=ext)
    birth = datetime.date(1985, 7, 30)
    new_nrn = t.nrn(birth, dotted=False)
    existing_nrn = t.nrn(birth, dotted=False)
    pages_nrn = t.nrn(birth, dotted=False)
    bad = t.nrn(birth, dotted=False)
    bad_nrn = bad[:9] + "%02d" % ((int(bad[9:]) + 1) % 100)
    make_cert(d, "new", eid_subject(new_nrn, "Émilie", "Lefèvre"))
    make_cert(d, "existing", eid_subject(existing_nrn))
    make_cert(d, "pages", eid_subject(pages_nrn, "Jan", "Peeters"))
    make_cert(d, "bad_nrn", eid_subject(bad_nrn))
    make_cert(d, "no_serial", "/C=BE/CN=Marie Dupont (Authentication)"
              "/SN=Dupont/GN=Marie")
    make_cert(d, "other", eid_subject(t.nrn(birth, dotted=False)),
              ca="other_ca")
    make_cert(d, "expired", eid_subject(t.nrn(birth, dotted=False)),
              days="-1")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    with open(os.path.join(d, "numbers.json"), "w") as f:
        json.dump({"new": new_nrn, "existing": existing_nrn,
                   "pages": pages_nrn}, f)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    os.environ["CSAM_TEST_CERT_DIR"] = d
    os.environ["CSAM_TEST_TLS_PORT"] = str(port)
    return """
LoadModule socache_shmcb_module {mod}/mod_socache_shmcb.so
LoadModule ssl_module {mod}/mod_ssl.so
SSLSessionCache shmcb:{d}/ssl_scache(512000)
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile {d}/server.pem
    SSLCertificateKeyFile {d}/server.key
    SSLCACertificateFile {d}/ca.pem
    # Asked in the handshake, of every client; optional_no_ca lets a
    # certificate of another CA through (SSL_CLIENT_VERIFY GENEROUS):
    # mod_csam must refuse it itself.
    SSLVerifyClient optional_no_ca
    SSLVerifyDepth 2
    <LocationMatch "^/csam/(online|api/v1/online)$">
        CSAMIdentitySource ssl-client-cert
    </LocationMatch>
</VirtualHost>
""".format(mod=MODDIR, d=d, port=port)


if not os.environ.get("CSAM_TEST_HTTPD_URL") and os.environ.get(
        "CSAM_TEST_PG"):
    for m in ("ssl", "socache_shmcb"):
        if not os.path.exists("%s/mod_%s.so" % (MODDIR, m)):
            print("SKIP: %s/mod_%s.so missing (apache2)" % (MODDIR, m))
            sys.exit(77)
    t.start(__file__, extra_conf=prepare())
else:
    t.start(__file__)
CERTS = os.environ["CSAM_TEST_CERT_DIR"]
TLS_PORT = int(os.environ["CSAM_TEST_TLS_PORT"])
with open(os.path.join(CERTS, "numbers.json")) as _f:
    NUMBERS = json.load(_f)
mbox = t.Mailbox()


# ---------------------------------------------------------------- helpers

def context(cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(CERTS, "ca.pem"))
    if cert is not None:
        ctx.load_cert_chain(os.path.join(CERTS, cert + ".pem"),
                            os.path.join(CERTS, cert + ".key"))
    return ctx


def tls(method, path, cert=None, body=None, headers=None):
    """One request over TLS with the client certificate `cert` (a name
    made by prepare(), or None); (status, headers, raw body)."""
    conn = http.client.HTTPSConnection("127.0.0.1", TLS_PORT, timeout=60,
                                       context=context(cert))
    try:
        hdrs = dict(headers or {})
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        rh = {}
        for k, v in resp.getheaders():
            k = k.lower()
            rh[k] = rh[k] + "\n" + v if k in rh else v
        return resp.status, rh, raw
    finally:
        conn.close()


def online_api(cert=None, headers=None, body=b""):
    hdrs = {"Accept": "application/json"}
    hdrs.update(headers or {})
    if body:
        hdrs.setdefault("Content-Type", "application/json")
    status, rh, raw = tls("POST", "/csam/api/v1/online", cert, body, hdrs)
    t.check(rh.get("content-type", "").startswith("application/json"),
            "the online API answers JSON", status, raw[:300])
    parsed = json.loads(raw.decode("utf-8")) if raw else None
    if status >= 400:
        t.check(set(parsed) >= {"error", "message"}, "error body", parsed)
    return t.Response(status, rh, raw, parsed)


def counts():
    """What the online procedure may write: compared around a refusal."""
    return [t.scalar("SELECT count(*) FROM %s" % table) for table in
            ("csam_registrations", "csam_accounts", "csam_flows",
             "csam_audit")]


class nothing_written:
    def __enter__(self):
        self.before = counts()

    def __exit__(self, kind, value, tb):
        if kind is None:
            after = counts()
            t.check(after == self.before, "nothing written (registrations, "
                    "accounts, flows, audit)", self.before, after)
        return False


def totp(secret, at=None):
    """RFC 6238 with SHA-1, 6 digits, 30 s: the app's code."""
    key = __import__("base64").b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0]
                      & 0x7FFFFFFF) % 1000000)


def login(user, password=t.PASSWORD, key="email", code_for=None):
    body = t.expect(t.api("login", {"username": user, "password": password}),
                    200)
    t.check(key in body["key_types"], "key offered at login", body)
    # The activation's notice is not the code.
    mbox.skip_existing()
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": key}), 202)
    # The app's step the activation used is spent: the next one (one step
    # either side is accepted).
    code = (t.security_code(mbox.wait(code_for)) if key == "email"
            else totp(code_for, time.time() + 30))
    t.expect(t.api("login/verify", {"login": body["login"], "code": code}),
             200)


REFUSAL = (r"csam:notice CSAM0100[0-9]: online procedure refused.*")


# ---------------------------------------------------------------- tests

def test_new_person_online():
    body = t.expect(online_api("new"), 200)
    t.check(body.get("account") == "new" and "username" not in body,
            "a new person", body)
    t.check("email" in body.get("key_types", []), "key types", body)
    handle = body["activation"]
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", handle) is not None,
            "handle shape", body)
    rows = t.psql("SELECT procedure, identity_source, first_name, last_name, "
                  "code_hash IS NULL FROM csam_registrations "
                  "ORDER BY id DESC LIMIT 1")
    t.check(rows and rows[0] == ["online", "ssl-client-cert", "Émilie",
                                 "Lefèvre", "t"],
            "an online registration with the certificate's names, no "
            "paper code", rows)
    t.choose_email_key(handle)
    user, address = t.username(), "emilie.%d@example.be" % os.getpid()
    # The address is required online, and checked.
    t.expect(t.api("activation/credentials",
                   {"activation": handle, "username": user,
                    "password": t.PASSWORD, "password_repeat": t.PASSWORD,
                    "email": "not an address"}), 400, "invalid_email")
    body = t.expect(t.api("activation/credentials",
                          {"activation": handle, "username": user,
                           "password": t.PASSWORD,
                           "password_repeat": t.PASSWORD,
                           "email": address}), 202)
    t.check(body.get("next") == "confirm", "next", body)
    code = t.security_code(mbox.wait(address))
    body = t.expect(t.api("activation/confirm", {"activation": handle,
                                                 "code": code}), 200)
    t.check(body == {"username": user, "key_type": "email",
                     "status": "active"}, "active", body)
    login(user, code_for=address)


def test_existing_person_recovers_online():
    reg = t.citizen(national_number=NUMBERS["existing"])
    a = t.activate(mbox, reg)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    accounts = t.scalar("SELECT count(*) FROM csam_accounts")
    body = t.expect(online_api("existing"), 200)
    t.check(body.get("account") == "existing"
            and body.get("username") == a["username"],
            "the person's account and username", body)
    handle = body["activation"]
    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "totp",
                                      "accept_terms": True}), 200)
    # The account keeps its username: another is refused.
    t.expect(t.api("activation/credentials",
                   {"activation": handle, "username": t.username(),
                    "password": t.PASSWORD,
                    "password_repeat": t.PASSWORD}), 400, "invalid_request")
    # Online, the password may stay as it is; no username, no address.
    body = t.expect(t.api("activation/credentials", {"activation": handle}),
                    202)
    t.check(body.get("next") == "confirm" and body.get("secret"),
            "the app's secret", body)
    done = t.expect(t.api("activation/confirm",
                          {"activation": handle,
                           "code": totp(body["secret"])}), 200)
    t.check(done.get("username") == a["username"]
            and done.get("key_type") == "totp", "recovered", done)
    t.check(t.scalar("SELECT count(*) FROM csam_accounts") == accounts,
            "never a second account")
    # The old password and the new key log in.
    login(a["username"], key="totp", code_for=body["secret"])


def test_pages():
    lang = {"Accept-Language": "nl"}
    status, rh, raw = tls("GET", "/csam/online", "pages", headers=lang)
    t.check(status == 200, "start page", status)
    page = raw.decode("utf-8")
    t.check('lang="nl"' in page and "itsme" in page, "the start page in "
            "Dutch", page[:400])
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    cookies = "; ".join(c.split(";")[0] for c in
                        rh.get("set-cookie", "").split("\n") if c)
    form = urllib.parse.urlencode({"csrf": csrf}).encode()
    hdrs = dict(lang, Cookie=cookies,
                **{"Content-Type": "application/x-www-form-urlencoded"})
    status, rh, raw = tls("POST", "/csam/online", "pages", form, hdrs)
    t.check(status == 303 and rh.get("location") == "/csam/activate",
            "to the activation pages", status, rh.get("location"))
    flow = [c.split(";")[0] for c in rh.get("set-cookie", "").split("\n")
            if c.startswith("csam_act=")]
    t.check(len(flow) == 1, "the flow cookie", rh.get("set-cookie"))
    status, rh, raw = tls("GET", "/csam/activate", None,
                          headers=dict(lang, Cookie=cookies + "; "
                                       + flow[0]))
    page = raw.decode("utf-8")
    t.check(status == 200 and 'name="step" value="key"' in page,
            "the key step", status, page[:600])
    # Without an identity, the page says to use eID or itsme, in the
    # browser's language, and nothing is recorded.
    status, rh, raw = tls("GET", "/csam/online", None, headers=lang)
    csrf = re.search(r'name="csrf" value="([^"]+)"',
                     raw.decode()).group(1)
    cookies = "; ".join(c.split(";")[0] for c in
                        rh.get("set-cookie", "").split("\n") if c)
    with nothing_written(), t.log_expected():
        status, rh, raw = tls(
            "POST", "/csam/online", None,
            urllib.parse.urlencode({"csrf": csrf}).encode(),
            dict(lang, Cookie=cookies,
                 **{"Content-Type": "application/x-www-form-urlencoded"}))
    page = raw.decode("utf-8")
    t.check(status == 403 and "eID" in page and "itsme" in page
            and 'lang="nl"' in page, "403 page: identify with eID or itsme",
            status, page[:600])


def test_other_ca_refused():
    with open(os.environ["CSAM_TEST_HTTPD_ERROR_LOG"], "rb") as f:
        start = len(f.read())
    with nothing_written():
        t.expect(online_api("other"), 403, "forbidden")
    with open(os.environ["CSAM_TEST_HTTPD_ERROR_LOG"], "rb") as f:
        log = f.read()[start:].decode("utf-8", "replace")
    # mod_ssl let the handshake through (optional_no_ca) without vouching
    # for the certificate: GENEROUS, or FAILED with its reason.
    t.check(re.search(r"CSAM01002: .*\(SSL_CLIENT_VERIFY (GENEROUS|FAILED:"
                      r"[^)]*)\)", log) is not None,
            "refused by mod_csam for mod_ssl's verdict", log)


def test_expired_refused():
    with nothing_written(), t.log_expected(
            optional=[r"ssl:error AH02039: Certificate Verification: Error "
                      r"\(10\): certificate has expired.*",
                      r"ssl:error AH02261: Re-negotiation handshake failed.*"
                      ]):
        try:
            resp = online_api("expired")
            t.expect(resp, 403, "forbidden")
        except (ssl.SSLError, ConnectionError, http.client.HTTPException):
            pass  # the handshake refused it: fine too


def test_no_serial_number_refused():
    with nothing_written():
        t.expect(online_api("no_serial"), 403, "forbidden")


def test_bad_number_refused():
    with nothing_written():
        t.expect(online_api("bad_nrn"), 403, "forbidden")


def test_no_certificate_refused():
    with nothing_written():
        t.expect(online_api(None), 403, "forbidden")


def test_headers_never_count():
    number = NUMBERS["new"]
    forged = {
        "X-CSAM-National-Number": number,
        "SSL-Client-S-DN-serialNumber": number,
        "SSL_CLIENT_S_DN_serialNumber": number,
        "SSL-Client-Verify": "SUCCESS",
        "X-SSL-Client-Verify": "SUCCESS",
        "X-SSL-Client-Cert": "-----BEGIN CERTIFICATE-----",
        "X-Client-Cert-Serial-Number": number,
    }
    with nothing_written():
        t.expect(online_api(None, headers=forged), 403, "forbidden")
        # Over plain http there is no source at all.
        t.expect(t.api("online", None, headers=forged), 403, "forbidden")
        # A certificate without a number does not borrow one from them.
        t.expect(online_api("no_serial", headers=forged), 403, "forbidden")


def test_body_rules():
    with nothing_written():
        resp = online_api("new", body=b"a=1", headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        t.expect(resp, 415, "unsupported_media_type")
        t.expect(online_api("new", body=b'{"national_number": "1"}'), 400,
                 "invalid_request")
        t.expect(online_api("new", body=b"x" * (65 * 1024)), 413,
                 "too_large")


t.run([test_other_ca_refused, test_expired_refused,
       test_no_serial_number_refused, test_bad_number_refused,
       test_no_certificate_refused, test_headers_never_count,
       test_body_rules, test_pages, test_new_person_online,
       test_existing_person_recovers_online])
