#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The JSON API from registration to an active e-mail key (DESIGN 3.1), and
what the codes and tokens of that flow refuse: wrong, expired, reused,
superseded, out of order, attempts exhausted; the e-mailed link built from
CSAMPublicURL whatever the Host header says."""
import os
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

# Everything mod_csam logs, so that no secret can hide at a lower level.
t.start(__file__, extra_conf="LogLevel info csam:debug\n")
mbox = t.Mailbox()
SECRETS = set()     # codes, tokens, handles, passwords seen in this test


def remember(*values):
    SECRETS.update(v for v in values if v)


def account_of(user):
    return t.scalar("SELECT id FROM csam_accounts WHERE username = '%s'"
                    % user)


def test_full_flow():
    reg, reply, token = t.register(mbox)
    # The activation mail, in the registration's language (fr).
    rid = reply["registration_id"]
    t.check(t.scalar("SELECT count(*) FROM csam_registrations WHERE id = %d"
                     % rid) == "1", "registration row")
    # The paper code may be typed in lower case and without dashes.
    typed = reply["activation_code"].replace("-", " ").lower()
    handle = t.open_activation(token, typed)
    t.choose_email_key(handle)
    user = t.username()
    t.set_credentials(handle, user)
    code_mail = mbox.wait(reg["email"])
    code = t.security_code(code_mail)
    body = t.expect(t.api("activation/confirm", {"activation": handle,
                                                 "code": code}), 200)
    t.check(body == {"username": user, "key_type": "email",
                     "status": "active"}, "confirm answer", body)
    rows = t.psql("SELECT a.status, k.type, k.status FROM csam_accounts a "
                  "JOIN csam_keys k ON k.account_id = a.id "
                  "WHERE a.username = '%s'" % user)
    t.check(rows == [["active", "email", "active"]], "account and key active",
            rows)
    # Codes and passwords are never stored in clear.
    dump = t.psql("SELECT row_to_json(r)::text FROM csam_registrations r "
                  "WHERE id = %d" % rid)
    t.check(reply["activation_code"] not in str(dump)
            and reply["activation_code"].replace("-", "") not in str(dump),
            "activation code stored in clear")
    t.check(t.scalar("SELECT password_hash LIKE '$argon2id$%%' FROM "
                     "csam_accounts WHERE username = '%s'" % user) == "t",
            "password hash is Argon2id")
    # The audit trail names the officer (Apache's r->user) and the client
    # address for the registration, and the citizen's steps after it.
    audit = t.psql("SELECT actor, source FROM csam_audit WHERE "
                   "registration_id = %d ORDER BY id" % rid)
    t.check(len(audit) >= 3, "audit rows for the flow", audit)
    t.check(audit[0] == ["officer", "127.0.0.1"], "who and from where",
            audit[0])
    t.check(all(row[1] == "127.0.0.1" for row in audit), "sources", audit)

    # Everything of that flow is now used up.
    t.expect(t.api("activation", {"token": token,
                                  "activation_code":
                                  reply["activation_code"]}), 410, "expired")
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}), 410, "expired")
    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "email",
                                      "accept_terms": True}), 410, "expired")


def test_concurrent_confirmations():
    """Two submissions of one code at once: exactly one succeeds."""
    import threading
    for _ in range(3):
        f = t.activate(mbox)
        remember(f["code"], f["handle"], f["token"],
                 f["reply"]["activation_code"])
        results = []
        barrier = threading.Barrier(4)

        def confirm():
            barrier.wait()
            results.append(t.api("activation/confirm",
                                 {"activation": f["handle"],
                                  "code": f["code"]}).status)

        threads = [threading.Thread(target=confirm) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        # The first confirm uses the handle; the others find it used.
        t.check(sorted(results) == [200, 410, 410, 410],
                "exactly one success, the others 410 expired", results)


def test_no_secret_in_the_log():
    """Nothing logged (csam at debug level) holds a code, a token, a
    handle or a password of these tests."""
    import re
    # Without httpd's prefix (time with microseconds, pid, tid, client
    # port): its digits could pass for a 6-digit code.
    prefix = re.compile(r"^\[[^]]*\] \[[^]]*\] \[pid [^]]*\] "
                        r"(\[client [^]]*\] )?")
    with open(os.environ["CSAM_TEST_HTTPD_ERROR_LOG"], encoding="utf-8",
              errors="replace") as f:
        log = "\n".join(prefix.sub("", line) for line in f)
    SECRETS.update(t.seen_secrets)
    t.check(len(SECRETS) > 20, "secrets were collected", len(SECRETS))
    t.check("CSAM0" in log, "the log has mod_csam lines")
    for s in SECRETS:
        variants = {s, s.replace("-", ""), s.lower()}
        for v in variants:
            if v.isdigit():
                found = re.search(r"(?<![0-9])%s(?![0-9])" % v, log)
            else:
                found = v in log
            t.check(not found, "a secret is in the error log", v)


def test_activation_mail():
    reg, reply, token = t.register(mbox)
    t.check(reply["activation_code"] not in t.text_of(mbox.last),
            "the paper code must not be in the e-mail")
    reg = t.citizen(language="nl")
    t.expect(t.api("registrations", reg, auth=t.OFFICER), 201)
    msg = mbox.wait(reg["email"])
    t.check(str(msg["To"]).endswith(reg["email"]) or reg["email"] in
            str(msg["To"]), "To", msg["To"])
    t.check(msg.get_body(preferencelist=("html",)) is not None,
            "activation mail has an HTML part")
    # From CSAMMailFrom, display name and all (RFC 2047 decoded here).
    t.check(str(msg["From"]) == "CSAM Mes clés numériques "
            "<noreply@csam.test>", "From is CSAMMailFrom", str(msg["From"]))
    t.check(str(msg["Subject"]) == "CSAM – Mijn digitale sleutels: "
            "activering", "Dutch subject", str(msg["Subject"]))
    fr = t.citizen()
    t.expect(t.api("registrations", fr, auth=t.OFFICER), 201)
    subject = str(mbox.wait(fr["email"])["Subject"])
    t.check(subject == "CSAM – Mes clés numériques : activation",
            "French subject", subject)


def test_host_header_is_ignored():
    """The e-mailed link uses CSAMPublicURL, never the request's Host."""
    reg = t.citizen()
    for host in ("evil.example", "127.0.0.1:1", "evil.example:8443"):
        t.expect(t.api("registrations", reg, auth=t.OFFICER,
                       headers={"Host": host,
                                "X-Forwarded-Host": "evil.example"}), 201)
        msg = mbox.wait(reg["email"])
        text = t.text_of(msg)
        t.check("evil" not in text, "Host header leaked into the mail", host)
        t.activation_link(msg)  # checks the base is CSAMPublicURL


