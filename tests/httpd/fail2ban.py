#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The fail2ban filter shipped in conf/fail2ban/ against the lines httpd
really logs (DESIGN 3.7, mod_csam(8) LOGGING).

Each kind of refused web login is provoked through httpd from an address
of its own on the loopback network (127.0.0.N, so the address in each line
says which client it was): a wrong password or unknown name, a try inside
the name's delay, refusals under each lock (name, account, source, known
device), a wrong code, a code whose attempts are exhausted.  Then
fail2ban-regex (Debian package fail2ban) reads the error log with the
filter: every refusal line matches with its own client's address, and no
other line does (a completed login, the lock lines, officers' actions).
The lines are one NOTICE each, with their stable tags, and no line holds a
password or a code.
"""
import http.client
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

F2B = "/usr/bin/fail2ban-regex"
THRESHOLD = 4               # a name's, an account's, a device's; a source's: 20
t.start(__file__, extra_conf="""
CSAMLockoutThreshold %d
CSAMCodeAttempts 3
CSAMResendCooldown 0
LogLevel warn csam:info
""" % THRESHOLD)
if not os.access(F2B, os.X_OK):
    print("SKIP: %s not found (Debian package fail2ban)" % F2B)
    sys.exit(77)
mbox = t.Mailbox()
FILTER = os.path.join(os.environ["CSAM_SRCDIR"], "conf", "fail2ban",
                      "filter.d", "csam.conf")
LOG = os.environ["CSAM_TEST_HTTPD_ERROR_LOGS"].split()[0]

# Every request leaves from the address FROM[0] (None: the default).
FROM = [None]
_connection = http.client.HTTPConnection


class _FromConnection(_connection):
    def __init__(self, *args, **kw):
        if FROM[0] is not None:
            kw["source_address"] = (FROM[0], 0)
        super().__init__(*args, **kw)


http.client.HTTPConnection = _FromConnection


class Client:
    """A client with its own address and cookie jar."""

    def __init__(self, address):
        self.address = address
        self.jar = {}

    def api(self, path, payload):
        FROM[0] = self.address
        try:
            resp = t.api(path, payload, headers={"Cookie": "; ".join(
                "%s=%s" % kv for kv in self.jar.items())})
        finally:
            FROM[0] = None
        for line in resp.headers.get("set-cookie", "").split("\n"):
            m = re.match(r"([a-z_]+)=([^;]*)", line)
            if m:
                self.jar[m.group(1)] = m.group(2)
        return resp


def active_account():
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"], a["reg"]["email"]


def password_step(client, user, password=t.PASSWORD):
    body = t.expect(client.api("login", {"username": user,
                                         "password": password}), 200)
    t.expect(client.api("login/challenge", {"login": body["login"],
                                            "key_type": "email"}), 202)
    return body["login"]


# What each address does, and the tags its refusals must carry, in order.
expected = {}
codes_seen = []


def test_name_delay_and_lock():
    """127.0.0.11: wrong passwords of an unknown name, a try inside its
    delay, the lock of the name, a try under it."""
    c = Client("127.0.0.11")
    name = "ghost-%d" % os.getpid()
    for _ in range(3):
        t.expect(c.api("login", {"username": name,
                                 "password": "Guess-guess-41"}), 401,
                 "invalid_credentials")
    # The third failure began a growing delay: refused unchecked.
    t.expect(c.api("login", {"username": name, "password": "Guess-guess-41"}),
             401, "invalid_credentials")
    time.sleep(1.5)
    t.expect(c.api("login", {"username": name, "password": "Guess-guess-41"}),
             401, "invalid_credentials")
    t.expect(c.api("login", {"username": name, "password": "Guess-guess-41"}),
             423, "locked")
    expected[c.address] = ["CSAM01040"] * 3 + ["CSAM01041", "CSAM01040",
                                               "CSAM01044"]


def test_source_lock():
    """127.0.0.12: a spray of names until the source is locked, then one
    more try."""
    c = Client("127.0.0.12")
    for i in range(5 * THRESHOLD):
        t.expect(c.api("login", {"username": "spray-%d-%d" % (os.getpid(), i),
                                 "password": "Guess-guess-42"}), 401,
                 "invalid_credentials")
    t.expect(c.api("login", {"username": "spray-last",
                             "password": "Guess-guess-42"}), 423, "locked")
    expected[c.address] = ["CSAM01040"] * (5 * THRESHOLD) + ["CSAM01044"]


def test_codes_and_account_lock():
    """127.0.0.13: wrong codes until the code's attempts are exhausted,
    then on a new login until the account is locked, then a try under
    the account's lock."""
    t.forgive_source()
    user, email = active_account()
    c = Client("127.0.0.13")
    login = password_step(c, user)
    code = t.mail_code(mbox, email)
    codes_seen.append(code)
    bad = t.wrong_code(code)
    t.expect(c.api("login/verify", {"login": login, "code": bad}), 401,
             "invalid_code")
    t.expect(c.api("login/verify", {"login": login, "code": bad}), 401,
             "invalid_code")
    # The third: the code's last attempt, and a growing delay begins.
    t.expect(c.api("login/verify", {"login": login, "code": bad}), 423,
             "locked")
    # Inside the delay (the account's lock column holds it).
    t.expect(c.api("login/verify", {"login": login, "code": bad}), 423,
             "locked")
    time.sleep(1.5)
    t.expect(c.api("login/verify", {"login": login, "code": bad}), 423,
             "locked")
    # A new login, a new code: the fourth wrong code locks the account.
    login = password_step(c, user)
    code = t.mail_code(mbox, email)
    codes_seen.append(code)
    t.expect(c.api("login/verify", {"login": login,
                                    "code": t.wrong_code(code)}), 423,
             "locked")
    t.expect(c.api("login/verify", {"login": login, "code": code}), 423,
             "locked")
    # And the password step of any fresh browser meets the account's lock.
    t.expect(c.api("login", {"username": user, "password": t.PASSWORD}), 423,
             "locked")
    expected[c.address] = ["CSAM01042", "CSAM01042", "CSAM01042",
                           "CSAM01044", "CSAM01043", "CSAM01042",
                           "CSAM01044", "CSAM01044"]


def test_device_lock_and_success():
    """127.0.0.14: a completed login (no line matches), then wrong
    passwords from that known device until its own lock, and one more."""
    t.forgive_source()
    user, email = active_account()
    c = Client("127.0.0.14")
    login = password_step(c, user)
    code = t.mail_code(mbox, email)
    codes_seen.append(code)
    t.expect(c.api("login/verify", {"login": login, "code": code}), 200)
    t.check("csam_device" in c.jar, "a completed login sets csam_device")
    for _ in range(THRESHOLD - 1):
        t.expect(c.api("login", {"username": user,
                                 "password": "Guess-guess-44"}), 401,
                 "invalid_credentials")
    t.expect(c.api("login", {"username": user, "password": "Guess-guess-44"}),
             401, "invalid_credentials")
    t.expect(c.api("login", {"username": user, "password": t.PASSWORD}), 423,
             "locked")
    expected[c.address] = ["CSAM01040"] * THRESHOLD + ["CSAM01044"]


def refusals_in_log():
    """(address in the message, tag, line) of each refusal line httpd
    logged, in order."""
    out = []
    with open(LOG, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"\[csam:(\w+)\].*\b(CSAM010[4-6]\d): (.*)", line)
            if m is None:
                continue
            t.check(m.group(1) == "notice", "a NOTICE line", line)
            addr = re.search(r" from ([0-9.]+)(?:,|$)", m.group(3))
            t.check(addr is not None, "the address in the message", line)
            out.append((addr.group(1), m.group(2), line.rstrip("\n")))
    return out


def test_lines():
    """One NOTICE line per refusal, with its tag, from its own address;
    the locks as lines of their own; no password, no code."""
    lines = refusals_in_log()
    for address, tags in expected.items():
        got = [tag for a, tag, _ in lines
               if a == address and tag < "CSAM01050"]
        t.check(got == tags, "the refusals of %s" % address, got, tags)
    locks = {(a, tag) for a, tag, _ in lines if "CSAM01050" <= tag
             < "CSAM01060"}
    t.check(("127.0.0.11", "CSAM01050") in locks, "the name's lock", locks)
    t.check(("127.0.0.12", "CSAM01052") in locks, "the source's lock", locks)
    t.check(("127.0.0.13", "CSAM01051") in locks, "the account's lock", locks)
    t.check(("127.0.0.14", "CSAM01053") in locks, "the device's lock", locks)
    t.check(any(tag == "CSAM01060" for _, tag, _ in lines),
            "the registrations are officers' NOTICE lines", lines[-3:])
    with open(LOG, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for secret in ["Guess-guess-4", t.PASSWORD] + codes_seen:
        t.check(secret not in text, "no password or code in the log", secret)
    t.check("ghost-" not in text and "spray-" not in text,
            "no name that is no account's in the log")


def test_fail2ban_regex():
    """fail2ban-regex with the shipped filter: each refusal line matches
    with its own address, nothing else does."""
    proc = subprocess.run([F2B, "--raw", "-o", "<ip> | <msg>", LOG, FILTER],
                          capture_output=True, text=True, timeout=120)
    t.check(proc.returncode == 0, "fail2ban-regex runs", proc.stdout[-2000:],
            proc.stderr[-2000:])
    matched = []
    for row in proc.stdout.splitlines():
        ip, _, msg = row.partition(" | ")
        matched.append((ip, msg))
    refusals = [(a, line) for a, tag, line in refusals_in_log()
                if tag < "CSAM01050"]
    t.check(len(matched) == len(refusals),
            "fail2ban matched every refusal and nothing else",
            len(matched), len(refusals), proc.stdout[-3000:])
    for (ip, msg), (address, line) in zip(matched, refusals):
        t.check(ip == address, "the address fail2ban read", ip, address, msg)
        t.check(msg.strip() == line.strip(), "the line fail2ban read", msg,
                line)
    t.check(not any("CSAM0105" in m or "CSAM0106" in m or "web login of" in m
                    for _, m in matched),
            "no lock, officer or success line matched")
    for address in expected:
        t.check(sum(1 for ip, _ in matched if ip == address)
                == len(expected[address]),
                "each try of %s counted once" % address)


t.run([test_name_delay_and_lock, test_source_lock,
       test_codes_and_account_lock, test_device_lock_and_success,
       test_lines, test_fail2ban_regex])
