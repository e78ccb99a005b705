#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Replacing the secret (issue 15 item 6), as an operator does it, under
load.

Under secret A: accounts with each key type (e-mail, SMS, app), their
sessions and CSAM_SUBJECT, a registration whose letter code and link are
not used yet, a login whose e-mailed code is pending, and a session that
is never used again.  Then the secret file becomes B with A as
CSAMPreviousSecretFile, and httpd restarts gracefully while a thread keeps
logging in and using sessions: nothing fails outside the restart window.
Under B+A: old sessions pass, the pending code and activation complete,
every key type logs in, the subjects stay, the desk finds each person
again; `csam-admin secret check` says PREVIOUS, `secret rekey --batch 2`
runs under the load, then check says SAME.  Then A is removed and httpd
restarts: sessions used during the rollover still pass (they moved to B),
the one never used is refused, every key type logs in, the subjects stay,
the desk still finds each person.  The restart window and the rekey's
duration are printed as "# figure:" lines."""
import os
import re
import shutil
import signal
import sys
import threading
import time

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402
import rollovertest as rollover  # noqa: E402


t.start(__file__, extra_conf=rollover.server_conf(sms=True))
mbox = t.Mailbox()
CONF_DIR = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
sms = t.SmsBox()
JSON = {"Accept": "application/json"}

# The operator's files: the secret in service and the one it replaces.
KEYS, SECRET = rollover.keys("rollover-keys")
PREVIOUS = os.path.join(KEYS, "secret.key.previous")

sys.path.insert(0, os.path.join(os.environ["CSAM_SRCDIR"], "tests", "admin"))
import admintest  # noqa: E402

admin = admintest.Harness()


def figure(text):
    print("# figure: " + text)
    sys.stdout.flush()


# ---------------------------------------------------------------- httpd

def set_secrets(previous):
    """CSAMSecretFile is SECRET; CSAMPreviousSecretFile is `previous` (None:
    no such line), in the server's csam.conf."""
    path = os.path.join(CONF_DIR, "csam.conf")
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f
                 if not line.startswith(("CSAMSecretFile ",
                                         "CSAMPreviousSecretFile "))]
    lines.append('CSAMSecretFile "%s"\n' % SECRET)
    if previous is not None:
        lines.append('CSAMPreviousSecretFile "%s"\n' % previous)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


# mod_cgid restarts its daemon on a graceful restart: a CGI request an
# old child is handing to it at that moment fails (503) and httpd logs
# this.  The load's protected requests run a CGI, so a restart under
# load may log it; the round it fails falls inside the restart window.
CGID_RESTARTED = (r"cgid:error \(\d+\)[^:]*: .*AH10246: stderr from .*: "
                  r"failed reading PID from cgi daemon")


def graceful():
    """apachectl graceful: SIGUSR1 to the parent, which keeps its listening
    socket; (time signalled, time the new generation said it resumed)."""
    log = os.environ["CSAM_TEST_HTTPD_ERROR_LOG"]

    def resumed():
        with open(log, encoding="utf-8", errors="replace") as f:
            return f.read().count("resuming normal operations")

    with open(os.path.join(CONF_DIR, "httpd.pid")) as f:
        parent = int(f.read().strip())
    before = resumed()
    sent = time.time()
    os.kill(parent, signal.SIGUSR1)
    took = t.until(lambda: resumed() > before, 20)
    resumed_at = time.time()
    t.check(took is not None, "no graceful restart seen in the error log")
    # A configuration httpd refuses on a graceful restart stops the parent.
    try:
        os.kill(parent, 0)
    except OSError:
        raise t.Failure("httpd's parent is gone after the graceful restart")
    return sent, resumed_at


# ---------------------------------------------------------------- keys

_phones = [0]


def phone():
    _phones[0] += 1
    n = "%06d" % ((os.getpid() * 37 + _phones[0]) % 1000000)
    return "0470 %s %s %s" % (n[:2], n[2:4], n[4:]), "+32470" + n


def totp_code(user, secret):
    """The code of the current step.  A step is accepted once per key, and
    this test logs the app's key in more often than every 30 seconds: the
    step the key last used is set back a minute first, as if that login
    had been earlier (the replay rule is keytypes.py's to test)."""
    now = int(time.time()) // 30
    t.psql("UPDATE csam_keys SET totp_last_step = LEAST(totp_last_step, %d)"
           " WHERE type = 'totp' AND account_id = (SELECT id FROM "
           "csam_accounts WHERE username = '%s')" % (now - 2, user))
    return t.totp(secret)


