#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Two httpd nodes on one database: an activation can move from node to
node at every step, since nothing of it lives in one process (DESIGN 1),
and both build links from the one CSAMPublicURL."""
import os
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__, httpd_opts=("--nodes", "2"))
mbox = t.Mailbox()
ONE, TWO = os.environ["CSAM_TEST_HTTPD_URLS"].split()[:2]


def test_flow_across_nodes():
    reg = t.citizen()
    body = t.expect(t.api("registrations", reg, auth=t.OFFICER, url=TWO),
                    201)
    # Registered through node 2, the link still names the public URL.
    token = t.activation_link(mbox.wait(reg["email"]))
    opened = t.expect(t.api("activation", {"token": token, "activation_code":
                                           body["activation_code"]},
                            url=ONE), 200)
    handle = opened["activation"]
    t.expect(t.api("activation/key", {"activation": handle,
                                      "key_type": "email",
                                      "accept_terms": True}, url=TWO), 200)
    user = t.username()
    t.expect(t.api("activation/credentials",
                   {"activation": handle, "username": user,
                    "password": t.PASSWORD, "password_repeat": t.PASSWORD},
                   url=ONE), 202)
    code = t.security_code(mbox.wait(reg["email"]))
    # A wrong code on one node counts on the other.
    t.forgive_source()
    left1 = t.expect(t.api("activation/confirm",
                           {"activation": handle,
                            "code": t.wrong_code(code)}, url=ONE),
                     401, "invalid_code")["attempts_left"]
    left2 = t.expect(t.api("activation/confirm",
                           {"activation": handle,
                            "code": t.wrong_code(code)}, url=TWO),
                     401, "invalid_code")["attempts_left"]
    t.check(left2 == left1 - 1, "attempts shared by the nodes", left1, left2)
    t.expect(t.api("activation/confirm", {"activation": handle,
                                          "code": code}, url=TWO), 200)
    # Used up on both.
    for url in (ONE, TWO):
        t.expect(t.api("activation/confirm", {"activation": handle,
                                              "code": code}, url=url),
                 410, "expired")
    t.forgive_source()


def test_supersede_across_nodes():
    reg = t.citizen()
    first = t.expect(t.api("registrations", reg, auth=t.OFFICER, url=ONE),
                     201)
    token1 = t.activation_link(mbox.wait(reg["email"]))
    second = t.expect(t.api("registrations", reg, auth=t.OFFICER, url=TWO),
                      201)
    token2 = t.activation_link(mbox.wait(reg["email"]))
    t.expect(t.api("activation", {"token": token1, "activation_code":
                                  first["activation_code"]}, url=TWO),
             410, "expired")
    t.expect(t.api("activation", {"token": token2, "activation_code":
                                  second["activation_code"]}, url=ONE), 200)


t.run([test_flow_across_nodes, test_supersede_across_nodes])