def test_wrong_paper_code_and_lock():
    t.forgive_source()
    reg, reply, token = t.register(mbox)
    good = reply["activation_code"]
    bad = "ABCD-EFGH-JKMN" if good != "ABCD-EFGH-JKMN" else "ABCD-EFGH-JKMP"
    left = []
    for _ in range(4):
        body = t.expect(t.api("activation", {"token": token,
                                             "activation_code": bad}),
                        401, "invalid_code")
        left.append(body.get("attempts_left"))
    t.check(left == [4, 3, 2, 1], "attempts_left counts down from 5", left)
    # The fifth exhausts the code's attempts: 423 locked (DESIGN 3.1).
    body = t.expect(t.api("activation", {"token": token,
                                         "activation_code": bad}),
                    423, "locked")
    t.check(body.get("attempts_left") == 0, "attempts_left 0", body)
    # Exhausted: even the right code is refused now, until the desk
    # registers the citizen again.
    t.expect(t.api("activation", {"token": token, "activation_code": good}),
             423, "locked")
    reg2, reply2, token2 = t.register(mbox, reg)
    t.open_activation(token2, reply2["activation_code"])
    t.forgive_source()


def test_malformed_paper_code():
    t.forgive_source()
    reg, reply, token = t.register(mbox)
    # A code of the wrong shape is a wrong paper code: 401 invalid_code,
    # and it counts as an attempt (four of them; five would lock).
    left = []
    for typed in ("0", "K7QF-M2XD-9RTAA", "O0O0-1I1I-0000", "' OR '1'='1"):
        r = t.api("activation", {"token": token, "activation_code": typed})
        left.append(t.expect(r, 401, "invalid_code").get("attempts_left"))
    t.check(left == [4, 3, 2, 1], "each malformed code is an attempt", left)
    # Still usable with the right code once the attempts are reset.
    t.forgive_source()
    psql_reset = "UPDATE csam_registrations SET attempts = 0 WHERE id = %d"
    t.psql(psql_reset % reply["registration_id"])
    t.open_activation(token, reply["activation_code"])


