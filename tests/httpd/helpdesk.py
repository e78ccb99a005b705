#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The helpdesk through httpd (DESIGN 2.8, 3.1, 3.2): an officer finds a
person by national number and sees registrations, account, keys and lock,
never a code or a token; resends a link (the old one dead, the paper code
the same), revokes a pending registration (link and code dead), lifts a
lock (the citizen logs in again); each through the API and through the
desk's page.  A second officer sees in the search's history who did
what.  The number never reaches a log.  A citizen's CSAM session is never
an officer: 403 on the desk API and page."""
import http.client
import os
import re
import subprocess
import sys
import urllib.parse

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__)
mbox = t.Mailbox()
BROWSER = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
CODE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")
SECOND = ("desk2", "second-officer")
state = {}


def add_second_officer():
    """Another officer in the desk's password file (read per request)."""
    conf = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
    line = subprocess.run(["openssl", "passwd", "-apr1", SECOND[1]],
                          check=True, capture_output=True,
                          text=True).stdout.strip()
    with open(os.path.join(conf, "htpasswd"), "a", encoding="utf-8") as f:
        f.write("%s:%s\n" % (SECOND[0], line))


def digits(number):
    return re.sub(r"[^0-9]", "", number)


def search(number, auth=t.OFFICER):
    query = urllib.parse.urlencode({"national_number": number})
    return t.api("registrations?" + query, method="GET", content_type=None,
                 auth=auth)


def no_content(method, path, auth=t.OFFICER):
    """An action answered 204 (no body, so no JSON to check): its status."""
    status, _, data = t.request(method, "/csam/api/v1/" + path, None,
                                {"Authorization": t._basic(auth),
                                 "Accept": "application/json"})
    t.check(status != 204 or data == b"", "a 204 has no body", data)
    return status


def login_status(user):
    return t.api("login", {"username": user, "password": t.PASSWORD}).status


def active_citizen():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    mbox.wait(a["reg"]["email"])  # the key's notice
    return a


def lock(user):
    t.psql("UPDATE csam_accounts SET failures = 5, locked_until = now() + "
           "interval '1 hour' WHERE username = '%s'" % user)


def no_secret_in(body, *secrets):
    text = str(body)
    for s in secrets:
        t.check(s not in text, "no secret in the answer", s)