def activate(key_type, reg=None):
    """Register at the desk and activate with one key: a dict with user,
    reg, and the key's phone (E.164) or secret."""
    reg, reply, token = t.register(mbox, reg)
    handle = t.open_activation(token, reply["activation_code"])
    payload = {"activation": handle, "key_type": key_type,
               "accept_terms": True}
    if key_type == "sms":
        typed, e164 = phone()
        payload["phone"] = typed
    t.expect(t.api("activation/key", payload), 200)
    user = t.username()
    body = t.expect(t.api("activation/credentials",
                          {"activation": handle, "username": user,
                           "password": t.PASSWORD,
                           "password_repeat": t.PASSWORD}), 202)
    who = {"user": user, "reg": reg, "key": key_type,
           "registration_id": reply["registration_id"]}
    if key_type == "email":
        code = t.mail_code(mbox, reg["email"])
    elif key_type == "sms":
        who["phone"] = e164
        code = sms.code(e164)
    else:
        who["secret"] = body["secret"]
        t.seen_secrets.add(body["secret"])
        code = totp_code(user, body["secret"])
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}), 200)
    return who


def start_login(who, mailbox=None):
    """Password and challenge: (login handle, the code the key gives)."""
    body = t.expect(t.api("login", {"username": who["user"],
                                    "password": t.PASSWORD}), 200)
    t.check(body.get("key_types") == [who["key"]], "the account's key",
            body)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": who["key"]}), 202)
    if who["key"] == "email":
        code = t.mail_code(mailbox or mbox, who["reg"]["email"])
    elif who["key"] == "sms":
        code = sms.code(who["phone"])
    else:
        code = totp_code(who["user"], who["secret"])
    return body["login"], code


def verify(who, handle, code):
    resp = t.api("login/verify", {"login": handle, "code": code})
    t.check(t.expect(resp, 200) == {"username": who["user"],
                                    "key_type": who["key"]},
            "verify body", resp.body)
    return t.session_cookie(resp)


def login(who, mailbox=None):
    handle, code = start_login(who, mailbox)
    return verify(who, handle, code)


def subject_of(cookie, what):
    """The CSAM_SUBJECT the application gets for this session (which must
    pass)."""
    status, _, env = t.backend("/app/env", cookie, headers=JSON)
    t.check(status == 200, "%s: the session passes /app" % what, status, env)
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", env.get("CSAM_SUBJECT", ""))
            is not None, "%s: a CSAM_SUBJECT" % what, env)
    return env["CSAM_SUBJECT"]


def refused(cookie, what):
    status, _, body = t.backend("/app/env", cookie, headers=JSON)
    t.check(status == 401, "%s: refused" % what, status, body)


def desk_finds(who, when):
    """An officer registers the person again: the activation names the
    account the person has (the lookup by the number's keyed hash).  The
    hashes are compared in the database only once A is gone: while it is
    previous, the new registration's is B's and the account's may be A's."""
    reg = dict(who["reg"], email=who["reg"]["email"].replace(
        "@", ".%s@" % when))
    _, reply, token = t.register(mbox, reg)
    opened = t.expect(t.api("activation", {"token": token,
                                           "activation_code":
                                           reply["activation_code"]}), 200)
    t.seen_secrets.add(opened.get("activation"))
    t.check(opened.get("account") == "existing"
            and opened.get("username") == who["user"],
            "%s: the desk finds %s" % (when, who["user"]), opened)
    if when == "b-and-a":
        return
    accounts = int(t.scalar(
        "SELECT count(*) FROM csam_accounts WHERE status <> 'disabled' AND "
        "nrn_hash = (SELECT nrn_hash FROM csam_registrations WHERE id = %d)"
        % reply["registration_id"]))
    t.check(accounts == 1, "%s: one account for the person" % when,
            accounts)


def secret_check(conf):
    r = admin.admin("secret", "check", conf=conf, json_out=True)
    try:
        return r, r.json()
    except ValueError:
        raise t.Failure("secret check said no JSON: %r" % r)


# ---------------------------------------------------------------- load

