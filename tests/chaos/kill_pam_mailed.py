#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 of the PAM process (pamtester, as an sshd or su would be) once
its code was mailed: in round 1 at the prompt (the code committed), in
round 2 the moment the mail lands in the SMTP server's Maildir (the code
goes out before its COMMIT: the kill may land on either side of it).

Afterwards: the killed process holds nothing in the database (no
connection, no lock), the account's failures and lock are what they were;
the mailed code is accepted at most once by the next authentications (it
is reused while pending, DESIGN's resend cooldown, or dead); a new
authentication with the code then mailed succeeds at once; every success
seen has exactly one passed challenge in the audit and no other.  The
facts of each round are printed."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pam"))
import pamtest  # noqa: E402

h = pamtest.Harness()
svc = h.csam_service("csam")
ADDR = "alice@example.test"
ALICE = h.enrol("alice", ADDR, "fr")


def state():
    row = h.psql(
        "SELECT a.failures, a.locked_until IS NOT NULL,"
        " (SELECT count(*) FROM csam_challenges c WHERE c.account_id = a.id"
        "   AND c.purpose = 'pam_login' AND c.used_at IS NULL"
        "   AND c.superseded_at IS NULL AND c.expires_at > now()),"
        " (SELECT count(*) FROM csam_audit u WHERE u.account_id = a.id"
        "   AND u.action = 'challenge.passed'"
        "   AND u.detail->>'purpose' = 'pam_login')"
        " FROM csam_accounts a WHERE a.username = 'alice'").split("|")
    return {"failures": int(row[0]), "locked": row[1] == "t",
            "pending": int(row[2]), "passed": int(row[3])}


def pam_backends():
    return int(h.psql("SELECT count(*) FROM pg_stat_activity"
                      " WHERE usename = 'csam_test_pam'"))


def pam_locks():
    return int(h.psql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity"
                      " s ON s.pid = l.pid WHERE s.usename = 'csam_test_pam'"))


def until(pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


res = h.pamtester(svc, ALICE, ["authenticate"], mail_to=ADDR)
h.expect(res, "PAM_SUCCESS", "before the kills")
successes = 1

for rnd, at_prompt in ((1, True), (2, False)):
    what = "round %d (%s)" % (rnd, "at the prompt" if at_prompt
                              else "as the mail lands")
    before = state()
    mails = set(h.mails())
    run = h.start(svc, ALICE)
    mail = h.wait_code_mail(ADDR, mails, run.proc, run.err)
    h.check(mail is not None, "%s: the code was mailed" % what)
    old = h.code_in(mail)
    if at_prompt:
        h.check(run.prompted(), "%s: the prompt is shown" % what)
    os.kill(run.proc.pid, signal.SIGKILL)
    killed = run.finish(None, timeout=10)
    h.check(killed.rc == -signal.SIGKILL, "%s: pamtester killed" % what,
            killed.rc)
    # The killed process's backend goes when its socket closes.
    h.check(until(lambda: pam_backends() == 0, 10),
            "%s: no database connection left by the killed process" % what)
    h.check(pam_locks() == 0, "%s: no lock left" % what)
    after = state()
    print("# %s: pending codes %d, failures %d -> %d, locked %s"
          % (what, after["pending"], before["failures"], after["failures"],
             after["locked"]))
    h.check(after["failures"] == before["failures"] and not after["locked"],
            "%s: failures and lock unchanged by the kill" % what, after)
    h.check(after["pending"] <= 1, "%s: at most one pending code" % what,
            after)
    # The mailed code, typed twice in two new authentications.
    with_old = []
    for _ in range(2):
        t0 = time.monotonic()
        r = h.pamtester(svc, ALICE, ["authenticate"], answer=old)
        with_old.append((r.status, round(time.monotonic() - t0, 2)))
    print("# %s: the mailed code typed twice afresh: %s" % (what, with_old))
    wins = [s for s, _ in with_old].count("PAM_SUCCESS")
    h.check(wins <= 1, "%s: the mailed code accepted at most once" % what,
            with_old)
    if after["pending"] == 0:
        h.check(wins == 0, "%s: a code never committed is dead" % what,
                with_old)
    if at_prompt:
        # Committed and pending within the cooldown: reused, so good once.
        h.check(wins == 1 and with_old[0][0] == "PAM_SUCCESS",
                "%s: the pending code is reused once" % what, with_old)
    h.check(all(s in ("PAM_SUCCESS", "PAM_AUTH_ERR") for s, _ in with_old),
            "%s: answered, not unavailable" % what, with_old)
    successes += wins
    t0 = time.monotonic()
    res = h.pamtester(svc, ALICE, ["authenticate"], mail_to=ADDR)
    took = time.monotonic() - t0
    h.expect(res, "PAM_SUCCESS", "%s: a new authentication" % what)
    successes += res.status == "PAM_SUCCESS"
    print("# %s: next authentication with the mailed code: %s in %.2f s"
          % (what, res.status, took))
    end = state()
    h.check(end["failures"] == 0 and not end["locked"],
            "%s: the account is not locked" % what, end)
    h.check(end["passed"] == successes,
            "%s: one passed challenge per success seen" % what,
            (end, successes))

h.finish()
