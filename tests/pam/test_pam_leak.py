#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""1,000 consecutive pam_authenticate calls in one process (issue 5):
every one succeeds with the code mailed for it, no file descriptor is left
open, the resident set stays flat, and -- in a --enable-sanitizers build,
where tests/pam/pam-loop is built with ASan -- LeakSanitizer finds no leak
and ASan/UBSan no error.

CSAM_TEST_LEAK_ROUNDS changes the count; CSAM_TEST_VALGRIND=1 runs the
loop under valgrind's memcheck instead (slow: use fewer rounds).
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
rounds = int(os.environ.get("CSAM_TEST_LEAK_ROUNDS", "1000"))
loop = os.path.join(h.builddir, "tests", "pam", "pam-loop")
if not os.path.exists(loop):
    print("%s is not built" % loop)
    sys.exit(pamtest.HARD_ERROR)

# pam-loop uses pam_start_confdir(): a service directory of its own, no
# pam_wrapper, nothing preloaded but what the build itself needs.
confdir = os.path.join(h.dir, "confdir")
os.mkdir(confdir)
with open(os.path.join(confdir, "csam-loop"), "w") as f:
    f.write("auth required %s config=%s\n" % (h.module, h.conf))
with open(os.path.join(confdir, "other"), "w") as f:
    f.write("auth required pam_deny.so\n")

USER = h.enrol("loop.user", "loop@example.test", "en")
cmd = [loop, confdir, "csam-loop", USER, h.maildir, "loop@example.test",
       str(rounds)]
env = dict(os.environ)
env.pop("LD_PRELOAD", None)
env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=23"
env["LSAN_OPTIONS"] = "exitcode=23"
if os.environ.get("CSAM_TEST_PRELOAD") or \
        os.environ.get("CSAM_TEST_VALGRIND") == "1":
    # ASan's quarantine and valgrind's shadow memory grow the resident set
    # on purpose: there the check gives way to their own leak checks.
    env["CSAM_LOOP_RSS_SLACK_KB"] = str(1 << 30)
if os.environ.get("CSAM_TEST_VALGRIND") == "1":
    cmd = ["valgrind", "--quiet", "--leak-check=full",
           "--errors-for-leak-kinds=definite,indirect",
           "--error-exitcode=24", "--track-fds=no"] + cmd
cmd, env = h.as_root(cmd, env)
proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                      timeout=1800)
print(proc.stdout.strip())
h.check(proc.returncode == 0,
        "%d authentications in one process: all succeed, no leak, no fd "
        "left open, no error (exit %d)" % (rounds, proc.returncode),
        proc.stderr[-6000:])
h.check("LeakSanitizer" not in proc.stderr and
        "AddressSanitizer" not in proc.stderr and
        "runtime error" not in proc.stderr,
        "no sanitizer report", proc.stderr[-6000:])
# Every round got its own mail: no round answered a code it did not get.
sent = len(h.mails("loop@example.test")) - 2    # activation + confirmation
h.check(sent >= rounds, "one code mailed per round (%d mailed)" % sent)
h.finish()