class Load(threading.Thread):
    """Logs one account in again and again by e-mail, and uses the new
    session and one made under A before the rollover, recording each
    round: (start, end, error or None)."""

    def __init__(self, who, old_cookie, subject):
        super().__init__(daemon=True)
        self.who = who
        self.old = old_cookie
        self.subject = subject
        self.mailbox = t.Mailbox()
        self.rounds = []
        self.halt = threading.Event()

    def one(self):
        cookie = login(self.who, self.mailbox)
        for c, what in ((cookie, "new session"), (self.old, "A session")):
            status, _, env = t.backend("/app/env", c, headers=JSON)
            t.check(status == 200, "load: %s passes" % what, status)
            t.check(env.get("CSAM_SUBJECT") == self.subject,
                    "load: the subject of the %s" % what)

    def run(self):
        while not self.halt.is_set():
            t0 = time.time()
            try:
                self.one()
                self.rounds.append((t0, time.time(), None))
            except Exception as e:  # every failure is counted, not raised
                self.rounds.append((t0, time.time(), repr(e)))
                time.sleep(0.2)

    def finish(self):
        self.halt.set()
        self.join(60)
        t.check(not self.is_alive(), "the load thread stopped")

    def judge(self, windows, what):
        """No failed round outside the restart windows [(from, to)]; the
        rounds and failures inside them are reported."""
        def inside(r):
            return any(r[0] <= end and r[1] >= start
                       for start, end in windows)

        outside = [r for r in self.rounds if r[2] is not None
                   and not inside(r)]
        within = [r for r in self.rounds if inside(r)]
        good = sorted(r[1] for r in self.rounds if r[2] is None)
        gap = max((b - a for a, b in zip(good, good[1:])), default=0.0)
        figure("%s: %d load rounds (login by e-mail code + 2 protected "
               "requests), %d overlapping the restart window(s), %d of "
               "those failed, %d failed outside; longest gap between good "
               "rounds %.2f s" % (what, len(self.rounds), len(within),
                                  len([r for r in within if r[2]]),
                                  len(outside), gap))
        for r in [r for r in self.rounds if r[2] is not None][:3]:
            print("# %s: a failed load round at +%.2f s: %s"
                  % (what, r[0] - self.rounds[0][0], r[2][:300]))
        t.check(len(good) >= 3, "%s: the load made progress" % what,
                len(self.rounds))
        t.check(not outside, "%s: load failures outside the restart window"
                % what, *[r[2] for r in outside[:5]])


# ---------------------------------------------------------------- the story

S = {}


def test_under_a():
    """Accounts, sessions, subjects, a pending activation and a pending
    code, all under A."""
    set_secrets(None)
    S["people"] = {k: activate(k) for k in ("email", "sms", "totp")}
    S["load_who"] = activate("email")
    S["cookies"] = {}
    S["subjects"] = {}
    for k, who in S["people"].items():
        S["cookies"][k] = login(who)
        S["subjects"][k] = subject_of(S["cookies"][k], "%s under A" % k)
    t.check(len(set(S["subjects"].values())) == 3, "three people, three "
            "subjects", S["subjects"])
    # Never used again until A is gone.
    S["untouched"] = login(S["people"]["email"])
    t.check(subject_of(S["untouched"], "the untouched session under A")
            == S["subjects"]["email"], "one subject per person")
    S["load_cookie"] = login(S["load_who"])
    S["load_subject"] = subject_of(S["load_cookie"], "load account under A")
    # Pending: a letter and its link, a login with its code mailed.
    S["pending_reg"], S["pending_reply"], S["pending_token"] = \
        t.register(mbox)
    S["pending_login"] = start_login(S["people"]["email"])
    S["hashes_a"] = dict(t.psql("SELECT username, encode(nrn_hash, 'hex') "
                                "FROM csam_accounts"))
    t.check(t.scalar("SELECT count(*) FROM csam_installation") == "1",
            "the registrations recorded A's fingerprint")


