# SPDX-License-Identifier: Apache-2.0
"""Shared harness of the csam-admin tests (tests/admin/test_*.py).

They run under tests/lib/run-with-services (a throwaway PostgreSQL with
the schema installed, an SMTP server writing a Maildir).  This module
writes csam.conf files, copies the schema's files into a data directory
of its own (csam-admin refuses to run SQL from files or directories that
others can write, and the source tree's are whatever the checkout made
them), makes accounts with tests/lib/csam-enrol, and runs the built
csam-admin.

csam-admin reads csam.conf as pam_csam does: it refuses one that root
does not own.  Without root it runs in a user namespace that maps the
test's user to root (unshare --map-root-user), as pamtest.py does for
the PAM programs: there the test's files belong to root, and the program
gains no privilege on the machine.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HARD_ERROR = 99


def real_root():
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "<csam-admin rc=%d\nstdout: %s\nstderr: %s>" % (
            self.rc, self.out, self.err)


class Harness:
    def __init__(self):
        for var in ("CSAM_SRCDIR", "CSAM_BUILDDIR", "CSAM_TEST_PG",
                    "CSAM_TEST_SECRET_FILE", "CSAM_TEST_TMPDIR"):
            if not os.environ.get(var):
                print("%s is not set: run this under tests/lib/run-test" % var)
                sys.exit(HARD_ERROR)
        self.srcdir = os.environ["CSAM_SRCDIR"]
        self.builddir = os.environ["CSAM_BUILDDIR"]
        self.pg = os.environ["CSAM_TEST_PG"]
        self.pgbin = os.environ.get("CSAM_TEST_PG_BIN", "/usr/bin")
        self.maildir = os.environ.get("CSAM_TEST_MAILDIR")
        self.tool = os.path.join(self.builddir, "admin", "csam-admin")
        self.enrol_tool = os.path.join(self.builddir, "tests", "lib",
                                       "csam-enrol")
        self.session_tool = os.path.join(self.builddir, "tests", "admin",
                                         "csam-session")
        for path in (self.tool, self.enrol_tool, self.session_tool):
            if not os.path.exists(path):
                print("%s is not built" % path)
                sys.exit(HARD_ERROR)
        self.userns = []
        if not real_root():
            self.userns = ["unshare", "--user", "--map-root-user"]
            probe = subprocess.run(self.userns + ["true"],
                                   capture_output=True, text=True)
            if probe.returncode != 0:
                print("SKIP: not root, and no user namespace (%s): csam-admin"
                      " needs a csam.conf owned by root" %
                      probe.stderr.strip())
                sys.exit(SKIP)
        self.dir = tempfile.mkdtemp(prefix="admin-",
                                    dir=os.environ["CSAM_TEST_TMPDIR"])
        os.chmod(self.dir, 0o755)
        self.data_dir = os.path.join(self.dir, "data")
        shutil.copytree(os.path.join(self.srcdir, "conf", "sql"),
                        os.path.join(self.data_dir, "sql"))
        for root, dirs, files in os.walk(self.data_dir):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        # As the administrator's role (conf/sql/roles.sql): what csam-admin
        # does must fit csam_admin's grants.  Databases a test makes for
        # itself (schema upgrades) have no roles and use the owner.
        self.conf = self.write_conf(
            "csam.conf",
            database=os.environ.get("CSAM_TEST_PG_ADMIN", self.pg))
        # csam-enrol sends mail with templates: the source tree's.
        self.enrol_conf = self.write_conf(
            "enrol.conf", data_dir=os.path.join(self.srcdir, "conf"))
        self.failures = 0
        self.passed = 0

    def write_conf(self, name, **overrides):
        settings = {
            "database": self.pg,
            "secret_file": os.environ["CSAM_TEST_SECRET_FILE"],
            "public_url": "https://portal.example.test",
            "mail_relay": os.environ.get("CSAM_TEST_SMTP_URL",
                                         "smtp://127.0.0.1:25"),
            "mail_from": "CSAM <noreply@example.test>",
            "data_dir": self.data_dir,
            "mail_timeout": "5",
        }
        settings.update(overrides)
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("# written by tests/admin/admintest.py\n")
            for key, value in settings.items():
                if value is not None:
                    f.write('%s = "%s"\n' % (key, value))
        os.chmod(path, 0o600)
        return path

    def admin(self, *args, conf=None, json_out=False):
        argv = [self.tool, "-c", conf or self.conf]
        if json_out:
            argv.append("--json")
        argv += list(args)
        proc = subprocess.run(self.userns + argv, capture_output=True,
                              text=True, timeout=300,
                              stdin=subprocess.DEVNULL)
        return Run(proc)

    def enrol(self, user, addr, nrn=None, conf=None):
        args = [self.enrol_tool, "-k", "email"]
        if nrn is not None:
            args += ["-n", nrn]
        proc = subprocess.run(args + [conf or self.enrol_conf, self.maildir,
                                      user,
                                      addr, "fr"], capture_output=True,
                              text=True, timeout=60)
        if proc.returncode != 0:
            raise AssertionError("csam-enrol %s failed: %s" %
                                 (user, proc.stderr.strip()))
        return user

    def session(self, *args):
        proc = subprocess.run([self.session_tool, self.enrol_conf] +
                              list(args), capture_output=True, text=True,
                              timeout=60)
        return proc.returncode, proc.stdout.strip()

    def psql(self, sql, db=None):
        proc = subprocess.run([os.path.join(self.pgbin, "psql"), "-X", "-q",
                               "-At", "-v", "ON_ERROR_STOP=1", "-d",
                               db or self.pg, "-c", sql],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError("psql failed: %s" % proc.stderr.strip())
        return proc.stdout.strip()

    def db(self, name):
        """The conninfo of a new empty database `name` on the cluster."""
        self.psql("CREATE DATABASE %s" % name)
        return self.pg.replace("dbname=csam", "dbname=" + name)

    def check(self, cond, what, detail=None):
        if cond:
            self.passed += 1
            print("ok - " + what)
        else:
            self.failures += 1
            print("FAIL - " + what)
            if detail is not None:
                print("  " + str(detail).replace("\n", "\n  "))
        return cond

    def finish(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        print("%d passed, %d failed" % (self.passed, self.failures))
        sys.exit(1 if self.failures else 0)
