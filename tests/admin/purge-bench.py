#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The purge's cost, by hand (never by make check):

    tests/lib/run-test tests/admin/purge-bench.py [ROWS [BATCH]]

from a build tree (CSAM_SRCDIR and CSAM_BUILDDIR set, as make check sets
them).  Fills csam_challenges with ROWS expired codes (100000) beside a
live one, then runs csam-admin purge with batches of BATCH rows (1000)
while a second connection keeps writing to the same table (a new code, the
live code's attempt counted: what a login does) and times each of its
statements.  Prints the purge's time, batches and longest batch, and the
longest wait the concurrent writer saw."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admintest  # noqa: E402

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
batch = sys.argv[2] if len(sys.argv) > 2 else "1000"
h = admintest.Harness()
h.enrol("alice", "alice@example.test")
acc = h.psql("SELECT id FROM csam_accounts WHERE username = 'alice'")
HASH = "decode(md5(random()::text) || md5(random()::text), 'hex')"
h.psql("INSERT INTO csam_challenges (account_id, purpose, key_type,"
       " code_hash, max_attempts, created_at, expires_at) SELECT %s,"
       " 'web_login', 'email', %s, 5, now() - interval '3 days',"
       " now() - interval '2 days' FROM generate_series(1, %d)"
       % (acc, HASH, rows))
live = h.psql("INSERT INTO csam_challenges (account_id, purpose, key_type,"
              " code_hash, max_attempts, expires_at) VALUES (%s, 'pam_login',"
              " 'email', %s, 100, now() + interval '1 hour') RETURNING id"
              % (acc, HASH))
h.psql("VACUUM ANALYZE csam_challenges")

stop = threading.Event()
waits = []


def writer():
    # One psql session, one statement per line, each timed by the server
    # round trip as psql's \timing reports it.
    script = []
    for i in range(100000):
        script.append("UPDATE csam_challenges SET attempts = 0 WHERE id = %s;"
                      % live)
        script.append("INSERT INTO csam_challenges (account_id, purpose,"
                      " key_type, code_hash, max_attempts, expires_at)"
                      " VALUES (%s, 'pam_login', 'email', %s, 5, now() +"
                      " interval '10 minutes');" % (acc, HASH))
    out = open(os.path.join(h.dir, "writer.out"), "w+")
    proc = subprocess.Popen([os.path.join(h.pgbin, "psql"), "-X", "-q",
                             "-d", h.pg], stdin=subprocess.PIPE,
                            stdout=out, stderr=subprocess.DEVNULL, text=True)
    proc.stdin.write("\\timing on\n")
    for line in script:
        if stop.is_set():
            break
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    proc.stdin.close()
    proc.wait()
    out.seek(0)
    for line in out:
        if line.startswith("Time: "):
            waits.append(float(line.split()[1]))
    out.close()


t = threading.Thread(target=writer)
t.start()
time.sleep(0.5)
r = h.admin("purge", "--batch", batch, json_out=True)
stop.set()
t.join()
s = r.json()
print("csam-admin purge --batch %s: %d expired codes deleted in %.2f s,"
      " %d batches, longest batch %.1f ms" % (
          batch, s["rows"]["challenges"], s["seconds"], s["batches"],
          s["longest_batch_ms"]))
print("concurrent writer: %d statements, longest %.1f ms, median %.2f ms" % (
    len(waits), max(waits), sorted(waits)[len(waits) // 2]))
h.check(s["rows"]["challenges"] == rows, "every expired code deleted")
h.check(h.psql("SELECT count(*) FROM csam_challenges WHERE id = %s" % live)
        == "1", "the live code is still there")
h.finish()