def test_unknown_and_malformed_token():
    reg, reply, token = t.register(mbox)
    other = ("A" if token[0] != "A" else "B") + token[1:]
    for tok in (other, token[:-1], token + "A", "", "x" * 43,
                "../../etc/passwd", "' OR 1=1 --"):
        t.expect(t.api("activation", {"token": tok,
                                      "activation_code":
                                      reply["activation_code"]}),
                 410, "expired")
    t.open_activation(token, reply["activation_code"])


def test_expired_link():
    reg, reply, token = t.register(mbox)
    t.psql("UPDATE csam_registrations SET created_at = created_at - "
           "interval '31 days', expires_at = now() - interval '1 second' "
           "WHERE id = %d" % reply["registration_id"])
    t.expect(t.api("activation", {"token": token,
                                  "activation_code":
                                  reply["activation_code"]}), 410, "expired")


def test_superseded_registration():
    reg, reply1, token1 = t.register(mbox)
    reg2, reply2, token2 = t.register(mbox, reg)
    t.check(reply1["activation_code"] != reply2["activation_code"],
            "a new code at each registration")
    t.expect(t.api("activation", {"token": token1,
                                  "activation_code":
                                  reply1["activation_code"]}), 410, "expired")
    # The new code does not open the old link either.
    t.expect(t.api("activation", {"token": token1,
                                  "activation_code":
                                  reply2["activation_code"]}), 410, "expired")
    t.open_activation(token2, reply2["activation_code"])


def test_steps_out_of_order():
    reg, reply, token = t.register(mbox)
    handle = t.open_activation(token, reply["activation_code"])
    user = t.username()
    t.expect(t.api("activation/credentials",
                   {"activation": handle, "username": user,
                    "password": t.PASSWORD, "password_repeat": t.PASSWORD}),
             403, "forbidden")
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": "123456"}),
             403, "forbidden")
    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "email",
                                      "accept_terms": False}),
             400, "terms_not_accepted")
    # Only the key types offered by activation can be chosen: this server
    # has no SMS gateway (CSAMSMSTransport), so e-mail and the app only.
    offered = t.expect(t.api("activation", {"token": token,
                                            "activation_code":
                                            reply["activation_code"]}),
                       200)
    handle = offered["activation"]
    t.check(sorted(offered.get("key_types", [])) == ["email", "totp"],
            "key types offered without an SMS gateway", offered)
    t.expect(t.api("activation/key",
                   {"activation": handle, "key_type": "sms",
                    "accept_terms": True, "phone": "+32470123456"}),
             400, "invalid_request")
    t.choose_email_key(handle)
    t.set_credentials(handle, user)
    code = t.security_code(mbox.wait(reg["email"]))
    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "email",
                                      "accept_terms": True}),
             403, "forbidden")
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}), 200)


def test_a_new_open_supersedes_the_handle():
    reg, reply, token = t.register(mbox)
    h1 = t.open_activation(token, reply["activation_code"])
    h2 = t.open_activation(token, reply["activation_code"])
    t.check(h1 != h2, "a new handle each time")
    t.expect(t.api("activation/key", {"activation": h1, "key_type": "email",
                                      "accept_terms": True}), 410, "expired")
    t.choose_email_key(h2)


