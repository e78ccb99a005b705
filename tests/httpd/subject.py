#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Who the person is, for a portal (DESIGN 3.3): CSAM_SUBJECT on every
protected request and `subject` in /me, the same for every login of one
person and another for another person; CSAM_NATIONAL_NUMBER (and
X-CSAM-National-Number with CSAMIdentityHeaders) only under a location with
CSAMExposeNationalNumber On, through the session cache as well as without
it; a client's own X-CSAM-National-Number never reaching a backend; a
sealed number that belongs to another account refused, not passed on."""
import os
import re
import subprocess
import sys
import time

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

LOCATIONS = ("app", "nrn", "nrn/off", "nrnhdr", "hdr", "pub")


def server_conf():
    """A CGI printing its environment behind locations that expose the
    number or not; None before the services exist (the first stage only
    re-executes)."""
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
CSAMSessionCacheTTL 30
CSAMResendCooldown 0
ScriptAliasMatch "^/(%(paths)s)/env$" "%(script)s"
<Directory "%(cgi)s">
    Require all granted
</Directory>
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
<Location /nrn>
    AuthType CSAM
    Require valid-user
    CSAMExposeNationalNumber On
</Location>
<Location /nrn/off>
    CSAMExposeNationalNumber Off
</Location>
<Location /nrnhdr>
    AuthType CSAM
    Require valid-user
    CSAMExposeNationalNumber On
    CSAMIdentityHeaders On
    # A missing page of an exposing location redirects internally to an
    # unprotected one.
    ErrorDocument 404 /pub/env
</Location>
<Location /hdr>
    AuthType CSAM
    Require valid-user
    CSAMIdentityHeaders On
</Location>
""" % {"paths": "|".join(LOCATIONS), "script": script, "cgi": cgi}


t.start(__file__, extra_conf=server_conf())
mbox = t.Mailbox()
# A valid number no test citizen can have: csamtest.citizen() draws
# every number from the birth date 1985-07-30.
SPOOF = "90011500188"


# ---------------------------------------------------------------- helpers

def person():
    """A citizen with an active e-mail key: (username, e-mail, 11 digits)."""
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    digits = re.sub(r"[^0-9]", "", a["reg"]["national_number"])
    t.check(digits != SPOOF, "the spoofed number is nobody's", digits)
    return a["username"], a["reg"]["email"], digits


def code_from(email):
    """The next security code mailed to email (notices are skipped)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


def login(user, email):
    """Password, e-mail key, code: the session cookie's value."""
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD}), 200)
    handle = body["login"]
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "email"}),
             202)
    resp = t.api("login/verify", {"login": handle, "code": code_from(email)})
    t.expect(resp, 200)
    m = re.search(r"csam_session=([A-Za-z0-9_-]{43})",
                  resp.headers.get("set-cookie", ""))
    t.check(m is not None, "no session cookie", resp.headers)
    return m.group(1)


def backend(location, cookie=None, headers=None):
    """GET the CGI under a location: (status, environment dict or body)."""
    h = dict(headers or {})
    h.setdefault("Accept", "application/json")
    if cookie is not None:
        h["Cookie"] = "csam_session=%s" % cookie
    status, rh, data = t.request("GET", "/%s/env" % location, None, h)
    text = data.decode("utf-8", "replace")
    if status == 200 and rh.get("content-type", "").startswith("text/plain"):
        env = {}
        for line in text.splitlines():
            k, _, v = line.partition("=")
            env[k] = v
        return status, env
    return status, text


def env_at(location, cookie, headers=None):
    status, env = backend(location, cookie, headers)
    t.check(status == 200, "protected CGI under /%s" % location, status, env)
    return env


def tool(*args):
    """tests/lib/csam-person with the test secret file."""
    path = os.path.join(os.environ["CSAM_BUILDDIR"], "tests", "lib",
                        "csam-person")
    out = subprocess.run([path, os.environ["CSAM_TEST_SECRET_FILE"]]
                         + list(args), check=True, capture_output=True,
                         text=True)
    return out.stdout.strip()


def nrn_hash(user):
    return t.scalar("SELECT encode(nrn_hash, 'hex') FROM csam_accounts"
                    " WHERE username = '%s'" % user)


def store_sealed(user, sealed_hex):
    """Set the account's nrn_sealed, as account creation does."""
    t.psql("UPDATE csam_accounts SET nrn_sealed = decode('%s', 'hex')"
           " WHERE username = '%s'" % (sealed_hex, user))


def seal_own(user, digits):
    store_sealed(user, tool("seal", digits, nrn_hash(user)))


