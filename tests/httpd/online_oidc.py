#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The online procedure behind an OpenID provider, as with itsme (DESIGN
2.6, 2.7, 3.1, 3.3): Debian's mod_auth_openidc authenticates people
against the tests' own provider (RS256 ID tokens carrying the national
number), and `CSAMIdentitySource env OIDC_CLAIM_national_number` takes the
number from the environment the module set.

A new person gets an account (e-mail address verified by the key's code)
and logs in with it; the same person online again recovers that account
(the username kept, a new key, a new password, the old session ended); a
number failing modulo 97, a login without the claim, a header naming a
number, a number in the environment of a request that mod_auth_openidc
did not authenticate (AuthType CSAM, or none) never open anything, and
nothing is written."""
import base64
import datetime
import hashlib
import hmac
import os
import re
import struct
import sys
import time

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402
import oidctest as oidc  # noqa: E402

ONLINE = ("/csam/online", "/csam/api/v1/online")
SOURCE = "env:OIDC_CLAIM_national_number"
# A valid number that no provider person carries: what a forger would send
# (the same in every stage: the configuration holds it too).
FORGED = t.nrn(datetime.date(1971, 3, 14), serial=123)


def server_conf():
    return oidc.server_conf(ONLINE, extra="""
LoadModule env_module /usr/lib/apache2/modules/mod_env.so
CSAMResendCooldown 0
CSAMSessionCacheTTL 1
<LocationMatch "^/csam/(online|api/v1/online)(/|$)">
    CSAMIdentitySource env OIDC_CLAIM_national_number
    CSAMIdentityNames OIDC_CLAIM_given_name OIDC_CLAIM_family_name
</LocationMatch>
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
<VirtualHost *:*>
    ServerName 127.0.0.1
</VirtualHost>
# A citizen logged in with CSAM never vouches for a number, even one the
# environment holds (/app/env shows it does).
<VirtualHost *:*>
    ServerName citizen.test
    SetEnv OIDC_CLAIM_national_number %(forged)s
    <Location /csam/api/v1/online>
        AuthType CSAM
        Require valid-user
    </Location>
</VirtualHost>
# Nobody authenticated the request: the environment alone counts for
# nothing.
<VirtualHost *:*>
    ServerName anonymous.test
    SetEnv OIDC_CLAIM_national_number %(forged)s
    <LocationMatch "^/(app|csam/api/v1/online)(/|$)">
        AuthType None
        Require all granted
    </LocationMatch>
</VirtualHost>
""" % {"forged": FORGED.replace(".", "").replace("-", "")})


t.start(__file__, extra_conf=server_conf())
mbox = t.Mailbox()
provider = oidc.provider()
# The online handler's own log lines (CSAM01000-CSAM01039) when it refuses
# a request: whether it logs them at level error is its choice.
REFUSAL_LOG = r"csam:\w+ CSAM010[0-3][0-9]: .*"


# ---------------------------------------------------------------- helpers

_people = [0]


def person(national_number="valid", given_name="Marie",
           family_name="Dupont"):
    """Register a provider person (a valid number of their own unless
    given; None leaves the claim out); returns (login hint, number)."""
    _people[0] += 1
    if national_number == "valid":
        national_number = t.nrn(datetime.date(1985, 7, 30), dotted=False)
    hint = "person-%d-%d" % (os.getpid(), _people[0])
    provider.add(hint, national_number=national_number,
                 given_name=given_name, family_name=family_name)
    return hint, national_number


def signed_in(hint):
    """A browser logged in at the provider as `hint`, after checking what
    mod_auth_openidc put in the request environment."""
    browser, status, body = oidc.login(hint, provider)
    t.check(status == 200, "the environment CGI behind mod_auth_openidc",
            status, body[:300])
    env = oidc.environment(body)
    who = provider.people.find(hint)
    t.check(env.get("AUTH_TYPE") == "openid-connect"
            and env.get("REMOTE_USER", "").startswith(who["sub"] + "@"),
            "mod_auth_openidc authenticated the request", env)
    for claim in ("national_number", "given_name", "family_name"):
        t.check(env.get("OIDC_CLAIM_" + claim) == who.get(claim),
                "claim %s in the environment" % claim, env)
    t.check(not any(k.startswith("HTTP_OIDC") for k in env),
            "a claim travelled as a request header", env)
    return browser


def online(browser=None, headers=None, host=None):
    """POST /csam/api/v1/online (no body) with the browser's cookies."""
    h = dict(headers or {})
    if browser is not None:
        h["Cookie"] = browser.cookie_header()
    if host is not None:
        h["Host"] = host
    return t.api("online", content_type=None, headers=h)


def counts():
    """Rows an opened procedure would write."""
    return {table: int(t.scalar("SELECT count(*) FROM %s" % table))
            for table in ("csam_registrations", "csam_accounts",
                          "csam_flows", "csam_challenges")}


def refused(step, expected_status=403):
    """Run step() (a request); it must be refused and write nothing."""
    before = counts()
    mbox.skip_existing()
    with t.log_expected(optional=(REFUSAL_LOG,)):
        resp = step()
    t.check(resp.status == expected_status, "expected %d" % expected_status,
            resp.status, resp.body)
    if expected_status == 403:
        t.expect(resp, 403, "forbidden")
    t.check(counts() == before, "a refused online request wrote rows",
            before, counts())
    mbox.none_for("@", wait=0.2)


def invalid_number():
    """Eleven digits whose check digits fit neither century's rule."""
    for serial in range(1, 998):
        head = "900102%03d" % serial
        bad = (97 - int(head) % 97) % 97 + 1
        if bad != 97 - (2000000000 + int(head)) % 97 and bad < 100:
            return "%s%02d" % (head, bad)
    raise t.Failure("no invalid number")


def code_from(address):
    """The next security code mailed to address (notices are skipped)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(address, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % address)


def totp(secret):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30),
                   hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0]
                      & 0x7FFFFFFF) % 1000000)


def csam_login(user, address, password=t.PASSWORD):
    """Password and e-mailed code: the csam_session cookie's value."""
    body = t.expect(t.api("login", {"username": user,
                                    "password": password}), 200)
    t.check("email" in body.get("key_types", []), "e-mail key", body)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "email"}), 202)
    resp = t.api("login/verify", {"login": body["login"],
                                  "code": code_from(address)})
    t.expect(resp, 200)
    m = re.search(r"csam_session=([A-Za-z0-9_-]+)",
                  resp.headers.get("set-cookie", ""))
    t.check(m is not None, "no session cookie", resp.headers)
    return m.group(1)


