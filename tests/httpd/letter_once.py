#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The desk's printable letter shows the paper code once (DESIGN 2.1, 3.2),
and once means once: the letter request replayed with the very cookies
that opened it (a copy of the browser's cookies, a proxy's retry) gets
410 and no paper code.  The showing is recorded in the database and
audited."""
import http.client
import os
import re
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


def desk(method, path, cookies, form=None):
    """One officer request; (status, {cookie: value} set, headers, text)."""
    u = urllib.parse.urlsplit(t.base_url())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    h = {"Accept": BROWSER, "Authorization": t._basic(t.OFFICER)}
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


def register_on_the_page():
    """The officer's form, posted: the cookies the letter is asked with."""
    status, sets, _, page = desk("GET", "/csam/registration", {})
    t.check(status == 200, "the desk's form", status)
    cookies = {"csam_b": sets["csam_b"]}
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    reg = t.citizen()
    form = {"csrf": csrf, "national_number": reg["national_number"],
            "first_name": reg["first_name"], "last_name": reg["last_name"],
            "birth_date": reg["birth_date"], "document_type": "eid",
            "document_number": reg["document"]["number"],
            "email": reg["email"], "language": "en"}
    status, sets, headers, _ = desk("POST", "/csam/registration", cookies,
                                    form)
    t.check(status == 303, "the form is answered by 303", status)
    t.check(headers.get("Location", "").endswith("/csam/registration/letter"),
            "to the letter", headers)
    t.check("csam_letter" in sets, "the letter travels in its cookie", sets)
    cookies["csam_letter"] = sets["csam_letter"]
    mbox.wait(reg["email"])
    return cookies, reg


def test_letter_replayed_shows_no_code():
    cookies, reg = register_on_the_page()
    status, sets, _, page = desk("GET", "/csam/registration/letter", cookies)
    t.check(status == 200, "the letter is shown", status)
    codes = CODE.findall(page)
    t.check(len(codes) == 1, "with the paper code", codes)
    t.check(sets.get("csam_letter") == "", "the browser is told to forget it",
            sets)
    # The same request again, with the same cookies: no code.
    for _ in range(2):
        status, _, _, again = desk("GET", "/csam/registration/letter",
                                   cookies)
        t.check(status == 410, "a replayed letter request is 410", status)
        t.check(codes[0] not in again and not CODE.search(again),
                "and shows no paper code")
    rows = t.psql("SELECT letter_shown_at IS NOT NULL FROM "
                  "csam_registrations WHERE email = '%s'" % reg["email"])
    t.check(rows == [["t"]], "the showing is recorded", rows)
    audited = t.scalar("SELECT count(*) FROM csam_audit a JOIN "
                       "csam_registrations r ON r.id = a.registration_id "
                       "WHERE r.email = '%s' AND a.action = "
                       "'registration.letter_shown' AND a.actor = 'officer'"
                       % reg["email"])
    t.check(audited == "1", "and audited once with the officer", audited)


def test_letter_of_a_superseded_registration():
    # Registered again before the letter was printed: the first letter's
    # code is dead, and its letter is not shown either.
    cookies, reg = register_on_the_page()
    t.psql("UPDATE csam_registrations SET superseded_at = now() "
           "WHERE email = '%s'" % reg["email"])
    status, _, _, page = desk("GET", "/csam/registration/letter", cookies)
    t.check(status == 410 and not CODE.search(page),
            "a dead registration's letter is gone", status)


t.run([test_letter_replayed_shows_no_code,
       test_letter_of_a_superseded_registration])
