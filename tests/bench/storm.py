#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The driver of tests/bench/storm.sh, run under tests/lib/httpd-run
--nodes 2 (itself under run-with-services).

1. Two accounts through the API (an e-mail key, an app key): what the
   module writes for a real account.  The other accounts are copied from
   them in SQL: the same Argon2id password hash (so the same cost), their
   own e-mail address and e-mail key, or their own app key with a fresh
   secret sealed by tests/bench/storm-keys for its row id.
2. The Argon2id ceiling: libargon2's argon2id_verify of that very hash
   (ctypes), one thread per core httpd may run on, for a few seconds.
3. The storm: CLIENTS threads log in until DURATION has passed, each
   request to either node at random, each login to an account no other
   client holds at the time: password, then the code mailed through the
   test SMTP server or computed from the app's secret.  A mail thread
   reads the Maildir once for everybody.
4. The ceiling again (the machine's other load moves: the ratio takes
   the mean of both), then the checks: every login succeeded; the database
   holds exactly the sessions the clients got, one per login and account,
   none doubled or lost; each cookie opens /csam/api/v1/me as its account.
5. CSAM_STORM_REGISTRATIONS=N: the database filled with N registrations
   (one in ten an active account with a session, as tests/bench/lookup.c
   fills it), then a second storm and the ratios large / small.

