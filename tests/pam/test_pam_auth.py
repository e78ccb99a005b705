#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam's second factor end to end: pamtester + pam_wrapper + the
built module, a real PostgreSQL and a real SMTP server (DESIGN 3.4).

The full path with the e-mailed code, the account's language, prompt=,
PAM_SILENT, a wrong code, a replayed code, a pending code reused without a
second mail, an expired code, attempts exhausted and the account lock,
key= restricting the key types.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
svc = h.csam_service("csam")

ALICE = h.enrol("alice", "alice@example.test", "fr")
BOB = h.enrol("bob.en", "bob@example.test", "en")

# ---- the full path: mailed code typed back
res = h.pamtester(svc, ALICE, ["authenticate"], mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "right code from the mail")
h.check(res.mail is not None, "a code was mailed")
shown = res.stdout + res.stderr
h.check("Un code de sécurité vous a été envoyé par e-mail." in shown,
        "French info line for a French account", shown)
h.check("Code de sécurité : " in shown, "French prompt", shown)
h.check(any("user alice authenticated with key email" in line
            for line in res.syslog), "success logged", res.syslog)
h.no_secret_logged(res, [res.typed], "success")
first_code = res.typed

# ---- replay: the used code is dead; the next login mails a new one
res = h.pamtester(svc, ALICE, ["authenticate"], mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "second login with a fresh code")
second_code = res.typed
h.check(second_code != first_code, "each login gets its own code")
before = set(h.mails("alice@example.test"))
res = h.pamtester(svc, ALICE, ["authenticate"], answer=second_code)
h.expect(res, "PAM_AUTH_ERR", "replayed code")
after = set(h.mails("alice@example.test"))
h.check(len(after - before) == 1, "the replay attempt got a fresh code mailed")
h.no_secret_logged(res, [second_code], "replay")
pending = h.code_in(h.mails("alice@example.test")[sorted(after - before)[0]])

# ---- a second call while that code is pending reuses it: no second mail
before = after
res = h.pamtester(svc, ALICE, ["authenticate"], answer=pending)
h.expect(res, "PAM_SUCCESS", "pending code reused by the next call")
h.check(set(h.mails("alice@example.test")) == before,
        "no second mail while a code is pending")
shown = res.stdout + res.stderr
h.check("Le code de sécurité envoyé il y a peu est toujours valable." in shown,
        "the user is told the earlier code still holds", shown)

# ---- two logins of one account at once (two ssh sessions): one code is
# mailed and both prompts wait for it; it is single-use, so exactly one
# of the two answers wins.
GRACE = h.enrol("grace", "grace@example.test", "en")
before = set(h.mails("grace@example.test"))
runs = [h.start(svc, GRACE) for _ in range(2)]
h.check(all(r.prompted() for r in runs), "both concurrent logins prompt")
sent = [m for n, m in h.mails("grace@example.test").items()
        if n not in before]
h.check(len(sent) == 1, "one code mailed for two concurrent logins",
        len(sent))
code = h.code_in(sent[0]) if sent else ""
for r in runs:      # both answers in flight before either is collected
    r.type(code)
results = sorted(r.finish().status for r in runs)
h.check(results == ["PAM_AUTH_ERR", "PAM_SUCCESS"],
        "the code serves one of the two logins only", results)

# ---- the account's language, and PAM_SILENT
res = h.pamtester(svc, BOB, ["authenticate"], mail_to="bob@example.test")
h.expect(res, "PAM_SUCCESS", "English account")
shown = res.stdout + res.stderr
h.check("Security code: " in shown and
        "A security code has been sent to you by e-mail." in shown,
        "English prompt and info line", shown)
h.check("Subject" not in shown, "nothing but the conversation on the terminal")
res = h.pamtester(svc, BOB, ["authenticate(PAM_SILENT)"],
                  mail_to="bob@example.test")
h.expect(res, "PAM_SUCCESS", "PAM_SILENT login")
h.check("has been sent" not in res.stdout + res.stderr,
        "PAM_SILENT: no info line", res.stdout)

# ---- prompt= overrides the text (brackets keep its spaces in pam.d)
svc_prompt = h.service("csam-prompt", auth=[
    "required pam_csam.so config=%s [prompt=Votre code CSAM, SVP :]" % h.conf])
res = h.pamtester(svc_prompt, BOB, ["authenticate"], mail_to="bob@example.test")
h.expect(res, "PAM_SUCCESS", "login with prompt=")
h.check("Votre code CSAM, SVP :" in res.stdout + res.stderr,
        "prompt= text shown", res.stderr)

# ---- debug: one line per step, PAM_RHOST only when it looks like a host
svc_debug = h.csam_service("csam-debug", "debug")
res = h.pamtester(svc_debug, BOB, ["authenticate"], mail_to="bob@example.test",
                  items=["rhost=client-7.example.test"])
h.expect(res, "PAM_SUCCESS", "debug")
h.check(any("user bob.en: key email, code sent, from client-7.example.test"
            in line for line in res.syslog), "debug line with the source",
        res.syslog)
h.no_secret_logged(res, [res.typed], "debug")
res = h.pamtester(svc_debug, BOB, ["authenticate"], mail_to="bob@example.test",
                  items=["rhost=evil host;$(id)"])
h.expect(res, "PAM_SUCCESS", "debug, odd PAM_RHOST")
h.check(any("from local" in line for line in res.syslog) and
        not any("evil" in line for line in res.syslog),
        "an odd PAM_RHOST is neither logged nor stored", res.syslog)
