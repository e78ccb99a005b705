#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""csam-admin secret check: the secret file's mode, owner and length pass
the checks every component makes, and it is the secret the database was
made with (a fingerprint recorded by the first check or the first
registration); another secret, or a file others could write or read, is
refused with a message naming it."""
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
r = h.admin("secret", "frob")
h.check(r.rc == 1 and "usage" in r.err, "secret frob: usage", r)

h.finish()
