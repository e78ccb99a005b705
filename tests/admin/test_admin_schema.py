#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""csam-admin schema status|upgrade on a fresh database and on an old
(version 3) one: the version, what an upgrade would apply, the upgrade
itself (the same schema as psql -f install.sql makes, and nothing the
second time), the other commands refusing an old schema; and the exit
status and message of each way csam-admin can be set up wrong."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admintest  # noqa: E402

h = admintest.Harness()


def dump(conninfo):
    proc = subprocess.run([os.path.join(h.pgbin, "pg_dump"), "-s", "-O",
                           "-x", "-d", conninfo], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError("pg_dump: " + proc.stderr)
    return "\n".join(line for line in proc.stdout.splitlines()
                     if not line.startswith("--") and "\\restrict" not in line
                     and "\\unrestrict" not in line)


files = sorted(f for f in os.listdir(os.path.join(h.data_dir, "sql"))
               if f[:3].isdigit())
newest = int(files[-1][:3])
reference = dump(h.pg)
versions = h.psql("SELECT string_agg(version::text, ',' ORDER BY version)"
                  " FROM csam_schema_version")

# ---- the harness's database, installed by psql: current
r = h.admin("schema", "status", json_out=True)
h.check(r.rc == 0, "status of a current database exits 0", r)
s = r.json()
h.check(s["database"] == newest and s["package"] == newest and
        s["pending"] == [] and s["up_to_date"] is True,
        "status: a database installed by psql is current", s)
r = h.admin("schema", "status")
h.check(r.rc == 0 and "an upgrade would apply nothing" in r.out,
        "status in text says so", r)

# ---- a fresh, empty database
fresh = h.db("csam_fresh")
fresh_conf = h.write_conf("fresh.conf", database=fresh)
r = h.admin("schema", "status", conf=fresh_conf, json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and s["database"] == 0 and s["up_to_date"] is False and
        [m["file"] for m in s["pending"]] == files,
        "status of an empty database: version 0, every migration pending", r)
h.check(all(m["title"].startswith("CSAM schema, version %d" % m["version"])
            for m in s.get("pending", [])),
        "each pending migration is named with its first line",
        s.get("pending"))
r = h.admin("stats", conf=fresh_conf)
h.check(r.rc == 1 and "schema upgrade" in r.err,
        "stats refuses an empty database, saying what to run", r)
r = h.admin("schema", "upgrade", conf=fresh_conf, json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and [m["file"] for m in s["applied"]] == files and
        s["database"] == newest,
        "upgrade of an empty database applies every migration", r)
h.check(dump(fresh) == reference,
        "the upgraded database's schema is the one psql -f install.sql made")
h.check(h.psql("SELECT string_agg(version::text, ',' ORDER BY version)"
               " FROM csam_schema_version", db=fresh) == versions,
        "with the same version rows")
r = h.admin("schema", "upgrade", conf=fresh_conf, json_out=True)
h.check(r.rc == 0 and r.json()["applied"] == [],
        "a second upgrade applies nothing", r)
h.check(dump(fresh) == reference, "and changes nothing")

# ---- an old database: version 3
old = h.db("csam_old")
old_conf = h.write_conf("old.conf", database=old)
for f in files[:3]:
    subprocess.run([os.path.join(h.pgbin, "psql"), "-X", "-q", "-1", "-v",
                    "ON_ERROR_STOP=1", "-d", old, "-f",
                    os.path.join(h.data_dir, "sql", f)],
                   check=True, capture_output=True, timeout=120)
r = h.admin("schema", "status", conf=old_conf)
h.check(r.rc == 0 and "database schema version: 3" in r.out and
        files[3] in r.out and files[4] in r.out and files[2] not in r.out,
        "status of a version-3 database lists what an upgrade would apply", r)
r = h.admin("purge", "--dry-run", conf=old_conf)
h.check(r.rc == 1 and "older than version %d" % newest in r.err,
        "purge refuses an old schema", r)
r = h.admin("schema", "upgrade", conf=old_conf, json_out=True)
s = r.json() if r.rc == 0 else {}
h.check(r.rc == 0 and [m["version"] for m in s["applied"]] ==
        list(range(4, newest + 1)) and s["database"] == newest,
        "upgrade of a version-3 database applies 4 onwards", r)
h.check(dump(old) == reference, "and ends with the current schema")

# ---- a migration that fails: nothing applied
broken = h.db("csam_broken")
broken_conf = h.write_conf("broken.conf", database=broken)
# 001 creates csam_registrations, then fails on this csam_accounts.
h.psql("CREATE TABLE csam_accounts (x integer)", db=broken)
r = h.admin("schema", "upgrade", conf=broken_conf)
h.check(r.rc == 1 and "001_base.sql" in r.err and "username" in r.err,
        "a migration that fails is named, with the server's message", r)
h.check(h.psql("SELECT to_regclass('csam_registrations') IS NULL",
               db=broken) == "t",
        "and nothing was applied (one transaction)")

# ---- files that others could change are never run
sql = os.path.join(h.data_dir, "sql")
os.chmod(os.path.join(sql, files[-1]), 0o664)
r = h.admin("schema", "upgrade", conf=fresh_conf)
h.check(r.rc == 1 and files[-1] in r.err and "writable" in r.err,
        "a group-writable migration is refused, named", r)
os.chmod(os.path.join(sql, files[-1]), 0o644)
os.chmod(sql, 0o777)
r = h.admin("schema", "status", conf=fresh_conf)
h.check(r.rc == 1 and sql in r.err,
        "a migration directory others can write is refused, named", r)
os.chmod(sql, 0o755)

# ---- set up wrong: each error names what is wrong, exit 1
r = h.admin()
h.check(r.rc == 1 and "usage" in r.err, "no command: usage, exit 1", r)
r = h.admin("frobnicate")
h.check(r.rc == 1 and "unknown command 'frobnicate'" in r.err,
        "an unknown command is named", r)
r = h.admin("schema", "status", conf=os.path.join(h.dir, "missing.conf"))
h.check(r.rc == 1 and "missing.conf" in r.err,
        "a missing csam.conf is named", r)
bad = h.write_conf("bad.conf", frobnicate="1")
r = h.admin("schema", "status", conf=bad)
h.check(r.rc == 1 and "bad.conf:" in r.err and "frobnicate" in r.err,
        "an unknown key is named with its file and line", r)
loose = h.write_conf("loose.conf")
os.chmod(loose, 0o620)
r = h.admin("schema", "status", conf=loose)
h.check(r.rc == 1 and "loose.conf" in r.err,
        "a group-writable csam.conf is refused, as pam_csam refuses it", r)
down = h.write_conf("down.conf", database=h.pg.replace(
    "dbname=csam", "dbname=csam_nonexistent"))
r = h.admin("schema", "status", conf=down, json_out=True)
h.check(r.rc == 1 and "database" in r.err and "down.conf" in r.err and
        "error" in r.json(),
        "an unreachable database is named, and --json says error", r)
r = h.admin("schema", "status", conf=h.write_conf(
    "nosql.conf", data_dir=os.path.join(h.dir, "nowhere")))
h.check(r.rc == 1 and "install.sql" in r.err,
        "a missing install.sql is named", r)

h.finish()
