#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Failover to a standby under load, through the real components.

A PostgreSQL pair on loopback: the primary is the cluster of
tests/lib/run-with-services (schema and roles loaded as for every test),
the standby is made from it with pg_basebackup -R and streams from it
synchronously (synchronous_standby_names = '*', synchronous_commit = on on
the primary: a commit is acknowledged only once the standby has it, so
"committed" means "on the standby"; with asynchronous streaming the last
commits before a crash could be lost, sessions and used codes with them).

Two httpd nodes (tests/lib/httpd-run) and a PAM host (pamtester, through
tests/pam/pamtest.py) are given the multi-host conninfo
    host=127.0.0.1,127.0.0.1 port=P1,P2 target_session_attrs=read-write
so libpq connects to whichever of the two accepts writes.  Client threads
log in (password, then the code mailed through the test SMTP server),
make protected requests with sessions they hold and register citizens at
the desk, spread over both nodes; the PAM host authenticates in a loop.
Then the primary is stopped (pg_ctl stop -m immediate) and, a second
later, the standby promoted (pg_ctl promote).  The test measures per node
the time from the stop to the first success, counts the requests that
failed meanwhile (503 and nothing else), and checks that afterwards,
without restarting httpd or the PAM host: everything succeeds again, no
used code is accepted a second time, every session obtained before the
stop still works and every registration acknowledged before the stop
exists, complete.

Prints TAP lines ("ok N - ...") and the figures (lines starting "# ").
Run it as tests/failover/failover.py from a built tree (CSAM_BUILDDIR:
the build directory when it is not the source tree).
"""
import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "httpd"))
sys.path.insert(0, os.path.join(HERE, "..", "pam"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import csamtest as t  # noqa: E402
import tap as tap_lib  # noqa: E402

PROMOTE_DELAY = 1.0  # s between the primary's stop and the promotion
STEADY = 3.0         # s of load before the stop, and after recovery
RECOVERY_MAX = 20.0  # s the load may take to succeed everywhere again
LOGIN_THREADS = 3
PROTECTED_THREADS = 2


def as_pg(args):
    """PostgreSQL refuses to run as root: run-with-services gives the
    cluster to the postgres user then, and so does this."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + args
    return args


def pg(tool):
    return os.path.join(os.environ["CSAM_TEST_PG_BIN"], tool)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def field(conninfo, name):
    return re.search(r"(?:^|\s)%s=(\S+)" % name, conninfo).group(1)


