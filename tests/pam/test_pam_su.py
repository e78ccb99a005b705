#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Through a real setuid su, the caller's environment never steers
pam_csam (DESIGN 3.4, issue 11 item 1).

util-linux su is setuid root and keeps its caller's environment while it
authenticates.  An unprivileged caller (nobody) sets PGHOSTADDR and
PGSERVICE/PGSERVICEFILE to the attacker's PostgreSQL (hostile.py: the
target's username there has the attacker's address), then every other
variable of hostile.py, OpenSSL's included; each time the code still goes
to the real account's mailbox, the right code opens the session, a wrong
one is refused, and the attacker's database issues nothing.

Root only (skipped with the reason otherwise): su is run as on any host,
setuid and without pam_wrapper (a setuid program ignores LD_PRELOAD).  So
that nothing of the machine changes, it runs in a private mount namespace
(unshare -m) where a test service is bind-mounted over /etc/pam.d/su, a
copy of /etc/passwd that adds the target user over /etc/passwd, and
scratch files over the login records su writes (/var/log/btmp, wtmp);
the caller drops to nobody with setpriv and talks to su through a pty.
"""
import hashlib
import os
import pty
import select
import signal
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile  # noqa: E402
import pamtest  # noqa: E402

SU = "/bin/su"
TARGET = "csamsu"
TO = "csamsu@example.test"

h = pamtest.Harness()
h.require_real_root("a real setuid su, with a test service bind-mounted "
                    "over /etc/pam.d/su in a private mount namespace")
if os.environ.get("CSAM_TEST_PRELOAD"):
    pamtest.skip("a setuid su cannot preload the sanitizer runtime that a "
                 "sanitizer-built module needs (the plain builds run this)")
for tool, pkg in ((SU, "util-linux"), ("/usr/bin/setpriv", "util-linux"),
                  ("/usr/bin/unshare", "util-linux"),
                  ("/usr/bin/env", "coreutils")):
    if not os.access(tool, os.X_OK):
        pamtest.skip("%s not found (Debian package %s)" % (tool, pkg))
if not os.stat(SU).st_mode & stat.S_ISUID:
    pamtest.skip("%s is not setuid" % SU)
probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                       capture_output=True, text=True)
if probe.returncode != 0:
    pamtest.skip("no private mount namespace: " + probe.stderr.strip())


def digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


GUARDED = ["/etc/pam.d/su", "/etc/passwd", "/var/log/btmp", "/var/log/wtmp"]
host_before = {p: digest(p) for p in GUARDED}

h.enrol(TARGET, TO, "en")
evil = hostile.Cluster(h)
evil.enrol(TARGET)
files = hostile.Files(h)

# What the namespace lays over the machine's files.
d = os.path.join(h.dir, "su")
os.mkdir(d)
pam_su = os.path.join(d, "pam-su")
with open(pam_su, "w") as f:
    f.write("auth     required %s config=%s\n" % (h.module, h.conf))
    f.write("account  required %s config=%s\n" % (h.module, h.conf))
    f.write("session  required pam_permit.so\n")
used = set()
with open("/etc/passwd") as f:
    system_passwd = f.read()
for line in system_passwd.splitlines():
    fields = line.split(":")
    if len(fields) > 2 and fields[2].isdigit():
        used.add(int(fields[2]))
uid = next(u for u in range(61000, 65000) if u not in used)
passwd = os.path.join(d, "passwd")
with open(passwd, "w") as f:
    f.write(system_passwd.rstrip("\n") + "\n")
    f.write("%s:x:%d:65534:CSAM su test:/nonexistent:/bin/sh\n" %
            (TARGET, uid))
os.chmod(passwd, 0o644)
scratch = {}
for path in ("/var/log/btmp", "/var/log/wtmp"):
    if os.path.exists(path):
        scratch[path] = os.path.join(d, os.path.basename(path))
        open(scratch[path], "w").close()

overlay = ['mount --bind "%s" /etc/pam.d/su' % pam_su,
           'mount --bind "%s" /etc/passwd' % passwd]
overlay += ['mount --bind "%s" "%s"' % (src, dst)
            for dst, src in scratch.items()]
CMD = ["unshare", "-m", "--propagation", "private", "sh", "-ec",
       " && ".join(overlay) + ' && exec "$@"', "sh",
       "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
       SU, TARGET, "-c", "echo su-ran-as=$(id -un)"]


def su(env, answer_with_code=True, timeout=60.0):
    """Run su as nobody with `env` (on top of a plain PATH and TERM) and
    answer its prompt: with the code of the new mail to TO (an obviously
    wrong code when none came), or a wrong code.  Returns (exit status,
    terminal output, the code mail or None)."""
    full = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TERM": "dumb"}
    full.update(env)
    before = set(h.mails())
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(CMD[0], CMD, full)
        finally:
            os._exit(127)
    out = b""
    answered = False
    mail = None
    deadline = time.monotonic() + timeout
    status = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:      # EIO: su and its child are gone
                    chunk = b""
                if not chunk:
                    break
                out += chunk
            if not answered and b"Security code:" in out:
                fresh = [m for n, m in h.mails(TO).items() if n not in before]
                mail = fresh[0] if fresh else None
                code = h.code_in(mail) if mail and answer_with_code \
                    else "00000000"
                os.write(fd, code.encode() + b"\n")
                answered = True
        else:
            os.killpg(pid, signal.SIGKILL)
            out += b"\n[timed out]"
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8",
                                                         "replace"), mail


everything = files.variables()
everything.update(files.openssl_variables())
for label, env in (
        ("PGHOSTADDR", {"PGHOSTADDR": hostile.HOSTILE_ADDR}),
        ("PGSERVICE + PGSERVICEFILE",
         {"PGSERVICE": "evil", "PGSERVICEFILE": files.service_file}),
        ("every variable at once, OpenSSL's included", everything)):
    # Counted per case, so that each line blames its own variables.
    evil.forget()
    sent_to_attacker = set(h.mails(hostile.ATTACKER_MAIL))
    rc, out, mail = su(env)
    h.check(rc == 0 and "su-ran-as=%s" % TARGET in out,
            "su, caller's %s: the real account's code opens the session"
            % label, "exit %d\n%s" % (rc, out))
    h.check(mail is not None,
            "su, caller's %s: the code went to the real address" % label)
    h.check(evil.pam_challenges() == 0,
            "su, caller's %s: nothing issued by the attacker's database"
            % label)
    h.check(set(h.mails(hostile.ATTACKER_MAIL)) == sent_to_attacker,
            "su, caller's %s: nothing mailed to the attacker" % label)
    h.check(not files.keylog_written(),
            "su, caller's %s: no TLS key log written as root" % label)

# The same su refuses a wrong code: pam_csam is really what decides.
rc, out, mail = su(everything, answer_with_code=False)
h.check(rc != 0 and "su-ran-as" not in out,
        "su with a wrong code: refused", "exit %d\n%s" % (rc, out))

h.check({p: digest(p) for p in GUARDED} == host_before,
        "the machine's /etc/pam.d/su, /etc/passwd and login records are "
        "unchanged")
h.finish()
