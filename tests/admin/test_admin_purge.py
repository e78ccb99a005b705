#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""csam-admin purge: --dry-run counts exactly the rows that expired long
enough ago, purge deletes exactly those (in batches), and never a live
row, one inside the day's grace, a locked counter, a registration an
account that is not pending points to, a used registration, or an audit
row younger than audit_retention (or any with audit_retention 0).

An activation abandoned before its confirm leaves a pending account on
its registration: once the registration expired as long ago, unused, the
account goes with its keys and codes, and the registration in the same
run; never an active or disabled account, nor a pending one whose
registration is live, inside the grace, or still in use by a live handle
or a recovery."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admintest  # noqa: E402

h = admintest.Harness()
h.enrol("alice", "alice@example.test")
acc = h.psql("SELECT id FROM csam_accounts WHERE username = 'alice'")

HASH = "decode(md5(random()::text) || md5(random()::text), 'hex')"
gone, kept = {}, {}


def row(kind, fate, sql):
    (gone if fate == "gone" else kept).setdefault(kind, []).append(
        h.psql(sql))


def at(expiry):
    """created_at, expires_at for an expiry relative to now."""
    return "now() + interval '%s' - interval '40 days', now() + " \
           "interval '%s'" % (expiry, expiry)


for fate, expiry in (("gone", "-2 days"), ("kept", "-1 hour"),
                     ("kept", "10 minutes")):
    row("challenges", fate,
        "INSERT INTO csam_challenges (account_id, purpose, key_type,"
        " code_hash, max_attempts, created_at, expires_at) VALUES (%s,"
        " 'web_login', 'email', %s, 5, %s) RETURNING id" % (acc, HASH,
                                                              at(expiry)))
    row("flows", fate,
        "INSERT INTO csam_flows (handle_hash, kind, step, account_id,"
        " created_at, expires_at) VALUES (%s, 'login', 'key', %s, %s)"
        " RETURNING id" % (HASH, acc, at(expiry)))
    row("sessions", fate,
        "INSERT INTO csam_sessions (session_hash, account_id, key_type,"
        " idle_timeout, created_at, expires_at) VALUES (%s, %s, 'email',"
        " interval '30 minutes', %s) RETURNING id" % (HASH, acc, at(expiry)))



def registration(fate, expiry, used="NULL", superseded="NULL"):
    row("registrations", fate,
        "INSERT INTO csam_registrations (nrn_hash, first_name, last_name,"
        " birth_date, document_type, document_number, email, language,"
        " token_hash, code_hash, max_attempts, created_at, expires_at,"
        " created_by, used_at, superseded_at) VALUES (%s, 'A', 'B',"
        " '1985-07-30', 'eid', '123', 'x@example.test', 'fr', %s, %s, 5,"
        " now() - interval '60 days', now() + interval '%s', 'test', %s, %s)"
        " RETURNING id" % (HASH, HASH, HASH, expiry, used, superseded))
    return (gone if fate == "gone" else kept)["registrations"][-1]


registration("gone", "-2 days")
registration("gone", "-2 days", superseded="now() - interval '10 days'")
# an expired activation flow of an expired registration: both go
reg = gone["registrations"][-1]
row("flows", "gone",
    "INSERT INTO csam_flows (handle_hash, kind, step, registration_id,"
    " created_at, expires_at) VALUES (%s, 'activation', 'key', %s, %s)"
    " RETURNING id" % (HASH, reg, at("-3 days")))
registration("kept", "-1 hour")                      # inside the grace
registration("kept", "-2 days", used="now() - interval '20 days'")
registration("kept", "20 days")                      # live
registration("kept", "20 days", superseded="now() - interval '5 days'")
# a disabled account's (only a pending account goes with its registration)
disabled = registration("kept", "-2 days")
h.psql("INSERT INTO csam_accounts (username, password_hash, registration_id,"
       " status, language, email, nrn_hash) VALUES ('disabled-bob',"
       " '$argon2id$x', %s, 'disabled', 'fr', 'bob@example.test', %s)"
       % (disabled, HASH))
# a recovery of alice's account, never used: it goes, alice stays
registration("gone", "-2 days")
h.psql("UPDATE csam_registrations SET account_id = %s WHERE id = %s"
       % (acc, gone["registrations"][-1]))