def backend(session, host=None):
    """(status, environment) of the AuthType CSAM location's CGI."""
    headers = {"Accept": "application/json"}
    if session is not None:
        headers["Cookie"] = "csam_session=%s" % session
    if host is not None:
        headers["Host"] = host
    status, _, raw = t.request("GET", "/app/env", headers=headers)
    return status, oidc.environment(raw.decode("utf-8", "replace"))


def account(user):
    rows = t.psql("SELECT status, email, nrn_sealed IS NOT NULL FROM "
                  "csam_accounts WHERE username = '%s'" % user)
    return rows[0] if rows else None


def keys(user):
    return sorted(tuple(r) for r in t.psql(
        "SELECT k.type, k.status FROM csam_keys k JOIN csam_accounts a "
        "ON a.id = k.account_id WHERE a.username = '%s'" % user))


# ---------------------------------------------------------------- tests

def test_round_trip():
    """The harness itself: the claims of the person the provider
    approved reach the environment, a second person gets their own."""
    first, _ = person()
    second, _ = person(given_name="Jan", family_name="Peeters")
    a, b = signed_in(first), signed_in(second)
    t.check(a.session() != b.session(), "two people, one session")
    # Without a session, mod_auth_openidc sends a browser to the provider.
    status, url, headers, _ = oidc.Browser().get("/csam/online",
                                                 follow=False)
    t.check(status == 302 and headers.get("Location", "").startswith(
        provider.issuer + "/authorize?"), "no session: to the provider",
        status, headers.get("Location"))


