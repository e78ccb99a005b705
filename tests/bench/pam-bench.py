#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam-bench: the time of one pamtester authentication with pam_csam's
e-mail key (code issued, mailed to the loopback SMTP server, read back from
the Maildir and typed, verified), beside the same pamtester run against a
pam_permit-only service on the same machine.  Not part of make check.

    CSAM_SRCDIR=$PWD CSAM_BUILDDIR=/path/to/build \\
        tests/lib/run-with-services tests/bench/pam-bench.py [RUNS] [KEYS]

KEYS is a comma-separated list among email (the default), sms (the code
read back from the loopback SMS gateway's records) and totp (the code
computed by oathtool before pamtester starts, not timed; one account per
run, since a TOTP step is accepted once).

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
keys = (sys.argv[2] if len(sys.argv) > 2 else "email").split(",")
h = pamtest.Harness()
permit = h.service("bench-permit", auth=["required pam_permit.so"])
csam = h.csam_service("bench-csam", "key=email")
csam_sms = h.csam_service("bench-csam-sms", "key=sms")
csam_totp = h.csam_service("bench-csam-totp", "key=totp")
# Refused at its first line (a bad argument): what loading pam_csam.so and
# its libraries costs a fresh process, before any work.
load = h.service("bench-load", auth=["required pam_csam.so key=none"])
user = h.enrol("bench", "bench@example.test", "en")
PHONE = "+32470000001"
sms_user = h.enrol("bench.sms", "bench.sms@example.test", "en", key="sms",
                   phone=PHONE) if "sms" in keys else None
totp_users = [h.enrol("bench.t%d" % i, "bench.t%d@example.test" % i, "en",
                      key="totp") for i in range(runs + 5)] \
    if "totp" in keys else []
new = os.path.join(h.maildir, "new")
env = h.env({"PAM_WRAPPER_DEBUGLEVEL": "0"})


def once(service, answer_from_mail, expect_rc=0, who=None, sms=False,
         answer=None):
    seen = set(os.listdir(new))
    seen_sms = set(os.listdir(h.sms_dir)) if sms else set()
    t0 = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/pamtester", service, who or user,
                             "authenticate"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    if answer_from_mail or sms:
        where = h.sms_dir if sms else new
        while True:
            fresh = [n for n in os.listdir(where) if n not in seen_sms and
                     n not in seen and n.endswith(".json" if sms else "")
                     and not n.startswith(".")]
            if fresh:
                break
            if proc.poll() is not None:
                raise SystemExit("pamtester exited before a code came")
            time.sleep(0.001)
        if sms:
            code = h.sms_code(h.sms(PHONE)[sorted(fresh)[0]])
        else:
            code = h.code_in(h.mails()[fresh[0]])
        proc.stdin.write(code + "\n")
    elif answer is not None:
        proc.stdin.write(answer + "\n")
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


def totp_once(i):
    who = totp_users[i]
    # The enrolment used the current step: the next one is accepted.
    return once(csam_totp, False, who=who,
                answer=h.totp(h.totp_secrets[who], 30))


for i in range(5):      # warm the page cache and the database
    once(permit, False)
    if "email" in keys:
        once(csam, True)
    if "sms" in keys:
        once(csam_sms, False, who=sms_user, sms=True)
    if "totp" in keys:
        totp_once(runs + i)
base, loaded = [], []
timed = {k: [] for k in keys}
for i in range(runs):   # interleaved, so a busy moment hits all of them
    base.append(once(permit, False))
    loaded.append(once(load, False, expect_rc=1))
    if "email" in keys:
        timed["email"].append(once(csam, True))
    if "sms" in keys:
        timed["sms"].append(once(csam_sms, False, who=sms_user, sms=True))
    if "totp" in keys:
        timed["totp"].append(totp_once(i))
mb = report("pam_permit (baseline)", base)
report("pam_csam loaded, refused", loaded)
for k in keys:
    mc = report("pam_csam %s key" % k, timed[k])
    print("pam_csam %s minus baseline: %.2f ms (x%.1f)" % (k, mc - mb,
                                                          mc / mb))
h.finish()
