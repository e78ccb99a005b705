#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The mobile-app (TOTP) and SMS keys through httpd (issue 6, DESIGN 3.1):
activation and login with each, TOTP codes computed by Debian's oathtool
from the secret the API returned, SMS codes read from the recording
gateway; a TOTP code is never accepted twice; a wrong phone number is 400
invalid_phone; a gateway that is down or refuses is 502 mail_unavailable
with the reason, never the code, in the error log; Require csam-key totp
and sms admit only sessions opened with that key; CSAMPoolMax bounds the
connections each child opens."""
import os
import re
import subprocess
import sys
import time
import urllib.parse

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

def server_conf():
    """SMS through the recording gateway, a CGI behind Require csam-key,
    and virtual hosts whose gateway is down or refuses; None before the
    services exist (the first stage only re-executes)."""
    tmp = os.environ.get("CSAM_TEST_TMPDIR")
    if not tmp or os.environ.get("CSAM_TEST_HTTPD_URL"):
        return None
    cgi = os.path.join(tmp, "cgi-keytypes-%d" % os.getpid())
    os.makedirs(cgi, exist_ok=True)
    os.chmod(cgi, 0o755)
    script = os.path.join(cgi, "env.cgi")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n")
    os.chmod(script, 0o755)
    sms = os.environ["CSAM_TEST_SMS_URL"]
    return """
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
CSAMSMSTransport http
CSAMSMSURL %(sms)s/send
CSAMSMSTimeout 3
CSAMResendCooldown 0
CSAMSessionCacheTTL 0
ScriptAliasMatch "^/(app|totp|sms)/env$" "%(script)s"
<Directory "%(cgi)s">
    Require all granted
</Directory>
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
<Location /totp>
    AuthType CSAM
    Require csam-key totp
    AuthzSendForbiddenOnFailure On
</Location>
<Location /sms>
    AuthType CSAM
    Require csam-key sms
    AuthzSendForbiddenOnFailure On
</Location>
<VirtualHost *:*>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost *:*>
    ServerName down.test
    # Nothing listens on port 9 of the loopback.
    CSAMSMSURL http://127.0.0.1:9/send
</VirtualHost>
<VirtualHost *:*>
    ServerName refuse.test
    CSAMSMSURL %(sms)s/status/503
</VirtualHost>
""" % {"sms": sms, "script": script, "cgi": cgi}


t.start(__file__, extra_conf=server_conf())
mbox = t.Mailbox()
sms = t.SmsBox()


# ---------------------------------------------------------------- helpers

def oathtool(secret, offset=0):
    """The code of the step `offset` steps from now, by an independent
    implementation."""
    argv = ["oathtool", "--totp", "-b"]
    if offset:
        argv += ["-N", "now %+d seconds" % (30 * offset)]
    out = subprocess.run(argv + [secret], check=True, capture_output=True,
                         text=True).stdout.strip()
    t.check(re.fullmatch(r"[0-9]{6}", out) is not None, "oathtool code", out)
    return out


def no_sms_for(phone, wait=1.0):
    time.sleep(wait)
    unread = sms.unread(phone)
    t.check(not unread, "an SMS was sent to %s" % phone, unread)


def mail_code(email):
    """The next security code mailed to email (notices are skipped)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


def sms_code(text):
    codes = re.findall(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
    t.check(len(codes) == 1, "one code in the SMS", text)
    return codes[0]


def phone():
    """A fresh Belgian mobile number as a citizen types it, and its
    E.164 form."""
    n = "%06d" % (int(time.time() * 1000) % 1000000)
    return "0470 %s %s %s" % (n[:2], n[2:4], n[4:]), "+32470" + n


def start_activation(headers=None, key_types=None):
    """Register and open the activation; (citizen, handle)."""
    reg, reply, token = t.register(mbox, headers=headers)
    body = t.expect(t.api("activation", {"token": token,
                                         "activation_code":
                                         reply["activation_code"]},
                          headers=headers), 200)
    t.check(set(body.get("key_types", [])) == set(key_types or
                                                  ["email", "sms", "totp"]),
            "key types offered with an SMS transport", body)
    return reg, body["activation"]


def choose(handle, key_type, phone_number=None, headers=None):
    payload = {"activation": handle, "key_type": key_type,
               "accept_terms": True}
    if phone_number is not None:
        payload["phone"] = phone_number
    return t.api("activation/key", payload, headers=headers)


def credentials(handle, user, headers=None):
    return t.api("activation/credentials",
                 {"activation": handle, "username": user,
                  "password": t.PASSWORD, "password_repeat": t.PASSWORD},
                 headers=headers)


def totp_account():
    """An active TOTP account: (username, base32 secret)."""
    reg, handle = start_activation()
    t.expect(choose(handle, "totp"), 200)
    user = t.username()
    body = t.expect(credentials(handle, user), 202)
    t.check(body.get("next") == "confirm", "next after credentials", body)
    secret = body.get("secret", "")
    t.check(re.fullmatch(r"[A-Z2-7]{32}", secret) is not None,
            "a 160-bit base32 secret", body)
    uri = urllib.parse.urlsplit(body.get("otpauth_uri", ""))
    t.check(uri.scheme == "otpauth" and uri.netloc == "totp",
            "otpauth://totp/ URI", body)
    query = urllib.parse.parse_qs(uri.query)
    t.check(query.get("secret") == [secret], "the URI carries the secret",
            body)
    t.check(user in urllib.parse.unquote(uri.path), "the URI names the "
            "account", body)
    # No mail or SMS carries anything for the app key.
    mbox.none_for(reg["email"], wait=0.5)
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": oathtool(secret)}), 200)
    return user, secret


def sms_account():
    """An active SMS account: (username, E.164 phone)."""
    _, handle = start_activation()
    typed, e164 = phone()
    t.expect(choose(handle, "sms", typed), 200)
    user = t.username()
    body = t.expect(credentials(handle, user), 202)
    t.check(body.get("next") == "confirm", "next after credentials", body)
    t.check("secret" not in body and "otpauth_uri" not in body,
            "no TOTP secret for an SMS key", body)
    rec, text = sms.wait(e164)
    t.check(rec["path"] == "/send", "posted to CSAMSMSURL", rec)
    code = sms_code(text)
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": t.wrong_code(code)}),
             401, "invalid_code")
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}), 200)
    t.forgive_source()
    return user, e164