def test_wrong_confirm_code_and_lock():
    t.forgive_source()
    f = t.activate(mbox)
    bad = t.wrong_code(f["code"])
    left = []
    for _ in range(4):
        body = t.expect(t.api("activation/confirm",
                              {"activation": f["handle"], "code": bad}),
                        401, "invalid_code")
        left.append(body.get("attempts_left"))
    t.check(left == [4, 3, 2, 1], "attempts_left counts down", left)
    r = t.expect(t.api("activation/confirm",
                       {"activation": f["handle"], "code": bad}),
                 423, "locked")
    t.check(r.get("attempts_left") == 0, "attempts_left 0", r)
    t.expect(t.api("activation/confirm", {"activation": f["handle"],
                                          "code": f["code"]}), 423, "locked")
    t.forgive_source()


def test_code_shapes_refused():
    t.forgive_source()
    f = t.activate(mbox)
    # A code of the wrong shape is a wrong code: 401 invalid_code, and an
    # attempt (four of them; five would lock).
    left = []
    for typed in ("12345", "123456789", "1' OR '1'='1", "１２３４５６"):
        r = t.api("activation/confirm", {"activation": f["handle"],
                                         "code": typed})
        left.append(t.expect(r, 401, "invalid_code").get("attempts_left"))
    t.check(left == [4, 3, 2, 1], "each malformed code is an attempt", left)
    t.forgive_source()
    t.psql("UPDATE csam_challenges SET attempts = 0 WHERE used_at IS NULL "
           "AND account_id = %s" % account_of(f["username"]))
    t.expect(t.api("activation/confirm", {"activation": f["handle"],
                                          "code": f["code"]}), 200)


def test_expired_confirm_code():
    f = t.activate(mbox)
    t.psql("UPDATE csam_challenges SET created_at = created_at - "
           "interval '1 hour', expires_at = now() - interval '1 second' "
           "WHERE used_at IS NULL AND account_id = %s"
           % account_of(f["username"]))
    # The step the handle was at has expired with its code: 410 expired.
    t.expect(t.api("activation/confirm", {"activation": f["handle"],
                                          "code": f["code"]}),
             410, "expired")


def test_resend():
    t.forgive_source()
    f = t.activate(mbox)
    # Rate-limited: right after the first code.
    body = t.expect(t.api("activation/resend", {"activation": f["handle"]}),
                    429, "too_many_requests")
    t.check(isinstance(body.get("retry_after"), int)
            and body["retry_after"] > 0, "retry_after", body)
    mbox.none_for(f["reg"]["email"], wait=0.5)
    # Once the cooldown is over (rows aged, the database's clock decides).
    t.psql("UPDATE csam_challenges SET created_at = created_at - "
           "interval '1 hour' WHERE account_id = %s"
           % account_of(f["username"]))
    t.expect(t.api("activation/resend", {"activation": f["handle"]}), 202)
    new = t.security_code(mbox.wait(f["reg"]["email"]))
    if new != f["code"]:
        # The first code is superseded by the second.
        t.expect(t.api("activation/confirm", {"activation": f["handle"],
                                              "code": f["code"]}),
                 401, "invalid_code")
    t.expect(t.api("activation/confirm", {"activation": f["handle"],
                                          "code": new}), 200)
    t.forgive_source()


def test_number_forms():
    """Dots, dashes and spaces between the digits, born after 2000, and BIS
    numbers all go in national_number."""
    import datetime
    for birth, kw in ((datetime.date(1985, 7, 30), {"dotted": False}),
                      (datetime.date(2004, 2, 29), {}),
                      (datetime.date(1985, 7, 30), {"bis": 20}),
                      (datetime.date(1990, 1, 15), {"bis": 40})):
        number = t.nrn(birth, **kw)
        for form in (number, number.replace(".", " ").replace("-", " ")):
            reg = t.citizen(national_number=form,
                            birth_date=birth.isoformat())
            t.expect(t.api("registrations", reg, auth=t.OFFICER), 201)
            mbox.wait(reg["email"])


