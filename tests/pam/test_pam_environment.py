#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The environment never steers pam_csam (DESIGN 3.4, issue 11 item 1).

pamtester runs with the attacker's variables (hostile.py): libpq's PG*
and HOME, pointing at a second PostgreSQL on 127.0.0.2 where the victim's
username carries the attacker's address, at service and password files of
the attacker's, or at settings that would break the connection; libcurl's
proxies on ports nobody listens on; SSLKEYLOGFILE.  Each alone, then all
together: every time the code goes to the real account's mailbox, the
right code authenticates, the attacker's database issues nothing and
mails nobody, and no key log appears.  test_pam_su.py does the same
through a real setuid su.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402
import pamtest  # noqa: E402

h = pamtest.Harness()
svc = h.csam_service("csam")
VICTIM = h.enrol("victim", "victim@example.test", "en")
evil = hostile.Cluster(h)
evil.enrol(VICTIM)
files = hostile.Files(h)
variables = files.variables()


def attacker_mails():
    return set(h.mails(hostile.ATTACKER_MAIL))


cases = [(" + ".join(names), {n: variables[n] for n in names})
         for names in hostile.Files.ALONE]
cases.append(("every variable at once", variables))
for label, env in cases:
    # Counted per case, so that each line blames its own variables.
    evil.forget()
    sent_to_attacker = attacker_mails()
    sent_to_victim = set(h.mails("victim@example.test"))
    res = h.pamtester(svc, VICTIM, ["authenticate"],
                      mail_to="victim@example.test", env=env)
    h.expect(res, "PAM_SUCCESS", "%s: the real account's code" % label)
    h.check(set(h.mails("victim@example.test")) != sent_to_victim,
            "%s: the code went to the real account's address" % label)
    h.check(evil.pam_challenges() == 0,
            "%s: nothing issued by the attacker's database" % label)
    h.check(attacker_mails() == sent_to_attacker,
            "%s: nothing mailed to the attacker" % label)
    h.check(not files.keylog_written(),
            "%s: no TLS key log written" % label)

# The account stack connects the same way.
res = h.pamtester(svc, VICTIM, ["acct_mgmt"], env=variables)
h.expect(res, "PAM_SUCCESS", "acct_mgmt with every variable set")

# The hostile database is real and reachable: pointed there by csam.conf
# itself, the module does use it (so the checks above could fail).
evil_conf = h.write_conf("evil.conf", database=evil.conninfo)
evil.forget()
res = h.pamtester(h.csam_service("csam-evil", conf=evil_conf), VICTIM,
                  ["authenticate"], mail_to=hostile.ATTACKER_MAIL)
h.expect(res, "PAM_SUCCESS", "config= naming the other database uses it")
h.check(evil.pam_challenges() == 1, "that database issued the code")

h.finish()