TAP lines for what must hold, "# " lines for the figures.
"""
import collections
import ctypes
import ctypes.util
import email
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "httpd"))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import csamtest as t  # noqa: E402
import tap as tap_lib  # noqa: E402
import protected_cpu as cpu  # noqa: E402

ACCOUNTS = int(os.environ.get("CSAM_STORM_ACCOUNTS", "10000"))
TOTP_PERCENT = int(os.environ.get("CSAM_STORM_TOTP", "30"))
CLIENTS = int(os.environ.get("CSAM_STORM_CLIENTS", "16"))
DURATION = float(os.environ.get("CSAM_STORM_DURATION", "60"))
CEILING_SECONDS = float(os.environ.get("CSAM_STORM_CEILING_SECONDS", "5"))
REGISTRATIONS = int(os.environ.get("CSAM_STORM_REGISTRATIONS", "0"))
if ACCOUNTS < CLIENTS or not 0 <= TOTP_PERCENT <= 100 or CLIENTS < 1:
    sys.exit("storm: CSAM_STORM_ACCOUNTS >= CSAM_STORM_CLIENTS >= 1, "
             "CSAM_STORM_TOTP 0 to 100")

NODES = os.environ["CSAM_TEST_HTTPD_URLS"].split()
HTTPD = "httpd (%d node%s)" % (len(NODES), "s" if len(NODES) > 1 else "")
CONF_DIR = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
CODE = re.compile(r"(?<![0-9])[0-9]{6,8}(?![0-9])")
COOKIE = re.compile(r"csam_session=([A-Za-z0-9_-]{43})")

_tap = tap_lib.Tap()
tap = _tap.check
figure = tap_lib.Tap.figure


# ---------------------------------------------------------------- accounts

def template_email(mbox):
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"]


def template_app(mbox):
    return t.activate_app(mbox)["username"]


def psql_script(script):
    subprocess.run([os.path.join(os.environ["CSAM_TEST_PG_BIN"], "psql"),
                    "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                    os.environ["CSAM_TEST_PG"], "-f", "-"],
                   input=script, check=True, capture_output=True, text=True)


def make_accounts(mbox):
    """{username: (email or None, app secret or None)} and the PHC
    string every account's password has."""
    email_user = template_email(mbox)
    app_user = template_app(mbox)
    tmpl = {}
    for user in (email_user, app_user):
        tmpl[user] = t.psql(
            "SELECT a.id, a.registration_id, k.id FROM csam_accounts a "
            "JOIN csam_keys k ON k.account_id = a.id AND k.status = 'active' "
            "WHERE a.username = '%s'" % user)[0]
    phc = t.scalar("SELECT password_hash FROM csam_accounts WHERE "
                   "username = '%s'" % email_user)
    n = ACCOUNTS - 2
    napp = n * TOTP_PERCENT // 100
    app_ns = set(random.sample(range(1, n + 1), napp))
    rbase = int(t.scalar("SELECT max(id) FROM csam_registrations"))
    abase = int(t.scalar("SELECT max(id) FROM csam_accounts"))
    # Above whatever the e-mail keys' own ids will take (at most n).
    kbase = int(t.scalar("SELECT max(id) FROM csam_keys")) + n + 1
    keys = subprocess.run(
        [os.path.join(os.environ["CSAM_BUILDDIR"], "tests", "bench",
                      "storm-keys"), os.environ["CSAM_TEST_SECRET_FILE"],
         str(kbase), str(napp)],
        check=True, capture_output=True, text=True).stdout.split("\n")
    accounts = {}
    rows = []
    for num, line in zip(sorted(app_ns), keys):
        key_id, sealed, secret = line.split()
        rows.append("%d\t%s\t%s" % (num, key_id, sealed))
        accounts["storm-%07d" % num] = (None, secret)
    for num in range(1, n + 1):
        if num not in app_ns:
            accounts["storm-%07d" % num] = ("storm%d@example.be" % num, None)
    e_acc, e_reg, e_key = tmpl[email_user]
    _, _, a_key = tmpl[app_user]
    script = """
BEGIN;
CREATE TEMP TABLE storm_app (n bigint PRIMARY KEY, key_id bigint,
                             sealed text);
COPY storm_app FROM STDIN;
%(rows)s\\.
INSERT INTO csam_registrations (id, nrn_hash, first_name, last_name,
    birth_date, document_type, document_number, email, language,
    token_hash, code_hash, max_attempts, created_at, expires_at, used_at,
    created_by, procedure)
OVERRIDING SYSTEM VALUE
SELECT %(rbase)d + g, sha256(convert_to('storm-nrn-' || g, 'UTF8')),
    r.first_name, 'Storm', r.birth_date, r.document_type, 'S' || g,
    'storm' || g || '@example.be', r.language,
    sha256(convert_to('storm-token-' || g, 'UTF8')),
    sha256(convert_to('storm-code-' || g, 'UTF8')), r.max_attempts,
    r.created_at, r.expires_at, r.used_at, r.created_by, r.procedure
  FROM generate_series(1, %(n)d) g, csam_registrations r
 WHERE r.id = %(e_reg)s;
INSERT INTO csam_accounts (id, username, password_hash, registration_id,
    status, language, email, created_at, activated_at, password_changed_at,
    nrn_hash)
OVERRIDING SYSTEM VALUE
SELECT %(abase)d + g, 'storm-' || lpad(g::text, 7, '0'), a.password_hash,
    %(rbase)d + g, 'active', a.language, 'storm' || g || '@example.be',
    a.created_at, a.activated_at, a.password_changed_at,
    sha256(convert_to('storm-nrn-' || g, 'UTF8'))
  FROM generate_series(1, %(n)d) g, csam_accounts a
 WHERE a.id = %(e_acc)s;
INSERT INTO csam_keys (account_id, type, status, terms_version, created_at,
    activated_at)
SELECT %(abase)d + g, 'email', 'active', k.terms_version, k.created_at,
    k.activated_at
  FROM generate_series(1, %(n)d) g, csam_keys k
 WHERE k.id = %(e_key)s AND g NOT IN (SELECT n FROM storm_app);
INSERT INTO csam_keys (id, account_id, type, status, totp_secret,
    terms_version, created_at, activated_at)
OVERRIDING SYSTEM VALUE
SELECT s.key_id, %(abase)d + s.n, 'totp', 'active', decode(s.sealed, 'hex'),
    k.terms_version, k.created_at, k.activated_at
  FROM storm_app s, csam_keys k
 WHERE k.id = %(a_key)s;
SELECT setval(pg_get_serial_sequence('csam_registrations', 'id'),
              (SELECT max(id) FROM csam_registrations));
SELECT setval(pg_get_serial_sequence('csam_accounts', 'id'),
              (SELECT max(id) FROM csam_accounts));
SELECT setval(pg_get_serial_sequence('csam_keys', 'id'),
              (SELECT max(id) FROM csam_keys));
COMMIT;
ANALYZE;
""" % {"rows": "".join(r + "\n" for r in rows), "rbase": rbase,
       "abase": abase, "n": n, "e_reg": e_reg, "e_acc": e_acc,
       "e_key": e_key, "a_key": a_key}
    psql_script(script)
    return accounts, phc


