#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam fails closed (DESIGN 3.4): unknown users with and without
nullok, user names with shell and SQL metacharacters, the database stopped
and restarted, the mail relay down, an insecure or broken csam.conf, an
unusable secret file, a bad module argument, a failing conversation.
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
svc = h.csam_service("csam")
# nullok must turn "no CSAM account" into PAM_IGNORE and nothing else: only
# PAM_IGNORE jumps over pam_deny here; any other result ends the stack.
svc_nullok = h.service("csam-nullok", auth=[
    "[ignore=1 default=die] pam_csam.so config=%s nullok" % h.conf,
    "requisite pam_deny.so",
    "required pam_permit.so"])

ALICE = h.enrol("alice", "alice@example.test", "fr")


def no_mail_sent(before, what):
    h.check(set(h.mails()) == before, what + ": nothing mailed")


# ---- unknown user
before = set(h.mails())
res = h.pamtester(svc, "nosuchuser", ["authenticate"], answer="123456")
h.expect(res, "PAM_USER_UNKNOWN", "unknown user")
h.check(not any("nosuchuser" in line for line in res.syslog),
        "the unknown name is not logged", res.syslog)
h.check(any("no CSAM account" in line for line in res.syslog),
        "the refusal is logged", res.syslog)
res = h.pamtester(svc_nullok, "nosuchuser", ["authenticate"], answer="")
h.expect(res, "PAM_SUCCESS", "unknown user with nullok: PAM_IGNORE")
no_mail_sent(before, "unknown user")

# ---- nullok changes nothing for a user who has an account
res = h.pamtester(svc_nullok, ALICE, ["authenticate"], answer="00000000")
h.expect(res, "PAM_AUTH_ERR", "nullok, known user, wrong code")
res = h.pamtester(h.csam_service("csam-nullok-plain", "nullok"), ALICE,
                  ["authenticate"], mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "nullok, known user, right code")

# ---- names that cannot be CSAM usernames never reach the database: with
# the database pointed at a dead port they still get PAM_USER_UNKNOWN,
# not PAM_AUTHINFO_UNAVAIL.
dead_db = h.write_conf("dead-db.conf",
                       database="host=127.0.0.1 port=1 dbname=csam "
                                "connect_timeout=2")
svc_dead_db = h.csam_service("csam-dead-db", conf=dead_db)
svc_dead_db_nullok = h.service("csam-dead-db-nullok", auth=[
    "[ignore=1 default=die] pam_csam.so config=%s nullok" % dead_db,
    "requisite pam_deny.so",
    "required pam_permit.so"])
marker = os.path.join(h.dir, "pwned")
evil_names = [
    "x'; DROP TABLE csam_accounts; --",
    "alice' OR '1'='1",
    "$(touch %s)" % marker,
    "`touch %s`" % marker,
    "alice;touch %s" % marker,
    "alice\\",
    "ALICE",            # upper case: may be alice to a case-blind NSS
    "alice ",
    " alice",
    "al ice",
    "../../etc/passwd",
    "a" * 65,
    "ab",
    "-alice",
    "alice\u00e9",
]
for name in evil_names:
    for service in (svc_dead_db, svc_dead_db_nullok):
        res = h.pamtester(service, name, ["authenticate"], answer="123456")
        h.expect(res, "PAM_USER_UNKNOWN", "user name %r (%s)" % (name, service))
        h.check(not any(name.strip() in line for line in res.syslog),
                "user name %r not logged" % name, res.syslog)
    res = h.pamtester(svc_dead_db, name, ["acct_mgmt"])
    h.expect(res, "PAM_USER_UNKNOWN", "acct_mgmt for %r" % name)
h.check(not os.path.exists(marker), "no shell ran a user name")
h.check(h.psql("SELECT count(*) FROM csam_accounts WHERE username = 'alice'")
        == "1", "the accounts table is intact")

# ---- the database stopped, then back: no restart of anything needed
pg_ctl = os.environ["CSAM_TEST_PG_CTL"]
subprocess.run([pg_ctl, "stop"], check=True)
try:
    before = set(h.mails())
    res = h.pamtester(svc, ALICE, ["authenticate"], answer="123456")
    h.expect(res, "PAM_AUTHINFO_UNAVAIL", "database stopped")
    h.check(any("database unavailable" in line for line in res.syslog),
            "the outage is logged", res.syslog)
    no_mail_sent(before, "database stopped")
    res = h.pamtester(svc, ALICE, ["acct_mgmt"])
    h.expect(res, "PAM_AUTHINFO_UNAVAIL", "acct_mgmt, database stopped")
    res = h.pamtester(svc_nullok, ALICE, ["authenticate"], answer="")
    h.check(res.status not in ("PAM_SUCCESS", "PAM_IGNORE"),
            "database stopped: nullok does not let a user through",
            res.status)
finally:
    subprocess.run([pg_ctl, "start"], check=True)
res = h.pamtester(svc, ALICE, ["authenticate"], mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "database back")


# ---- the database goes away while the user types the code
def stop_db(mail):
    subprocess.run([pg_ctl, "stop"], check=True)


try:
    res = h.pamtester(svc, ALICE, ["authenticate"],
                      mail_to="alice@example.test", before_answer=stop_db)
    h.expect(res, "PAM_AUTHINFO_UNAVAIL", "database lost during the prompt")
finally:
    subprocess.run([pg_ctl, "start"], check=True)

