#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Locks are no oracle and Argon2id work is bounded (DESIGN 4), through
httpd.

- While a name is locked, a right and a wrong password from a fresh client
  get the same status and body in the same time, and no Argon2id runs: the
  time is compared with the Argon2id cost measured in this run, and no
  audit row of a checked password appears (each Argon2id run of a login
  leaves exactly one).
- A locked source answers a right password 423 locked with retry_after,
  never a misleading invalid_credentials.
- 150 logins at once from one address run Argon2id no more often than the
  source's threshold (counted before hashing, atomically).
- CSAMArgon2Max 1: the count of the server's slots, logged at debug
  level (CSAM00751), never exceeds 1, and requests beyond it waited or got
  503 with Retry-After.
"""
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

THRESHOLD = 4                   # a name's; a source's is 5 times that
t.start(__file__, extra_conf="""
CSAMLockoutThreshold %d
CSAMArgon2Max 1
LogLevel warn csam:debug
""" % THRESHOLD)
mbox = t.Mailbox()


def active_account():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"]


def reset():
    t.forgive_source()
    t.psql("DELETE FROM csam_password_failures")


def checked_passwords(user=None):
    """Audit rows of checked passwords: one per Argon2id run of a login."""
    where = "action IN ('login.password_failed', 'login.password_accepted')"
    if user is not None:
        where += (" AND account_id = (SELECT id FROM csam_accounts WHERE "
                  "username = '%s')" % user)
    return int(t.scalar("SELECT count(*) FROM csam_audit WHERE " + where))


def timed_login(user, password):
    t0 = time.perf_counter()
    resp = t.api("login", {"username": user, "password": password})
    return resp, time.perf_counter() - t0


def median(values):
    return sorted(values)[len(values) // 2]


def test_locked_name_is_no_oracle():
    reset()
    user = active_account()
    # What one Argon2id run costs here, through httpd: a wrong password on
    # a name that is not locked.
    argon = []
    for _ in range(7):
        t.psql("DELETE FROM csam_password_failures")
        resp, took = timed_login(user, "Not-The-Password-1")
        t.expect(resp, 401, "invalid_credentials")
        argon.append(took)
    reset()
    for _ in range(THRESHOLD):
        t.psql("UPDATE csam_password_failures SET delay_until = NULL")
        t.expect(t.api("login", {"username": user,
                                 "password": "Not-The-Password-2"}),
                 401, "invalid_credentials")
    before = checked_passwords(user)
    ratios, times = [], {"right": [], "wrong": []}
    bodies = {}
    for i in range(21):
        pair = {}
        order = ("right", "wrong") if i % 2 == 0 else ("wrong", "right")
        for kind in order:
            resp, took = timed_login(
                user, t.PASSWORD if kind == "right" else "Not-It-%d" % i)
            t.expect(resp, 423, "locked")
            t.check(resp.header("retry-after") is not None, "Retry-After")
            bodies.setdefault(kind, set()).add(
                tuple(sorted((k, v) for k, v in resp.body.items()
                             if k != "retry_after")))
            t.check(0 < resp.body.get("retry_after", 0) <= 900,
                    "retry_after", resp.body)
            pair[kind] = took
            times[kind].append(took)
        ratios.append(pair["right"] / pair["wrong"])
    after = checked_passwords(user)
    ratio = median(ratios)
    print("# Argon2id login %.1f ms; on the locked name: right password "
          "%.1f ms, wrong %.1f ms, median pair ratio %.2f; checked passwords "
          "before %d, after %d" % (median(argon) * 1000,
                                   median(times["right"]) * 1000,
                                   median(times["wrong"]) * 1000, ratio,
                                   before, after))
    t.check(bodies["right"] == bodies["wrong"] and len(bodies["right"]) == 1,
            "one body for right and wrong", bodies)
    # Both are one database round trip behind httpd (about a millisecond):
    # the same time within the noise, which is judged against the
    # Argon2id run an oracle would show, measured in this run (a ratio of
    # two millisecond timings on a loaded machine is noise, not a signal).
    t.check(abs(median(times["right"]) - median(times["wrong"]))
            < 0.1 * median(argon), "right and wrong differ by far less than "
            "an Argon2id run", times, argon)
    t.check(median(times["right"]) < 0.5 * median(argon)
            and median(times["wrong"]) < 0.5 * median(argon),
            "no Argon2id run while locked (well under its cost)", times,
            argon)
    t.check(after == before, "no password was checked while locked",
            before, after)
    reset()


def test_locked_source_tells_the_lock():
    reset()
    user = active_account()
    t.psql("INSERT INTO csam_source_failures (source, failures, window_start,"
           " locked_until) VALUES ('127.0.0.1', 20, now(), now() + interval "
           "'5 minutes') ON CONFLICT (source) DO UPDATE SET locked_until = "
           "excluded.locked_until")
    before = checked_passwords(user)
    for password in (t.PASSWORD, "Not-The-Password-3"):
        body = t.expect(t.api("login", {"username": user,
                                        "password": password}), 423, "locked")
        t.check(0 < body.get("retry_after", 0) <= 300, "retry_after", body)
    t.check(checked_passwords(user) == before, "no Argon2id run")
    reset()


MAX_WORKERS = (r"mpm_[a-z]+:error AH00484: server reached MaxRequestWorkers "
               r"setting, consider raising the MaxRequestWorkers setting")


def test_parallel_logins_counted_first():
    reset()
    # 150 clients at once fill httpd's 16 workers: it says so.
    log = os.environ["CSAM_TEST_HTTPD_ERROR_LOG"]
    log_start = os.path.getsize(log)
    before = checked_passwords()
    statuses = []
    lock = threading.Lock()
    barrier = threading.Barrier(150)

    def guess(i):
        barrier.wait()
        r = t.api("login", {"username": "spray%d.%d" % (os.getpid(), i),
                            "password": "Sprayed-guess-1"})
        with lock:
            statuses.append(r.status)
            if r.status == 503:
                t.check(r.header("retry-after") == "1", "Retry-After: 1",
                        r.headers)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(150)]
    # 150 clients at once fill httpd's 16 workers: its parent may say so.
    with t.log_expected(optional=(MAX_WORKERS,), settle=1.5):
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    runs = checked_passwords() - before
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print("# 150 logins at once from one address: %d Argon2id runs (source "
          "threshold %d); statuses %s" % (runs, 5 * THRESHOLD, counts))
    t.check(set(statuses) <= {401, 423, 503}, "answers", counts)
    t.check(runs <= 5 * THRESHOLD, "Argon2id runs within the source's "
            "threshold", runs)
    t.check(counts.get(401, 0) == runs, "one 401 per run", counts, runs)
    # The semaphore's own count, as each check logged it.
    time.sleep(0.5)
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(log_start)
        text = f.read()
    seen = [int(n) for n in re.findall(
        r"CSAM00751: password check (\d+) of at most 1 ", text)]
    held = len(re.findall(r"CSAM00751: [^\n]*\(waited\)", text)) + \
        len(re.findall(r"CSAM00750", text))
    print("# CSAMArgon2Max 1: %d checks logged, at most %d at once in the "
          "server, %d held back" % (len(seen), max(seen or [0]), held))
    t.check(len(seen) >= runs, "every check logged", len(seen), runs)
    t.check(max(seen) == 1, "never more than CSAMArgon2Max at once", seen)
    t.check(held > 0, "requests beyond the bound waited or got 503", held)
    reset()


t.run([test_locked_name_is_no_oracle, test_locked_source_tells_the_lock,
       test_parallel_logins_counted_first])
