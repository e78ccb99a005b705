# SPDX-License-Identifier: Apache-2.0
"""Database statements counted in PostgreSQL's own log, for
tests/bench/protected.sh (python3 standard library).

log_statement = all on the throwaway cluster (ALTER SYSTEM and a reload),
with the application name in each line's prefix so that psql's own
statements (the harness's) are left out.  An idle backend applies a reload
only after its next command, so httpd is restarted once logging is on:
its pooled connections are then new and log from their first statement.
A statement here is a line "statement: ..." (simple protocol) or
"execute NAME: ..." (extended protocol); each is one round trip unless a
client pipelines, which libpq does only when asked.
"""
import collections
import http.client
import os
import re
import subprocess
import time
import urllib.parse

import csamtest as t

LINE = re.compile(r"^([^|]*)\|\d+\|LOG:\s+(statement|execute [^:]*): (.*)$")


def pg_log_path():
    # run-with-services starts the cluster with `pg_ctl -l $tmp/pg/log`
    # and puts its pg-ctl script at $tmp/pg-ctl.
    return os.path.join(os.path.dirname(os.environ["CSAM_TEST_PG_CTL"]),
                        "pg", "log")


class StatementLog:
    def __init__(self):
        self.path = pg_log_path()
        if not os.path.exists(self.path):
            raise t.Failure("no PostgreSQL log at %s" % self.path)
        t.psql("ALTER SYSTEM SET log_statement = 'all'")
        t.psql("ALTER SYSTEM SET log_line_prefix = '%a|%p|'")
        t.psql("SELECT pg_reload_conf()")
        self._wait_logging()
        self.marks = []
        self.steps = collections.OrderedDict()

    def _wait_logging(self):
        marker = "csam_bench_marker_%d" % os.getpid()
        deadline = time.time() + 10
        while time.time() < deadline:
            start = self.offset()
            t.psql("SELECT '%s'" % marker)
            with open(self.path, "rb") as f:
                f.seek(start)
                if marker.encode() in f.read():
                    return
            time.sleep(0.2)
        raise t.Failure("log_statement = all did not take effect")

    def restart_httpd(self):
        subprocess.run([os.environ["CSAM_TEST_HTTPD_RESTART"], "1"],
                       check=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if t.request("GET", "/bench/a/index.html")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise t.Failure("httpd did not come back after its restart")

    def close(self):
        t.psql("ALTER SYSTEM RESET log_statement")
        t.psql("ALTER SYSTEM RESET log_line_prefix")
        t.psql("SELECT pg_reload_conf()")

    def offset(self):
        return os.path.getsize(self.path)

    def statements(self, start, end):
        """(application name, statement text) of httpd's statements
        logged between two offsets."""
        with open(self.path, "rb") as f:
            f.seek(start)
            text = f.read(end - start).decode("utf-8", "replace")
        out = []
        for line in text.splitlines():
            m = LINE.match(line)
            if m and m.group(1) != "psql":
                out.append((m.group(2), " ".join(m.group(3).split())))
        return out

    @staticmethod
    def summary(stmts, per, limit=8):
        counts = collections.Counter(
            (kind if kind == "statement" else kind.split()[0]) + ": "
            + text[:90] for kind, text in stmts)
        return "\n".join("      %6.2f x %s" % (n / per, s)
                         for s, n in counts.most_common(limit))

    def protected(self, base, path, cookie, n, host, what):
        """n GETs of a protected path on one keep-alive connection, on a
        freshly restarted httpd: the first request (new database
        connection, empty caches) apart from the n - 1 after it."""
        self.restart_httpd()
        u = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        headers = {"Cookie": cookie}
        if host:
            headers["Host"] = host
        offsets = [self.offset()]
        try:
            for i in range(n):
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise t.Failure("protected request %d answered %d"
                                    % (i, resp.status))
                if i == 0:
                    time.sleep(0.1)
                    offsets.append(self.offset())
        finally:
            conn.close()
        time.sleep(0.3)
        offsets.append(self.offset())
        first = self.statements(offsets[0], offsets[1])
        rest = self.statements(offsets[1], offsets[2])
        print("# database statements per protected request, %s (one "
              "keep-alive connection, httpd just restarted):" % what)
        print("  first request: %d" % len(first))
        if first:
            print(self.summary(first, 1))
        print("  next %d requests: %d = %.3f per request"
              % (n - 1, len(rest), len(rest) / (n - 1)))
        if rest:
            print(self.summary(rest, n - 1))
        return len(first), len(rest) / (n - 1)

    def mark(self, step):
        """Called before each login step and with "done" after the last."""
        time.sleep(0.1)
        now = self.offset()
        if self.marks:
            name, start = self.marks[-1]
            self.steps.setdefault(name, []).append(
                self.statements(start, now))
        self.marks = [] if step == "done" else [(step, now)]

    @staticmethod
    def is_setup(stmt):
        """A statement of opening a database connection (libpq's encoding,
        the store's schema check), not of the request that needed it."""
        kind, text = stmt
        return (text.startswith("set client_encoding")
                or kind == "execute csam_store_schema")

    def report_logins(self):
        print("# database statements per login step (mean of %d logins; "
              "connection opening apart):" % len(self.steps.get("verify",
                                                                 [])))
        for name, runs in self.steps.items():
            stmts = [x for s in runs for x in s if not self.is_setup(x)]
            setup = sum(1 for s in runs for x in s if self.is_setup(x))
            print("  %-9s %.2f (+%.2f opening new connections)"
                  % (name, len(stmts) / len(runs), setup / len(runs)))
            print(self.summary(stmts, len(runs)))
