#!/usr/bin/python3
"""pam-bench: the time of one pamtester authentication with pam_csam's
e-mail key (code issued, mailed to the loopback SMTP server, read back from
the Maildir and typed, verified), beside the same pamtester run against a
pam_permit-only service on the same machine.  Not part of make check.

    CSAM_SRCDIR=$PWD CSAM_BUILDDIR=/path/to/build \\
        tests/lib/run-with-services tests/bench/pam-bench.py [RUNS]

Each run is a whole pamtester process (as sshd forks one per login), so
module loading and two database connections (before and after the
prompt) are counted; the driver polls the Maildir every millisecond.
A third service, refused by pam_csam at once (a bad argument), shows how
much of that is loading the module and its libraries.  Prints median, 10th
and 90th percentiles in milliseconds.
"""
import os
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "pam"))
import pamtest  # noqa: E402

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
h = pamtest.Harness()
permit = h.service("bench-permit", auth=["required pam_permit.so"])
csam = h.csam_service("bench-csam", "key=email")
# Refused at its first line (a bad argument): what loading pam_csam.so and
# its libraries costs a fresh process, before any work.
load = h.service("bench-load", auth=["required pam_csam.so key=none"])
user = h.enrol("bench", "bench@example.test", "en")
new = os.path.join(h.maildir, "new")
env = h.env({"PAM_WRAPPER_DEBUGLEVEL": "0"})


def once(service, answer_from_mail, expect_rc=0):
    seen = set(os.listdir(new))
    t0 = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/pamtester", service, user,
                             "authenticate"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    if answer_from_mail:
        while True:
            fresh = [n for n in os.listdir(new) if n not in seen]
            if fresh:
                break
            if proc.poll() is not None:
                raise SystemExit("pamtester exited before a mail came")
            time.sleep(0.001)
        code = h.code_in(h.mails()[fresh[0]])
        proc.stdin.write(code + "\n")
    proc.stdin.close()
    rc = proc.wait()
    elapsed = time.perf_counter() - t0
    if rc != expect_rc:
        raise SystemExit("%s: pamtester failed (%d)" % (service, rc))
    return elapsed * 1000.0


def report(name, samples):
    q = statistics.quantiles(samples, n=10)
    print("%-28s runs %4d  median %7.2f ms  p10 %7.2f  p90 %7.2f" %
          (name, len(samples), statistics.median(samples), q[0], q[-1]))
    return statistics.median(samples)


for _ in range(5):      # warm the page cache and the database
    once(permit, False)
    once(csam, True)
base, loaded, mail = [], [], []
for _ in range(runs):   # interleaved, so a busy moment hits all three
    base.append(once(permit, False))
    loaded.append(once(load, False, expect_rc=1))
    mail.append(once(csam, True))
mb = report("pam_permit (baseline)", base)
report("pam_csam loaded, refused", loaded)
mc = report("pam_csam e-mail key", mail)
print("pam_csam minus baseline: %.2f ms (x%.1f)" % (mc - mb, mc / mb))
h.finish()
