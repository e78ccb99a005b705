#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""csam-admin account show|unlock, sessions revoke and stats against real
accounts: what show tells (and never: the address, the national number,
a hash), unlock lifting the locks with csam-admin:<user> in the audit
trail, revoke ending a session for the engine's own check, and stats
--json counting right."""
import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admintest  # noqa: E402

h = admintest.Harness()
NRN = "85073003328"
h.enrol("alice", "alice@example.test", nrn=NRN)
h.enrol("bruno", "bruno@example.test")
acc = h.psql("SELECT id FROM csam_accounts WHERE username = 'alice'")

# ---- account show
r = h.admin("account", "show", "alice", json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and s["username"] == "alice" and s["status"] == "active"
        and s["keys"] == [{"type": "email", "status": "active",
                           "activated_at": s["keys"][0]["activated_at"]}]
        and s["keys"][0]["activated_at"].endswith("Z")
        and s["locked_until"] is None and s["created_at"].endswith("Z"),
        "show: status, times, the e-mail key active, no lock", r)
r = h.admin("account", "show", "alice")
secrets = ["alice@example.test", NRN, "85.07.30", "argon2",
           h.psql("SELECT encode(nrn_hash, 'hex') FROM csam_accounts"
                  " WHERE username = 'alice'")]
h.check(r.rc == 0 and "active" in r.out and
        not any(x in r.out + r.err for x in secrets),
        "show in text: never the address, the number or a hash", r)
r = h.admin("account", "show", "nobody")
h.check(r.rc == 1 and "no account named 'nobody'" in r.err,
        "show of an unknown name: exit 1, named", r)
r = h.admin("account", "show", "Robert'); DROP TABLE x;--")
h.check(r.rc == 1 and "no account named" in r.err,
        "show of a name no account can have is 'no account'", r)

# ---- account unlock
h.psql("UPDATE csam_accounts SET failures = 10, locked_until = now() +"
       " interval '1 hour' WHERE id = %s" % acc)
r = h.admin("account", "show", "alice", json_out=True)
h.check(r.rc == 0 and r.json()["locked_until"] is not None,
        "show: the lock and until when", r)
r = h.admin("account", "unlock", "alice")
h.check(r.rc == 0 and "alice" in r.out, "unlock exits 0", r)
h.check(h.psql("SELECT failures = 0 AND locked_until IS NULL FROM"
               " csam_accounts WHERE id = %s" % acc) == "t",
        "unlock lifted the account's lock and its count")
actor = h.psql("SELECT actor FROM csam_audit WHERE action ="
               " 'account.unlocked' AND account_id = %s" % acc)
h.check(actor.startswith("csam-admin:") and len(actor) > len("csam-admin:"),
        "unlock is audited as csam-admin:<user>", actor)
r = h.admin("account", "unlock", "nobody")
h.check(r.rc == 1 and "nobody" in r.err, "unlock of an unknown name: exit 1",
        r)
r = h.admin("account", "frob", "alice")
h.check(r.rc == 1 and "usage" in r.err, "account frob: usage", r)

# ---- sessions revoke: the engine's own check fails after
cookies = []
for _ in range(2):
    cookie = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    rc, shash = h.session("hash", cookie)
    h.psql("INSERT INTO csam_sessions (session_hash, account_id, key_type,"
           " idle_timeout, expires_at) VALUES (decode('%s', 'hex'), %s,"
           " 'email', interval '30 minutes', now() + interval '1 hour')"
           % (shash, acc))
    cookies.append(cookie)
h.check(all(h.session("check", c) == (0, "live alice") for c in cookies),
        "two live sessions of alice")
r = h.admin("account", "show", "alice", json_out=True)
h.check(r.rc == 0 and r.json()["sessions_live"] == 2,
        "show counts the live sessions", r)
stats_before = h.admin("stats", json_out=True)
r = h.admin("sessions", "revoke", "alice", json_out=True)
h.check(r.rc == 0 and r.json() == {"username": "alice", "revoked": 2},
        "revoke ends both", r)
h.check(all(h.session("check", c)[0] == 1 for c in cookies),
        "the engine's session check refuses them after")
h.check(h.psql("SELECT detail->>'sessions' FROM csam_audit WHERE action ="
               " 'sessions.revoked' AND account_id = %s" % acc) == "2",
        "revoke is audited with the count")
r = h.admin("sessions", "revoke", "alice")
h.check(r.rc == 0 and "0 live session" in r.out,
        "a second revoke finds none", r)
r = h.admin("sessions", "revoke", "nobody")
h.check(r.rc == 1 and "nobody" in r.err, "revoke of an unknown name: exit 1",
        r)

# ---- stats
s = stats_before.json() if stats_before.rc == 0 else {}
h.check(stats_before.rc == 0 and
        s["accounts"] == {"pending": 0, "active": 2, "disabled": 0} and
        s["keys"]["email"] == {"active": 2, "pending": 0, "inactive": 0} and
        s["keys"]["totp"]["active"] == 0 and s["sessions_live"] == 2,
        "stats --json: accounts, keys, live sessions", stats_before)
h.psql("INSERT INTO csam_audit (action, account_id, detail) VALUES"
       " ('session.created', %s, '{}'), ('session.created', %s, '{}'),"
       " ('login.password_failed', NULL, '{}'),"
       " ('challenge.failed', %s, '{\"purpose\": \"web_login\"}'),"
       " ('challenge.failed', %s, '{\"purpose\": \"pam_login\"}'),"
       " ('challenge.passed', %s, '{\"purpose\": \"pam_login\"}')"
       % (acc, acc, acc, acc, acc))
h.psql("INSERT INTO csam_audit (at, action) VALUES (now() - interval"
       " '25 hours', 'session.created')")
h.psql("INSERT INTO csam_registrations (nrn_hash, first_name, last_name,"
       " birth_date, document_type, document_number, email, language,"
       " token_hash, code_hash, max_attempts, expires_at, created_by) VALUES"
       " (decode(md5('p') || md5('q'), 'hex'), 'A', 'B', '1985-07-30', 'eid',"
       " '1', 'p@example.test', 'fr', decode(md5('t') || md5('u'), 'hex'),"
       " decode(md5('c') || md5('d'), 'hex'), 5, now() + interval '1 day',"
       " 'test')")
r = h.admin("stats", json_out=True)
s = r.json() if r.rc == 0 else {}
pam = h.psql("SELECT count(*) FROM csam_audit WHERE at > now() -"
             " interval '24 hours' AND action = 'challenge.passed' AND"
             " detail->>'purpose' = 'pam_login'")
h.check(r.rc == 0 and s["sessions_live"] == 0 and
        s["registrations_pending"] == 1 and
        s["last_24h"] == {"web_logins": 2, "web_failures": 2,
                          "pam_logins": int(pam), "pam_failures": 1},
        "stats --json: logins and failures over 24 h, pending "
        "registrations", r)
r = h.admin("stats")
h.check(r.rc == 0 and "accounts: pending 0 active 2 disabled 0" in r.out,
        "stats in text", r)
print(h.admin("stats", json_out=True).out)

h.finish()