def test_new_person():
    """Identified online: key, credentials with the personal address, the
    key's code, active; then a login like any other."""
    t.forgive_source()
    hint, nrn = person(given_name="Élise", family_name="Van den Broeck")
    browser = signed_in(hint)
    # The page of the procedure answers the identified person.
    status, _, headers, _ = browser.get("/csam/online")
    t.check(status == 200 and headers.get("Content-Type", "")
            .startswith("text/html"), "GET /csam/online", status)

    before = counts()
    body = t.expect(online(browser), 200)
    t.check(body.get("account") == "new" and "username" not in body,
            "a new person", body)
    t.check("email" in body.get("key_types", []), "the e-mail key", body)
    handle = body["activation"]
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", handle) is not None,
            "activation handle shape", body)
    reg = t.psql("SELECT procedure, identity_source, first_name, last_name, "
                 "token_hash IS NULL AND code_hash IS NULL, email IS NULL, "
                 "account_id IS NULL FROM csam_registrations "
                 "ORDER BY id DESC LIMIT 1")[0]
    t.check(reg == ["online", SOURCE, "Élise", "Van den Broeck", "t", "t",
                    "t"], "the online registration", reg)
    t.check(counts()["csam_accounts"] == before["csam_accounts"],
            "no account before the credentials")

    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "email",
                                      "accept_terms": True}), 200)
    user = t.username()
    address = "elise.%d@example.be" % os.getpid()
    # A new person online gives an address; without it, nothing moves.
    t.expect(t.api("activation/credentials", {
        "activation": handle, "username": user, "password": t.PASSWORD,
        "password_repeat": t.PASSWORD}), 400, "invalid_email")
    body = t.expect(t.api("activation/credentials", {
        "activation": handle, "username": user, "password": t.PASSWORD,
        "password_repeat": t.PASSWORD, "email": address}), 202)
    t.check(body.get("next") == "confirm", "next after credentials", body)
    t.check(account(user) is None or account(user)[0] == "pending",
            "nothing active before the code", account(user))
    body = t.expect(t.api("activation/confirm", {
        "activation": handle, "code": code_from(address)}), 200)
    t.check((body.get("username"), body.get("key_type"), body.get("status"))
            == (user, "email", "active"), "confirm", body)
    t.check(account(user) == ["active", address, "t"],
            "active, with the address and the sealed number", account(user))
    t.check(keys(user) == [("email", "active")], "the e-mail key", keys(user))

    status, env = backend(csam_login(user, address))
    t.check(status == 200 and env.get("CSAM_USER") == user
            and env.get("REMOTE_USER") == user,
            "the new account logs in on a protected location", status, env)
    t.check(nrn not in "".join(env.values()),
            "the number reached a backend that did not ask for it")
    # The audit names the source that vouched, never the number.
    audit = " ".join(" ".join(r) for r in t.psql(
        "SELECT actor, action, coalesce(detail::text, '') FROM csam_audit"))
    t.check(SOURCE in audit, "the audit names the source", audit)
    t.check(nrn not in audit, "the number in the audit")
    for log in os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split():
        with open(log, encoding="utf-8", errors="replace") as f:
            t.check(nrn not in f.read(), "the number in the error log")
    STATE["person"] = (hint, user, address)


STATE = {}