def fill(total):
    """Registrations up to `total`, one in ten with an active account and
    a live session (tests/bench/lookup.c's shape), in batches."""
    have = int(t.scalar("SELECT count(*) FROM csam_registrations"))
    start = int(t.scalar("SELECT max(id) FROM csam_registrations")) + 1
    todo = total - have
    step = 500000
    for a in range(start, start + todo, step):
        b = min(a + step - 1, start + todo - 1)
        psql_script("""
WITH r AS (INSERT INTO csam_registrations (nrn_hash, first_name, last_name,
    birth_date, document_type, document_number, email, language, token_hash,
    code_hash, max_attempts, expires_at, created_by)
  SELECT sha256(convert_to('fill-nrn-' || i, 'UTF8')), 'Bench', 'Citizen',
    '1980-01-01', 'eid', 'B' || i, 'b' || i || '@example.be', 'fr',
    sha256(convert_to('fill-token-' || i, 'UTF8')),
    sha256(convert_to('fill-code-' || i, 'UTF8')), 5,
    now() + interval '30 days', 'bench'
  FROM generate_series(%(a)d::bigint, %(b)d::bigint) i
  RETURNING id, email, nrn_hash),
a AS (INSERT INTO csam_accounts (username, password_hash, registration_id,
    status, language, email, activated_at, nrn_hash)
  SELECT 'bench' || r.id, '$argon2id$x', r.id, 'active', 'fr', r.email,
    now(), r.nrn_hash FROM r WHERE r.id %% 10 = 0
  RETURNING id)
INSERT INTO csam_sessions (session_hash, account_id, key_type, idle_timeout,
    expires_at)
SELECT sha256(convert_to('fill-session-' || a.id, 'UTF8')), a.id, 'email',
    interval '30 minutes', now() + interval '8 hours' FROM a;
""" % {"a": a, "b": b})
    psql_script("VACUUM ANALYZE;")


# ---------------------------------------------------------------- ceiling

def httpd_pids():
    out = []
    for sub in [""] + ["node%d" % n for n in range(2, len(NODES) + 1)]:
        with open(os.path.join(CONF_DIR, sub, "fg.pid")) as f:
            out.append(int(f.read().strip()))
    return out


def ceiling(phc, seconds):
    """(verifications/s, CPU seconds per verification, threads):
    argon2id_verify of the accounts' own hash, as the module calls it, one
    thread per core httpd may use.  The CPU time does not depend on what
    else the machine runs; the rate does."""
    lib = ctypes.CDLL(ctypes.util.find_library("argon2") or "libargon2.so.1")
    lib.argon2id_verify.argtypes = (ctypes.c_char_p, ctypes.c_char_p,
                                    ctypes.c_size_t)
    lib.argon2id_verify.restype = ctypes.c_int
    cores = os.sched_getaffinity(httpd_pids()[0])
    threads = len(cores)
    enc = phc.encode()
    pwd = t.PASSWORD.encode()
    counts = [0] * threads
    bad = []
    cpu0 = os.times()
    start = time.monotonic()
    deadline = start + seconds

    def run(i):
        # On the nodes' cores, whatever this driver's own.
        os.sched_setaffinity(0, cores)
        # ctypes lets go of the GIL for the call: the threads run at once.
        while time.monotonic() < deadline:
            rc = lib.argon2id_verify(enc, pwd, len(pwd))
            if rc != 0:
                bad.append(rc)
                return
            counts[i] += 1

    ths = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    if bad:
        raise t.Failure("argon2id_verify refused the accounts' hash: %r"
                        % bad[:3])
    elapsed = time.monotonic() - start
    cpu1 = os.times()
    spent = cpu1.user + cpu1.system - cpu0.user - cpu0.system
    return sum(counts) / elapsed, spent / max(1, sum(counts)), threads


# ---------------------------------------------------------------- mail

