#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam after a recovery at the desk (DESIGN 2.7, issue 13): a person
whose only key was the authenticator app (TOTP) lost access and was
registered again, at a new e-mail address, and recovered the account with
the e-mail key (tests/lib/csam-enrol -r, through the engine).  Then PAM
refuses the old app's codes, logs the person in with the code mailed to the
new address, and the account kept its name; the old address was told,
without a code.
"""
import os
import random
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
svc_any = h.csam_service("csam")
svc_totp = h.csam_service("csam-totp", "key=totp")
svc_email = h.csam_service("csam-email", "key=email")
OLD = "rita@example.test"
NEW = "rita.new@example.test"


def national_number():
    """A valid national register number (modulo 97) of someone born in
    the 1980s, random enough to be this run's alone."""
    head = "%02d%02d%02d%03d" % (random.randint(80, 89),
                                 random.randint(1, 12),
                                 random.randint(1, 28),
                                 random.randint(1, 997))
    return "%s%02d" % (head, 97 - int(head) % 97)


def person_accounts(user):
    """The accounts not disabled of the person whose account is `user`."""
    return h.psql("SELECT count(*) FROM csam_accounts WHERE status <> "
                  "'disabled' AND nrn_hash = (SELECT nrn_hash FROM "
                  "csam_accounts WHERE username = '%s')" % user)


NRN = national_number()
RITA = h.enrol("rita", OLD, "fr", key="totp", nrn=NRN)
secret = h.totp_secrets[RITA]
res = h.pamtester(svc_totp, RITA, answer=h.totp(secret, 30))
h.expect(res, "PAM_SUCCESS", "before: the app's code")

# ---- the desk's recovery, with the e-mail key at a new address
before = set(h.mails())
h.enrol(RITA, NEW, "fr", key="email", nrn=NRN, recover=True)
h.check(person_accounts(RITA) == "1", "one account for the person, "
        "under its old name")
notices = [m for n, m in h.mails(OLD).items() if n not in before]
h.check(notices != [], "the old address got a notice")
for msg in notices:
    h.check(re.search(r"(?<!\d)\d{6,8}(?!\d)", h.text_of(msg)) is None,
            "the notice to the old address carries no code",
            h.text_of(msg))

# ---- the old app's codes are dead.  A step never used before, so that
# only the recovery can be the reason.
unused = h.totp(secret, 60)
res = h.pamtester(svc_totp, RITA, answer=unused)
h.check(res.status != "PAM_SUCCESS", "key=totp: the old app's code is "
        "refused", res)
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "key=totp: no active app key left")
res = h.pamtester(svc_any, RITA, answer=unused)
h.expect(res, "PAM_AUTH_ERR", "key=any: the old app's code typed at the "
         "e-mail key's prompt")
h.no_secret_logged(res, [unused, secret], "old app code")

# ---- the new key logs in; its codes go to the new address only
before = set(h.mails(OLD))
res = h.pamtester(svc_any, RITA, mail_to=NEW)
h.expect(res, "PAM_SUCCESS", "key=any: the code mailed to the new address")
h.check(res.mail is not None, "the code went to the new address")
res = h.pamtester(svc_email, RITA, mail_to=NEW)
h.expect(res, "PAM_SUCCESS", "key=email: the code mailed to the new address")
h.check(set(h.mails(OLD)) == before, "no code to the old address")
h.check(any("user rita authenticated with key email" in line
            for line in res.syslog), "the login logged under the kept name",
        res.syslog)

h.finish()
