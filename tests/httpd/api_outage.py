#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Failures around mod_csam: PostgreSQL stopped mid-test (503 unavailable,
then service again without restarting httpd), PostgreSQL restarted under
pooled connections, and the mail relay down (502 mail_unavailable, nothing
half-created)."""
import os
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__)
mbox = t.Mailbox()


def pg(action):
    import subprocess
    subprocess.run([os.environ["CSAM_TEST_PG_CTL"], action], check=True)


def count(table):
    return int(t.scalar("SELECT count(*) FROM %s" % table))


def httpd_parent():
    """The pid of node 1's httpd parent process."""
    with open(os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"],
                           "httpd.pid")) as f:
        return int(f.read().strip())


# What a stopped database makes mod_csam log: each pooled connection finds
# itself lost (on whichever statement comes first), and every attempt to
# connect again is refused (libpq's message, without its final newline).
REFUSED = (r'connection to server at "127\.0\.0\.1", port [0-9]+ failed: '
           r"Connection refused\\n\\tIs the server running on that host and "
           r"accepting TCP/IP connections\?")
DATABASE_DOWN_LOG = (
    r"csam:error CSAM00006: database reconnection failed: " + REFUSED,)
# (57P01: the backend's last word, "terminating connection due to
# administrator command", read as the answer to the statement sent next.)
LOST = (r"csam:error CSAM00006: database statement csam_[a-z_]+ failed: "
        r"SQLSTATE (none|57P01) \(connection lost\)")
DATABASE_DOWN_MAYBE = (
    r"csam:error CSAM00006: database connection failed: " + REFUSED, LOST)


def database_down(token, reply):
    """Stop PostgreSQL, check that the API answers 503, start it again."""
    pg("stop")
    try:
        for _ in range(3):
            r = t.api("registrations", t.citizen(), auth=t.OFFICER)
            t.expect(r, 503, "unavailable")
            t.check(r.header("retry-after") == "5", "Retry-After", r.headers)
            t.expect(t.api("activation", {"token": token, "activation_code":
                                          reply["activation_code"]}),
                     503, "unavailable")
        t.expect(t.api("activation/confirm", {"activation": "A" * 43,
                                              "code": "123456"}),
                 503, "unavailable")
        # A down database costs no mail.
        mbox.none_for("@example.be", wait=0.2)
    finally:
        pg("start")


def test_database_down_then_back():
    # Warm the pool: connections exist when the database goes away.
    reg, reply, token = t.register(mbox)
    parent = httpd_parent()
    with t.log_expected(*DATABASE_DOWN_LOG, optional=DATABASE_DOWN_MAYBE):
        database_down(token, reply)
        # Back without restarting httpd: the very first request works (a
        # pooled connection may find itself lost first, and is replaced).
        t.check(httpd_parent() == parent, "httpd was not restarted")
        handle = t.open_activation(token, reply["activation_code"])
    t.choose_email_key(handle)
    reg2, reply2, token2 = t.register(mbox)
    t.open_activation(token2, reply2["activation_code"])


def test_database_restart_under_pooled_connections():
    # Several requests at once, so several pooled connections break.
    import threading
    regs = []

    def one():
        reg = t.citizen()
        r = t.api("registrations", reg, auth=t.OFFICER)
        regs.append((reg, r.status))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.check(all(s == 201 for _, s in regs), "parallel registrations",
            [s for _, s in regs])
    for reg, _ in regs:
        mbox.wait(reg["email"])
    pg("restart")
    statuses = []
    # A pooled connection finds itself lost on its next statement, and is
    # replaced at once.
    with t.log_expected(LOST):
        for _ in range(8):
            reg = t.citizen()
            statuses.append(t.api("registrations", reg,
                                  auth=t.OFFICER).status)
            mbox.wait(reg["email"])
    t.check(statuses == [201] * 8, "every request after a restart works",
            statuses)


def test_pool_is_bounded():
    """A burst larger than the server's threads is served, on at most one
    connection per thread (2 children x 8 threads in httpd-run)."""
    import threading
    statuses = []
    barrier = threading.Barrier(40)

    def one():
        barrier.wait()
        statuses.append(t.api("activation/confirm",
                              {"activation": "A" * 43,
                               "code": "123456"}).status)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.check(statuses == [410] * 40, "every request served", statuses)
    conns = int(t.scalar("SELECT count(*) FROM pg_stat_activity WHERE "
                         "datname = 'csam' AND pid <> pg_backend_pid()"))
    t.check(1 <= conns <= 16, "connections bounded by the threads", conns)


def test_graceful_restart():
    """A graceful restart rereads the configuration (secret, templates)
    and makes new pools; flows started before it go on."""
    import signal
    import time
    reg, reply, token = t.register(mbox)
    handle = t.open_activation(token, reply["activation_code"])
    parent = httpd_parent()
    log = os.environ["CSAM_TEST_HTTPD_ERROR_LOG"]

    def restarts():
        with open(log) as f:
            return f.read().count("resuming normal operations")

    before = restarts()
    os.kill(parent, signal.SIGUSR1)
    deadline = time.time() + 10
    while time.time() < deadline:
        if restarts() > before:
            break
        time.sleep(0.1)
    else:
        raise t.Failure("no graceful restart seen in the error log")
    t.check(httpd_parent() == parent, "same parent process")
    t.choose_email_key(handle)
    t.set_credentials(handle, t.username())
    code = t.security_code(mbox.wait(reg["email"]))
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}), 200)


