#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pam_csam behind a real OpenSSH server (issue 5): sshd on a loopback
port with AuthenticationMethods publickey,keyboard-interactive and its PAM
stack through pam_csam; ssh logs in with a key, then answers the
keyboard-interactive prompt through SSH_ASKPASS with the code read from
the mail; a second user answers with the code of the authenticator app
(computed by oathtool).

Root only (skipped with the reason otherwise): sshd runs as root.  Nothing
is written to /etc: the account comes from nss_wrapper, the PAM service
from pam_wrapper, sshd's files live in the test's directory.  sshd
insists on its privilege-separation directory /run/sshd; it is made in a
private mount namespace (a tmpfs over /run seen by sshd alone), or, where
namespaces are not allowed, created as Debian's sshd.service would.
"""
import os
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pamtest  # noqa: E402

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
KEYGEN = "/usr/bin/ssh-keygen"

h = pamtest.Harness()
h.require_real_root("sshd runs as root (privilege separation, its PAM "
                    "process changes to the logged-in user)")
if os.environ.get("CSAM_TEST_PRELOAD"):
    # A sanitizer build: the module needs the ASan runtime preloaded into
    # sshd, and sshd's forked PAM process then deadlocks in glibc's
    # gettext lock (_nl_state_lock, taken by libpq's bindtextdomain on its
    # first connection).  The same test runs in the plain builds.
    pamtest.skip("sshd cannot host an ASan-built module (fork deadlock)")
for tool, pkg in ((SSHD, "openssh-server"), (SSH, "openssh-client"),
                  (KEYGEN, "openssh-client")):
    if not os.access(tool, os.X_OK):
        pamtest.skip("%s not found (Debian package %s)" % (tool, pkg))
nss_wrapper = pamtest.find_lib("libnss_wrapper.so")
if nss_wrapper is None:
    pamtest.skip("libnss_wrapper.so not found (Debian package libnss-wrapper)")

USER = h.enrol("sshtest", "sshtest@example.test", "en")
TO = "sshtest@example.test"
APP_USER = h.enrol("sshapp", "sshapp@example.test", "en", key="totp")

# sshd reads authorized_keys as the user: the path must be traversable.
os.chmod(h.dir, 0o711)
d = os.path.join(h.dir, "ssh")
home = os.path.join(d, "home")
os.makedirs(home)
os.chmod(d, 0o755)
os.chmod(home, 0o755)
subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f",
                os.path.join(d, "host_key")], check=True)
subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f",
                os.path.join(d, "id")], check=True)
subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f",
                os.path.join(d, "other_id")], check=True)
with open(os.path.join(d, "id.pub")) as src, \
        open(os.path.join(d, "authorized_keys"), "w") as dst:
    dst.write(src.read())

# The account: root and sshd's privilege-separation user as the system has
# them, and the test user (nobody's ids, a home in the test directory).
passwd = os.path.join(d, "passwd")
group = os.path.join(d, "group")
with open("/etc/passwd") as f:
    system = [line for line in f if line.split(":")[0] in ("root", "sshd")]
with open(passwd, "w") as f:
    f.writelines(system)
    for name in (USER, APP_USER):
        f.write("%s:x:65534:65534:CSAM test:%s:/bin/sh\n" % (name, home))
with open(group, "w") as f:
    f.write("root:x:0:\nnogroup:x:65534:\ncsam:x:65533:%s,%s\n"
            % (USER, APP_USER))

# sshd's PAM service: the shipped recipes, conf/pam.d/sshd including
# conf/pam.d/csam-2fa, with only this build's module and csam.conf put in,
# and Debian's common-* files (not ours, absent under pam_wrapper) as
# pam_permit lines.
services = h.services
recipes = os.path.join(os.environ["CSAM_SRCDIR"], "conf", "pam.d")


def shipped(name):
    with open(os.path.join(recipes, name)) as f:
        lines = [line for line in f
                 if line.strip() and not line.lstrip().startswith("#")]
    out = []
    for line in lines:
        # libpam reads an @include from /etc/pam.d whatever pam_wrapper
        # does: the included recipe goes in as libpam would put it.
        if line.startswith("@include csam-2fa"):
            out.append(shipped("csam-2fa"))
            continue
        if line.startswith("@include common-"):
            kind = line.split("-", 1)[1].split()[0]
            out.append("%s required pam_permit.so\n"
                       % ("account" if kind == "account" else "session"
                          if kind.startswith("session") else "password"))
            continue
        line = line.replace("config=/etc/csam/csam.conf", "config=" + h.conf)
        if "pam_csam.so" in line and "config=" not in line:
            line = line.rstrip("\n") + " config=%s\n" % h.conf
        out.append(line.replace("pam_csam.so", h.module))
    return "".join(out)


for name in ("sshd",):
    with open(os.path.join(services, name), "w") as f:
        f.write(shipped(name))
        if name == "sshd":  # the recipe leaves these to Debian's file
            f.write("session  required pam_permit.so\n"
                    "password required pam_deny.so\n")
    print("# %s:\n# " % name + shipped(name).replace("\n", "\n# "))
with open(os.path.join(recipes, "sshd")) as f:
    raw = f.read()
h.check("\n@include csam-2fa\n" in raw
        and "notingroup csam" in shipped("sshd"),
        "the shipped sshd recipe includes csam-2fa, scoped to group csam")

s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
config = os.path.join(d, "sshd_config")
with open(config, "w") as f:
    f.write("""Port %d