def no_number(env, where):
    """Nothing in the environment carries a national number."""
    t.check("CSAM_NATIONAL_NUMBER" not in env, "CSAM_NATIONAL_NUMBER %s"
            % where, env.get("CSAM_NATIONAL_NUMBER"))
    t.check(not any(re.search(r"NATIONAL", k) for k in env),
            "no variable named for the number %s" % where,
            [k for k in env if "NATIONAL" in k])


# ---------------------------------------------------------------- tests

def test_subject_per_person():
    """Two logins of one person: one subject; another person: another;
    /me says the same; the subject is the documented function of the
    account's hash and the secret, and shows nothing of the number."""
    a, a_mail, a_nrn = person()
    b, b_mail, b_nrn = person()
    a1, a2, b1 = login(a, a_mail), login(a, a_mail), login(b, b_mail)
    t.check(a1 != a2, "two sessions", a1)

    s1 = env_at("app", a1).get("CSAM_SUBJECT")
    s2 = env_at("app", a2).get("CSAM_SUBJECT")
    sb = env_at("app", b1).get("CSAM_SUBJECT")
    t.check(s1 is not None and re.fullmatch(r"[A-Za-z0-9_-]{43}", s1),
            "CSAM_SUBJECT is 43 base64url characters", s1)
    t.check(s1 == s2, "one person, one subject across logins", s1, s2)
    t.check(sb is not None and sb != s1, "two people, two subjects", s1, sb)
    t.check(s1 == tool("subject", nrn_hash(a)),
            "CSAM_SUBJECT of the account's hash under the secret", s1)
    t.check(a_nrn not in s1 and b_nrn not in sb, "no number in a subject")

    for cookie, subject in ((a1, s1), (a2, s1), (b1, sb)):
        me = t.expect(t.api("me", method="GET",
                            headers={"Cookie": "csam_session=%s" % cookie}),
                      200)
        t.check(me.get("subject") == subject, "/me subject", me, subject)
        t.check(not any("national" in k for k in me), "no number in /me",
                me)

    # The next protected request comes from the child's cache: the same.
    env = env_at("app", a1)
    t.check(env.get("CSAM_SUBJECT") == s1, "cached subject", env)
    no_number(env, "where not exposed")


def test_number_only_where_exposed():
    """A sealed number reaches the backend under CSAMExposeNationalNumber
    On only, whichever location the cached session was checked for first;
    an account without one gets none anywhere."""
    a, a_mail, a_nrn = person()
    b, b_mail, _ = person()
    seal_own(a, a_nrn)
    ca, cb = login(a, a_mail), login(b, b_mail)

    # Checked first where the number is not exposed: the cache holds the
    # session without it, and the exposed location must still get it.
    env = env_at("app", ca)
    no_number(env, "under /app")
    subject = env["CSAM_SUBJECT"]
    env = env_at("nrn", ca)
    t.check(env.get("CSAM_NATIONAL_NUMBER") == a_nrn,
            "CSAM_NATIONAL_NUMBER under CSAMExposeNationalNumber On",
            env.get("CSAM_NATIONAL_NUMBER"), a_nrn)
    t.check(env.get("CSAM_SUBJECT") == subject, "subject under /nrn", env)
    t.check("HTTP_X_CSAM_NATIONAL_NUMBER" not in env,
            "no header without CSAMIdentityHeaders", env)
    # Now the cache holds it: a location that does not expose it still
    # gets none, nor one below /nrn that turns it Off again.
    for where in ("app", "nrn/off", "hdr"):
        env = env_at(where, ca)
        no_number(env, "under /%s" % where)
        t.check(env.get("CSAM_SUBJECT") == subject, "subject", where, env)
        t.check(a_nrn not in "\n".join(env.values()),
                "the digits nowhere under /%s" % where)
    env = env_at("hdr", ca)
    t.check(env.get("HTTP_X_CSAM_SUBJECT") == subject
            and env.get("HTTP_X_CSAM_USER") == a,
            "identity headers with the subject", env)
    env = env_at("nrn", ca)
    t.check(env.get("CSAM_NATIONAL_NUMBER") == a_nrn, "again from the cache",
            env.get("CSAM_NATIONAL_NUMBER"))
    env = env_at("nrnhdr", ca)
    t.check(env.get("CSAM_NATIONAL_NUMBER") == a_nrn
            and env.get("HTTP_X_CSAM_NATIONAL_NUMBER") == a_nrn,
            "X-CSAM-National-Number with CSAMIdentityHeaders On", env)
    t.check(env.get("HTTP_X_CSAM_SUBJECT") == subject, "X-CSAM-Subject", env)

    # An account without a sealed number (made before schema 4; accounts
    # made since are sealed at their activation).
    t.check(t.scalar("SELECT nrn_sealed IS NOT NULL FROM csam_accounts WHERE"
                     " username = '%s'" % b) == "t", "b sealed at activation")
    t.psql("UPDATE csam_accounts SET nrn_sealed = NULL WHERE username = '%s'"
           % b)
    for where in ("nrn", "nrnhdr", "app"):
        env = env_at(where, cb)
        no_number(env, "for an account without one, under /%s" % where)
        t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}",
                             env.get("CSAM_SUBJECT", "")) is not None,
                "a subject all the same", env)

    # /me never carries it, even for a session cached with it.
    me = t.expect(t.api("me", method="GET",
                        headers={"Cookie": "csam_session=%s" % ca}), 200)
    t.check(a_nrn not in repr(me), "no number in /me", me)


