#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam and the SMS command transport (issue 11, items 5 and 6).

pam_csam runs inside whatever program calls it, setuid su among them,
whose environment the invoking user chose: the SMS command must get the
number as its only argument, the text (the code) on its standard input,
and a fixed environment, never the caller's PERL5OPT, PYTHONPATH,
BASH_ENV, LD_PRELOAD...  And a number stored before sms_countries was
narrowed gets no SMS: PAM_AUTHINFO_UNAVAIL, the command never runs.
"""
import glob
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

h = pamtest.Harness()
if not h.sms_url or not h.sms_dir:
    print("CSAM_TEST_SMS_URL/CSAM_TEST_SMS_DIR are not set: "
          "tests/lib/run-with-services starts the SMS gateway")
    sys.exit(pamtest.HARD_ERROR)

HOSTILE = {
    "PERL5OPT": "-Mcsam_hostile",
    "PYTHONPATH": "/nonexistent/csam-hostile",
    "BASH_ENV": "/nonexistent/csam-hostile.sh",
    "ENV": "/nonexistent/csam-hostile.sh",
    "IFS": "x",
    "CSAM_HOSTILE": "1",
}

spool = os.path.join(h.dir, "sms-spool")
os.mkdir(spool)
recorder = os.path.join(h.dir, "record-sms")
with open(recorder, "w") as f:
    f.write("""#!/bin/sh
# One SMS: arguments, standard input and environment, each in a file
# named after the time; the .text file is renamed into place last.
d='%s'
n=$(date +%%s%%N).$$
{ printf '%%s\\n' "$#"; for a in "$@"; do printf '%%s\\n' "$a"; done; } \\
    > "$d/$n.args"
env > "$d/$n.env"
cat > "$d/.$n.text"
mv "$d/.$n.text" "$d/$n.text"
""" % spool)
os.chmod(recorder, 0o755)

command_conf = h.write_conf("command.conf", sms_transport="command",
                            sms_url=None, sms_command=recorder)
svc = h.csam_service("csam-sms-command", "key=sms", conf=command_conf)
narrow_conf = h.write_conf("narrow.conf", sms_transport="command",
                           sms_url=None, sms_command=recorder,
                           sms_countries="33 352")
svc_narrow = h.csam_service("csam-sms-narrow", "key=sms", conf=narrow_conf)

# Enrolled through the HTTP gateway of the default configuration.
SAM = h.enrol("sam", "sam@example.test", "fr", key="sms",
              phone="0470 12 34 56")
PHONE = "+32470123456"


def records():
    return set(glob.glob(os.path.join(spool, "*.text")))


def wait_record(before, run, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = sorted(records() - before)
        if new:
            return new[0][:-len(".text")]
        if run.proc.poll() is not None:
            return None
        time.sleep(0.02)
    return None


# ---- the command: number in argv, code on stdin, a fixed environment
before = records()
run = h.start(svc, SAM, env=HOSTILE)
stem = wait_record(before, run)
h.check(stem is not None, "the SMS command ran")
if stem is None:
    run.finish("")
    h.finish()
with open(stem + ".args") as f:
    args = f.read().splitlines()
with open(stem + ".text", encoding="utf-8") as f:
    text = f.read()
with open(stem + ".env") as f:
    env = dict(line.split("=", 1) for line in f.read().splitlines()
               if "=" in line)
code = h.sms_code(text)
res = run.finish(code)
h.expect(res, "PAM_SUCCESS", "the code the command read on stdin")
h.check(args == ["1", PHONE], "the number is the command's one argument",
        args)
h.check(code not in " ".join(args), "the code is not on the command line",
        args)
h.check(env.get("PATH") == "/usr/sbin:/usr/bin:/sbin:/bin",
        "the command's PATH is fixed", env.get("PATH"))
h.check(env.get("LANG") == "C.UTF-8", "the command's LANG", env.get("LANG"))
leaked = sorted((set(HOSTILE) | {"LD_PRELOAD", "PAM_WRAPPER",
                                 "CSAM_TEST_PG", "HOME"}) & set(env))
h.check(leaked == [], "the caller's environment does not reach the command",
        leaked)
h.check(set(env) <= {"PATH", "LANG", "PWD", "SHLVL", "_", "OLDPWD"},
        "the command gets only the fixed variables", sorted(env))
h.no_secret_logged(res, [code], "SMS command")

# ---- a stored number outside sms_countries: no SMS, fail closed
before = records()
res = h.pamtester(svc_narrow, SAM, answer="")
h.expect(res, "PAM_AUTHINFO_UNAVAIL", "+32 number, sms_countries = 33 352")
h.check(records() == before, "the command did not run for +32")

h.finish()
