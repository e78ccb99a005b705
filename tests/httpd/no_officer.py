#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A registration desk whose location the administrator left without
authentication answers 403 forbidden: never an open registration desk.
Nothing is recorded and no mail leaves."""
import os
import sys

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

# After the harness's own sections, so it wins: no authentication at all.
t.start(__file__, extra_conf=(
    "<LocationMatch \"^/csam/(registration|api/v1/registrations)\">\n"
    "    AuthType None\n"
    "    Require all granted\n"
    "</LocationMatch>\n"))
mbox = t.Mailbox()


def test_no_officer_is_forbidden():
    before = t.scalar("SELECT count(*) FROM csam_registrations")
    reg = t.citizen()
    t.expect(t.api("registrations", reg), 403, "forbidden")
    # Credentials the server does not check do not make an officer.
    t.expect(t.api("registrations", reg, auth=t.OFFICER), 403, "forbidden")
    t.expect(t.api("registrations", reg,
                   headers={"X-CSAM-User": "officer",
                            "X-Remote-User": "officer"}), 403, "forbidden")
    # The body is not even looked at: malformed gets 403 too.
    t.expect(t.api("registrations", raw=b"{"), 403, "forbidden")
    t.check(t.scalar("SELECT count(*) FROM csam_registrations") == before,
            "nothing recorded")
    mbox.none_for(reg["email"], wait=0.5)
    # The citizen's side does not need an officer.
    r = t.api("activation", {"token": "A" * 43, "activation_code": "x"})
    t.check(r.status == 410, "activation is open", r.status)


t.run([test_no_officer_is_forbidden])