def test_existing_person_recovers():
    """The same person online again: the same account, its username
    kept, a new key and password; other keys stay, sessions end."""
    t.forgive_source()
    t.check("person" in STATE, "needs test_new_person")
    hint, user, address = STATE["person"]
    old_session = csam_login(user, address)
    accounts = counts()["csam_accounts"]

    body = t.expect(online(signed_in(hint)), 200)
    t.check(body.get("account") == "existing"
            and body.get("username") == user, "the person's account", body)
    handle = body["activation"]
    t.check(t.scalar("SELECT a.username FROM csam_registrations r JOIN "
                     "csam_accounts a ON a.id = r.account_id "
                     "ORDER BY r.id DESC LIMIT 1") == user,
            "the registration recovers that account")

    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "totp",
                                      "accept_terms": True}), 200)
    new_password = "Another-Horse-Battery-8?"
    # The account keeps its username; an address is a new person's only.
    for extra in ({"username": t.username()}, {"email": "x@example.be"}):
        resp = t.api("activation/credentials", dict({
            "activation": handle, "password": new_password,
            "password_repeat": new_password}, **extra))
        t.check(400 <= resp.status < 500, "refused", extra, resp.status,
                resp.body)
    body = t.expect(t.api("activation/credentials", {
        "activation": handle, "password": new_password,
        "password_repeat": new_password}), 202)
    t.check(body.get("next") == "confirm" and body.get("secret")
            and body.get("otpauth_uri", "").startswith("otpauth://totp/"),
            "the app key's provisioning", body)
    body = t.expect(t.api("activation/confirm", {
        "activation": handle, "code": totp(body["secret"])}), 200)
    t.check((body.get("username"), body.get("key_type"), body.get("status"))
            == (user, "totp", "active"), "confirm", body)

    t.check(counts()["csam_accounts"] == accounts, "never a second account")
    t.check(account(user) == ["active", address, "t"], "the account",
            account(user))
    t.check(keys(user) == [("email", "active"), ("totp", "active")],
            "online, the other keys stay", keys(user))
    t.expect(t.api("me", method="GET", headers={
        "Cookie": "csam_session=%s" % old_session}), 401, "unauthenticated")
    deadline = time.time() + 3  # CSAMSessionCacheTTL 1 on the backend
    while backend(old_session)[0] != 401 and time.time() < deadline:
        time.sleep(0.1)
    t.check(backend(old_session)[0] == 401, "the session from before the "
            "new password ended")
    t.expect(t.api("login", {"username": user, "password": t.PASSWORD}),
             401, "invalid_credentials")
    status, env = backend(csam_login(user, address, new_password))
    t.check(status == 200 and env.get("CSAM_USER") == user,
            "the new password logs in", status, env)


def test_invalid_number():
    """A number failing modulo 97: 403, nothing written."""
    hint, _ = person(national_number=invalid_number())
    browser = signed_in(hint)
    refused(lambda: online(browser))


def test_no_claim():
    """A login without the number claim: 403, nothing written; a header
    naming a number does not stand in for it."""
    hint, _ = person(national_number=None)
    browser = signed_in(hint)
    refused(lambda: online(browser))
    refused(lambda: online(browser, headers={
        "OIDC_CLAIM_national_number": FORGED,
        "OIDC-CLAIM-national-number": FORGED,
        "X-CSAM-National-Number": FORGED}))


def test_headers_without_session():
    """No OIDC session: mod_auth_openidc answers before CSAM, whatever
    the headers say; nothing written."""
    spoof = {"OIDC_CLAIM_national_number": FORGED,
             "X-CSAM-National-Number": FORGED,
             "Cookie": "mod_auth_openidc_session=forged"}
    before = counts()
    for path in ONLINE:
        status, headers, _ = t.request(
            "POST", path, b"", dict(spoof, Accept="application/json"))
        t.check(status in (302, 401), "no session, no procedure", path,
                status)
        t.check(status != 302 or headers.get("location", "").startswith(
            provider.issuer + "/authorize?"), "redirected elsewhere",
            headers.get("location"))
    t.check(counts() == before, "rows written without a session")


def test_csam_citizen_never_vouches():
    """CSAMIdentitySource env where AuthType CSAM (a citizen) or nobody
    authenticated the request: 403 even with the variable set."""
    t.forgive_source()
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    user, address = a["username"], a["reg"]["email"]
    session = csam_login(user, address)
    number = FORGED.replace(".", "").replace("-", "")
    for host, cookie in (("citizen.test", session), ("anonymous.test", None)):
        status, env = backend(cookie, host)
        t.check(status == 200 and env.get("OIDC_CLAIM_national_number")
                == number, "the variable is set on %s" % host, status, env)
    refused(lambda: online(host="citizen.test", headers={
        "Cookie": "csam_session=%s" % session}))
    refused(lambda: online(host="anonymous.test"))


t.run([test_round_trip, test_new_person, test_existing_person_recovers,
       test_invalid_number, test_no_claim, test_headers_without_session,
       test_csam_citizen_never_vouches])
