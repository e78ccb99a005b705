# SPDX-License-Identifier: Apache-2.0
"""What a local attacker puts in the environment of a PAM program
(DESIGN 3.4: the environment never steers pam_csam), for
test_pam_environment.py (pamtester) and test_pam_su.py (setuid su).

Attacker's PostgreSQL: a second throwaway cluster with the schema, on
127.0.0.2 and the real cluster's port, so that PGHOSTADDR=127.0.0.2 alone
(or a service entry naming that address) would move the module onto it.
There the attacker enrols the victim's username with an address of their
own: a module that connected there would mail the code to the attacker.

Attacker's files: a service file, a password file, a home directory with
~/.pg_service.conf, ~/.pgpass and ~/.postgresql/, an OpenSSL configuration
and certificate paths that are FIFOs (whoever opens one to read waits for
ever, so a library that obeyed the variable would hang the login), and a
TLS key log path that must never be created.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOSTILE_ADDR = "127.0.0.2"
ATTACKER_MAIL = "attacker@evil.test"


def real_port(conninfo):
    m = re.search(r"\bport=(\d+)", conninfo)
    if not m:
        raise AssertionError("no port= in %r" % conninfo)
    return int(m.group(1))


def dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cluster:
    """The attacker's PostgreSQL on HOSTILE_ADDR, stopped at exit."""

    def __init__(self, harness):
        self.h = harness
        self.bin = os.environ.get("CSAM_TEST_PG_BIN", "/usr/bin")
        self.port = real_port(harness.pg)
        self.root = tempfile.mkdtemp(prefix="hostile-pg-",
                                     dir=os.environ["CSAM_TEST_TMPDIR"])
        os.chmod(self.root, 0o711)
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "log")
        # PostgreSQL refuses root: as root the cluster is postgres's, as
        # run-with-services does it.
        if harness.real_root:
            self.user = "postgres"
            self.run_as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        else:
            self.user = re.search(r"\buser=(\S+)", harness.pg).group(1)
            self.run_as = []
        self.conninfo = "host=%s port=%d user=%s dbname=csam" % (
            HOSTILE_ADDR, self.port, self.user)
        self.started = False
        proc = subprocess.run(
            self.run_as + [os.path.join(self.bin, "initdb"), "-D", self.data,
                           "-U", self.user, "-A", "trust", "-E", "UTF8",
                           "--locale=C", "--no-sync"],
            capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError("initdb failed: " + proc.stderr)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '%s'\nport = %d\n"
                    "unix_socket_directories = '%s'\nfsync = off\n"
                    "max_connections = 20\nshared_buffers = 16MB\n" %
                    (HOSTILE_ADDR, self.port, self.root))
        atexit.register(self.stop)
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
        self.ctl("start", "-l", self.log)
        self.started = True
        self.psql("CREATE DATABASE csam", dbname="postgres")
        proc = subprocess.run(
            [os.path.join(self.bin, "psql"), "-X", "-q", "-v",
             "ON_ERROR_STOP=1", "-d", self.conninfo, "-f",
             os.path.join(harness.srcdir, "conf", "sql", "install.sql")],
            capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise AssertionError("install.sql failed: " + proc.stderr)

    def ctl(self, *args):
        proc = subprocess.run(
            self.run_as + [os.path.join(self.bin, "pg_ctl"), "-D", self.data,
                           "-w"] + list(args),
            capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = ""
            if os.path.exists(self.log):
                with open(self.log) as f:
                    log = f.read()
            raise AssertionError("pg_ctl %s failed: %s%s" %
                                 (args[0], proc.stderr, log))

    def stop(self):
        if self.started:
            self.started = False
            subprocess.run(
                self.run_as + [os.path.join(self.bin, "pg_ctl"), "-D",
                               self.data, "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql, dbname="csam"):
        conninfo = self.conninfo.replace("dbname=csam", "dbname=" + dbname)
        proc = subprocess.run(
            [os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-v",
             "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
            capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise AssertionError("psql (hostile) failed: " + proc.stderr)
        return proc.stdout.strip()

    def enrol(self, user):
        """The victim's username, enrolled here with the attacker's
        address (csam-enrol through a csam.conf naming this cluster)."""
        conf = self.h.write_conf("hostile-enrol.conf", database=self.conninfo)
        self.h.enrol(user, ATTACKER_MAIL, "en", conf=conf)

    def forget(self):
        """Drop the codes issued here, so that a module sent here again
        issues a new one rather than reusing a pending one."""
        self.psql("DELETE FROM csam_challenges WHERE purpose = 'pam_login'")

    def pam_challenges(self):
        """Codes pam_csam issued here: must stay 0."""
        return int(self.psql("SELECT count(*) FROM csam_challenges"
                             " WHERE purpose = 'pam_login'"))


class Files:
    """The attacker's files, in a directory of their own."""

    def __init__(self, harness):
        self.dir = tempfile.mkdtemp(prefix="hostile-",
                                    dir=harness.dir)
        os.chmod(self.dir, 0o755)
        entry = "[evil]\nhostaddr=%s\nhost=%s\n" % (HOSTILE_ADDR,
                                                    HOSTILE_ADDR)
        self.service_file = self.write("pg_service.conf", entry)
        self.sysconf = self.dir     # PGSYSCONFDIR/pg_service.conf
        self.home = os.path.join(self.dir, "home")
        os.makedirs(os.path.join(self.home, ".postgresql"))
        self.write("home/.pg_service.conf", entry)
        self.write("home/.pgpass", "*:*:*:*:attacker\n", 0o600)
        self.write("home/.postgresql/root.crt", "not a certificate\n")
        self.passfile = self.write("pgpass", "*:*:*:*:attacker\n", 0o600)
        self.keylog = os.path.join(self.dir, "keylog")
        self.fifo = os.path.join(self.dir, "fifo")
        os.mkfifo(self.fifo, 0o644)

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def variables(self):
        """{name: value}: each variable a library of pam_csam's might
        read, set to the attacker's value.  Proxies point at a port
        nobody listens on."""
        proxy = "http://127.0.0.1:%d" % dead_port()
        socks = "socks5h://127.0.0.1:%d" % dead_port()
        return {
            # libpq: where ...
            "PGHOSTADDR": HOSTILE_ADDR,
            "PGHOST": HOSTILE_ADDR,
            "PGPORT": "1",
            "PGSERVICE": "evil",
            "PGSERVICEFILE": self.service_file,
            "PGSYSCONFDIR": self.sysconf,
            "HOME": self.home,
            "PGDATABASE": "evil",
            "PGUSER": "evil",
            # ... and how
            "PGPASSFILE": self.passfile,
            "PGPASSWORD": "attacker",
            "PGOPTIONS": "-c default_transaction_read_only=on",
            "PGSSLMODE": "require",
            "PGGSSENCMODE": "require",
            "PGTARGETSESSIONATTRS": "read-only",
            "PGCONNECT_TIMEOUT": "1",
            "PGCLIENTENCODING": "SQL_ASCII",
            "PGAPPNAME": "evil",
            "PGTZ": "Pacific/Kiritimati",
            "PGDATESTYLE": "SQL, DMY",
            "PGSSLROOTCERT": self.fifo,
            "PGSSLCERT": self.fifo,
            "PGSSLKEY": self.fifo,
            # libcurl (mail relay, SMS gateway)
            "ALL_PROXY": socks,
            "all_proxy": socks,
            "smtp_proxy": proxy,
            "http_proxy": proxy,
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "SSLKEYLOGFILE": self.keylog,
        }

    def openssl_variables(self):
        """OpenSSL's own: it reads them through its secure getenv, which
        ignores them in a setuid program (su) and obeys them elsewhere,
        where the environment is the administrator's (pamtester here,
        sshd): only test_pam_su.py sets them."""
        return {
            "OPENSSL_CONF": self.fifo,
            "SSL_CERT_FILE": self.fifo,
            "SSL_CERT_DIR": self.dir,
        }

    # Variables that move the module onto the attacker's database or
    # break it, each alone (some need a companion to do anything).
    ALONE = [
        ("PGHOSTADDR",),
        ("PGSERVICE", "PGSERVICEFILE"),
        ("PGSERVICE", "PGSYSCONFDIR"),
        ("PGSERVICE", "HOME"),
        ("PGOPTIONS",),
        ("PGSSLMODE",),
        ("PGGSSENCMODE",),
        ("PGTARGETSESSIONATTRS",),
        ("ALL_PROXY",),
        ("smtp_proxy",),
        ("SSLKEYLOGFILE",),
    ]

    def keylog_written(self):
        return os.path.exists(self.keylog)


def wait_port(addr, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((addr, port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
