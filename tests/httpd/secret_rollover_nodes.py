#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Replacing the secret on two nodes in README's order ("Replacing the
secret"): every node first accepts the new secret B as its previous one,
then the nodes swap one after the other.  While one node has swapped and
the other not, each accepts what the other made: a session opened on
either passes on both, a code mailed through one is accepted by the other,
and CSAM_SUBJECT is the same everywhere.  The order matters: a node that
skipped the first step (A alone) refuses a session made under B."""
import os
import re
import signal
import sys
import time

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402
import rollovertest as rollover  # noqa: E402


t.start(__file__, httpd_opts=("--nodes", "2"),
        extra_conf=rollover.server_conf())
mbox = t.Mailbox()
CONF_DIR = os.environ["CSAM_TEST_HTTPD_CONF_DIR"]
ONE, TWO = os.environ["CSAM_TEST_HTTPD_URLS"].split()[:2]
NODE_DIRS = {ONE: CONF_DIR, TWO: os.path.join(CONF_DIR, "node2")}
JSON = {"Accept": "application/json"}

# The operator's files: A (the secret the test started with) and B.
KEYS, A = rollover.keys("rollover-nodes-keys")
B = os.path.join(KEYS, "secret-new.key")
rollover.write_secret(B, os.urandom(48))


def set_node(url, current, previous):
    """The node's secrets, in a file its httpd.conf includes last (so that
    it wins over the shared csam.conf), then a graceful restart."""
    nd = NODE_DIRS[url]
    secrets = os.path.join(nd, "secrets.conf")
    with open(secrets, "w", encoding="utf-8") as f:
        f.write('CSAMSecretFile "%s"\n' % current)
        if previous is not None:
            f.write('CSAMPreviousSecretFile "%s"\n' % previous)
    conf = os.path.join(nd, "httpd.conf")
    with open(conf, encoding="utf-8") as f:
        text = f.read()
    include = 'Include "%s"\n' % secrets
    if include not in text:
        with open(conf, "a", encoding="utf-8") as f:
            f.write(include)
    graceful(nd)


def graceful(nd):
    """apachectl graceful on one node; returns once it resumed."""
    log = os.path.join(nd, "error_log")

    def resumed():
        with open(log, encoding="utf-8", errors="replace") as f:
            return f.read().count("resuming normal operations")

    with open(os.path.join(nd, "httpd.pid")) as f:
        parent = int(f.read().strip())
    before = resumed()
    os.kill(parent, signal.SIGUSR1)
    if t.until(lambda: resumed() > before, 20) is None:
        raise t.Failure("no graceful restart of %s seen in its log" % nd)
    # Children of the old generation finish their connection first.
    time.sleep(0.3)


def activate():
    """A citizen with an e-mail key: (user, address)."""
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    return a["username"], a["reg"]["email"]


def login_across(user, email, start_on, verify_on):
    """Password and code request through one node, the code typed through
    the other: the session cookie."""
    body = t.expect(t.api("login", {"username": user,
                                    "password": t.PASSWORD}, url=start_on),
                    200)
    t.expect(t.api("login/challenge", {"login": body["login"],
                                       "key_type": "email"}, url=start_on),
             202)
    code = t.mail_code(mbox, email)
    resp = t.api("login/verify", {"login": body["login"], "code": code},
                 url=verify_on)
    t.expect(resp, 200)
    return t.session_cookie(resp)


def subject_on(url, cookie, what):
    status, _, env = t.backend("/app/env", cookie, headers=JSON, url=url)
    t.check(status == 200, "%s: the session passes /app" % what, status, env)
    subject = env.get("CSAM_SUBJECT", "") if isinstance(env, dict) else ""
    t.check(re.fullmatch(r"[A-Za-z0-9_-]{43}", subject) is not None,
            "%s: a CSAM_SUBJECT" % what, env)
    return subject


def passes_everywhere(cookie, subject, what):
    """Back and forth: each node may move the session to its own current
    secret, and the other must still find it."""
    for i, url in enumerate((ONE, TWO, ONE, TWO)):
        got = subject_on(url, cookie, "%s, node %s (%d)" % (what, url, i))
        t.check(got == subject, "%s: the same subject on %s" % (what, url),
                got, subject)


state = {}


def test_under_a():
    user, email = activate()
    cookie = t.login(mbox, user, email, url=ONE)
    subject = subject_on(TWO, cookie, "under A")
    state.update(user=user, email=email, cookie_a=cookie, subject=subject)


def test_both_accept_b_first():
    for url in (ONE, TWO):
        set_node(url, A, B)
    passes_everywhere(state["cookie_a"], state["subject"],
                      "A's session, both on A with B accepted")
    cookie = login_across(state["user"], state["email"], ONE, TWO)
    passes_everywhere(cookie, state["subject"], "a new session on A")


def test_one_swapped():
    user, email, subject = state["user"], state["email"], state["subject"]
    set_node(ONE, B, A)
    # What the first step prevents: a node on A alone refuses what the
    # swapped node makes.
    set_node(TWO, A, None)
    made_under_b = login_across(user, email, ONE, ONE)
    status, _, body = t.backend("/app/env", made_under_b, headers=JSON,
                                url=TWO)
    t.check(status == 401, "a node on A alone refuses a session made under "
            "B", status, body)
    set_node(TWO, A, B)
    passes_everywhere(made_under_b, subject, "B's session, one swapped")
    passes_everywhere(state["cookie_a"], subject, "A's session, one swapped")
    for start_on, verify_on in ((ONE, TWO), (TWO, ONE)):
        cookie = login_across(user, email, start_on, verify_on)
        passes_everywhere(cookie, subject,
                          "code mailed through %s, typed on %s"
                          % (start_on, verify_on))
    state["cookie_b"] = made_under_b


def test_both_swapped():
    set_node(TWO, B, A)
    for name in ("cookie_a", "cookie_b"):
        passes_everywhere(state[name], state["subject"],
                          "%s, both swapped" % name)
    for start_on, verify_on in ((ONE, TWO), (TWO, ONE)):
        cookie = login_across(state["user"], state["email"], start_on,
                              verify_on)
        passes_everywhere(cookie, state["subject"],
                          "both swapped, code through %s typed on %s"
                          % (start_on, verify_on))


t.run([test_under_a, test_both_accept_b_first, test_one_swapped,
       test_both_swapped])