def login_handle(user, key_type, headers=None):
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD},
                          headers=headers), 200)
    t.check(body.get("key_types") == [key_type], "the account's key", body)
    return body["login"]


def verify(handle, user, key_type, code):
    resp = t.api("login/verify", {"login": handle, "code": code})
    body = t.expect(resp, 200)
    t.check(body == {"username": user, "key_type": key_type},
            "verify body", body)
    m = re.search(r"csam_session=([A-Za-z0-9_-]{43})",
                  resp.headers.get("set-cookie", ""))
    t.check(m is not None, "session cookie", resp.headers)
    return m.group(1)


def backend(path, cookie):
    status, _, data = t.request("GET", path, None,
                                {"Cookie": "csam_session=%s" % cookie})
    env = {}
    if status == 200:
        for line in data.decode("utf-8", "replace").splitlines():
            k, _, v = line.partition("=")
            env[k] = v
    return status, env


def error_log():
    with open(os.environ["CSAM_TEST_HTTPD_ERROR_LOG"], encoding="utf-8",
              errors="replace") as f:
        return f.read()


# ---------------------------------------------------------------- tests

def test_totp_activation_login_and_require():
    user, secret = totp_account()
    handle = login_handle(user, "totp")
    # Nothing is sent for the app key: the challenge only says "ready".
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "totp"}),
             202)
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "sms"}),
             400, "invalid_request")
    # The activation used the current step: the next one logs in.
    cookie = verify(handle, user, "totp", oathtool(secret, 1))
    status, env = backend("/totp/env", cookie)
    t.check(status == 200 and env.get("CSAM_KEY") == "totp"
            and env.get("REMOTE_USER") == user,
            "Require csam-key totp admits a TOTP session", status, env)
    with t.log_expected(t.authz_failure(user, "/sms/env")):
        status, _ = backend("/sms/env", cookie)
    t.check(status == 403, "Require csam-key sms refuses a TOTP session",
            status)
    status, env = backend("/app/env", cookie)
    t.check(status == 200 and env.get("CSAM_USER") == user,
            "valid-user admits a TOTP session", status)


def test_totp_code_never_twice():
    user, secret = totp_account()
    confirmed = oathtool(secret)
    handle = login_handle(user, "totp")
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "totp"}),
             202)
    # The code that activated the key, still inside the window, is spent.
    t.expect(t.api("login/verify", {"login": handle, "code": confirmed}),
             401, "invalid_code")
    # So is an earlier step than the last one accepted.
    code = oathtool(secret, 1)
    verify(handle, user, "totp", code)
    t.forgive_source()
    again = login_handle(user, "totp")
    t.expect(t.api("login/challenge", {"login": again, "key_type": "totp"}),
             202)
    t.expect(t.api("login/verify", {"login": again, "code": code}),
             401, "invalid_code")
    t.expect(t.api("login/verify", {"login": again,
                                    "code": oathtool(secret)}),
             401, "invalid_code")
    t.forgive_source()
    # Codes from the wrong secret or far from now never open a session.
    t.expect(t.api("login/verify", {"login": again,
                                    "code": oathtool(secret, 4)}),
             401, "invalid_code")
    t.forgive_source()