# Abandoned activations: the pending account made at the credentials step
# (the engine's statement, account_new.c), its pending key, its handle at
# the confirm step and its code.
keys = {"gone": [], "kept": []}


def abandoned(fate, expiry, name, flow_expiry=None):
    reg = registration(fate, expiry)
    row("pending_accounts", fate,
        "INSERT INTO csam_accounts (username, password_hash,"
        " registration_id, language, email, nrn_hash, nrn_sealed)"
        " SELECT '%s', '$argon2id$x', r.id, r.language, r.email, r.nrn_hash,"
        " r.nrn_sealed FROM csam_registrations r WHERE r.id = %s"
        " RETURNING id" % (name, reg))
    account = (gone if fate == "gone" else kept)["pending_accounts"][-1]
    key = h.psql("INSERT INTO csam_keys (account_id, type, terms_version)"
                 " VALUES (%s, 'email', 'v1') RETURNING id" % account)
    keys[fate].append(key)
    flow_expiry = flow_expiry or expiry
    flow_fate = "gone" if flow_expiry == "-2 days" else "kept"
    row("flows", flow_fate,
        "INSERT INTO csam_flows (handle_hash, kind, step, registration_id,"
        " account_id, key_type, terms_version, terms_accepted_at,"
        " created_at, expires_at) VALUES (%s, 'activation', 'confirm', %s,"
        " %s, 'email', 'v1', now() - interval '40 days', %s) RETURNING id"
        % (HASH, reg, account, at(flow_expiry)))
    row("challenges", flow_fate,
        "INSERT INTO csam_challenges (account_id, purpose, key_id, key_type,"
        " code_hash, max_attempts, created_at, expires_at) VALUES (%s,"
        " 'activation_confirm', %s, 'email', %s, 5, %s) RETURNING id"
        % (account, key, HASH, at(flow_expiry)))
    return account


abandoned("gone", "-2 days", "gone-carol")
abandoned("kept", "20 days", "live-dave")            # may still confirm
abandoned("kept", "-1 hour", "grace-erin")           # inside the grace
# a handle still live holds its account (and so its registration) back
abandoned("kept", "-2 days", "handle-fay", flow_expiry="10 minutes")
# a registration that recovers it (never made for a pending account, but
# its reference would make the delete fail)
held = abandoned("kept", "-2 days", "held-gus")
registration("kept", "20 days")
h.psql("UPDATE csam_registrations SET account_id = %s WHERE id = %s"
       % (held, kept["registrations"][-1]))

for fate, expiry in (("gone", "-2 days"), ("kept", "-1 hour"),
                     ("kept", "100 days")):
    row("login_devices", fate,
        "INSERT INTO csam_login_devices (account_id, device_hash,"
        " created_at, expires_at) VALUES (%s, %s, %s) RETURNING id" %
        (acc, HASH, at(expiry)))

for fate, last, lock in (("gone", "40 days", "NULL"),
                         ("kept", "40 days", "now() + interval '1 hour'"),
                         ("kept", "1 day", "NULL")):
    row("password_failures", fate,
        "INSERT INTO csam_password_failures (name_hash, failures,"
        " last_failure_at, locked_until) VALUES (%s, 3, now() - interval"
        " '%s', %s) RETURNING encode(name_hash, 'hex')" % (HASH, last, lock))
    row("source_failures", fate,
        "INSERT INTO csam_source_failures (source, failures, window_start,"
        " locked_until) VALUES ('192.0.2.' || (random() * 1e6)::int, 3,"
        " now() - interval '%s', %s) RETURNING source" % (last, lock))

for fate, age in (("gone", "500 days"), ("kept", "300 days")):
    row("audit", fate,
        "INSERT INTO csam_audit (at, actor, action) VALUES (now() -"
        " interval '%s', 'test', 'test.old') RETURNING id" % age)

KEYS = {"challenges": ("csam_challenges", "id"),
        "flows": ("csam_flows", "id"), "sessions": ("csam_sessions", "id"),
        "login_devices": ("csam_login_devices", "id"),
        "pending_accounts": ("csam_accounts", "id"),
        "registrations": ("csam_registrations", "id"),
        "password_failures": ("csam_password_failures",
                              "encode(name_hash, 'hex')"),
        "source_failures": ("csam_source_failures", "source"),
        "audit": ("csam_audit", "id")}