def set_directive(name, value):
    """Set (value None: unset) a directive on node 1 and restart it."""
    import subprocess
    conf = os.path.join(os.environ["CSAM_TEST_HTTPD_CONF_DIR"], "extra.conf")
    with open(conf) as f:
        lines = [line for line in f if not line.startswith(name + " ")]
    if value is not None:
        lines.append('%s "%s"\n' % (name, value))
    with open(conf, "w") as f:
        f.writelines(lines)
    subprocess.run([os.environ["CSAM_TEST_HTTPD_RESTART"], "1"], check=True)


def set_relay(url):
    set_directive("CSAMMailRelay", url)


# What a database host that never answers makes mod_csam log: the first
# attempt's timeout, then the back-off.
SILENT_DATABASE_LOG = (
    r'csam:error CSAM00006: database connection failed: connection to '
    r'server at "127\.0\.0\.1", port [0-9]+ failed: timeout expired',
    r"csam:error CSAM00007: cannot connect to the CSAM database: "
    r"unavailable \(no answer: not trying again for a few seconds\)")


def test_database_not_answering():
    """A database host that accepts but never answers: the first request
    waits for libpq's connect_timeout, the next ones get 503 at once
    instead of each holding a worker that long."""
    import socket
    import threading
    import time
    held = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def accept():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            held.append(c)

    threading.Thread(target=accept, daemon=True).start()
    try:
        with t.log_expected(*SILENT_DATABASE_LOG):
            set_directive("CSAMDatabase", "host=127.0.0.1 port=%d "
                          "dbname=csam connect_timeout=2"
                          % srv.getsockname()[1])
            t0 = time.time()
            t.expect(t.api("activation/confirm", {"activation": "A" * 43,
                                                  "code": "123456"}),
                     503, "unavailable")
            first = time.time() - t0
            t.check(first >= 1.5, "the first attempt waited for the "
                    "database", first)
            for _ in range(5):
                t0 = time.time()
                t.expect(t.api("activation/confirm",
                               {"activation": "A" * 43, "code": "123456"}),
                         503, "unavailable")
                t.check(time.time() - t0 < 0.5, "503 at once while backing "
                        "off", time.time() - t0)
    finally:
        srv.close()
        for c in held:
            c.close()
        set_directive("CSAMDatabase", None)
    t.expect(t.api("activation/confirm", {"activation": "A" * 43,
                                          "code": "123456"}), 410, "expired")


# What a mail relay that is down makes mod_csam log: which mail was lost,
# not the relay's address.
RELAY_DOWN_LOG = (
    r"csam:error CSAM00001: the 'activation' mail could not be delivered "
    r"\(mail_unavailable\)",
    r"csam:error CSAM00001: the 'code' mail could not be delivered "
    r"\(mail_unavailable\)")


def test_mail_relay_down():
    t.forgive_source()
    # A flow waiting for its credentials step while the relay goes down.
    reg, reply, token = t.register(mbox)
    handle = t.open_activation(token, reply["activation_code"])
    t.choose_email_key(handle)
    f = t.activate(mbox)

    set_relay(os.environ["CSAM_TEST_DEAD_SMTP_URL"])
    try:
        with t.log_expected(*RELAY_DOWN_LOG):
            before = (count("csam_registrations"), count("csam_accounts"),
                      count("csam_challenges"))
            newcomer = t.citizen()
            t.expect(t.api("registrations", newcomer, auth=t.OFFICER), 502,
                     "mail_unavailable")
            # The same person again must not supersede the earlier code
            # either: nothing changed at all.
            t.expect(t.api("registrations", reg, auth=t.OFFICER), 502,
                     "mail_unavailable")
            user = t.username()
            t.expect(t.api("activation/credentials",
                           {"activation": handle, "username": user,
                            "password": t.PASSWORD,
                            "password_repeat": t.PASSWORD}),
                     502, "mail_unavailable")
            t.psql("UPDATE csam_challenges SET created_at = created_at - "
                   "interval '1 hour' WHERE account_id = (SELECT id FROM "
                   "csam_accounts WHERE username = '%s')" % f["username"])
            t.expect(t.api("activation/resend", {"activation": f["handle"]}),
                     502, "mail_unavailable")
            after = (count("csam_registrations"), count("csam_accounts"),
                     count("csam_challenges"))
            t.check(before == after, "nothing half-created", before, after)
            t.check(t.scalar("SELECT count(*) FROM csam_accounts WHERE "
                             "username = '%s'" % user) == "0",
                    "no account without its code mail")
    finally:
        set_relay(None)
    # The relay is back: the same step succeeds, the username is free, and
    # the link was not superseded by the refused registration.
    t.set_credentials(handle, user)
    code = t.security_code(mbox.wait(reg["email"]))
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}), 200)
    # The earlier flow's code still works: the failed resend left it.
    t.expect(t.api("activation/confirm", {"activation": f["handle"],
                                          "code": f["code"]}), 200)


t.run([
    test_pool_is_bounded,
    test_database_down_then_back,
    test_database_restart_under_pooled_connections,
    test_mail_relay_down,
    test_database_not_answering,
    test_graceful_restart,
])