h.check(h.psql("SELECT count(*) FROM csam_audit WHERE source LIKE 'evil%'")
        == "0", "the odd PAM_RHOST is not in the audit trail")
h.check(h.psql("SELECT count(*) FROM csam_audit WHERE source ="
               " 'client-7.example.test'") != "0",
        "a host-like PAM_RHOST is the audit trail's source")

# ---- wrong code
res = h.pamtester(svc, BOB, ["authenticate"], answer="00000000")
h.expect(res, "PAM_AUTH_ERR", "wrong code")
h.check(any("wrong security code for user bob.en, 4 attempt(s) left" in l
            for l in res.syslog), "wrong code logged with attempts left",
        res.syslog)
res = h.pamtester(svc, BOB, ["authenticate"], answer="not a code")
h.expect(res, "PAM_AUTH_ERR", "non-numeric answer")
res = h.pamtester(svc, BOB, ["authenticate"], answer="1" * 200)
h.check(res.status not in ("PAM_SUCCESS", None), "over-long answer refused",
        res.stderr)

# ---- expired: the code ages past its expiry between the mail and the answer
CAROL = h.enrol("carol", "carol@example.test", "nl")


def age_challenge(mail):
    h.psql("UPDATE csam_challenges SET created_at = now() - interval '20 min',"
           " expires_at = now() - interval '1 min' WHERE purpose = 'pam_login'"
           " AND used_at IS NULL AND superseded_at IS NULL AND account_id ="
           " (SELECT id FROM csam_accounts WHERE username = 'carol')")


res = h.pamtester(svc, CAROL, ["authenticate"], mail_to="carol@example.test",
                  before_answer=age_challenge)
h.expect(res, "PAM_AUTH_ERR", "expired code")
h.check("Beveiligingscode: " in res.stdout + res.stderr, "Dutch prompt")
expired = res.typed
before = set(h.mails("carol@example.test"))
res = h.pamtester(svc, CAROL, ["authenticate"], mail_to="carol@example.test")
h.expect(res, "PAM_SUCCESS", "after expiry, a fresh code is mailed and works")
h.check(res.typed != expired, "the fresh code is not the expired one")

# ---- attempts exhausted: five wrong answers to one code
DAVE = h.enrol("dave", "dave@example.test", "de")
before = set(h.mails("dave@example.test"))
statuses = []
for i in range(5):
    res = h.pamtester(svc, DAVE, ["authenticate"], answer="%08d" % i)
    statuses.append(res.status)
    if i == 0:
        h.check("Sicherheitscode: " in res.stdout + res.stderr and
                "Ein Sicherheitscode wurde Ihnen per E-Mail gesendet." in
                res.stdout + res.stderr, "German prompt and info line",
                res.stderr)
    h.no_secret_logged(res, h.codes_to("dave@example.test"),
                       "wrong code %d" % (i + 1))
h.check(statuses == ["PAM_AUTH_ERR"] * 4 + ["PAM_MAXTRIES"],
        "four wrong codes refused, the fifth exhausts the code", statuses)
sent = [m for n, m in h.mails("dave@example.test").items() if n not in before]
h.check(len(sent) == 1, "one code mailed for those five tries", len(sent))
# The exhausted code is dead even when typed right.
res = h.pamtester(svc, DAVE, ["authenticate"],
                  answer=h.code_in(sent[0]) if sent else "")
h.check(res.status != "PAM_SUCCESS", "an exhausted code never succeeds",
        res.status)

# ---- repeated failures lock the account for a while (across codes).  The
# engine first adds short growing delays (seconds), then locks for
# lockout_duration (900 s); the short delays are lifted with psql so the
# test reaches the real lock quickly.
import re  # noqa: E402

lock_wait = 0
for i in range(30):
    res = h.pamtester(svc, DAVE, ["authenticate"], answer="%08d" % (99 - i))
    waits = [int(m.group(1)) for line in res.syslog
             for m in [re.search(r"locked out, retry in (\d+) s", line)] if m]
    if waits and waits[0] > 60:
        lock_wait = waits[0]
        break
    h.psql("UPDATE csam_accounts SET locked_until = NULL"
           " WHERE username = 'dave'")
h.check(lock_wait > 60, "the account locks after repeated failures",
        lock_wait)
before = set(h.mails("dave@example.test"))
res = h.pamtester(svc, DAVE, ["authenticate"], answer="")
h.expect(res, "PAM_MAXTRIES", "locked account")
h.check(any("locked out" in line for line in res.syslog),
        "the lock is logged", res.syslog)
h.check(set(h.mails("dave@example.test")) == before,
        "no code is mailed to a locked account")
res = h.pamtester(svc, DAVE, ["acct_mgmt"])
h.expect(res, "PAM_PERM_DENIED", "pam_acct_mgmt on a locked account")

# ---- key= restricts the key types: an e-mail-only account has no TOTP
# key, which the service cannot reach (test_pam_keys.py has the rest)
svc_totp = h.csam_service("csam-totp", "key=totp")
before = set(h.mails("alice@example.test"))
res = h.pamtester(svc_totp, ALICE, ["authenticate"], answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "key=totp for an e-mail-only account")
h.check(set(h.mails("alice@example.test")) == before, "key=totp mails nothing")
svc_email = h.csam_service("csam-email", "key=email")
res = h.pamtester(svc_email, ALICE, ["authenticate"],
                  mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "key=email")

h.finish()
