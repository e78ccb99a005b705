#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The person's side of README's "Deploy on Debian 12", after the desk's
registration: activation of an e-mail key, login, and the protected /app/
with the session cookie, through the JSON API of mod_csam(8).

citizen.py BASE_URL MAILDIR REGISTRATION_JSON EMAIL
Prints one "ok - ..." or "not ok - ..." line per step; exits 1 at the
first failure.  Codes and tokens come from the mail in MAILDIR/new/.
"""
import email
import email.policy
import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

base, maildir, registration, address = sys.argv[1:5]
user, password = "marie", "Correct-Horse-Battery-7!"
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
seen = set()


def step(ok, what, detail=""):
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    if not ok:
        if detail:
            print("#   " + str(detail)[:2000].replace("\n", "\n#   "))
        sys.exit(1)


def api(path, body):
    req = urllib.request.Request(
        base + "/csam/api/v1/" + path, data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def mark():
    new = os.path.join(maildir, "new")
    seen.update(os.listdir(new) if os.path.isdir(new) else [])


def wait_mail(want):
    """The code (the only run of 6-8 digits) or the activation link's token
    of the next mail to the address."""
    new = os.path.join(maildir, "new")
    deadline = time.time() + 30
    while time.time() < deadline:
        for name in sorted(set(os.listdir(new) if os.path.isdir(new) else []) - seen):
            seen.add(name)
            with open(os.path.join(new, name), "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            if address not in str(msg.get("To", "")).lower():
                continue
            part = msg.get_body(preferencelist=("plain",))
            text = part.get_content() if part is not None else ""
            if want == "code":
                found = re.findall(r"(?<![0-9])[0-9]{6,8}(?![0-9])", text)
                if len(found) == 1:
                    return found[0]
            else:
                found = re.findall(r"/csam/activate\?t=([A-Za-z0-9_-]{43})", text)
                if found:
                    return found[0]
        time.sleep(0.1)
    return None


try:
    reg = json.load(open(registration))
except ValueError:
    reg = {}
paper = reg.get("activation_code")
step(bool(paper), "the desk's answer holds the paper activation code",
     open(registration).read())
token = wait_mail("token")
step(bool(token), "the activation mail reaches the local mail server, with its link")
status, body = api("activation", {"token": token, "activation_code": paper})
handle = body.get("activation") if isinstance(body, dict) else None
step(status == 200 and bool(handle), "the link's token and the paper code open the activation", body)
status, body = api("activation/key", {"activation": handle, "key_type": "email",
                                      "accept_terms": True})
step(status == 200, "the e-mail key is chosen, terms accepted", body)
mark()
status, body = api("activation/credentials", {"activation": handle, "username": user,
                                              "password": password,
                                              "password_repeat": password})
step(status == 202, "username and password are set", body)
code = wait_mail("code")
status, body = api("activation/confirm", {"activation": handle, "code": code})
step(status == 200 and isinstance(body, dict) and body.get("status") == "active",
     "the mailed code confirms the key", body)
status, body = api("login", {"username": user, "password": password})
login = body.get("login") if isinstance(body, dict) else None
step(status == 200 and bool(login), "login with username and password", body)
mark()
status, body = api("login/challenge", {"login": login, "key_type": "email"})
step(status == 202, "the login code is sent", body)
code = wait_mail("code")
status, body = api("login/verify", {"login": login, "code": code})
step(status == 200 and any(c.name == "csam_session" for c in jar),
     "the mailed code completes the login: a session cookie", body)
with opener.open(base + "/app/", timeout=30) as r:
    page = r.read().decode(errors="replace")
    step(r.status == 200 and "Logged in." in page, "/app/ opens with the session", page)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


try:
    with urllib.request.build_opener(NoRedirect).open(base + "/app/", timeout=30) as r:
        anonymous = r.status
except urllib.error.HTTPError as e:
    anonymous = e.code
step(anonymous != 200, "/app/ without a session is refused (%d)" % anonymous)
