#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 of the httpd child that is verifying a web login's code, while
it waits on the database inside the verification:

  A. the verification's statement waits on a row lock this test holds on
     the code's challenge (seen in pg_stat_activity); the child is killed,
     then the lock released;
  B. the cluster is frozen (pg_freeze) and the verification's query sits
     unread in its backend's socket; the child is killed, then SIGCONT.

Afterwards exactly one of the two committed states exists: the code used
(the flow done, one complete session with its audit line, the attempt
counter unchanged) or nothing of it (the code still usable).  Submitted
twice from fresh connections, it succeeds at most once, and exactly once
when it was not used; the account is not locked; httpd's parent is the
same and serves a complete login next.  Each round prints what it saw."""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "httpd"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import csamtest as t  # noqa: E402
import pg_freeze  # noqa: E402

# Room for the steps between the request and the kill on a busy machine:
# the child must still be waiting when it is killed.
t.start(__file__, extra_conf="""
CSAMResendCooldown 0
CSAMDBStatementTimeout 15
""")
mbox = t.Mailbox()


# ---------------------------------------------------------------- processes

def httpd_parent():
    with open(os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"],
                           "httpd.pid")) as f:
        return int(f.read().strip())


def port_of(url_or_conninfo):
    m = re.search(r"(?:port=|:)([0-9]+)\b", url_or_conninfo.split("//")[-1])
    return int(m.group(1))


def tcp_rows():
    """(local port, remote port, rx queue, inode) of each IPv4 socket."""
    rows = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            w = line.split()
            rows.append((int(w[1].split(":")[1], 16),
                         int(w[2].split(":")[1], 16),
                         int(w[4].split(":")[1], 16), int(w[9])))
    return rows


def sockets_of(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    except OSError:
        pass
    return inodes


def serving_child(client_port):
    """The httpd child holding the server end of our connection (once a
    child has accepted it)."""
    hport = port_of(t.base_url())
    found = []

    def look():
        # Read while sockets change, /proc/net/tcp may list one twice or
        # miss it; inode 0 is a socket no process holds (TIME_WAIT).
        inode = {r[3] for r in tcp_rows()
                 if r[0] == hport and r[1] == client_port} - {0}
        if len(inode) != 1:
            return False
        found[:] = [k for k in pg_freeze._children(httpd_parent())
                    if inode & sockets_of(k)]
        return len(found) == 1

    t.check(t.until(look, 10) is not None,
            "one httpd child serves the connection", found)
    return found[0]


def query_unread(child, pg_port):
    """True when a backend of one of the child's database connections has
    bytes it has not read (the query sent while the cluster is frozen)."""
    mine = sockets_of(child)
    rows = tcp_rows()
    ports = {r[0] for r in rows if r[1] == pg_port and r[3] in mine}
    held = set()
    for pid in pg_freeze._children(pg_freeze._postmaster()):
        held |= sockets_of(pid)
    return any(r[0] == pg_port and r[1] in ports and r[2] > 0
               and r[3] in held for r in rows)


def gone(pid):
    """The process was reaped (or is a zombie httpd has yet to reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# ---------------------------------------------------------------- state

def account_state(username):
    row = t.psql(
        "SELECT a.id, a.failures, a.locked_until IS NOT NULL,"
        " (SELECT count(*) FROM csam_sessions s WHERE s.account_id = a.id),"
        " (SELECT count(*) FROM csam_sessions s WHERE s.account_id = a.id"
        "   AND (s.key_type IS NULL OR s.expires_at IS NULL"
        "        OR s.idle_timeout IS NULL)),"
        " (SELECT count(*) FROM csam_audit u WHERE u.account_id = a.id"
        "   AND u.action = 'session.created')"
        " FROM csam_accounts a WHERE a.username = '%s'" % username)[0]
    return {"id": int(row[0]), "failures": int(row[1]),
            "locked": row[2] == "t", "sessions": int(row[3]),
            "partial_sessions": int(row[4]), "session_audit": int(row[5])}


def challenge_state(account_id):
    """The newest web-login challenge of the account and its flow."""
    row = t.psql(
        "SELECT c.id, c.attempts, c.used_at IS NOT NULL, f.step,"
        " f.done_at IS NOT NULL"
        " FROM csam_challenges c JOIN csam_flows f ON f.id = c.flow_id"
        " WHERE c.account_id = %d ORDER BY c.id DESC LIMIT 1" % account_id)[0]
    return {"id": int(row[0]), "attempts": int(row[1]),
            "used": row[2] == "t", "step": row[3], "done": row[4] == "t"}


# ---------------------------------------------------------------- steps

def start_login(user, email):
    """A login up to the mailed code: (handle, code)."""
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD}), 200)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "email"}), 202)
    return body["login"], t.mail_code(mbox, email)


