#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Behind a proxy (DESIGN 3.3): with mod_remoteip in front (RemoteIPHeader
X-Forwarded-For, the test client's loopback address as the trusted proxy),
two clients behind one proxy have separate per-source budgets; a locked
source answers a right password 423 locked with retry_after, never
invalid_credentials; the audit trail names the client, not the proxy."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

THRESHOLD = 2                   # a name's; a source's is 5 times that
t.start(__file__, extra_conf="""
LoadModule remoteip_module /usr/lib/apache2/modules/mod_remoteip.so
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1
CSAMLockoutThreshold %d
""" % THRESHOLD)
mbox = t.Mailbox()
ALICE, BOB = "203.0.113.10", "203.0.113.20"


def login(user, password, client):
    return t.api("login", {"username": user, "password": password},
                 headers={"X-Forwarded-For": client})


def test_clients_behind_one_proxy():
    t.forgive_source()
    a = t.activate(mbox)
    t.expect(t.api("activation/confirm", {"activation": a["handle"],
                                          "code": a["code"]}), 200)
    user = a["username"]
    # Alice sprays other names until her address is locked.
    for i in range(5 * THRESHOLD):
        t.expect(login("nobody%d.%d" % (os.getpid(), i), "Guess-guess-1",
                       ALICE), 401, "invalid_credentials")
    rows = t.psql("SELECT source, failures, locked_until > now() FROM "
                  "csam_source_failures ORDER BY source")
    t.check(rows == [[ALICE, str(5 * THRESHOLD), "t"]],
            "counted on the client behind the proxy, not the proxy", rows)
    # Her address is locked: even the right password is told so.
    body = t.expect(login(user, t.PASSWORD, ALICE), 423, "locked")
    t.check(0 < body.get("retry_after", 0) <= 900, "retry_after", body)
    # Bob, behind the same proxy, is not held back.
    t.expect(login(user, t.PASSWORD, BOB), 200)
    sources = t.psql("SELECT DISTINCT source FROM csam_audit WHERE action = "
                     "'login.password_accepted' AND account_id = (SELECT id "
                     "FROM csam_accounts WHERE username = '%s')" % user)
    t.check(sources == [[BOB]], "the audit trail names the client", sources)
    # The proxy's own address is never counted.
    t.check(t.scalar("SELECT count(*) FROM csam_source_failures WHERE "
                     "source = '127.0.0.1'") == "0", "proxy never counted")
    t.forgive_source()


t.run([test_clients_behind_one_proxy])
