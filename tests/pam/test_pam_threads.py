#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam called from several threads of one process at once (issue 5:
"thread-safe"): four threads, each its own user, authenticate 50 times
each with the code mailed for every round.  All succeed, every round gets
its own mail, no file descriptor is left open; in a --enable-sanitizers
build ASan, LeakSanitizer and UBSan watch the run.
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

THREADS = 4
ROUNDS = int(os.environ.get("CSAM_TEST_THREAD_ROUNDS", "50"))

h = pamtest.Harness()
loop = os.path.join(h.builddir, "tests", "pam", "pam-loop")
confdir = os.path.join(h.dir, "confdir")
os.mkdir(confdir)
with open(os.path.join(confdir, "csam-threads"), "w") as f:
    f.write("auth required %s config=%s\n" % (h.module, h.conf))
with open(os.path.join(confdir, "other"), "w") as f:
    f.write("auth required pam_deny.so\n")
for i in range(THREADS):
    h.enrol("thread.user%d" % i, "%d.threads@example.test" % i, "fr")

env = dict(os.environ)
env.pop("LD_PRELOAD", None)
env["ASAN_OPTIONS"] = "detect_leaks=1:exitcode=23"
env["CSAM_LOOP_RSS_SLACK_KB"] = str(1 << 30)   # the leak test checks that
cmd, env = h.as_root([loop, confdir, "csam-threads", "thread.user",
                      h.maildir, "threads@example.test", str(ROUNDS),
                      str(THREADS)], env)
proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                      timeout=900)
print(proc.stdout.strip())
h.check(proc.returncode == 0,
        "%d threads x %d authentications: all succeed, no fd left open, no "
        "sanitizer error (exit %d)" % (THREADS, ROUNDS, proc.returncode),
        proc.stderr[-6000:])
for i in range(THREADS):
    sent = len(h.codes_to("%d.threads@example.test" % i)) - 1  # confirmation
    expected = ROUNDS + (10 if i == 0 and ROUNDS >= 10 else 0)
    h.check(sent == expected, "thread %d: one code mailed per round (%d, "
            "expected %d)" % (i, sent, expected))
h.finish()
