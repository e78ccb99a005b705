#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Per-server configuration: a virtual host with CSAM directives of its own
gets its own settings (public URL of its links, attempts per code) and takes
the rest from the main server; a virtual host without any shares the main
server's."""
import os
import re
import sys
import urllib.parse

# The source tree stays clean (and may be read-only: make distcheck).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__, extra_conf="""
<VirtualHost *:*>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost *:*>
    ServerName portal.test
    CSAMPublicURL https://portal.example.be/mykeys
    CSAMCodeAttempts 3
</VirtualHost>
<VirtualHost *:*>
    ServerName keys.test
    CSAMHandlerPath /digital-keys
    <Location /digital-keys>
        SetHandler csam
    </Location>
    <Location /digital-keys/api/v1/registrations>
        AuthType Basic
        AuthName "desk"
        AuthBasicProvider file
        # Relative to ServerRoot: httpd-run's configuration directory.
        AuthUserFile htpasswd
        Require valid-user
    </Location>
</VirtualHost>
""")
mbox = t.Mailbox()
PORTAL = {"Host": "portal.test"}


def link_of(msg):
    links = re.findall(r"https?://[^\s<>\"]+/activate\?t=[^\s<>\"]+",
                       t.text_of(msg))
    t.check(len(links) >= 1, "no link in the mail")
    return links[0]


def wrong_codes(token, good, headers):
    bad = "ABCD-EFGH-JKMN" if good != "ABCD-EFGH-JKMN" else "ABCD-EFGH-JKMP"
    left = []
    for _ in range(2):
        body = t.expect(t.api("activation", {"token": token,
                                             "activation_code": bad},
                              headers=headers), 401, "invalid_code")
        left.append(body["attempts_left"])
    return left


def test_own_settings():
    t.forgive_source()
    reg = t.citizen()
    body = t.expect(t.api("registrations", reg, auth=t.OFFICER,
                          headers=PORTAL), 201)
    link = link_of(mbox.wait(reg["email"]))
    t.check(link.startswith("https://portal.example.be/mykeys/csam/activate"
                            "?t="), "the virtual host's CSAMPublicURL", link)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    # Three attempts there, not five; the database (the main server's
    # setting) is the same, so the other host sees the same registration.
    t.check(wrong_codes(token, body["activation_code"], PORTAL) == [2, 1],
            "CSAMCodeAttempts 3 in the virtual host")
    t.forgive_source()


def test_inherited_settings():
    t.forgive_source()
    reg = t.citizen()
    body = t.expect(t.api("registrations", reg, auth=t.OFFICER), 201)
    link = link_of(mbox.wait(reg["email"]))
    t.check(link.startswith(t.base_url() + "/csam/activate?t="),
            "the main server's CSAMPublicURL", link)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    t.check(wrong_codes(token, body["activation_code"], None) == [4, 3],
            "the default of 5 attempts")
    t.forgive_source()


def test_handler_path():
    """The handler mounted elsewhere: CSAMHandlerPath routes the API there
    and the e-mailed link names that path."""
    keys = {"Host": "keys.test"}
    reg = t.citizen()
    body = t.expect(t.api("/digital-keys/api/v1/registrations", reg,
                          auth=t.OFFICER, headers=keys), 201)
    link = link_of(mbox.wait(reg["email"]))
    t.check(link.startswith(t.base_url() + "/digital-keys/activate?t="),
            "the link names CSAMHandlerPath", link)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    t.expect(t.api("/digital-keys/api/v1/activation",
                   {"token": token,
                    "activation_code": body["activation_code"]},
                   headers=keys), 200)
    # JSON errors there too, the officer's authentication's among them.
    with t.log_expected(r"auth_basic:error AH01617: user officer: "
                        r"authentication failure for "
                        r'"/digital-keys/api/v1/registrations": '
                        r"Password Mismatch"):
        t.expect(t.api("/digital-keys/api/v1/registrations", reg,
                       auth=("officer", "wrong"), headers=keys), 401,
                 "unauthenticated")
    t.expect(t.api("/digital-keys/api/v1/nothing", {}, headers=keys), 404,
             "not_found")


t.run([test_own_settings, test_inherited_settings, test_handler_path])
