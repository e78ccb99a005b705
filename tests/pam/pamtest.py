# SPDX-License-Identifier: Apache-2.0
"""Shared harness of the pam_csam integration tests (tests/pam/test_*.py).

The tests run under tests/lib/run-with-services, which provides a
throwaway PostgreSQL (schema installed), an SMTP server storing mail in
a Maildir and an SMS gateway recording each message as a JSON file.  This
module writes a csam.conf and PAM service files into a temporary
directory, enrols accounts with tests/lib/csam-enrol (any key type; TOTP
codes come from Debian's oathtool, an implementation of its own), and runs
the real pamtester against the built pam_csam.so through Debian's
pam_wrapper (nothing is installed into /etc/pam.d).  pam_wrapper turns
the module's pam_syslog lines into "SYSLOG(prio): ..." lines on stderr,
so a test sees exactly what an administrator's syslog would.

No root needed.  pam_csam refuses a csam.conf that root does not own
(DESIGN 3.4), and only root can make one; so without root the programs
that load the module (pamtester, pam-loop) run in a user namespace of
their own that maps the test's user to root (unshare --map-root-user).
There the test's files belong to root, every other user's (the real
root's included) to nobody, and the program gains no privilege on the
machine.  Cases that need the machine's root (a real setuid su, sshd)
say so with require_real_root(), which skips them with the reason.
"""
import ctypes
import email
import json
import email.policy
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
HARD_ERROR = 99


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def real_root():
    """True when this process is the machine's root, not only root of a
    user namespace."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True


def find_lib(name):
    for pattern in ("/usr/lib/*/" + name, "/usr/lib/" + name,
                    "/lib/*/" + name):
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    return None


def pam_codes():
    """PAM return value names by pam_strerror text (pamtester prints the
    text), from the system's own libpam so the two can never disagree."""
    names = ["PAM_SUCCESS", "PAM_OPEN_ERR", "PAM_SYMBOL_ERR",
             "PAM_SERVICE_ERR", "PAM_SYSTEM_ERR", "PAM_BUF_ERR",
             "PAM_PERM_DENIED", "PAM_AUTH_ERR", "PAM_CRED_INSUFFICIENT",
             "PAM_AUTHINFO_UNAVAIL", "PAM_USER_UNKNOWN", "PAM_MAXTRIES",
             "PAM_NEW_AUTHTOK_REQD", "PAM_ACCT_EXPIRED", "PAM_SESSION_ERR",
             "PAM_CRED_UNAVAIL", "PAM_CRED_EXPIRED", "PAM_CRED_ERR",
             "PAM_NO_MODULE_DATA", "PAM_CONV_ERR", "PAM_AUTHTOK_ERR",
             "PAM_AUTHTOK_RECOVERY_ERR", "PAM_AUTHTOK_LOCK_BUSY",
             "PAM_AUTHTOK_DISABLE_AGING", "PAM_TRY_AGAIN", "PAM_IGNORE",
             "PAM_ABORT", "PAM_AUTHTOK_EXPIRED", "PAM_MODULE_UNKNOWN",
             "PAM_BAD_ITEM", "PAM_CONV_AGAIN", "PAM_INCOMPLETE"]
    lib = ctypes.CDLL("libpam.so.0")
    lib.pam_strerror.restype = ctypes.c_char_p
    lib.pam_strerror.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return {lib.pam_strerror(None, i).decode(): n
            for i, n in enumerate(names)}


class Result:
    def __init__(self, rc, stdout, stderr, codes):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.syslog = [m.group(2) for m in
                       re.finditer(r"SYSLOG\((\d+)\): (.*)", stderr)]
        self.status = "PAM_SUCCESS" if rc == 0 else None
        for line in stderr.splitlines():
            if line.startswith("pamtester: ") and rc != 0:
                self.status = codes.get(line[len("pamtester: "):].strip(),
                                        self.status)

    def __repr__(self):
        return "<pamtester rc=%d %s>" % (self.rc, self.status)