def send_verify(handle, code):
    """The verification sent on a connection of our own, its answer not
    read: (connection, our port)."""
    u = urllib.parse.urlsplit(t.base_url())
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.connect()
    conn.request("POST", "/csam/api/v1/login/verify",
                 json.dumps({"login": handle, "code": code}).encode(),
                 {"Content-Type": "application/json",
                  "Accept": "application/json"})
    return conn, conn.sock.getsockname()[1]


def kill_child(child, conn):
    os.kill(child, signal.SIGKILL)
    try:
        resp = conn.getresponse()
        got = resp.status
    except (http.client.HTTPException, OSError) as e:
        got = type(e).__name__
    conn.close()
    t.check(not isinstance(got, int), "the killed child answered nothing",
            got)
    t.check(t.until(lambda: gone(child), 10) is not None,
            "the killed child is gone")
    return got


def waiting_on_lock():
    return t.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE usename ="
        " 'csam_test_web' AND state = 'active' AND wait_event_type = 'Lock'"
        " AND query LIKE 'WITH fl AS%'") == "1"


def after_kill(what, acct, before, handle, code):
    """The state left, then the code submitted twice afresh."""
    st = challenge_state(acct["id"])
    now = account_state(user_of[acct["id"]])
    used = st["used"]
    print("# %s: code %s by the killed request; attempts %d -> %d;"
          " sessions %d -> %d" % (what, "used" if used else "not used",
                                  before["attempts"], st["attempts"],
                                  before["sessions"], now["sessions"]))
    # One committed state or the other, whole.
    t.check(st["attempts"] == before["attempts"],
            "the attempt counter did not move", st, before)
    t.check(used == st["done"] == (st["step"] == "done"),
            "the code and its flow are used together", st)
    t.check(now["sessions"] == before["sessions"] + (1 if used else 0),
            "a session exactly when the code was used", now, before, st)
    t.check(now["partial_sessions"] == 0, "no session half-created", now)
    t.check(now["session_audit"] == now["sessions"],
            "each session has its audit line", now)
    t.check(now["failures"] == (0 if used else before["failures"])
            and not now["locked"],
            "the account's failures are those of the committed state, "
            "no lock", now, before)
    # Twice afresh: at most one success, exactly one if it was not used.
    answers = [t.api("login/verify", {"login": handle, "code": code}).status
               for _ in range(2)]
    wins = answers.count(200)
    print("# %s: resubmitted twice: %s" % (what, answers))
    t.check(wins == (0 if used else 1),
            "the code is accepted %d more time(s)" % (0 if used else 1),
            answers)
    t.check(all(a in (200, 410) for a in answers),
            "a used code is an expired handle (410)", answers)
    end = challenge_state(acct["id"])
    final = account_state(user_of[acct["id"]])
    t.check(end["used"] and end["attempts"] == before["attempts"],
            "the code is used once, the counter unchanged", end)
    t.check(final["failures"] == 0 and not final["locked"],
            "the account is not locked", final)
    t.check(final["sessions"] == before["sessions"] + 1
            and final["session_audit"] == final["sessions"]
            and final["partial_sessions"] == 0,
            "exactly one new session in all", final, before)
    return used