def test_spoofed_header():
    """A client's X-CSAM-National-Number (or X-CSAM-Subject) never reaches
    a backend, in either spelling, wherever the number is exposed or
    not, with or without a session."""
    a, a_mail, a_nrn = person()
    b, b_mail, _ = person()
    seal_own(a, a_nrn)
    ca, cb = login(a, a_mail), login(b, b_mail)
    spoof = {"X-CSAM-National-Number": SPOOF,
             "X_CSAM_National_Number": SPOOF,
             "X-CSAM-Subject": "spoofed-subject"}
    for where in LOCATIONS:
        for cookie, digits in ((ca, a_nrn), (cb, None)):
            status, env = backend(where, cookie, spoof)
            t.check(status == 200, "CGI under /%s" % where, status, env)
            dump = "\n".join("%s=%s" % kv for kv in env.items())
            t.check(SPOOF not in dump and "spoofed-subject" not in dump,
                    "a client's identity header reached /%s" % where,
                    [k for k in env if SPOOF in env[k]])
            if where in ("nrn", "nrnhdr") and digits is not None:
                t.check(env.get("CSAM_NATIONAL_NUMBER") == digits,
                        "the account's own number, not the client's", env)
            if where == "nrnhdr" and digits is not None:
                t.check(env.get("HTTP_X_CSAM_NATIONAL_NUMBER") == digits,
                        "the account's own header", env)
    # Unauthenticated, on a location that exposes it: refused, never a
    # client-chosen number.
    status, body = backend("nrn", None, spoof)
    t.check(status == 401, "no session under /nrn", status)
    t.check(SPOOF not in body, "the number in a refusal", body)


def test_internal_redirect():
    """An internal redirect from a location that exposes the number to one
    that does not (an ErrorDocument) carries neither REDIRECT_CSAM_
    NATIONAL_NUMBER nor the X-CSAM-National-Number header along."""
    a, a_mail, a_nrn = person()
    seal_own(a, a_nrn)
    ca = login(a, a_mail)
    t.check(env_at("nrnhdr", ca).get("CSAM_NATIONAL_NUMBER") == a_nrn,
            "exposed where asked")
    status, rh, data = t.request("GET", "/nrnhdr/missing", None,
                                 {"Cookie": "csam_session=%s" % ca})
    text = data.decode("utf-8", "replace")
    t.check(status == 404 and "SCRIPT_NAME=/pub/env" in text,
            "the ErrorDocument ran", status, text[:200])
    t.check(a_nrn not in text, "the number followed the redirect",
            [line for line in text.splitlines() if a_nrn in line])


def test_number_of_another_account():
    """A sealed number copied from another account does not open for this
    one: the exposed location refuses (503, logged without the number);
    the locations that do not ask go on."""
    a, a_mail, a_nrn = person()
    c, c_mail, c_nrn = person()
    store_sealed(c, tool("seal", a_nrn, nrn_hash(a)))
    cc = login(c, c_mail)
    with t.log_expected(r"csam:error CSAM00990: the national number stored "
                        r"for this session's account does not open with "
                        r"this secret file \(.*\): refused"):
        status, body = backend("nrn", cc)
    t.check(status == 503, "a number that does not open is refused", status,
            body)
    t.check(a_nrn not in body and c_nrn not in body, "no number in the answer")
    for log in os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split():
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        t.check(a_nrn not in text and c_nrn not in text,
                "a national number in the error log", log)
    env = env_at("app", cc)
    no_number(env, "under /app")
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", env.get("CSAM_SUBJECT", ""))
            is not None, "a subject all the same", env)


t.run([test_internal_redirect, test_subject_per_person, test_number_only_where_exposed,
       test_spoofed_header, test_number_of_another_account])