class Mail:
    """One thread reads the Maildir for every client: codes by address.
    Read mails go to cur/, so that new/ stays short however long the
    storm."""

    def __init__(self):
        root = os.environ["CSAM_TEST_MAILDIR"]
        self.new = os.path.join(root, "new")
        self.cur = os.path.join(root, "cur")
        os.makedirs(self.cur, exist_ok=True)
        self.codes = collections.defaultdict(list)
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                names = sorted(os.listdir(self.new))
            except OSError:
                names = []
            for name in names:
                path = os.path.join(self.new, name)
                with open(path, "rb") as f:
                    msg = email.message_from_binary_file(f)
                os.rename(path, os.path.join(self.cur, name))
                to = (msg.get("X-Csam-Envelope-To") or "").strip()
                to = to.strip("<>").lower()
                text = ""
                for part in msg.walk():
                    if part.get_content_type() == "text/plain":
                        text = part.get_payload(decode=True).decode(
                            part.get_content_charset() or "utf-8", "replace")
                        break
                codes = CODE.findall(text)
                if len(codes) != 1:
                    continue  # a notice, not a code
                with self.cond:
                    self.codes[to].append(codes[0])
                    self.cond.notify_all()
            if not names:
                time.sleep(0.005)

    def wait(self, to, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.codes[to]:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise t.Failure("no code mailed to %s within %ds"
                                    % (to, timeout))
                self.cond.wait(left)
            return self.codes[to].pop(0)

    def forget(self, to):
        """After a failed login: its code, if it came, is nobody's."""
        with self.cond:
            self.codes.pop(to, None)


# ---------------------------------------------------------------- storm

class Storm:
    def __init__(self, accounts, mail, last_step):
        self.accounts = accounts
        self.mail = mail
        names = list(accounts)
        random.shuffle(names)
        self.free = collections.deque(names)
        # Shared by the storms of a run: an app code is good once.
        self.last_step = last_step
        self.lock = threading.Lock()
        self.logins = []        # (username, cookie, latency, steps)
        self.errors = []
        self.stop_at = 0.0

    def take(self):
        """An account no client holds, whose app key (if any) has not
        been used in this 30-second step."""
        step = int(time.time()) // 30
        with self.lock:
            for _ in range(len(self.free)):
                name = self.free.popleft()
                if self.last_step.get(name, -1) < step:
                    return name
                self.free.append(name)
        return None

    def give(self, name, app):
        with self.lock:
            if app:
                self.last_step[name] = int(time.time()) // 30
            self.free.append(name)

    def login(self, name):
        addr, secret = self.accounts[name]
        kind = "totp" if secret else "email"
        steps = []
        t0 = time.monotonic()
        resp = t.api("login", {"username": name, "password": t.PASSWORD},
                     url=random.choice(NODES))
        body = t.expect(resp, 200)
        t.check(body.get("key_types") == [kind], "the account's key", body)
        handle = body["login"]
        t1 = time.monotonic()
        steps.append(t1 - t0)
        t.expect(t.api("login/challenge", {"login": handle,
                                           "key_type": kind},
                       url=random.choice(NODES)), 202)
        t2 = time.monotonic()
        steps.append(t2 - t1)
        code = self.mail.wait(addr) if addr else t.totp(secret)
        t3 = time.monotonic()
        steps.append(t3 - t2)
        resp = t.api("login/verify", {"login": handle, "code": code},
                     url=random.choice(NODES))
        t.check(t.expect(resp, 200) == {"username": name, "key_type": kind},
                "verify body", resp.body)
        t4 = time.monotonic()
        steps.append(t4 - t3)
        m = COOKIE.search(resp.headers.get("set-cookie", ""))
        t.check(m is not None, "no csam_session cookie", resp.headers)
        return m.group(1), t4 - t0, steps

    def client(self):
        while time.monotonic() < self.stop_at:
            name = self.take()
            if name is None:
                time.sleep(0.05)
                continue
            try:
                cookie, latency, steps = self.login(name)
                with self.lock:
                    self.logins.append((name, cookie, latency, steps))
            except Exception as e:  # counted: the run fails on it
                with self.lock:
                    self.errors.append("%s: %s: %s" % (name,
                                                       type(e).__name__, e))
                if self.accounts[name][0]:
                    self.mail.forget(self.accounts[name][0])
            finally:
                self.give(name, self.accounts[name][1] is not None)

    def run(self, seconds):
        threads = [threading.Thread(target=self.client)
                   for _ in range(CLIENTS)]
        start = time.monotonic()
        self.stop_at = start + seconds
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.monotonic() - start


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def smtp_pid():
    maildir = os.environ["CSAM_TEST_MAILDIR"].encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"smtp_server.py" in cmd and maildir in cmd:
            return int(name)
    return None


def cpu_now(smtp):
    me = os.times()
    return {HTTPD: sum(cpu.tree_seconds(p) for p in httpd_pids()),
            "PostgreSQL": cpu.tree_seconds(cpu.postmaster_pid()),
            "SMTP server": cpu.tree_seconds(smtp) if smtp else 0.0,
            "clients (this driver)": me.user + me.system}


def node_switches():
    """(voluntary, involuntary) context switches of the nodes' threads so
    far: an involuntary one is a thread cut off the core for another, as
    an Argon2id run is for a request's thread."""
    vol = invol = 0
    pids = httpd_pids()
    for p in pids + [c for p in pids for c in cpu.children(p)]:
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for task in tasks:
            try:
                with open("/proc/%d/task/%s/status" % (p, task)) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            vol += int(line.split()[1])
                        elif line.startswith("nonvoluntary_ctxt_switches:"):
                            invol += int(line.split()[1])
            except OSError:
                continue
    return vol, invol


def db_counters():
    row = t.psql("SELECT xact_commit + xact_rollback, tup_inserted, "
                 "tup_updated, tup_deleted FROM pg_stat_database "
                 "WHERE datname = current_database()")[0]
    return [int(x) for x in row]


def table_writes():
    """{table: rows inserted + updated + deleted} so far."""
    return {r[0]: int(r[1]) for r in t.psql(
        "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del "
        "FROM pg_stat_user_tables")}


def one_storm(label, accounts, mail, phc, smtp, last_step):
    """A storm between two ceilings; its figures, and TAP lines for what
    must hold."""
    c1, v1, threads = ceiling(phc, CEILING_SECONDS)
    base = int(t.scalar("SELECT coalesce(max(id), 0) FROM csam_sessions"))
    storm = Storm(accounts, mail, last_step)
    db0 = db_counters()
    tw0 = table_writes()
    cpu0 = cpu_now(smtp)
    sw0 = node_switches()
    elapsed = storm.run(DURATION)
    end = time.monotonic()
    cpu1 = cpu_now(smtp)
    sw1 = node_switches()
    c2, v2, _ = ceiling(phc, CEILING_SECONDS)
    # An idle backend (the nodes' pooled connections) reports its
    # statistics within 10 s (PostgreSQL's PGSTAT_IDLE_INTERVAL).
    time.sleep(max(0.0, 11.0 - (time.monotonic() - end)))
    db1 = db_counters()
    tw1 = table_writes()
    ceil = (c1 + c2) / 2
    verify_cpu = (v1 + v2) / 2
    done = len(storm.logins)
    rate = done / elapsed
    lat = [x[2] for x in storm.logins]
    figure("%s: %d logins in %.1f s by %d clients over %s, "
           "%d accounts (%d%% app key)", label, done, elapsed, CLIENTS,
           HTTPD[len("httpd ("):-1], len(accounts), TOTP_PERCENT)
    figure("%s: Argon2id ceiling %.1f verifications/s on %d cores "
           "(%.1f before, %.1f after; %s)", label, ceil, threads, c1, c2,
           phc.split("$")[3])
    figure("%s: logins/s %.1f, ratio logins/s / ceiling %.2f (goal >= 0.8)",
           label, rate, rate / ceil)
    if lat:
        figure("%s: login latency p50 %.0f ms, p99 %.0f ms, max %.0f ms",
               label, 1000 * percentile(lat, 50), 1000 * percentile(lat, 99),
               1000 * max(lat))
        names = ("password", "challenge", "code", "verify")
        figure("%s: per step p50 (ms): %s", label, ", ".join(
            "%s %.1f" % (names[i], 1000 * percentile(
                [x[3][i] for x in storm.logins], 50)) for i in range(4)))
    if done:
        spent = {k: cpu1[k] - cpu0[k] for k in cpu0}
        figure("%s: CPU ms per login: %s; one Argon2id verification "
               "%.1f", label, ", ".join("%s %.1f" % (k, 1000 * v / done)
                                        for k, v in spent.items()),
               1000 * verify_cpu)
        # What the ratio would be with the cores free for this run alone:
        # a verification's CPU time over a login's, all processes.
        figure("%s: CPU ratio one verification / one login %.2f (all "
               "processes), %.2f (httpd and PostgreSQL only)", label,
               verify_cpu * done / sum(spent.values()),
               verify_cpu * done / (spent[HTTPD]
                                    + spent["PostgreSQL"]))
        figure("%s: context switches of the nodes' threads per login: "
               "%.1f voluntary (waits), %.1f involuntary (preempted)",
               label, (sw1[0] - sw0[0]) / done, (sw1[1] - sw0[1]) / done)
        figure("%s: CPU used %.0f%% of %d cores during the storm", label,
               100 * sum(spent.values()) / (elapsed * threads), threads)
        d = [b - a for a, b in zip(db0, db1)]
        figure("%s: database per login: %.1f transactions, %.1f rows "
               "inserted, %.1f updated, %.1f deleted", label,
               d[0] / done, d[1] / done, d[2] / done, d[3] / done)
        writes = sorted(((tw1.get(k, 0) - tw0.get(k, 0), k) for k in tw1),
                        reverse=True)
        figure("%s: rows written per login by table: %s", label, ", ".join(
            "%s %.1f" % (k[len("csam_"):], n / done)
            for n, k in writes if n > 0))

    tap(not storm.errors and done > 0, "%s: no login failed (%d logins, "
        "%d errors)" % (label, done, len(storm.errors)), *storm.errors[:5])
    # Sessions: the clients' logins per account against the database's
    # rows made during the storm.
    got = collections.Counter(x[0] for x in storm.logins)
    rows = t.psql("SELECT a.username, count(*) FROM csam_sessions s "
                  "JOIN csam_accounts a ON a.id = s.account_id "
                  "WHERE s.id > %d AND a.username LIKE 'storm-%%' "
                  "GROUP BY a.username" % base)
    db = collections.Counter({u: int(c) for u, c in rows})
    cookies = [x[1] for x in storm.logins]
    diff = [(u, got[u], db[u]) for u in set(got) | set(db)
            if got[u] != db[u]]
    tap(not diff and len(set(cookies)) == len(cookies) and done > 0,
        "%s: no lost or doubled session (%d logins, %d session rows, "
        "%d distinct cookies)" % (label, done, sum(db.values()),
                                  len(set(cookies))),
        *["%s: %d logins, %d rows" % d for d in sorted(diff)[:5]])
    wrong = []
    for name, cookie, _, _ in storm.logins:
        resp = t.api("me", method="GET", url=random.choice(NODES),
                     headers={"Cookie": "csam_session=%s" % cookie})
        if resp.status != 200 or resp.body.get("username") != name:
            wrong.append("%s: %d %r" % (name, resp.status, resp.body))
    tap(not wrong and done > 0, "%s: every session opens /me as its account "
        "on either node" % label, *wrong[:5])
    return {"rate": rate, "ceiling": ceil, "lat": lat,
            "steps": [x[3] for x in storm.logins],
            "pg": (cpu1["PostgreSQL"] - cpu0["PostgreSQL"]) / max(1, done)}


def main():
    random.seed()
    # storm.sh started the nodes on their cores and this driver on theirs:
    # the driver (and the psql it runs) keeps off the nodes' cores.
    own = os.environ.get("CSAM_STORM_SERVICE_CPUS")
    if own:
        os.sched_setaffinity(0, {int(c) for c in own.split(",")})
        figure("layout: %d node%s on cores %s; PostgreSQL, the SMTP server "
               "and the clients on cores %s", len(NODES),
               "s" if len(NODES) > 1 else "",
               os.environ["CSAM_STORM_NODE_CPUS"], own)
    else:
        figure("layout: every process on every core")
    mbox = t.Mailbox()
    t0 = time.monotonic()
    accounts, phc = make_accounts(mbox)
    napp = sum(1 for v in accounts.values() if v[1])
    figure("setup: %d accounts (%d with the app key) in %.1f s",
           len(accounts), napp, time.monotonic() - t0)
    mail = Mail()
    mail.start()
    smtp = smtp_pid()
    last_step = {}
    small = one_storm("storm", accounts, mail, phc, smtp, last_step)
    if REGISTRATIONS > 0:
        t0 = time.monotonic()
        fill(REGISTRATIONS)
        figure("fill: %s registrations in the database in %.0f s",
               t.scalar("SELECT count(*) FROM csam_registrations"),
               time.monotonic() - t0)
        large = one_storm("storm at %d" % REGISTRATIONS, accounts, mail,
                          phc, smtp, last_step)
        if small["lat"] and large["lat"]:
            figure("large / small: logins/s per ceiling %.2f, login p50 "
                   "%.2f, p99 %.2f",
                   (large["rate"] / large["ceiling"])
                   / (small["rate"] / small["ceiling"]),
                   percentile(large["lat"], 50) / percentile(small["lat"], 50),
                   percentile(large["lat"], 99) / percentile(small["lat"], 99))
            figure("large / small: PostgreSQL CPU per login %.2f (goal "
                   "within 1.2)", large["pg"] / small["pg"])
            for i, name in ((0, "password"), (1, "challenge"),
                            (3, "verify")):
                figure("large / small: %s step p50 %.2f (goal within 1.2)",
                       name, percentile([s[i] for s in large["steps"]], 50)
                       / percentile([s[i] for s in small["steps"]], 50))
    mail.stop.set()
    sys.exit(_tap.status())


main()