# ---- mail relay down: no code can be sent, so no login
BOB = h.enrol("bob", "bob@example.test", "en")
dead_smtp = h.write_conf("dead-smtp.conf",
                         mail_relay=os.environ["CSAM_TEST_DEAD_SMTP_URL"])
svc_dead_smtp = h.csam_service("csam-dead-smtp", conf=dead_smtp)
res = h.pamtester(svc_dead_smtp, BOB, ["authenticate"], answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "mail relay down")
h.check(h.psql("SELECT count(*) FROM csam_challenges c JOIN csam_accounts a"
               " ON a.id = c.account_id WHERE a.username = 'bob'"
               " AND c.purpose = 'pam_login'") == "0",
        "mail relay down: no challenge left behind")
res = h.pamtester(svc, BOB, ["authenticate"], mail_to="bob@example.test")
h.expect(res, "PAM_SUCCESS", "mail relay back")

# ---- csam.conf: insecure, missing, broken
# The test's own files are root's to the module (really, or in the user
# namespace of a run without root: pamtest.py).  A csam.conf of another
# user: as root, a copy given to nobody; without root, a file of the
# machine's root, which the namespace shows as nobody's (the module
# refuses it on its owner, before reading a line).
insecure = h.write_conf("insecure.conf")
svc_insecure = h.csam_service("csam-insecure", conf=insecure)
if h.real_root:
    foreign = h.write_conf("foreign.conf")
    os.chown(foreign, 65534, 0)
else:
    foreign = "/etc/passwd"
for path, mode, why, what in (
        (insecure, 0o666, "writable", "world-writable csam.conf"),
        (insecure, 0o620, "writable", "group-writable csam.conf"),
        (foreign, None, "not owned by root", "csam.conf owned by nobody")):
    if mode is not None:
        os.chmod(path, mode)
    svc_bad = h.csam_service("csam-bad-conf", conf=path)
    before = set(h.mails())
    res = h.pamtester(svc_bad, ALICE, ["authenticate"], answer="123456")
    h.expect(res, "PAM_AUTHINFO_UNAVAIL", what)
    h.check(any("refusing the configuration" in line and why in line
                for line in res.syslog), what + ": reason logged", res.syslog)
    no_mail_sent(before, what)
    res = h.pamtester(svc_bad, ALICE, ["acct_mgmt"])
    h.expect(res, "PAM_AUTHINFO_UNAVAIL", what + " (acct_mgmt)")
os.chmod(insecure, 0o644)   # readable by all is fine: it holds no secret
res = h.pamtester(svc_insecure, ALICE, ["authenticate"],
                  mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "root-owned 0644 csam.conf")

# pam_csam makes no links: public_url is not needed in its csam.conf
minimal = h.write_conf("minimal.conf", public_url=None, mail_timeout=None)
res = h.pamtester(h.csam_service("csam-minimal", conf=minimal), ALICE,
                  ["authenticate"], mail_to="alice@example.test")
h.expect(res, "PAM_SUCCESS", "csam.conf without public_url")

svc_missing = h.service("csam-missing", auth=[
    "required pam_csam.so config=%s/nonexistent.conf" % h.dir])
res = h.pamtester(svc_missing, ALICE, ["authenticate"], answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "missing csam.conf")

broken = h.write_conf("broken.conf")
with open(broken, "a") as f:
    f.write("no_such_key = 1\n")
res = h.pamtester(h.csam_service("csam-broken", conf=broken), ALICE,
                  ["authenticate"], answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "unknown key in csam.conf")
h.check(any("broken.conf:" in line and "no_such_key" in line
            for line in res.syslog), "file, line and key logged", res.syslog)

# ---- the secret file: missing, or readable by others
nosecret = h.write_conf("nosecret.conf",
                        secret_file=os.path.join(h.dir, "nosuch.key"))
res = h.pamtester(h.csam_service("csam-nosecret", conf=nosecret), ALICE,
                  ["authenticate"], answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "secret file missing")
open_key = os.path.join(h.dir, "open.key")
with open(os.environ["CSAM_TEST_SECRET_FILE"], "rb") as src, \
        open(open_key, "wb") as dst:
    dst.write(src.read())
os.chmod(open_key, 0o644)
opensecret = h.write_conf("opensecret.conf", secret_file=open_key)
res = h.pamtester(h.csam_service("csam-opensecret", conf=opensecret), ALICE,
                  ["authenticate"], answer="123456")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "secret file readable by others")
h.check(any("secret file" in line for line in res.syslog),
        "secret file refusal logged", res.syslog)

# ---- module arguments: unknown or repeated ones refuse, never skip
for args, what in (("nulok", "misspelt nullok"),
                   ("key=password", "bad key="),
                   ("debug debug", "debug twice"),
                   ("config=relative.conf", "relative config=")):
    name = h.service("csam-args", auth=[
        "required pam_csam.so config=%s %s" % (h.conf, args)]
        if not args.startswith("config=") else
        ["required pam_csam.so %s" % args])
    res = h.pamtester(name, ALICE, ["authenticate"], answer="123456")
    h.expect(res, "PAM_AUTHINFO_UNAVAIL", what)
    h.check(any("module argument" in line for line in res.syslog),
            what + ": logged", res.syslog)

# ---- the conversation gives no answer (end of input)
res = h.pamtester(svc, ALICE, ["authenticate"], answer=None)
h.check(res.status not in ("PAM_SUCCESS", "PAM_IGNORE", None),
        "no answer: refused", res)

h.finish()