def test_idn_address():
    """A domain typed in Unicode is accepted, kept as typed, and mailed to
    in its A-label form (envelope and To); a UTF-8 local part is not
    (no SMTPUTF8)."""
    typed = "citoyen.%d@exemple-été.be" % os.getpid()
    wire = "citoyen.%d@xn--exemple-t-i4ab.be" % os.getpid()
    reg = t.citizen(email=typed)
    t.expect(t.api("registrations", reg, auth=t.OFFICER), 201)
    got = mbox.each([wire])[wire][0]
    t.check(str(got["To"]) == "<%s>" % wire or str(got["To"]) == wire,
            "To in A-label form", str(got["To"]))
    t.check(t.scalar("SELECT count(*) FROM csam_registrations "
                     "WHERE email = '%s'" % typed) == "1",
            "the address is stored as typed")
    t.expect(t.api("registrations",
                   t.citizen(email="citoyén@exemple-été.be"),
                   auth=t.OFFICER), 400, "invalid_email")


def test_validation_errors():
    bad_checksum = t.citizen()
    nn = bad_checksum["national_number"]
    bad_checksum["national_number"] = nn[:-2] + "%02d" % (
        (int(nn[-2:]) + 1) % 100)
    t.expect(t.api("registrations", bad_checksum, auth=t.OFFICER), 400,
             "invalid_national_number")
    mismatch = t.citizen(birth_date="1985-07-31")
    t.expect(t.api("registrations", mismatch, auth=t.OFFICER), 400,
             "invalid_national_number")
    for addr in ("no-at-sign", "a@b", "a@@example.be", "a b@example.be",
                 "x" * 250 + "@example.be", "<a@example.be>"):
        t.expect(t.api("registrations", t.citizen(email=addr),
                       auth=t.OFFICER), 400, "invalid_email")
    for field, value in (("birth_date", "30/07/1985"),
                         ("birth_date", "1985-02-30"),
                         ("language", "es"),
                         ("document", {"type": "library_card",
                                       "number": "1"}),
                         ("first_name", ""),
                         ("last_name", "x" * 101)):
        r = t.api("registrations", t.citizen(**{field: value}),
                  auth=t.OFFICER)
        t.check(r.status == 400, "validation of %s" % field, value, r.body)


def test_credentials_errors():
    reg, reply, token = t.register(mbox)
    handle = t.open_activation(token, reply["activation_code"])
    t.choose_email_key(handle)
    user = t.username()

    def creds(name, pw, pw2):
        return t.api("activation/credentials",
                     {"activation": handle, "username": name,
                      "password": pw, "password_repeat": pw2})

    t.expect(creds(user, t.PASSWORD, t.PASSWORD + "x"), 400,
             "password_mismatch")
    t.expect(creds(user, "short", "short"), 400, "weak_password")
    t.expect(creds(user, "password1234", "password1234"), 400,
             "weak_password")
    long_pw = "Aa1!" * 33
    t.expect(creds(user, long_pw, long_pw), 400, "weak_password")
    t.expect(creds(user, user + "-Extra-99!", user + "-Extra-99!"), 400,
             "weak_password")
    for name in ("Upper", "ab", "x" * 65, "-lead", "a b", "a'b;--"):
        r = creds(name, t.PASSWORD, t.PASSWORD)
        t.check(r.status == 400, "bad username refused", name, r.body)
    t.set_credentials(handle, user)
    code = t.security_code(mbox.wait(reg["email"]))
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}), 200)

    # Someone else cannot take that username.
    reg2, reply2, token2 = t.register(mbox)
    h2 = t.open_activation(token2, reply2["activation_code"])
    t.choose_email_key(h2)
    t.expect(t.api("activation/credentials",
                   {"activation": h2, "username": user,
                    "password": t.PASSWORD, "password_repeat": t.PASSWORD}),
             409, "username_taken")


t.run([
    test_full_flow,
    test_activation_mail,
    test_host_header_is_ignored,
    test_wrong_paper_code_and_lock,
    test_malformed_paper_code,
    test_unknown_and_malformed_token,
    test_expired_link,
    test_superseded_registration,
    test_steps_out_of_order,
    test_a_new_open_supersedes_the_handle,
    test_wrong_confirm_code_and_lock,
    test_code_shapes_refused,
    test_expired_confirm_code,
    test_resend,
    test_number_forms,
    test_validation_errors,
    test_idn_address,
    test_credentials_errors,
    test_concurrent_confirmations,
    test_no_secret_in_the_log,
])