def present(kind, key):
    table, col = KEYS[kind]
    return h.psql("SELECT count(*) FROM %s WHERE %s = '%s'" %
                  (table, col, key)) == "1"


expected = {k: len(gone.get(k, [])) for k in KEYS}
totals = {k: h.psql("SELECT count(*) FROM " + KEYS[k][0]) for k in KEYS}

r = h.admin("purge", "--dry-run", json_out=True)
h.check(r.rc == 0 and r.json()["rows"] == expected and r.json()["dry_run"],
        "--dry-run counts exactly the rows that expired long enough ago",
        "%r\nexpected %r" % (r, expected))
h.check({k: h.psql("SELECT count(*) FROM " + KEYS[k][0]) for k in KEYS}
        == totals, "--dry-run deletes nothing")
r = h.admin("purge", "--dry-run")
h.check(r.rc == 0 and "would delete" in r.out and "registrations" in r.out,
        "--dry-run in text", r)

r = h.admin("purge", json_out=True)
h.check(r.rc == 0 and r.json()["rows"] == expected,
        "purge deletes as many as the dry run counted", r)
h.check(all(not present(k, key) for k in gone for key in gone[k]),
        "every expired row is gone",
        [(k, key) for k in gone for key in gone[k] if present(k, key)])
h.check(all(present(k, key) for k in kept for key in kept[k]),
        "every live row, one inside the grace, a locked counter, a used "
        "registration and one an account points to are still there",
        [(k, key) for k in kept for key in kept[k] if not present(k, key)])
h.check(all((h.psql("SELECT count(*) FROM csam_keys WHERE id = %s" % k)
             == "1") == (fate == "kept") for fate in keys for k in keys[fate]),
        "the pending keys of the accounts purged are gone, the others kept",
        keys)
h.check(h.psql("SELECT status FROM csam_accounts WHERE id = %s" % acc)
        == "active" and
        h.psql("SELECT count(*) FROM csam_accounts WHERE status <> 'pending'")
        == "2", "no active or disabled account is touched")
r = h.admin("purge", "--dry-run", json_out=True)
h.check(r.rc == 0 and not any(r.json()["rows"].values()),
        "nothing is left to purge", r)

# ---- batches
h.psql("INSERT INTO csam_challenges (account_id, purpose, key_type,"
       " code_hash, max_attempts, created_at, expires_at) SELECT %s,"
       " 'pam_login', 'email', %s, 5, %s FROM generate_series(1, 25)"
       % (acc, HASH, at("-2 days")))
r = h.admin("purge", "--batch", "10", json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and s["rows"]["challenges"] == 25 and
        s["batches"] == 3 + len(KEYS) - 1,
        "--batch 10: 25 codes in three batches, one (short) for each other "
        "kind", r)
r = h.admin("purge", "--batch", "0")
h.check(r.rc == 1 and "--batch" in r.err, "--batch 0 is refused", r)

# ---- audit_retention
old = h.psql("INSERT INTO csam_audit (at, actor, action) VALUES (now() -"
             " interval '30 days', 'test', 'test.old') RETURNING id")
forever = h.write_conf("forever.conf", audit_retention="0")
r = h.admin("purge", conf=forever, json_out=True)
h.check(r.rc == 0 and r.json()["audit_kept"] and
        r.json()["rows"]["audit"] == 0 and present("audit", old),
        "audit_retention 0 keeps the audit trail", r)
short = h.write_conf("short.conf", audit_retention="7")
r = h.admin("purge", conf=short, json_out=True)
h.check(r.rc == 0 and r.json()["rows"]["audit"] >= 2 and
        not present("audit", old) and
        h.psql("SELECT count(*) FROM csam_audit WHERE at < now() -"
               " interval '7 days'") == "0",
        "audit_retention 7 deletes every audit row older than 7 days", r)
r = h.admin("purge", conf=h.write_conf("bad.conf", audit_retention="-1"))
h.check(r.rc == 1 and "audit_retention" in r.err,
        "a bad audit_retention is named", r)

h.finish()