class Running:
    """A pamtester process started by Harness.start()."""

    def __init__(self, harness, args, env):
        self.harness = harness
        self.typed = None
        self.out = tempfile.TemporaryFile(mode="w+", dir=harness.dir)
        self.err = tempfile.TemporaryFile(mode="w+", dir=harness.dir)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=self.out, stderr=self.err,
                                     env=env, text=True)

    def prompted(self, timeout=20.0):
        """Wait until the prompt is shown; False if it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.err.seek(0)
            if Harness.prompted(self.err.read()):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def type(self, typed):
        """Type `typed` (None: nothing) and close the input."""
        self.typed = typed
        try:
            if typed is not None:
                self.proc.stdin.write(typed + "\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def finish(self, typed=None, timeout=60):
        """Type `typed` unless type() was called, and collect the
        Result."""
        if not self.proc.stdin.closed:
            self.type(typed)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        self.out.seek(0)
        self.err.seek(0)
        res = Result(rc, self.out.read(), self.err.read(),
                     self.harness.codes)
        self.out.close()
        self.err.close()
        res.typed = self.typed
        res.mail = None
        res.sms = None
        return res


class Harness:
    def __init__(self):
        for var in ("CSAM_SRCDIR", "CSAM_BUILDDIR", "CSAM_TEST_PG",
                    "CSAM_TEST_PG_PAM", "CSAM_TEST_PG_WEB",
                    "CSAM_TEST_MAILDIR", "CSAM_TEST_SMTP_URL",
                    "CSAM_TEST_SECRET_FILE", "CSAM_TEST_TMPDIR"):
            if not os.environ.get(var):
                print("%s is not set: run this under tests/lib/run-test" % var)
                sys.exit(HARD_ERROR)
        self.srcdir = os.environ["CSAM_SRCDIR"]
        self.builddir = os.environ["CSAM_BUILDDIR"]
        self.maildir = os.environ["CSAM_TEST_MAILDIR"]
        # pam_csam connects as a member of csam_pam (conf/sql/roles.sql);
        # the tests' own SQL runs as a superuser.
        self.pg = os.environ["CSAM_TEST_PG"]
        self.pg_pam = os.environ["CSAM_TEST_PG_PAM"]
        self.sms_url = os.environ.get("CSAM_TEST_SMS_URL")
        self.sms_dir = os.environ.get("CSAM_TEST_SMS_DIR")
        self.totp_secrets = {}
        self.module = os.path.join(self.builddir, "pam_csam", ".libs",
                                   "pam_csam.so")
        self.enrol_tool = os.path.join(self.builddir, "tests", "lib",
                                       "csam-enrol")
        self.real_root = real_root()
        self.userns = []
        if not self.real_root:
            self.userns = ["unshare", "--user", "--map-root-user"]
            probe = subprocess.run(self.userns + ["true"],
                                   capture_output=True, text=True)
            if probe.returncode != 0:
                skip("not root, and no user namespace for the PAM programs"
                     " (%s): pam_csam needs a csam.conf owned by root" %
                     probe.stderr.strip())
        self.pam_wrapper = find_lib("libpam_wrapper.so")
        if self.pam_wrapper is None:
            skip("libpam_wrapper.so not found (Debian package libpam-wrapper)")
        if not os.access("/usr/bin/pamtester", os.X_OK):
            skip("pamtester not found (Debian package pamtester)")
        for path in (self.module, self.enrol_tool):
            if not os.path.exists(path):
                print("%s is not built" % path)
                sys.exit(HARD_ERROR)
        self.dir = tempfile.mkdtemp(prefix="pam-",
                                    dir=os.environ["CSAM_TEST_TMPDIR"])
        self.services = os.path.join(self.dir, "services")
        os.mkdir(self.services)
        # Without an "other" service libpam logs an error on every start.
        self.service("other", auth=["required pam_deny.so"],
                     account=["required pam_deny.so"])
        self.conf = self.write_conf("csam.conf")
        # csam-enrol registers and activates as the web does: as csam_web.
        self.enrol_conf = self.write_conf(
            "enrol.conf", database=os.environ["CSAM_TEST_PG_WEB"])
        self.codes = pam_codes()
        self.failures = 0
        self.parsed = {}

    # ---- files

    def write_conf(self, name, **overrides):
        settings = {
            "database": self.pg_pam,
            "secret_file": os.environ["CSAM_TEST_SECRET_FILE"],
            "public_url": "https://portal.example.test",
            "mail_relay": os.environ["CSAM_TEST_SMTP_URL"],
            "mail_from": "CSAM Mes clés numériques <noreply@example.test>",
            "data_dir": os.path.join(self.srcdir, "conf"),
            # absent: the machine's /etc/csam/templates is not the test's
            "templates_dir": os.path.join(self.dir, "templates"),
            "mail_timeout": "5",
        }
        if self.sms_url:
            settings.update({"sms_transport": "http",
                             "sms_url": self.sms_url + "/send",
                             "sms_timeout": "5"})
        settings.update(overrides)
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("# written by tests/pam/pamtest.py\n")
            for key, value in settings.items():
                if value is not None:
                    f.write('%s = "%s"\n' % (key, value))
        os.chmod(path, 0o600)
        return path

    def service(self, name, auth=None, account=None):
        """A service file; module lines name pam_csam.so by its built path
        (pam_wrapper needs absolute paths for modules outside libpam's
        directory)."""
        def expand(line):
            return line.replace("pam_csam.so", self.module)

        with open(os.path.join(self.services, name), "w") as f:
            for kind, lines in (("auth", auth), ("account", account)):
                for line in lines or []:
                    f.write("%-8s %s\n" % (kind, expand(line)))
        return name

    def csam_service(self, name, args="", conf=None, account_args=None):
        conf = conf or self.conf
        auth = "required pam_csam.so config=%s %s" % (conf, args)
        acct = "required pam_csam.so config=%s %s" % (
            conf, args if account_args is None else account_args)
        return self.service(name, auth=[auth.strip()], account=[acct.strip()])

    # ---- mail

    def mails(self, to=None):
        """{filename: message} of the Maildir, optionally only those
        addressed to `to`."""
        out = {}
        new = os.path.join(self.maildir, "new")
        if not os.path.isdir(new):
            return out
        for name in os.listdir(new):
            msg = self.parsed.get(name)
            if msg is None:
                # Delivered files never change (Maildir): parse each once.
                with open(os.path.join(new, name), "rb") as f:
                    msg = email.message_from_bytes(
                        f.read(), policy=email.policy.default)
                self.parsed[name] = msg
            rcpts = msg.get_all("X-Csam-Envelope-To") or []
            if to is None or to in rcpts or to in str(msg.get("To", "")):
                out[name] = msg
        return out

    @staticmethod
    def text_of(msg):
        part = msg.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def code_in(self, msg):
        runs = re.findall(r"(?<!\d)\d{6,8}(?!\d)", self.text_of(msg))
        if len(runs) != 1:
            raise AssertionError("mail carries %d codes, not one" % len(runs))
        return runs[0]

    def codes_to(self, to):
        """The codes of every mail to `to` that carries one."""
        codes = []
        for msg in self.mails(to).values():
            runs = re.findall(r"(?<!\d)\d{6,8}(?!\d)", self.text_of(msg))
            if len(runs) == 1:
                codes.append(runs[0])
        return codes

    def latest_mail(self, to):
        """The newest mail to `to` carrying a code, or None."""
        new = os.path.join(self.maildir, "new")
        best = None
        for name, msg in self.mails(to).items():
            when = os.stat(os.path.join(new, name)).st_mtime_ns
            if re.search(r"(?<!\d)\d{6,8}(?!\d)", self.text_of(msg)) and \
                    (best is None or when > best[0]):
                best = (when, msg)
        return best[1] if best else None

    # ---- SMS (tests/lib/sms_sink.py: one JSON record per POST)

    def sms(self, to=None):
        """{filename: text} of the SMS the gateway recorded (in name order
        = arrival order), optionally only those to `to` (E.164)."""
        out = {}
        if not self.sms_dir or not os.path.isdir(self.sms_dir):
            return out
        for name in sorted(os.listdir(self.sms_dir)):
            if name.startswith(".") or not name.endswith(".json"):
                continue
            with open(os.path.join(self.sms_dir, name), encoding="utf-8") as f:
                record = json.load(f)
            try:
                body = json.loads(record.get("body", ""))
            except ValueError:
                continue
            if to is None or body.get("to") == to:
                out[name] = body.get("text", "")
        return out

    @staticmethod
    def sms_code(text):
        runs = re.findall(r"(?<!\d)\d{6,8}(?!\d)", text)
        if len(runs) != 1:
            raise AssertionError("SMS carries %d codes, not one" % len(runs))
        return runs[0]

    def wait_code_sms(self, to, before, proc, err, timeout=20.0):
        """The text of the SMS whose code answers the prompt: a new one to
        `to`, or the latest one when the module reused a pending code.
        None if the program exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [n for n in self.sms(to) if n not in before]
            err.seek(0)
            if fresh or self.prompted(err.read()):
                sent = self.sms(to)
                fresh = [n for n in sent if n not in before]
                if fresh:
                    return sent[fresh[0]]
                return sent[sorted(sent)[-1]] if sent else None
            if proc.poll() is not None:
                return None
            time.sleep(0.01)
        print("# no prompt and no mail to %s within %.0f s" % (to, timeout))
        return None

    # ---- TOTP

    @staticmethod
    def totp(secret, offset=0):
        """The app's code `offset` seconds from now, by oathtool (RFC 6238,
        SHA-1, 6 digits, 30 s), not by libcsam."""
        proc = subprocess.run(["oathtool", "--totp", "-b", secret, "-N",
                               "@%d" % (int(time.time()) + offset)],
                              capture_output=True, text=True, timeout=10)
        if proc.returncode != 0:
            raise AssertionError("oathtool failed: " + proc.stderr.strip())
        return proc.stdout.strip()

    @staticmethod
    def prompted(stderr):
        """1 once pamtester shows a prompt: text after its "performing
        operation" line that is not pam_wrapper's own logging."""
        at = stderr.find("performing operation - authenticate")
        if at < 0:
            return False
        rest = stderr[at:].split("\n", 1)
        if len(rest) < 2:
            return False
        rest = re.sub(r"PWRAP_\w+\[[^\]]*\] - [^\n]*\n?", "", rest[1])
        return rest.strip() != ""

    def wait_code_mail(self, to, before, proc, err, timeout=60.0):
        """The mail whose code answers the prompt: a new mail to `to`, or,
        when the module reused a pending code (the prompt came and no new
        mail), the latest one.  None if the program exits first, or if
        neither comes within timeout (as long as pamtester's own: a loaded
        machine takes seconds to connect, hash and mail, and an empty
        answer then would count as a wrong code)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = {n: m for n, m in self.mails(to).items()
                     if n not in before}
            if fresh:
                return fresh[sorted(fresh)[0]]
            err.seek(0)
            if self.prompted(err.read()):
                fresh = {n: m for n, m in self.mails(to).items()
                         if n not in before}
                if fresh:
                    return fresh[sorted(fresh)[0]]
                return self.latest_mail(to)
            if proc.poll() is not None:
                return None
            time.sleep(0.01)
        print("# no prompt and no mail to %s within %.0f s" % (to, timeout))
        return None

    # ---- tools

    def env(self, extra=None):
        env = dict(os.environ)
        preload = [self.pam_wrapper]
        if os.environ.get("CSAM_TEST_PRELOAD"):
            # Modules built with ASan run inside programs built without it:
            # the runtime must come first in the preload list.
            preload.insert(0, os.environ["CSAM_TEST_PRELOAD"])
            env["PAM_WRAPPER_DISABLE_DEEPBIND"] = "1"
            env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        env.update({
            "LD_PRELOAD": " ".join(preload),
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": self.services,
            "PAM_WRAPPER_DEBUGLEVEL": "2",
        })
        env.update(extra or {})
        return env

    def require_real_root(self, why):
        """Skip the whole test, with `why`, unless run by the machine's
        root."""
        if not self.real_root:
            skip("needs root: " + why)

    def as_root(self, args, env):
        """(args, env) to run a program that loads pam_csam: as it is
        under root, else in the user namespace.  The preload list moves
        onto the program itself: pam_wrapper preloaded into unshare would
        leave its temporary directory behind when unshare execs."""
        if not self.userns:
            return args, env
        env = dict(env)
        preload = env.pop("LD_PRELOAD", None)
        if preload is None:
            return self.userns + args, env
        return self.userns + ["/usr/bin/env", "LD_PRELOAD=" + preload] + \
            args, env

    def enrol(self, user, addr, lang="fr", key="email", phone=None,
              nrn=None, recover=False, conf=None):
        """Register and activate `user` with one key of type `key`.  For
        totp the app's secret is kept in self.totp_secrets[user]; for sms
        `phone` is the number as the citizen types it.  nrn: the person's
        national number (default: a random one).  recover: the person of
        nrn has the account `user`; register them again at addr and
        recover it (a new password and the `key` key; DESIGN 2.7).
        conf: the csam.conf csam-enrol reads (default: the test
        database, as csam_web)."""
        args = [self.enrol_tool, "-k", key]
        if key == "sms":
            args += ["-p", phone, "-s", self.sms_dir]
        if nrn is not None:
            args += ["-n", nrn]
        if recover:
            args += ["-r"]
        proc = subprocess.run(args + [conf or self.enrol_conf, self.maildir,
                                      user, addr, lang], capture_output=True,
                              text=True, timeout=60)
        if proc.returncode != 0:
            raise AssertionError("csam-enrol %s failed: %s" %
                                 (user, proc.stderr.strip()))
        words = proc.stdout.split()
        if words[:1] != [user]:
            raise AssertionError("csam-enrol %s named another account: %s"
                                 % (user, proc.stdout.strip()))
        if key == "totp":
            self.totp_secrets[user] = words[2]
        return user

    def start(self, service, user, ops=("authenticate",), env=None,
              items=()):
        """Start pamtester without answering it: a Running, for tests that
        drive several at once."""
        args = ["/usr/bin/pamtester", "-v"]
        for item in items:      # e.g. "rhost=client.example"
            args += ["-I", item]
        args += [service, user] + list(ops)
        args, env = self.as_root(args, self.env(env))
        return Running(self, args, env)

    def pamtester(self, service, user, ops=("authenticate",), answer=None,
                  mail_to=None, before_answer=None, env=None, timeout=60,
                  items=(), sms_to=None):
        """Run pamtester; ops are its operations, e.g.
        "authenticate(PAM_SILENT)".  answer: a string typed at the prompt;
        or, with mail_to, None to type the code of the next mail to mail_to
        (or of the pending one the module reused; an empty line if there
        is none); likewise sms_to for the next SMS to that number.
        before_answer(mail) runs once that mail is in, before the code is
        typed.  Returns a Result; .mail is the mail read (or None), .sms
        the SMS text read (or None), .typed what was typed."""
        before = set(self.mails())
        before_sms = set(self.sms())
        run = self.start(service, user, ops, env, items)
        mail = sms = None
        typed = answer
        if typed is None and mail_to is not None:
            mail = self.wait_code_mail(mail_to, before, run.proc, run.err)
            typed = self.code_in(mail) if mail is not None else ""
            if mail is not None and before_answer is not None:
                before_answer(mail)
        elif typed is None and sms_to is not None:
            sms = self.wait_code_sms(sms_to, before_sms, run.proc, run.err)
            typed = self.sms_code(sms) if sms is not None else ""
        res = run.finish(typed, timeout)
        res.mail = mail
        res.sms = sms
        return res

    def psql(self, sql):
        psql = os.path.join(os.environ.get("CSAM_TEST_PG_BIN", "/usr/bin"),
                            "psql")
        proc = subprocess.run([psql, "-X", "-q", "-At", "-v",
                               "ON_ERROR_STOP=1", "-d", self.pg, "-c", sql],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise AssertionError("psql failed: %s" % proc.stderr.strip())
        return proc.stdout.strip()

    # ---- reporting

    def check(self, cond, what, detail=None):
        if cond:
            print("ok - " + what)
        else:
            self.failures += 1
            print("FAIL - " + what)
            if detail is not None:
                print("  " + str(detail).replace("\n", "\n  "))
        return cond

    def expect(self, res, status, what):
        """res ended with PAM status `status` (a name)."""
        return self.check(res.status == status,
                          "%s: %s" % (what, status),
                          "got %s (rc %d)\nstdout: %s\nstderr: %s" %
                          (res.status, res.rc, res.stdout, res.stderr))

    def no_secret_logged(self, res, secrets, what):
        """None of the secrets (codes typed or mailed) in any log line or
        on the program's output beyond the prompt."""
        leaked = [s for s in secrets if s and any(s in line for line in
                                                  res.syslog)]
        return self.check(not leaked, what + ": no code in the log",
                          "\n".join(res.syslog))

    def finish(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.failures:
            print("%d check(s) failed" % self.failures)
            sys.exit(1)
        sys.exit(0)