def test_sms_activation_login_and_require():
    user, e164 = sms_account()
    handle = login_handle(user, "sms")
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "sms"}),
             202)
    _, text = sms.wait(e164)
    code = sms_code(text)
    cookie = verify(handle, user, "sms", code)
    status, env = backend("/sms/env", cookie)
    t.check(status == 200 and env.get("CSAM_KEY") == "sms",
            "Require csam-key sms admits an SMS session", status, env)
    with t.log_expected(t.authz_failure(user, "/totp/env")):
        status, _ = backend("/totp/env", cookie)
    t.check(status == 403, "Require csam-key totp refuses an SMS session",
            status)
    # The code opened its session once.
    again = login_handle(user, "sms")
    t.expect(t.api("login/verify", {"login": again, "code": code}), 403,
             "forbidden")
    t.forgive_source()
    # No code or number of an SMS ever reaches the error log.
    log = error_log()
    t.check(code not in log and e164 not in log and e164[3:] not in log,
            "an SMS code or number in the error log")


def test_invalid_phone():
    _, handle = start_activation()
    for bad in ("12", "+32 2 123", "0470 12 34 5x", "+3212345678901234567",
                "0470 12 34 567", "+32 3 12 34 56 78", "not a phone"):
        t.expect(choose(handle, "sms", bad), 400, "invalid_phone")
    t.expect(choose(handle, "sms"), 400)
    # The handle still works with a good number.
    typed, _ = phone()
    t.expect(choose(handle, "sms", typed), 200)


def test_add_sms_and_totp_keys():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    user, email = a["username"], a["reg"]["email"]
    handle = login_handle(user, "email")
    t.expect(t.api("login/challenge", {"login": handle, "key_type": "email"}),
             202)
    cookie = verify(handle, user, "email", mail_code(email))
    h = {"Cookie": "csam_session=%s" % cookie}
    t.expect(t.api("keys", {"key_type": "sms", "accept_terms": True,
                            "phone": "12"}, headers=h), 400, "invalid_phone")
    typed, e164 = phone()
    added = t.expect(t.api("keys", {"key_type": "sms", "accept_terms": True,
                                    "phone": typed}, headers=h), 202)
    t.check(added == {"next": "confirm"}, "no secret for an SMS key", added)
    _, text = sms.wait(e164)
    t.expect(t.api("keys/confirm", {"key_type": "sms",
                                    "code": sms_code(text)}, headers=h), 200)
    added = t.expect(t.api("keys", {"key_type": "totp", "accept_terms": True},
                           headers=h), 202)
    secret = added.get("secret", "")
    t.expect(t.api("keys/confirm", {"key_type": "totp",
                                    "code": oathtool(secret)}, headers=h),
             200)
    keys = t.expect(t.api("keys", method="GET", headers=h), 200)["keys"]
    t.check(sorted(k["type"] for k in keys if k["status"] == "active")
            == ["email", "sms", "totp"], "three active keys", keys)
    # Each of them opens a session of its own type.
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD}), 200)
    t.check(sorted(body.get("key_types", [])) == ["email", "sms", "totp"],
            "the account's keys offered at login", body)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "sms"}), 202)
    _, text = sms.wait(e164)
    sms_cookie = verify(body["login"], user, "sms", sms_code(text))
    t.check(backend("/sms/env", sms_cookie)[0] == 200, "SMS session on /sms")
    with t.log_expected(t.authz_failure(user, "/totp/env")):
        t.check(backend("/totp/env", cookie)[0] == 403,
                "e-mail session on /totp")


# What a gateway that is down, or that refuses, makes mod_csam log: the
# reason, never the URL, the number or the code.
GATEWAY_LOG = {
    "down.test": (r"csam:error CSAM00029: SMS not sent: SMS gateway did "
                  r"not answer: Couldn't connect to server "
                  r"\(mail_unavailable\)",
                  r"csam:error CSAM00001: the code SMS could not be "
                  r"delivered \(mail_unavailable\)"),
    "refuse.test": (r"csam:error CSAM00029: SMS not sent: SMS gateway "
                    r"refused the message \(HTTP status 503\) "
                    r"\(mail_unavailable\)",
                    r"csam:error CSAM00001: the code SMS could not be "
                    r"delivered \(mail_unavailable\)"),
}


def test_gateway_down_is_502():
    for host in ("down.test", "refuse.test"):
        headers = {"Host": host}
        _, handle = start_activation(headers=headers)
        typed, e164 = phone()
        t.expect(choose(handle, "sms", typed, headers=headers), 200)
        with t.log_expected(*GATEWAY_LOG[host]):
            t.expect(credentials(handle, t.username(), headers=headers), 502,
                     "mail_unavailable")
        if host == "refuse.test":
            rec, text = sms.wait(e164)
            t.check(rec["path"] == "/status/503", "the refusing gateway "
                    "was asked", rec)
            code = sms_code(text)
            t.check(code not in error_log(), "the refused code is logged")
        else:
            no_sms_for(e164, wait=0.2)
    log = error_log()
    t.check(re.search(r"CSAM00029: SMS not sent: .*(answer|refused)", log)
            is not None,
            "the reason an SMS failed is logged", log[-2000:])
    t.check("127.0.0.1:9" not in log and "/status/503" not in log,
            "the gateway's URL is never logged")


t.run([test_totp_activation_login_and_require, test_totp_code_never_twice,
       test_sms_activation_login_and_require, test_invalid_phone,
       test_add_sms_and_totp_keys, test_gateway_down_is_502])