def test_rotate_under_load():
    """B in service, A previous, a graceful restart while the load runs."""
    shutil.copyfile(SECRET, PREVIOUS)
    os.chmod(PREVIOUS, 0o600)
    with open(SECRET, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(SECRET, 0o600)
    set_secrets(PREVIOUS)
    load = Load(S["load_who"], S["load_cookie"], S["load_subject"])
    S["load"] = load
    load.start()
    time.sleep(2)
    with t.log_expected(optional=(CGID_RESTARTED,), settle=0.5):
        sent, resumed = graceful()
    S["windows"] = [(sent, resumed)]
    figure("graceful restart B+A: %.2f s from SIGUSR1 to resuming normal "
           "operations" % (resumed - sent))
    # A few rounds of the load under B+A before going on.
    t.check(t.until(lambda: len([r for r in load.rounds
                                 if r[0] > resumed]) >= 2, 60) is not None,
            "the load goes on after the restart", load.rounds[-3:])


def test_under_b_and_a():
    people = S["people"]
    # The pending login's code, mailed under A, opens its session.
    handle, code = S["pending_login"]
    pending = verify(people["email"], handle, code)
    t.check(subject_of(pending, "the pending code's session")
            == S["subjects"]["email"], "the pending code's subject")
    # The letter and link issued under A activate.
    reg, reply = S["pending_reg"], S["pending_reply"]
    h = t.open_activation(S["pending_token"], reply["activation_code"])
    t.choose_email_key(h)
    user = t.username()
    t.set_credentials(h, user)
    t.expect(t.api("activation/confirm",
                   {"activation": h,
                    "code": t.mail_code(mbox, reg["email"])}), 200)
    late = {"user": user, "reg": reg, "key": "email",
            "registration_id": reply["registration_id"]}
    people["late"] = late
    S["subjects"]["late"] = subject_of(login(late), "the late activation")
    # The sessions of A pass, and each account logs in with its key.
    for k, who in sorted(people.items()):
        if k in S["cookies"]:
            t.check(subject_of(S["cookies"][k], "%s's A session under B+A"
                               % k) == S["subjects"][k],
                    "%s: the subject of the A session" % k)
        t.check(subject_of(login(who), "%s's login under B+A" % k)
                == S["subjects"][k], "%s: the subject under B+A" % k)
        desk_finds(who, "b-and-a")


def test_rekey_under_load():
    try:
        rekey()
    finally:
        # Stopped whatever failed: one account's logins in two threads
        # would take each other's codes.
        S["load"].finish()
    S["load"].judge(S["windows"], "rotation to B+A and rekey")
    for k, who in sorted(S["people"].items()):
        t.check(subject_of(login(who), "%s after the rekey" % k)
                == S["subjects"][k], "%s: the subject after the rekey" % k)


def rekey():
    conf = admin.write_conf("rollover.conf", secret_file=SECRET,
                            previous_secret_file=PREVIOUS)
    S["admin_conf"] = conf
    r, js = secret_check(conf)
    t.check(str(js.get("database", "")).lower() == "previous",
            "secret check under B+A before the rekey: PREVIOUS", r)
    accounts = int(t.scalar("SELECT count(*) FROM csam_accounts"))
    registrations = int(t.scalar("SELECT count(*) FROM csam_registrations"))
    t0 = time.time()
    r = admin.admin("secret", "rekey", "--batch", "2", conf=conf)
    took = time.time() - t0
    t.check(r.rc == 0, "secret rekey --batch 2", r)
    figure("secret rekey --batch 2: %.2f s for %d accounts and %d "
           "registrations, under load" % (took, accounts, registrations))
    r, js = secret_check(conf)
    t.check(r.rc == 0 and str(js.get("database", "")).lower() == "same",
            "secret check after the rekey: SAME", r)
    # Every account made under A has a new hash, and keeps the subject
    # it had (schema 006).
    now = dict(t.psql("SELECT username, encode(nrn_hash, 'hex') FROM "
                      "csam_accounts"))
    stale = [u for u, h in S["hashes_a"].items() if now.get(u) == h]
    t.check(not stale, "accounts whose hash was not re-keyed", stale)
    t.check(t.scalar("SELECT count(*) FROM csam_accounts WHERE username IN "
                     "(%s) AND subject IS NULL" % ",".join(
                         "'%s'" % u for u in S["hashes_a"])) == "0",
            "a subject stored for each account re-keyed")
    # A second run finds nothing left to do, and says so without error.
    r = admin.admin("secret", "rekey", "--batch", "2", conf=conf)
    t.check(r.rc == 0, "a second rekey", r)


def test_previous_removed():
    load = Load(S["load_who"], S["load_cookie"], S["load_subject"])
    load.start()
    try:
        time.sleep(2)
        set_secrets(None)
        os.unlink(PREVIOUS)
        with t.log_expected(optional=(CGID_RESTARTED,), settle=0.5):
            sent, resumed = graceful()
        figure("graceful restart B alone: %.2f s from SIGUSR1 to resuming "
               "normal operations" % (resumed - sent))
        t.until(lambda: len([r for r in load.rounds
                             if r[0] > resumed]) >= 2, 60)
    finally:
        load.finish()
    load.judge([(sent, resumed)], "removal of the previous secret")
    r, js = secret_check(admin.write_conf("b-only.conf", secret_file=SECRET))
    t.check(r.rc == 0 and str(js.get("database", "")).lower() == "same",
            "secret check with B alone: SAME", r)
    people = S["people"]
    for k in sorted(S["cookies"]):
        t.check(subject_of(S["cookies"][k], "%s's A session, used during "
                           "the rollover, under B alone" % k)
                == S["subjects"][k], "%s: its subject" % k)
    refused(S["untouched"], "a session of A never used during the rollover")
    for k, who in sorted(people.items()):
        t.check(subject_of(login(who), "%s's login under B alone" % k)
                == S["subjects"][k], "%s: the subject under B alone" % k)
        desk_finds(who, "b-alone")


t.run([test_under_a, test_rotate_under_load, test_under_b_and_a,
       test_rekey_under_load, test_previous_removed])
