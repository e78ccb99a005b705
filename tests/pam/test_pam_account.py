#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam's account stack (pam_sm_acct_mgmt): an active account with an
active key passes; no account, a disabled account, an account whose keys
an administrator deactivated, or a key type that key= does not allow do
not; nullok only ignores users who have no CSAM account.  (The locked
account and the database outage are in test_pam_auth.py and
test_pam_failures.py; the other key types in test_pam_keys.py.)
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
svc = h.csam_service("csam")
svc_totp = h.csam_service("csam-totp", "key=totp")
# Only PAM_IGNORE jumps over pam_deny: it tells IGNORE from SUCCESS.
svc_nullok = h.service("csam-nullok", account=[
    "[ignore=1 default=die] pam_csam.so config=%s nullok" % h.conf,
    "requisite pam_deny.so",
    "required pam_permit.so"], auth=[
    "[ignore=1 default=die] pam_csam.so config=%s nullok" % h.conf,
    "requisite pam_deny.so",
    "required pam_permit.so"])

ALICE = h.enrol("alice", "alice@example.test", "fr")
FRANK = h.enrol("frank", "frank@example.test", "de")

res = h.pamtester(svc, ALICE, ["acct_mgmt"])
h.expect(res, "PAM_SUCCESS", "active account with an active e-mail key")
res = h.pamtester(svc, ALICE, ["authenticate", "acct_mgmt"],
                  mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "authenticate then acct_mgmt in one handle")
h.check("account management done" in res.stdout, "both stages ran",
        res.stdout)
res = h.pamtester(svc_totp, ALICE, ["acct_mgmt"])
h.expect(res, "PAM_PERM_DENIED", "key=totp, account without a TOTP key")
res = h.pamtester(h.service("csam-totp-nullok", account=[
    "[ignore=1 default=die] pam_csam.so config=%s key=totp nullok" % h.conf,
    "requisite pam_deny.so", "required pam_permit.so"]), ALICE, ["acct_mgmt"])
h.expect(res, "PAM_PERM_DENIED",
         "key=totp nullok, account without a TOTP key: not ignored")

res = h.pamtester(svc, "nosuchuser", ["acct_mgmt"])
h.expect(res, "PAM_USER_UNKNOWN", "no CSAM account")
h.check(not any("nosuchuser" in line for line in res.syslog),
        "the unknown name is not logged", res.syslog)
res = h.pamtester(svc_nullok, "nosuchuser", ["acct_mgmt"])
h.expect(res, "PAM_SUCCESS", "no CSAM account, nullok: PAM_IGNORE")
res = h.pamtester(svc_nullok, ALICE, ["acct_mgmt"])
h.expect(res, "PAM_PERM_DENIED",
         "nullok, active account: PAM_SUCCESS, not PAM_IGNORE (the jump "
         "stack turns it into PAM_PERM_DENIED)")

# ---- a disabled account: refused with its own log line, without a code
# sent, and never as "attempts exhausted" (PAM_MAXTRIES): it used none.
# It is a CSAM account, so nullok must not wave it through either.
h.psql("UPDATE csam_accounts SET status = 'disabled' WHERE username = 'frank'")
before = set(h.mails("frank@example.test"))
for service, label in ((svc, "disabled account"),
                       (svc_nullok, "disabled account with nullok")):
    res = h.pamtester(service, FRANK, ["authenticate"], answer="123456")
    h.expect(res, "PAM_AUTH_ERR", label + ": authentication refused")
    h.check(any("CSAM account of user frank is disabled" in line
                for line in res.syslog), label + ": said in the log",
            res.syslog)
    h.check(not any("attempts exhausted" in line or "locked" in line
                    for line in res.syslog),
            label + ": not logged as a lock", res.syslog)
    res = h.pamtester(service, FRANK, ["acct_mgmt"])
    h.expect(res, "PAM_PERM_DENIED", label + ": account refused")
    h.check(any("CSAM account of user frank is disabled" in line
                for line in res.syslog), label + ": acct_mgmt logs it",
            res.syslog)
h.check(set(h.mails("frank@example.test")) == before,
        "disabled account: no code mailed")

# ---- an active account whose keys were all deactivated by hand (the
# schema allows it: an administrator may strip keys).  It is still a CSAM
# account, so nullok must not wave it through: the engine answers
# CSAM_ERR_STATE (an account without a usable key), not "not found".
HEIDI = h.enrol("heidi", "heidi@example.test", "en")
h.psql("UPDATE csam_keys SET status = 'inactive' WHERE account_id ="
       " (SELECT id FROM csam_accounts WHERE username = 'heidi')")
res = h.pamtester(svc, HEIDI, ["authenticate"], answer="123456")
h.check(res.status not in ("PAM_SUCCESS", "PAM_IGNORE"),
        "account without an active key: authentication refused", res.status)
res = h.pamtester(svc_nullok, HEIDI, ["authenticate"], answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL",
         "account without an active key, nullok: not ignored")
res = h.pamtester(svc_nullok, HEIDI, ["acct_mgmt"])
h.expect(res, "PAM_PERM_DENIED",
         "account without an active key, nullok: account not ignored")

h.finish()
