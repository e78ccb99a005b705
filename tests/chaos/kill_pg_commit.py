#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 of PostgreSQL (the postmaster and every backend, stopped first
so that the whole cluster dies at one instant) under a load of desk
registrations through the officer API and of activations being
confirmed, so that the kill lands among commits; then the same data
directory is started again (crash recovery) and httpd, never restarted,
reconnects.

Afterwards exactly the committed state exists: every registration the API
acknowledged (201) is there, whole (its audit line), and its activation
mail can be resent through the API and the new link opens with the paper
code; of those it did not acknowledge, each is either absent or whole and
resendable the same way (committed, its answer lost); no registration
anywhere lacks its audit line; every acknowledged confirmation (200) left
an active account, and no account is half-activated: active with its key
active, or pending with the code still good for exactly one confirmation.
The counts and the times are printed."""
import datetime
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "httpd"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import csamtest as t  # noqa: E402
import pg_freeze  # noqa: E402

t.start(__file__, extra_conf="CSAMResendCooldown 0\n")
mbox = t.Mailbox()
CLIENTS = 4           # registration clients
LOAD_BEFORE = 0.8     # seconds of load before the kill
LOAD_AFTER = 0.3      # and after it, while the cluster is down


busy = {}


def person():
    """A registration body with a number of its own: over a thousand may
    be tried, more than csamtest's 997 serials of one birth date, and a
    number given twice would supersede the first registration."""
    with _people_lock:
        k = _people[0]
        _people[0] += 1
    birth = datetime.date(1990, 1, 1) + datetime.timedelta(days=k // 997)
    return t.citizen(national_number=t.nrn(birth, serial=k % 997 + 1),
                     birth_date=birth.isoformat())


_people = [0]
_people_lock = threading.Lock()


def registrar(out, stop):
    me = threading.get_ident()
    while not stop.is_set():
        reg = person()
        busy[me] = True
        try:
            r = t.api("registrations", reg, auth=t.OFFICER)
            out.append((reg, r.status, r.body))
        except Exception as e:  # a connection cut is an answer too
            out.append((reg, type(e).__name__, None))
        busy[me] = False


def confirmer(todo, out, stop):
    for a in todo:
        if stop.is_set():
            break
        try:
            r = t.api("activation/confirm", {"activation": a["handle"],
                                             "code": a["code"]})
            out.append((a, r.status))
        except Exception as e:
            out.append((a, type(e).__name__))
        time.sleep(0.2)


def kill_cluster():
    """SIGSTOP then SIGKILL the postmaster and its children; their pids."""
    frozen = pg_freeze.Frozen()
    frozen.__enter__()
    pids = list(frozen.pids)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    frozen.thaw()
    return pids


def exists(pid):
    """Even as a zombie: a new postmaster refuses to start while the pid
    in postmaster.pid answers kill(pid, 0), and the orphaned postmaster's
    reaper (init) may take a second or two."""
    return os.path.exists("/proc/%d" % pid)


def registrations():
    """{address: (id, has its audit line)} of every registration."""
    rows = t.psql(
        "SELECT r.email, r.id, (SELECT count(*) FROM csam_audit u WHERE"
        " u.registration_id = r.id AND u.action = 'registration.created')"
        " FROM csam_registrations r")
    out = {}
    for email, rid, audit in rows:
        t.check(email not in out, "one registration per address", email)
        out[email] = (int(rid), audit == "1")
    return out


def resend_opens(rid, reg, code):
    t.expect(t.api("registrations/%d/resend" % rid, content_type=None,
                   auth=t.OFFICER), 202)
    token = t.activation_link(mbox.wait(reg["email"]))
    t.open_activation(token, code)


def test_kill_during_commits():
    # Activations waiting for their confirmation, to confirm under load.
    ready = [t.activate(mbox) for _ in range(6)]
    # The test cluster runs with synchronous_commit off (speed): a commit
    # is then acknowledged before its WAL is written, and a crash may
    # lose it, as documented for that setting.  A deployment keeps it on.
    t.psql("ALTER SYSTEM SET synchronous_commit = on")
    t.psql("SELECT pg_reload_conf()")
    t.check(t.scalar("SHOW synchronous_commit") == "on", "synchronous_commit")
    regs, confirms = [], []
    stop = threading.Event()
    threads = [threading.Thread(target=registrar, args=(regs, stop))
               for _ in range(CLIENTS)]
    threads.append(threading.Thread(target=confirmer,
                                    args=(ready, confirms, stop)))
    with t.log_expected(optional=(r"csam:(error|warn|crit) .*",),
                        settle=0.5):
        for th in threads:
            th.start()
        time.sleep(LOAD_BEFORE)
        pids = kill_cluster()
        at_kill = (len(regs), len(confirms), sum(busy.values()))
        t0 = time.monotonic()
        time.sleep(LOAD_AFTER)
        stop.set()
        for th in threads:
            th.join(60)
        t.check(t.until(lambda: not any(exists(p) for p in pids), 15)
                is not None, "every process of the cluster is gone")
        print("# killed %d PostgreSQL processes after %d registrations and"
              " %d confirmations answered, %d registrations in flight"
              % ((len(pids),) + at_kill))
        t.check(os.system(os.environ["CSAM_TEST_PG_CTL"] + " start") == 0,
                "the cluster starts again on its data directory")
        up = time.monotonic() - t0
        back = t.until(lambda: t.api("registrations", t.citizen(),
                                     auth=t.OFFICER).status == 201, 30)
        t.check(back is not None, "the API registers again, httpd not "
                "restarted")
        print("# cluster back %.2f s after the kill; API registering %.2f s"
              " after that" % (up, back))
    acked = [(reg, body) for reg, st, body in regs if st == 201]
    lost = [reg for reg, st, _ in regs if st != 201]
    t.check(acked and lost, "the kill landed among registrations",
            len(acked), len(lost))
    t.check(all(st in (201, 503) or isinstance(st, str)
                for _, st, _ in regs), "every answer 201 or 503",
            sorted({str(st) for _, st, _ in regs}))
    # Every acknowledged registration: there, whole, resendable (the
    # mails sent so far set aside: only the resent links are read).
    mbox.skip_existing()
    stored = registrations()
    for reg, body in acked:
        got = stored.get(reg["email"])
        t.check(got is not None and got[0] == body["registration_id"],
                "an acknowledged registration exists", reg["email"], got)
        t.check(got[1], "with its audit line", got)
        resend_opens(got[0], reg, body["activation_code"])
    # The others: absent, or whole (committed, the answer lost).
    committed = 0
    for reg in lost:
        got = stored.get(reg["email"])
        if got is None:
            continue
        committed += 1
        t.check(got[1], "an unacknowledged registration that exists is "
                "whole", got)
        t.expect(t.api("registrations/%d/resend" % got[0],
                       content_type=None, auth=t.OFFICER), 202)
        mbox.wait(reg["email"])
    orphans = t.scalar(
        "SELECT count(*) FROM csam_registrations r WHERE NOT EXISTS"
        " (SELECT 1 FROM csam_audit u WHERE u.registration_id = r.id"
        " AND u.action = 'registration.created')")
    t.check(orphans == "0", "no registration without its audit line",
            orphans)
    print("# registrations: %d acknowledged (all there and resent), %d not"
          " acknowledged: %d committed (answer lost), %d absent"
          % (len(acked), len(lost), committed, len(lost) - committed))
    # Accounts: none half-activated.
    half = t.scalar(
        "SELECT count(*) FROM csam_accounts a WHERE (a.status = 'active')"
        " <> (a.activated_at IS NOT NULL AND EXISTS (SELECT 1 FROM csam_keys"
        " k WHERE k.account_id = a.id AND k.status = 'active'))")
    t.check(half == "0", "no account half-activated", half)
    done = {a["username"]: st for a, st in confirms}
    pending = 0
    for a in ready:
        status = t.scalar("SELECT status FROM csam_accounts WHERE username"
                          " = '%s'" % a["username"])
        if done.get(a["username"]) == 200:
            t.check(status == "active", "a confirmed account is active",
                    a["username"], status)
        elif status == "pending":
            pending += 1
            answers = [t.api("activation/confirm",
                             {"activation": a["handle"],
                              "code": a["code"]}).status for _ in range(2)]
            t.check(answers.count(200) == 1,
                    "a pending account's code confirms exactly once",
                    answers)
        else:
            t.check(status == "active", "an account is active or pending",
                    status)
    print("# confirmations: %d acknowledged, %d not; %d accounts still "
          "pending after the crash, then confirmed"
          % (list(done.values()).count(200),
             len(done) - list(done.values()).count(200), pending))


t.run([test_kill_during_commits])
