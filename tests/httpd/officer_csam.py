#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A citizen is never an officer (DESIGN 3.1): with `<Location />
AuthType CSAM` over the whole site and the desk given a plain `Require
valid-user`, a citizen's CSAM session reaches the desk authenticated, and
is refused there: 403 `forbidden` on the API, the 403 page on
/csam/registration, nothing recorded, no mail.  Neither does an internal
redirect from a CSAM-protected location (ErrorDocument) make one.

The citizen is registered by the officer and logs in under the harness's
usual configuration; the server is then restarted with the site-wide
AuthType CSAM (sessions live in the database, so the cookie survives)."""
import os
import re
import sys
import time

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

# After the harness's sections: the whole site is AuthType CSAM, the
# handler is open (its login page must be reachable) and the desk asks
# only for "a valid user", exactly the configuration of the attack.
CSAM_EVERYWHERE = """
<Location />
    AuthType CSAM
    Require valid-user
</Location>
<Location /csam>
    Require all granted
</Location>
<LocationMatch "^/csam/(registration|api/v1/registrations)(/|$)">
    Require valid-user
</LocationMatch>
<Location /nested>
    ErrorDocument 404 /csam/registration
</Location>
"""

t.start(__file__)
mbox = t.Mailbox()
BROWSER = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
state = {}


def code_from(email):
    deadline = time.time() + 15
    while time.time() < deadline:
        msg = mbox.wait(email, timeout=max(1, deadline - time.time()))
        if re.search(r"(?<![0-9])[0-9]{6,8}(?![0-9])", t.text_of(msg)):
            return t.security_code(msg)
    raise t.Failure("no code mailed to %s" % email)


def test_citizen_logs_in_under_the_usual_desk():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    email = a["reg"]["email"]
    body = t.expect(t.api("login", {"username": a["username"],
                                    "password": t.PASSWORD}), 200)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "email"}), 202)
    resp = t.api("login/verify", {"login": body["login"],
                                  "code": code_from(email)})
    t.expect(resp, 200)
    m = re.search(r"csam_session=([A-Za-z0-9_-]+)",
                  resp.headers.get("set-cookie", ""))
    t.check(m is not None, "a session cookie", resp.headers)
    state["cookie"] = "csam_session=" + m.group(1)
    state["user"] = a["username"]


def test_restart_with_authtype_csam_everywhere():
    conf = os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"], "extra.conf")
    with open(conf, "a", encoding="utf-8") as f:
        f.write(CSAM_EVERYWHERE)
    t.check(os.system(os.environ["CSAM_TEST_HTTPD_RESTART"]) == 0,
            "httpd restarts with AuthType CSAM on the whole site")
    # The session is good everywhere on the site now...
    status, _, _ = t.request("GET", "/csam/api/v1/me", None,
                             {"Cookie": state["cookie"],
                              "Accept": "application/json"})
    t.check(status == 200, "the citizen's session still lives", status)
    # ... and the officer's Basic credentials are not what the desk takes.
    t.expect(t.api("registrations", t.citizen(), auth=t.OFFICER), 401,
             "unauthenticated")


def test_citizen_session_is_not_an_officer_on_the_api():
    before = t.scalar("SELECT count(*) FROM csam_registrations")
    reg = t.citizen()
    resp = t.api("registrations", reg, headers={"Cookie": state["cookie"]})
    t.expect(resp, 403, "forbidden")
    t.check("activation_code" not in resp.body, "no paper code", resp.body)
    t.check(t.scalar("SELECT count(*) FROM csam_registrations") == before,
            "nothing recorded")
    mbox.none_for(reg["email"], wait=0.5)


def test_citizen_session_is_not_an_officer_on_the_page():
    h = dict(BROWSER, Cookie=state["cookie"])
    status, _, data = t.request("GET", "/csam/registration", None, h)
    t.check(status == 403, "the desk's form is refused", status)
    t.check(b"<form" not in data and b"national_number" not in data,
            "no registration form", data[:300])
    # The letter too.
    status, _, _ = t.request("GET", "/csam/registration/letter", None, h)
    t.check(status == 403, "the letter page is refused", status)
    before = t.scalar("SELECT count(*) FROM csam_registrations")
    form = ("national_number=85.07.30-033.28&first_name=A&last_name=B&"
            "birth_date=1985-07-30&document_type=eid&document_number=X1&"
            "email=a%40example.be&language=fr").encode()
    status, _, _ = t.request("POST", "/csam/registration", form,
                             dict(h, **{"Content-Type":
                                        "application/x-www-form-urlencoded"}))
    t.check(status == 403, "the desk's form post is refused", status)
    t.check(t.scalar("SELECT count(*) FROM csam_registrations") == before,
            "nothing recorded")


def test_internal_redirect_is_not_an_officer():
    # /nested is AuthType CSAM (from <Location />); its 404 is served by
    # the desk through an internal redirect, which carries the citizen.
    status, _, data = t.request("GET", "/nested/none", None,
                                dict(BROWSER, Cookie=state["cookie"]))
    t.check(status in (403, 404), "no desk through an ErrorDocument",
            status)
    t.check(b"national_number" not in data, "no registration form",
            data[:300])


t.run([test_citizen_logs_in_under_the_usual_desk,
       test_restart_with_authtype_csam_everywhere,
       test_citizen_session_is_not_an_officer_on_the_api,
       test_citizen_session_is_not_an_officer_on_the_page,
       test_internal_redirect_is_not_an_officer])