user_of = {}
state = {}


def snapshot(a, acct):
    now = account_state(a["username"])
    return dict(challenge_state(acct["id"]), sessions=now["sessions"],
                failures=now["failures"])


def setup():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    acct = account_state(a["username"])
    user_of[acct["id"]] = a["username"]
    state.update(a=a, acct=acct, parent=httpd_parent())
    return a, acct


def web_backends_idle():
    return t.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE usename ="
        " 'csam_test_web' AND state = 'active'") == "0"


# httpd logs nothing of a child killed by SIGKILL (only other signals are
# "exit signal" lines): httpd-run's check of the error log stays as it is.

def test_kill_while_statement_waits_on_a_lock():
    a, acct = setup()
    handle, code = start_login(a["username"], a["reg"]["email"])
    # A wrong code first: the counters start at one, not zero.
    t.expect(t.api("login/verify", {"login": handle,
                                    "code": t.wrong_code(code)}), 401)
    before = snapshot(a, acct)
    holder = subprocess.Popen(
        [os.path.join(os.environ["CSAM_TEST_PG_BIN"], "psql"), "-X", "-q",
         "-At", "-v", "ON_ERROR_STOP=1", "-d", os.environ["CSAM_TEST_PG"]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        holder.stdin.write("BEGIN;\nSELECT id FROM csam_challenges WHERE id"
                           " = %d FOR UPDATE;\n\\echo locked\n"
                           % before["id"])
        holder.stdin.flush()
        while holder.stdout.readline().strip() != "locked":
            pass
        conn, port = send_verify(handle, code)
        child = serving_child(port)
        waited = t.until(waiting_on_lock, 10)
        t.check(waited is not None, "the verification waits on the lock")
        print("# A: child %d waits on the lock after %.2f s: kill -9"
              % (child, waited))
        kill_child(child, conn)
        holder.stdin.write("ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    # The statement runs to its end in its backend, or not at all.
    t.check(t.until(web_backends_idle, 15) is not None,
            "the backend is done with the statement")
    after_kill("A", acct, before, handle, code)
    t.check(httpd_parent() == state["parent"], "httpd was not restarted")
    t0 = time.monotonic()
    t.login(mbox, a["username"], a["reg"]["email"])
    print("# A: next complete login served in %.2f s, same httpd parent"
          % (time.monotonic() - t0))


def test_kill_while_cluster_frozen():
    a, acct = state["a"], state["acct"]
    # Warm the pool of the child now serving, so that the verification
    # finds a connection and sends its statement.
    for _ in range(3):
        t.expect(t.api("login", {"username": a["username"],
                                 "password": t.PASSWORD}), 200)
    handle, code = start_login(a["username"], a["reg"]["email"])
    before = snapshot(a, acct)
    pg_port = port_of(os.environ["CSAM_TEST_PG_WEB"])
    frozen = pg_freeze.Frozen()
    try:
        with frozen:
            conn, port = send_verify(handle, code)
            child = serving_child(port)
            waited = t.until(lambda: query_unread(child, pg_port), 10)
            t.check(waited is not None, "the verification's query waits "
                    "in its frozen backend")
            print("# B: child %d's query unread by its backend after "
                  "%.2f s: kill -9" % (child, waited))
            kill_child(child, conn)
    finally:
        frozen.thaw()
    t.check(t.until(web_backends_idle, 15) is not None,
            "the backends are done after SIGCONT")
    after_kill("B", acct, before, handle, code)
    t.check(httpd_parent() == state["parent"], "httpd was not restarted")
    t0 = time.monotonic()
    t.login(mbox, a["username"], a["reg"]["email"])
    print("# B: next complete login served in %.2f s, same httpd parent"
          % (time.monotonic() - t0))


t.run([test_kill_while_statement_waits_on_a_lock,
       test_kill_while_cluster_frozen])