def desk(method, path, cookies, form=None, auth=t.OFFICER):
    """One officer request in a browser; (status, cookies set, headers,
    text)."""
    u = urllib.parse.urlsplit(t.base_url())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    h = {"Accept": BROWSER, "Authorization": t._basic(auth)}
    if cookies:
        h["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body, h)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        sets = {}
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                sets[name] = rest.split(";")[0]
        return resp.status, sets, dict(resp.getheaders()), text
    finally:
        conn.close()


class Desk:
    """The officer's browser on the helpdesk page."""

    PAGE = "/csam/registration/helpdesk"

    def __init__(self, auth=t.OFFICER):
        self.auth = auth
        self.cookies = {}
        status, sets, _, page = desk("GET", "/csam/registration", {},
                                     auth=auth)
        t.check(status == 200, "the desk's form", status)
        t.check('id="search_national_number"' in page,
                "the desk's page has the helpdesk search", page[-800:])
        self.cookies.update({k: v for k, v in sets.items() if v})
        self.csrf = re.search(r'name="csrf" value="([^"]+)"',
                              page).group(1)

    def post(self, form):
        form = dict(form, csrf=self.csrf)
        status, sets, headers, _ = desk("POST", self.PAGE, self.cookies,
                                        form, self.auth)
        t.check(status == 303, "a POST is answered by 303", status, form)
        t.check(headers.get("Location", "").endswith(self.PAGE),
                "back to the helpdesk page", headers)
        for k, v in sets.items():
            if v:
                self.cookies[k] = v
            else:
                self.cookies.pop(k, None)
        return self.show()

    def show(self):
        status, sets, headers, page = desk("GET", self.PAGE, self.cookies,
                                           auth=self.auth)
        t.check(status == 200, "the helpdesk page", status)
        t.check("no-store" in headers.get("Cache-Control", ""),
                "a person's data is never cached", headers)
        for k, v in sets.items():
            if v:
                self.cookies[k] = v
            else:
                self.cookies.pop(k, None)
        return page

    def search(self, number):
        return self.post({"step": "search", "national_number": number})


# ---------------------------------------------------------------- the API

def test_api_find():
    add_second_officer()
    reg, reply, token = t.register(mbox)
    state["pending"] = (reg, reply, token)
    body = t.expect(search(reg["national_number"]), 200)
    t.check(set(body) == {"registrations", "account", "history"},
            "the answer's fields", body)
    regs = body["registrations"]
    t.check(len(regs) == 1, "one registration", regs)
    t.check(regs[0]["registration_id"] == reply["registration_id"]
            and regs[0]["status"] == "pending"
            and regs[0]["officer"] == "officer"
            and regs[0]["procedure"] == "desk"
            and set(regs[0]) == {"registration_id", "status", "created_at",
                                 "expires_at", "officer", "procedure"},
            "the pending registration", regs)
    t.check(body["account"] is None, "no account yet", body)
    no_secret_in(body, token, reply["activation_code"],
                 digits(reg["national_number"]))
    # The undotted spelling finds the same person.
    again = t.expect(search(digits(reg["national_number"])), 200)
    t.check(again["registrations"] == regs, "same person", again)

    t.expect(search("85.07.30-033.29"), 400, "invalid_national_number")
    t.expect(t.api("registrations", method="GET", content_type=None,
                   auth=t.OFFICER), 400, "invalid_request")
    t.expect(t.api("registrations?national_number=85073003328&x=1",
                   method="GET", content_type=None, auth=t.OFFICER), 400,
             "invalid_request")
    # No officer: the location asks for one.
    t.expect(search(reg["national_number"], auth=None), 401,
             "unauthenticated")


def test_api_resend():
    reg, reply, token = state["pending"]
    rid = reply["registration_id"]
    # From another site's page: refused, nothing sent.
    t.expect(t.api("registrations/%d/resend" % rid, content_type=None,
                   auth=t.OFFICER,
                   headers={"Origin": "https://evil.example"}), 403,
             "forbidden")
    mbox.none_for(reg["email"], wait=0.3)
    body = t.expect(t.api("registrations/%d/resend" % rid, content_type=None,
                          auth=t.OFFICER), 202)
    t.check(body == {"registration_id": rid}, "the 202's body", body)
    new = t.activation_link(mbox.wait(reg["email"]))
    t.check(new != token, "a new link", new)
    t.expect(t.api("activation", {"token": token,
                                  "activation_code":
                                  reply["activation_code"]}), 410, "expired")
    handle = t.open_activation(new, reply["activation_code"])
    t.check(handle, "the new link opens with the same paper code")
    t.expect(t.api("registrations/999999999/resend", content_type=None,
                   auth=t.OFFICER), 404, "not_found")
    t.expect(t.api("registrations/%d/resend" % rid, method="PUT",
                   content_type=None, auth=t.OFFICER), 405,
             "method_not_allowed")


def test_api_revoke():
    reg, reply, token = t.register(mbox)
    rid = reply["registration_id"]
    t.check(no_content("DELETE", "registrations/%d" % rid) == 204,
            "revoked: 204")
    t.expect(t.api("activation", {"token": token,
                                  "activation_code":
                                  reply["activation_code"]}), 410, "expired")
    t.expect(t.api("registrations/%d" % rid, method="DELETE",
                   content_type=None, auth=t.OFFICER), 404, "not_found")
    body = t.expect(search(reg["national_number"]), 200)
    t.check(body["registrations"][0]["status"] == "revoked", "revoked",
            body)
    state["revoked"] = reg


def test_api_unlock():
    a = active_citizen()
    user = a["username"]
    lock(user)
    t.check(login_status(user) == 423, "the lock holds")
    body = t.expect(search(a["reg"]["national_number"]), 200)
    acc = body["account"]
    t.check(acc["username"] == user and acc["status"] == "active"
            and acc["keys"] == [{"type": "email", "status": "active"}]
            and acc["locked_until"] is not None,
            "the account with its key and lock", acc)
    t.check(no_content("POST", "accounts/%s/unlock" % user) == 204,
            "unlocked: 204")
    t.check(login_status(user) == 200, "the citizen logs in again")
    body = t.expect(search(a["reg"]["national_number"]), 200)
    t.check(body["account"]["locked_until"] is None, "no lock", body)
    t.expect(t.api("accounts/nobody.here/unlock", content_type=None,
                   auth=t.OFFICER), 404, "not_found")
    t.expect(t.api("accounts/%s/unlock" % user, method="GET",
                   content_type=None, auth=t.OFFICER), 405,
             "method_not_allowed")
    state["unlocked"] = a


def test_second_officer_sees_who_did_what():
    reg = state["pending"][0]
    body = t.expect(search(reg["national_number"], auth=SECOND), 200)
    seen = {(h["action"], h["officer"]) for h in body["history"]}
    t.check({("registration.created", "officer"),
             ("registration.link_resent", "officer"),
             ("helpdesk.search", "officer")} <= seen,
            "the first officer's actions", body["history"])
    t.check(all(set(h) == {"action", "officer", "at"}
                for h in body["history"]), "history fields", body["history"])
    body = t.expect(search(state["revoked"]["national_number"],
                           auth=SECOND), 200)
    t.check(("registration.revoked", "officer")
            in {(h["action"], h["officer"]) for h in body["history"]},
            "the revocation", body["history"])
    a = state["unlocked"]
    body = t.expect(search(a["reg"]["national_number"], auth=SECOND), 200)
    t.check(("account.unlocked", "officer")
            in {(h["action"], h["officer"]) for h in body["history"]},
            "the lifted lock", body["history"])
    rows = t.psql("SELECT actor, source FROM csam_audit WHERE action IN "
                  "('registration.link_resent', 'registration.revoked', "
                  "'account.unlocked')")
    t.check(rows and all(r == ["officer", "127.0.0.1"] for r in rows),
            "audited with the officer and the source", rows)


# ---------------------------------------------------------------- the page

def test_page_resend_and_revoke():
    reg, reply, token = t.register(mbox)
    rid = reply["registration_id"]
    d = Desk()
    page = d.search("not a number")
    t.check("error-summary" in page or "summary" in page,
            "an error summary", page[:600])
    t.check("aria-invalid" in page, "the field is marked", page)
    page = d.search(reg["national_number"])
    t.check("hd-result" in page, "the result", page[-2000:])
    t.check("En attente d" in page, "the pending registration", page)
    t.check(reply["activation_code"] not in page and token not in page
            and not CODE.search(page), "no code, no token", page)
    t.check('autocomplete="off"' in page, "the number field is not "
            "remembered")
    t.check('value="resend"' in page and 'value="revoke"' in page,
            "resend and revoke buttons", page)

    page = d.post({"step": "resend", "registration": str(rid)})
    t.check("Un nouveau lien" in page, "the resend is confirmed", page)
    new = t.activation_link(mbox.wait(reg["email"]))
    t.check(new != token, "a new link")
    t.expect(t.api("activation", {"token": token,
                                  "activation_code":
                                  reply["activation_code"]}), 410, "expired")

    page = d.post({"step": "revoke", "registration": str(rid)})
    t.check("a été révoqué" in page, "the revocation is confirmed", page)
    t.check("Révoqué" in page, "shown revoked", page)
    t.check('value="resend"' not in page, "no button for a dead one", page)
    t.expect(t.api("activation", {"token": new,
                                  "activation_code":
                                  reply["activation_code"]}), 410, "expired")
    # Revoked already: said so, nothing else.
    page = d.post({"step": "revoke", "registration": str(rid)})
    t.check("plus dans cet état" in page, "a dead registration", page)

    # Without the CSRF token: refused, nothing done.
    status, _, _, _ = desk("POST", Desk.PAGE, d.cookies,
                           {"step": "search", "national_number": "x"})
    t.check(status == 403, "no CSRF token: 403", status)


def test_page_unlock_and_languages():
    a = active_citizen()
    user = a["username"]
    lock(user)
    d = Desk()
    page = d.search(a["reg"]["national_number"])
    t.check(user in page and "Bloqué jusqu" in page, "the lock is shown",
            page[-2500:])
    t.check('value="unlock"' in page, "an unlock button", page)
    page = d.post({"step": "unlock", "username": user})
    t.check("blocage temporaire a été levé" in page, "confirmed", page)
    t.check("Pas de blocage" in page, "no lock any more", page)
    t.check(login_status(user) == 200, "the citizen logs in again")
    # Another officer on the same browser starts afresh.
    status, _, _, page = desk("GET", Desk.PAGE, d.cookies, auth=SECOND)
    t.check(status == 200 and "hd-result" not in page,
            "no other officer's search", status)
    for lang, word in (("nl", "Registraties"), ("de", "Registrierungen"),
                       ("en", "Registrations")):
        u = urllib.parse.urlsplit(t.base_url())
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        conn.request("GET", Desk.PAGE, None, {
            "Accept": BROWSER, "Accept-Language": lang,
            "Authorization": t._basic(t.OFFICER),
            "Cookie": "; ".join("%s=%s" % kv for kv in d.cookies.items())})
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        t.check(resp.status == 200 and word in text
                and 'lang="%s"' % lang in text, "the page in " + lang,
                resp.status)


def test_no_number_in_the_logs():
    conf = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
    numbers = [digits(state["pending"][0]["national_number"]),
               digits(state["unlocked"]["reg"]["national_number"])]
    with open(os.path.join(conf, "access_log"), encoding="utf-8") as f:
        access = f.read()
    with open(os.environ["CSAM_TEST_HTTPD_ERROR_LOG"],
              encoding="utf-8") as f:
        errors = f.read()
    t.check("national_number=redacted" in access, "the query is redacted")
    for n in numbers:
        for spelled in (n, "%s.%s.%s-%s.%s" % (n[0:2], n[2:4], n[4:6],
                                              n[6:9], n[9:11])):
            t.check(spelled not in access and spelled not in errors,
                    "no national number in the logs", spelled)
    t.check(re.search(r"notice.*CSAM01061: helpdesk: officer officer: "
                      r"registration.link_resent registration \d+ from "
                      r"127\.0\.0\.1", errors),
            "one NOTICE line per action")


# ---------------------------------------------------------------- citizens

CSAM_EVERYWHERE = """
<Location />
    AuthType CSAM
    Require valid-user
</Location>
<Location /csam>
    Require all granted
</Location>
<LocationMatch "^/csam/(registration|api/v1/(registrations|accounts))(/|$)">
    Require valid-user
</LocationMatch>
"""


def test_citizen_session_is_never_an_officer():
    a = state["unlocked"]
    body = t.expect(t.api("login", {"username": a["username"],
                                    "password": t.PASSWORD}), 200)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "email"}), 202)
    code = t.security_code(mbox.wait(a["reg"]["email"]))
    resp = t.api("login/verify", {"login": body["login"], "code": code})
    t.expect(resp, 200)
    cookie = "csam_session=" + re.search(
        r"csam_session=([A-Za-z0-9_-]+)",
        resp.headers.get("set-cookie", "")).group(1)
    conf = os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"], "extra.conf")
    with open(conf, "a", encoding="utf-8") as f:
        f.write(CSAM_EVERYWHERE)
    t.check(os.system(os.environ["CSAM_TEST_HTTPD_RESTART"]) == 0,
            "httpd restarts with AuthType CSAM on the whole site")
    h = {"Cookie": cookie}
    query = urllib.parse.urlencode(
        {"national_number": a["reg"]["national_number"]})
    done = ("SELECT count(*) FROM csam_audit WHERE action IN "
            "('helpdesk.search', 'account.unlocked', 'registration.revoked')")
    before = t.scalar(done)
    t.expect(t.api("registrations?" + query, method="GET", content_type=None,
                   headers=h), 403, "forbidden")
    t.expect(t.api("accounts/%s/unlock" % a["username"], content_type=None,
                   headers=h), 403, "forbidden")
    t.expect(t.api("registrations/1", method="DELETE", content_type=None,
                   headers=h), 403, "forbidden")
    status, _, data = t.request("GET", Desk.PAGE, None,
                                dict(h, Accept=BROWSER))
    t.check(status == 403 and b"hd-result" not in data,
            "the helpdesk page is refused", status)
    t.check(t.scalar(done) == before, "nothing done")


t.run([test_api_find, test_api_resend, test_api_revoke, test_api_unlock,
       test_second_officer_sees_who_did_what, test_page_resend_and_revoke,
       test_page_unlock_and_languages, test_no_number_in_the_logs,
       test_citizen_session_is_never_an_officer])