ListenAddress 127.0.0.1
HostKey %s/host_key
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
StrictModes no
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication yes
AuthenticationMethods publickey,keyboard-interactive
PermitRootLogin no
AllowUsers %s %s
LogLevel VERBOSE
LoginGraceTime 30
PrintMotd no
Subsystem sftp internal-sftp
""" % (port, d, d, d, USER, APP_USER))

env = h.env({
    "NSS_WRAPPER_PASSWD": passwd,
    "NSS_WRAPPER_GROUP": group,
})
env["LD_PRELOAD"] += " " + nss_wrapper
sshd_log = open(os.path.join(d, "sshd.log"), "w+")
cmd = [SSHD, "-D", "-e", "-f", config]
probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                       capture_output=True)
if probe.returncode == 0:
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
           'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd'
           ' && exec "$@"', "sh"] + cmd
else:
    print("# no mount namespace: creating /run/sshd as sshd.service would")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
# Stopped by make or a timeout, still stop sshd (the finally below).
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
sshd = subprocess.Popen(cmd, stdout=sshd_log, stderr=subprocess.STDOUT,
                        env=env)


def sshd_output():
    sshd_log.seek(0)
    return sshd_log.read()


try:
    deadline = time.monotonic() + 15
    while "Server listening on" not in sshd_output():
        if sshd.poll() is not None or time.monotonic() > deadline:
            print(sshd_output())
            raise SystemExit("sshd did not start")
        time.sleep(0.05)

    def login(identity="id", answer=None, user=USER):
        """ssh in and run a command; returns (rc, stdout, stderr, prompts,
        mails sent meanwhile)."""
        seen = os.path.join(d, "seen")
        with open(seen, "w") as f:
            f.write("\n".join(h.mails()))
        prompts = os.path.join(d, "prompts")
        open(prompts, "w").close()
        askpass = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "askpass.py")
        if answer is not None:
            askpass = os.path.join(d, "askpass-fixed")
            with open(askpass, "w") as f:
                f.write("#!/bin/sh\necho \"$1\" >> %s\necho %s\n" %
                        (prompts, answer))
            os.chmod(askpass, 0o755)
        cenv = {
            "PATH": "/usr/bin:/bin",
            "HOME": d,
            "SSH_ASKPASS": askpass,
            "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": ":0",
            "CSAM_ASKPASS_MAILDIR": h.maildir,
            "CSAM_ASKPASS_TO": TO,
            "CSAM_ASKPASS_SEEN": seen,
            "CSAM_ASKPASS_LOG": prompts,
        }
        args = [SSH, "-F", "/dev/null", "-p", str(port),
                "-i", os.path.join(d, identity),
                "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o",
                "PreferredAuthentications=publickey,keyboard-interactive",
                "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=10",
                "%s@127.0.0.1" % user, "echo CSAM_KEY=$CSAM_KEY"]
        before = set(h.mails())
        try:
            proc = subprocess.run(args, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, env=cenv,
                                  timeout=60)
        except subprocess.TimeoutExpired as e:
            proc = subprocess.CompletedProcess(
                args, -1, e.stdout or "",
                "timeout\n--- sshd\n" + sshd_output())
        with open(prompts) as f:
            shown = f.read()
        sent = [m for n, m in h.mails(TO).items() if n not in before]
        return proc.returncode, proc.stdout, proc.stderr, shown, sent

    rc, out, err, shown, sent = login()
    h.check(rc == 0, "ssh login with the key and the mailed code",
            "rc %d\n%s\n%s\n--- sshd\n%s" % (rc, out, err, sshd_output()))
    h.check("CSAM_KEY=email" in out,
            "the session sees CSAM_KEY from the PAM environment", out)
    h.check("Security code:" in shown, "the English prompt reached ssh",
            shown)
    h.check(len(sent) == 1, "one code mailed", len(sent))
    codes = [h.code_in(m) for m in sent]
    h.check(not any(c in sshd_output() for c in codes),
            "no code in sshd's log")

    rc, out, err, shown, sent = login(answer="00000000")
    h.check(rc == 255 and "CSAM_KEY" not in out,
            "wrong code: ssh login refused", "rc %d\n%s\n%s" % (rc, out, err))

    rc, out, err, shown, sent = login(identity="other_id")
    h.check(rc == 255, "unknown key: refused before the second factor",
            "rc %d\n%s" % (rc, err))
    h.check(not sent and shown == "",
            "unknown key: no code mailed, no prompt", shown)

    # The code mailed for the refused attempt is still pending: the next
    # login reuses it (no second mail) and succeeds with it.
    rc, out, err, shown, sent = login()
    h.check(rc == 0 and "CSAM_KEY=email" in out,
            "login after a typo, with the pending code",
            "rc %d\n%s\n%s" % (rc, out, err))
    h.check(len(sent) == 0, "the pending code was reused: no second mail",
            len(sent))

    # The app's key: nothing is sent, the prompt asks for the app's code.
    # The activation used the current step; the next one is accepted.
    before = set(h.mails())
    code = h.totp(h.totp_secrets[APP_USER], 30)
    rc, out, err, shown, sent = login(answer=code, user=APP_USER)
    h.check(rc == 0 and "CSAM_KEY=totp" in out,
            "ssh login with the key and the app's code",
            "rc %d\n%s\n%s\n--- sshd\n%s" %
            (rc, out, err, sshd_output()))
    h.check("Code from your mobile app:" in shown,
            "the app's prompt reached ssh", shown)
    h.check(set(h.mails()) == before, "the app's key: nothing mailed")
    h.check(code not in sshd_output(), "no TOTP code in sshd's log")
    rc, out, err, shown, sent = login(answer=code, user=APP_USER)
    h.check(rc == 255 and "CSAM_KEY" not in out,
            "the same app code again: ssh login refused",
            "rc %d\n%s\n%s" % (rc, out, err))
finally:
    # sshd's per-connection processes start their own sessions: find them
    # by parentage, before the listener goes and they are reparented.
    def descendants(pid):
        kids = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
        out, todo = [], [pid]
        while todo:
            for kid in kids.get(todo.pop(), []):
                out.append(kid)
                todo.append(kid)
        return out

    for pid in descendants(sshd.pid):
        try:
            os.kill(pid, 15)
        except OSError:
            pass
    sshd.terminate()
    try:
        sshd.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sshd.kill()
        sshd.wait()
    sshd_log.close()

h.finish()
