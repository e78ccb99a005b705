#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam while the secret is replaced: accounts made under secret A,
then a csam.conf with secret_file B and previous_secret_file A (a PAM host
reloaded as the procedure says).  A code mailed under A and still pending
is reused and accepted; a fresh e-mailed code works; the app's key, sealed
under A, opens.  And the same files without previous_secret_file: the app's
key sealed under A no longer opens (what `csam-admin secret rekey` is for),
so the two configurations are told apart."""
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
svc_a = h.csam_service("csam-a")

ALICE = h.enrol("alice", "alice@example.test", "en")
TINA = h.enrol("tina", "tina@example.test", "en", key="totp")

# ---- under A: a wrong answer leaves the mailed code pending
before = set(h.mails("alice@example.test"))
res = h.pamtester(svc_a, ALICE, ["authenticate"], answer="000000")
h.expect(res, "PAM_AUTH_ERR", "under A, a wrong code")
mailed = [m for n, m in h.mails("alice@example.test").items()
          if n not in before]
h.check(len(mailed) == 1, "under A, one code mailed", len(mailed))
pending = h.code_in(mailed[0]) if mailed else ""

# ---- the operator's files: B in service, A as the previous secret
keys = os.path.join(h.dir, "keys")
os.mkdir(keys, 0o700)
previous = os.path.join(keys, "secret.key.previous")
shutil.copyfile(os.environ["CSAM_TEST_SECRET_FILE"], previous)
os.chmod(previous, 0o600)
current = os.path.join(keys, "secret.key")
with open(current, "wb") as f:
    f.write(os.urandom(48))
os.chmod(current, 0o600)
svc_ba = h.csam_service("csam-ba", conf=h.write_conf(
    "rollover.conf", secret_file=current, previous_secret_file=previous))
svc_b = h.csam_service("csam-b", conf=h.write_conf(
    "b-only.conf", secret_file=current))

# ---- under B+A
before = set(h.mails("alice@example.test"))
res = h.pamtester(svc_ba, ALICE, ["authenticate"], answer=pending)
h.expect(res, "PAM_SUCCESS", "under B+A, the code mailed under A")
h.check(set(h.mails("alice@example.test")) == before,
        "under B+A, the pending code was reused, not mailed again")
res = h.pamtester(svc_ba, ALICE, ["authenticate"],
                  mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "under B+A, a fresh e-mailed code")
h.check(res.mail is not None, "under B+A, a code was mailed")
secret = h.totp_secrets[TINA]
code = h.totp(secret, 30)
res = h.pamtester(svc_ba, TINA, ["authenticate"], answer=code)
h.expect(res, "PAM_SUCCESS", "under B+A, the app's key sealed under A")
h.no_secret_logged(res, [code, secret], "under B+A, totp")

# ---- B alone, before any rekey: the key sealed under A does not open (a
# PAM host may not write a key's seal: csam_pam's grants), which tells the
# success above from one that never needed A.
res = h.pamtester(svc_b, TINA, ["authenticate"],
                  answer=h.totp(secret, 60))
h.check(res.status != "PAM_SUCCESS",
        "under B alone, the app's key sealed under A is refused",
        res.status)
# An e-mailed code is made and checked under B: it works whatever A was.
res = h.pamtester(svc_b, ALICE, ["authenticate"],
                  mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "under B alone, a fresh e-mailed code")

h.finish()
