#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""csam-admin secret check: the secret file's mode, owner and length pass
the checks every component makes, and it is the secret the database was
made with (a fingerprint recorded by the first check or the first
registration); another secret, or a file others could write or read, is
refused with a message naming it.

csam-admin secret rekey: refused without previous_secret_file and as
csam_admin (it reads sealed values); as the schema's owner it moves every
account and registration to the new secret in batches, with progress on
standard error; secret check says "previous" before and "same" after."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admintest  # noqa: E402

h = admintest.Harness()
secret = os.environ["CSAM_TEST_SECRET_FILE"]


def secret_file(name, size=48, mode=0o600):
    path = os.path.join(h.dir, name)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    os.chmod(path, mode)
    return path


h.check(h.psql("SELECT count(*) FROM csam_installation") == "0",
        "a new database holds no fingerprint")
r = h.admin("secret", "check", json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and s["database"] == "recorded" and s["mode"] == "0600"
        and s["bytes"] == os.path.getsize(secret) and
        s["secret_file"] == secret and
        s["recorded_by"].startswith("csam-admin:"),
        "the first check passes and records the fingerprint", r)
h.check(h.psql("SELECT octet_length(secret_fingerprint) FROM"
               " csam_installation") == "32", "32 bytes are recorded")
r = h.admin("secret", "check")
h.check(r.rc == 0 and "the secret the database was made with" in r.out,
        "the next check finds the same secret", r)

other = h.write_conf("other.conf", secret_file=secret_file("other.key"))
r = h.admin("secret", "check", conf=other, json_out=True)
h.check(r.rc == 1 and "other.key is not the secret this database was made"
        in r.err and "error" in r.json(),
        "another secret is refused, named", r)
h.check(h.psql("SELECT count(*) FROM csam_installation") == "1",
        "and the recorded fingerprint stays")

for name, size, mode, what in (("loose.key", 48, 0o620,
                                "a group-writable secret"),
                               ("open.key", 48, 0o604,
                                "a secret others can read"),
                               ("short.key", 16, 0o600, "a short secret")):
    conf = h.write_conf(name + ".conf", secret_file=secret_file(name, size,
                                                                mode))
    r = h.admin("secret", "check", conf=conf)
    h.check(r.rc == 1 and name in r.err and "secret_file" in r.err,
            what + " is refused, named", r)
r = h.admin("secret", "check", conf=h.write_conf(
    "none.conf", secret_file=os.path.join(h.dir, "none.key")))
h.check(r.rc == 1 and "none.key" in r.err, "a missing secret is named", r)

# ---- a new installation: the first registration records it
db = h.db("csam_new")
conf = h.write_conf("new.conf", database=db)
r = h.admin("schema", "upgrade", conf=conf)
h.check(r.rc == 0, "a new database, upgraded by csam-admin", r)
h.enrol("alice", "alice@example.test", conf=h.write_conf(
    "new-enrol.conf", database=db, data_dir=os.path.join(h.srcdir, "conf")))
h.check(h.psql("SELECT recorded_by FROM csam_installation", db=db) ==
        "registration", "the first registration recorded the fingerprint")
r = h.admin("secret", "check", conf=conf, json_out=True)
h.check(r.rc == 0 and r.json()["database"] == "same" and
        r.json()["recorded_by"] == "registration",
        "and the check finds the same secret", r)
r = h.admin("secret", "check", conf=h.write_conf(
    "new-other.conf", database=db, secret_file=os.path.join(h.dir,
                                                            "other.key")))
h.check(r.rc == 1 and "not the secret" in r.err,
        "another secret is refused there too", r)
# ---- replacing the secret: A (the test's) by B
people = [h.enrol("rekey%d" % i, "rekey%d@example.test" % i) for i in range(3)]
accounts = int(h.psql("SELECT count(*) FROM csam_accounts"))
a_key = secret
b_key = secret_file("b.key")
# as csam_admin (the harness's role), and as the schema's owner
ba = h.write_conf("ba.conf", database=os.environ["CSAM_TEST_PG_ADMIN"],
                  secret_file=b_key, previous_secret_file=a_key)
ba_owner = h.write_conf("ba-owner.conf", database=h.pg, secret_file=b_key,
                        previous_secret_file=a_key)
b_owner = h.write_conf("b-owner.conf", database=h.pg, secret_file=b_key)
r = h.admin("secret", "check", conf=ba, json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and s["database"] == "previous" and
        s["previous_secret"] is True and s["rekey_started_at"] is None,
        "B with A as previous: the database is the previous secret's", r)
r = h.admin("secret", "check", conf=ba)
h.check(r.rc == 0 and "the rekey is pending" in r.out,
        "and the text says the rekey is pending", r)
r = h.admin("secret", "check", conf=b_owner)
h.check(r.rc == 1 and "not the secret this database was made" in r.err,
        "B alone before the rekey: another secret", r)
r = h.admin("secret", "rekey", conf=b_owner)
h.check(r.rc == 1 and "previous_secret_file" in r.err and
        "nothing to re-key" in r.err, "rekey without a previous secret: "
        "refused, saying why", r)
r = h.admin("secret", "rekey", conf=ba)
h.check(r.rc == 1 and "schema's owner" in r.err,
        "rekey as csam_admin: refused (it reads no sealed value)", r)
h.check(h.psql("SELECT count(*) FROM csam_accounts WHERE subject IS NOT NULL")
        == "0", "and nothing moved")
for bad in (["--batch", "0"], ["--batch", "x"], ["--frob"]):
    r = h.admin("secret", "rekey", *bad, conf=ba_owner)
    h.check(r.rc == 1 and "usage" in r.err, "rekey %s: usage" % bad[-1], r)
r = h.admin("secret", "rekey", "--batch", "2", conf=ba_owner, json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and s["complete"] is True and s["accounts"] == accounts
        and s["subjects"] == accounts and s["left"] == 0 and
        s["registrations"] >= accounts and s["seconds"] >= 0,
        "rekey as the owner, batches of 2: every account moved", r)
h.check(r.err.count("secret rekey: batch") >= 2 and "accounts" in r.err,
        "with a line of progress per batch on stderr", r.err)
h.check(h.psql("SELECT count(*) FROM csam_accounts WHERE subject IS NULL")
        == "0", "every account keeps its subject")
r = h.admin("secret", "check", conf=ba, json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and s["database"] == "same" and s["rekeyed_at"],
        "after the rekey: B is the database's secret", r)
r = h.admin("secret", "check", conf=b_owner)
h.check(r.rc == 0 and "the secret the database was made with" in r.out,
        "also without the previous secret", r)
r = h.admin("secret", "check")
h.check(r.rc == 1 and "not the secret" in r.err, "A is now another secret", r)
r = h.admin("secret", "rekey", conf=ba_owner)
h.check(r.rc == 0 and "re-keyed: 0 accounts" in r.out and
        "registrations; %d rows were already done" % (2 * accounts) in r.out
        and "complete" in r.out, "a second rekey finds everything done", r)
h.check(h.psql("SELECT count(*) FROM csam_audit WHERE action ="
               " 'secret.rekeyed'") == "1", "the rekey is audited once")

r = h.admin("secret", "frob")
h.check(r.rc == 1 and "usage" in r.err, "secret frob: usage", r)

h.finish()