def psql_at(conninfo, *sql):
    args = [pg("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-d", conninfo]
    for s in sql:
        args += ["-c", s]
    return subprocess.run(args, check=True, capture_output=True,
                          text=True, timeout=30).stdout.strip()


# ---------------------------------------------------------------- the pair

def with_standby():
    """Second stage (under run-with-services): make the standby, point
    every component at both clusters, run httpd-run and the test under
    it, then stop the standby whatever happened."""
    primary = os.environ["CSAM_TEST_PG"]
    data = os.environ["CSAM_TEST_PG_DATA"]
    standby = os.path.join(os.path.dirname(data), "standby")
    port1 = int(field(primary, "port"))
    port2 = free_port()
    superuser = field(primary, "user")
    try:
        subprocess.run(as_pg([pg("pg_basebackup"), "-D", standby, "-R",
                              "-X", "stream", "-c", "fast", "-d",
                              "host=127.0.0.1 port=%d user=%s" %
                              (port1, superuser)]),
                       check=True, capture_output=True, text=True,
                       timeout=60)
        # Made after the copy, so that only the primary waits for a
        # standby: the promoted standby has none left to wait for.
        psql_at(primary,
                "ALTER SYSTEM SET synchronous_standby_names = '*'",
                "ALTER SYSTEM SET synchronous_commit = 'on'",
                "SELECT pg_reload_conf()")
        with open(os.path.join(standby, "postgresql.conf"), "a") as f:
            f.write("port = %d\n" % port2)
        subprocess.run(as_pg([pg("pg_ctl"), "-D", standby, "-l",
                              standby + ".log", "-w", "start"]),
                       check=True, capture_output=True, text=True,
                       timeout=60)
        deadline = time.time() + 15
        while psql_at(primary, "SELECT string_agg(sync_state, ',') FROM "
                      "pg_stat_replication") != "sync":
            if time.time() > deadline:
                raise RuntimeError("the standby is not a synchronous one")
            time.sleep(0.1)
        both = ("host=127.0.0.1,127.0.0.1 port=%d,%d dbname=csam "
                "connect_timeout=2 target_session_attrs=read-write" %
                (port1, port2))
        os.environ["CSAM_TEST_PG"] = both + " user=" + superuser
        for var, role in (("WEB", "csam_test_web"), ("PAM", "csam_test_pam"),
                          ("ADMIN", "csam_test_admin")):
            os.environ["CSAM_TEST_PG_" + var] = both + " user=" + role
        os.environ["CSAM_FAILOVER_PAIR"] = "%d %d %s" % (port1, port2,
                                                          standby)
        status = t.start(__file__, httpd_opts=("--nodes", "2"),
                         extra_conf=server_conf(), child=True)
    except (subprocess.CalledProcessError, RuntimeError) as e:
        print("failover: cannot set the pair up: %s %s" %
              (e, getattr(e, "stderr", "") or ""), file=sys.stderr)
        status = 99
    finally:
        if os.path.exists(os.path.join(standby, "postmaster.pid")):
            subprocess.run(as_pg([pg("pg_ctl"), "-D", standby, "-m",
                                  "immediate", "-w", "stop"]),
                           capture_output=True)
    if status not in (0, 77) and os.path.exists(standby + ".log"):
        with open(standby + ".log") as f:
            print("---- standby log (last lines)\n" +
                  "".join(f.readlines()[-20:]), file=sys.stderr)
    sys.exit(status)


def server_conf():
    # No session cache: every protected request asks the database, so the
    # failover shows on them too (with the default 5 s cache a node keeps
    # serving the sessions it has just seen).
    return t.env_cgi_conf("app") + """
CSAMSessionCacheTTL 0
CSAMResendCooldown 0
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
"""


# ---------------------------------------------------------------- the load

class Load:
    """What the client threads did: one record per request."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.events = []  # (kind, node, start, end, status)
        self.accepted = []  # (node, login handle, code, end)
        self.sessions = []  # (cookie, end)
        self.registrations = []  # (reg, body, end)
        self.refused = []  # registrations not acknowledged
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors = []

    def record(self, kind, node, start, status):
        with self.lock:
            self.events.append((kind, node, start, time.time(), status))

    def call(self, kind, node, fn):
        """fn() -> Response; its status, or a description of what was not
        an HTTP answer (recorded as a failure that is not 503)."""
        start = time.time()
        try:
            resp = fn()
            status = resp.status
        except Exception as e:  # recorded: the test fails on it
            resp, status = None, "%s: %s" % (type(e).__name__, e)
        self.record(kind, node, start, status)
        return resp, status


def login_worker(load, account, first):
    mbox = t.Mailbox()
    n = first
    while not load.stop.is_set():
        n += 1
        node = n % 2
        url = load.nodes[node]
        resp, st = load.call("login", node, lambda: t.api(
            "login", {"username": account["username"],
                      "password": t.PASSWORD}, url=url))
        if st != 200:
            time.sleep(0.05)
            continue
        handle = resp.body["login"]
        mbox.skip_existing()
        resp, st = load.call("login", node, lambda: t.api(
            "login/challenge", {"login": handle, "key_type": "email"},
            url=url))
        if st != 202:
            time.sleep(0.05)
            continue
        try:
            code = t.mail_code(mbox, account["email"], timeout=10)
        except Exception as e:  # a 202 without its mail
            load.record("login", node, time.time(), "no mail: %s" % e)
            continue
        resp, st = load.call("login", node, lambda: t.api(
            "login/verify", {"login": handle, "code": code}, url=url))
        if st != 200:
            time.sleep(0.05)
            continue
        end = time.time()
        with load.lock:
            load.accepted.append((node, handle, code, end))
            load.sessions.append((t.session_cookie(resp), end))


def protected_worker(load, cookies, first):
    n = first
    while not load.stop.is_set():
        n += 1
        node = n % 2
        cookie = cookies[n % len(cookies)]
        load.call("protected", node, lambda: t.Response(
            *t.backend("/app/env", cookie, url=load.nodes[node])[:2],
            None, None))
        time.sleep(0.02)


def desk_worker(load):
    n = 0
    while not load.stop.is_set():
        n += 1
        node = n % 2
        reg = t.citizen()
        resp, st = load.call("desk", node, lambda: t.api(
            "registrations", reg, auth=t.OFFICER, url=load.nodes[node]))
        with load.lock:
            if st == 201:
                load.registrations.append((reg, resp.body, time.time()))
            else:
                load.refused.append(reg)
        time.sleep(0.05)


def pam_worker(load, harness, service, user, addr):
    while not load.stop.is_set():
        start = time.time()
        try:
            res = harness.pamtester(service, user, mail_to=addr, timeout=30)
            status = res.status
        except Exception as e:  # recorded: the test fails on it
            status = "%s: %s" % (type(e).__name__, e)
        load.record("pam", "pam", start, status)
        time.sleep(0.1)


# ---------------------------------------------------------------- the test

_tap = tap_lib.Tap()
tap = _tap.check


def ok_status(kind, status):
    return status in ({"pam": ("PAM_SUCCESS",)}.get(kind, (200, 201, 202)))


def mails_by_address():
    new = os.path.join(os.environ["CSAM_TEST_MAILDIR"], "new")
    out = {}
    for name in sorted(os.listdir(new)):
        with open(os.path.join(new, name), "rb") as f:
            msg = email.message_from_binary_file(f,
                                                 policy=email.policy.default)
        out.setdefault(str(msg.get("To", "")).lower(), []).append(msg)
    return out


def main():
    started = time.time()
    nodes = os.environ["CSAM_TEST_HTTPD_URLS"].split()[:2]
    port1, port2, standby = os.environ["CSAM_FAILOVER_PAIR"].split()
    conf_dir = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
    pid_files = [os.path.join(conf_dir, "httpd.pid"),
                 os.path.join(conf_dir, "node2", "httpd.pid")]

    def pids():
        return [open(p).read().strip() for p in pid_files]

    httpd_pids = pids()
    tap(psql_at(os.environ["CSAM_TEST_PG"], "SELECT string_agg(sync_state, "
                "',') FROM pg_stat_replication") == "sync",
        "the standby streams synchronously from the primary")

    # Accounts, each with a session of its own, before any load.
    mbox = t.Mailbox()
    accounts = []
    cookies = []
    for i in range(LOGIN_THREADS + 1):
        a = t.activate(mbox)
        t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                              "code": a["code"]},
                       url=nodes[i % 2]), 200)
        account = {"username": a["username"], "email": a["reg"]["email"]}
        accounts.append(account)
        cookies.append(t.login(mbox, account["username"], account["email"],
                               url=nodes[(i + 1) % 2]))

    import pamtest
    harness = pamtest.Harness()
    service = harness.csam_service("csam-failover")
    pam_user = "pam%d" % (os.getpid() % 100000)
    pam_addr = "%s@example.be" % pam_user
    harness.enrol(pam_user, pam_addr)
    first = harness.pamtester(service, pam_user, mail_to=pam_addr)
    tap(first.status == "PAM_SUCCESS", "the PAM host authenticates through "
        "the multi-host conninfo", first.status, first.stderr[-500:])
    setup_time = time.time() - started

    load = Load(nodes)
    threads = [threading.Thread(target=login_worker,
                                args=(load, accounts[i], i))
               for i in range(LOGIN_THREADS)]
    threads += [threading.Thread(target=protected_worker,
                                 args=(load, cookies, i))
                for i in range(PROTECTED_THREADS)]
    threads += [threading.Thread(target=desk_worker, args=(load,)),
                threading.Thread(target=pam_worker,
                                 args=(load, harness, service, pam_user,
                                       pam_addr))]
    # The failover makes the nodes log their lost connections, the
    # refused reconnections (the primary down, the standby read-only) and
    # the requests they could not serve: expected here and nowhere else.
    with t.log_expected(optional=(
            r"csam:error CSAM00007: cannot connect to the CSAM database: "
            r"unavailable",
            r"csam:error CSAM00006: database (re)?connection failed: .*",
            r"csam:error CSAM00006: database statement \w+ failed: "
            r"SQLSTATE none \(connection lost\)")):
        for th in threads:
            th.start()
        time.sleep(STEADY)
        t_stop = time.time()
        subprocess.run(as_pg([pg("pg_ctl"), "-D",
                              os.environ["CSAM_TEST_PG_DATA"], "-m",
                              "immediate", "-w", "stop"]),
                       check=True, capture_output=True)
        t_stopped = time.time()
        time.sleep(PROMOTE_DELAY)
        t_promote = time.time()
        subprocess.run(as_pg([pg("pg_ctl"), "-D", standby, "-w",
                              "promote"]),
                       check=True, capture_output=True)
        t_promoted = time.time()

        def first_success(kind, node):
            with load.lock:
                ends = [e for k, n, s, e, st in load.events
                        if k == kind and n == node and s >= t_stopped
                        and ok_status(k, st)]
            return min(ends) if ends else None

        wanted = [(k, n) for k in ("login", "protected", "desk")
                  for n in (0, 1)] + [("pam", "pam")]
        deadline = time.time() + RECOVERY_MAX
        while time.time() < deadline and \
                any(first_success(k, n) is None for k, n in wanted):
            time.sleep(0.1)
        t_recovered = time.time()
        time.sleep(STEADY)
        load.stop.set()
        for th in threads:
            th.join(60)

    events = load.events
    before = [e for e in events if e[3] < t_stop]
    after = [e for e in events if e[2] >= t_stop]
    during = [e for e in events if e[3] >= t_stop and e[2] < t_recovered]
    late = [e for e in events if e[2] >= t_recovered]

    tap(all(ok_status(e[0], e[4]) for e in before)
        and {(e[0], e[1]) for e in before if ok_status(e[0], e[4])}
        >= set(wanted),
        "before the stop every kind of request succeeds on both nodes",
        [e for e in before if not ok_status(e[0], e[4])][:5])

    figures = {}
    for k, n in wanted:
        f = first_success(k, n)
        figures[(k, n)] = None if f is None else f - t_stopped
    for n in (0, 1):
        f = [figures[(k, n)] for k in ("login", "protected", "desk")]
        tap(None not in f, "node %d succeeds again after the failover "
            "without a restart" % (n + 1), f)
    tap(figures[("pam", "pam")] is not None, "the PAM host authenticates "
        "again after the failover")
    tap(pids() == httpd_pids, "the httpd nodes were not restarted",
        httpd_pids, pids())

    for n in (0, 1):
        tap(any(e[1] == n and e[4] == 503 for e in during),
            "node %d answered 503 while no database took writes" % (n + 1))
    tap(any(e[0] == "pam" and e[4] == "PAM_AUTHINFO_UNAVAIL"
            for e in during), "the PAM host answered PAM_AUTHINFO_UNAVAIL "
        "while no database took writes")

    bad = [e for e in during + late
           if not ok_status(e[0], e[4])
           and e[4] not in (503, "PAM_AUTHINFO_UNAVAIL")]
    tap(not bad, "requests failed during the failover with 503 only (PAM: "
        "PAM_AUTHINFO_UNAVAIL)", *bad[:10])
    late_bad = [e for e in late if not ok_status(e[0], e[4])]
    tap(not late_bad, "after the recovery nothing fails", *late_bad[:10])

    # Sessions obtained before the stop, in the setup and by the load.
    old = cookies + [c for c, end in load.sessions if end < t_stop]
    lost = []
    for i, c in enumerate(old):
        for url in nodes:
            st = t.backend("/app/env", c, url=url)[0]
            if st != 200:
                lost.append((i, url, st))
    tap(not lost and len(old) > len(cookies), "all %d sessions obtained "
        "before the stop work after the failover on both nodes" % len(old),
        *lost[:10])

    # Registrations acknowledged before the stop: the row is there whole
    # (its token and code open the activation, the mail carries the link).
    regs = [(reg, body) for reg, body, end in load.registrations
            if end < t_stop]
    mails = mails_by_address()
    broken = []
    ids = ",".join(str(body["registration_id"]) for _, body in regs) or "0"
    rows = {r[0]: r[1] for r in t.psql(
        "SELECT id, email FROM csam_registrations WHERE id IN (%s)" % ids)}
    for reg, body in regs:
        if rows.get(str(body["registration_id"])) != reg["email"]:
            broken.append(("no row", body["registration_id"]))
            continue
        msgs = mails.get(reg["email"].lower(), [])
        if len(msgs) != 1:
            broken.append(("mails", reg["email"], len(msgs)))
            continue
        r = t.api("activation", {"token": t.activation_link(msgs[0]),
                                 "activation_code": body["activation_code"]},
                  url=nodes[body["registration_id"] % 2])
        if r.status != 200:
            broken.append(("activation", body["registration_id"], r.status))
    tap(regs and not broken, "all %d registrations acknowledged before the "
        "stop exist complete after the failover" % len(regs), *broken[:10])

    # Every code accepted once, submitted again on the other node.
    t.forgive_source()
    twice = []
    answers = {}
    for node, handle, code, end in load.accepted:
        r = t.api("login/verify", {"login": handle, "code": code},
                  url=nodes[1 - node])
        answers[r.status] = answers.get(r.status, 0) + 1
        if r.status < 400:
            twice.append((handle[:8], r.status))
    t.forgive_source()
    tap(load.accepted and not twice, "none of the %d codes accepted is "
        "accepted a second time" % len(load.accepted), *twice[:10])

    tap(psql_at(os.environ["CSAM_TEST_PG"],
                "SELECT inet_server_port() = %s AND NOT pg_is_in_recovery()"
                % port2) == "t", "the writes now go to the promoted standby")

    kinds = ("login", "protected", "desk", "pam")

    print("# setup (accounts, sessions, PAM enrolment): %.1f s" % setup_time)
    print("# pg_ctl stop -m immediate took %.2f s (times below count from "
          "its end); promote %.2f s after the stop, took %.2f s" % (
              t_stopped - t_stop, t_promote - t_stopped,
              t_promoted - t_promote))
    for k, n in wanted:
        f = figures[(k, n)]
        print("# first %s success after the stop, %s: %s" % (
            k, "node %d" % (n + 1) if n != "pam" else "PAM host",
            "none" if f is None else "%.2f s (%.2f s after the promotion)"
            % (f, f - (t_promote - t_stopped))))
    for n in (0, 1, "pam"):
        fails = [e[3] for e in during if e[1] == n
                 and not ok_status(e[0], e[4])]
        print("# last failure after the stop, %s: %s" % (
            "node %d" % (n + 1) if n != "pam" else "PAM host",
            "%.2f s" % (max(fails) - t_stopped) if fails else "none"))
    for k in kinds:
        print("# %-9s requests: %4d before the stop, %4d after; failed "
              "during the failover: %s" % (
                  k, len([e for e in before if e[0] == k]),
                  len([e for e in after if e[0] == k]),
                  dict(sorted(_count(e[4] for e in during if e[0] == k
                                     and not ok_status(k, e[4])).items()))
                  or "none"))
    print("# logins completed: %d, sessions checked: %d, registrations "
          "checked: %d, codes resubmitted: %d" % (
              len(load.accepted), len(old), len(regs), len(load.accepted)))
    print("# codes resubmitted, answers: %s" % answers)
    emails = ",".join("'%s'" % reg["email"] for reg in load.refused)
    print("# registrations answered 503 yet committed (the answer lost, "
          "not the row): %s of %d" % (
              t.scalar("SELECT count(*) FROM csam_registrations WHERE "
                       "email IN (%s)" % emails) if emails else 0,
              len(load.refused)))
    print("# total %.1f s" % (time.time() - started))
    import shutil
    shutil.rmtree(harness.dir, ignore_errors=True)
    _tap.plan()
    sys.exit(_tap.status())


def _count(items):
    out = {}
    for i in items:
        out[str(i)] = out.get(str(i), 0) + 1
    return out


if __name__ == "__main__":
    if os.environ.get("CSAM_TEST_PG") and \
            not os.environ.get("CSAM_TEST_HTTPD_URL"):
        with_standby()
    t.start(__file__)
    main()
