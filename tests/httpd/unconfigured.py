#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""SetHandler csam in a server without any CSAM directive (the module
loaded, nothing configured): the API answers 503 unavailable in JSON,
never Apache's HTML 500, and the pages the module's own page; the error
log says what is missing (CSAM00002)."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import csamtest as t  # noqa: E402

t.start(__file__, httpd_opts=["--no-csam"])

MISSING = (r"csam:error CSAM00002: SetHandler csam in a server without "
           r"CSAM configuration \(CSAMDatabase, CSAMPublicURL, \.\.\.\)")


def test_api_is_json():
    with t.log_expected(MISSING, MISSING, MISSING):
        body = t.expect(t.api("login", {"username": "a", "password": "b"}),
                        503, "unavailable")
        t.check(set(body) == {"error", "message"}, "the API's error body",
                body)
        t.expect(t.api("me", method="GET"), 503, "unavailable")
        t.expect(t.api("/csam/api", method="GET"), 503, "unavailable")


def test_pages_are_the_modules():
    with t.log_expected(MISSING, MISSING):
        for path in ("/csam/login", "/csam/keys"):
            status, rh, data = t.request("GET", path, None,
                                         {"Accept": "text/html"})
            text = data.decode("utf-8")
            t.check(status == 503, "a page: 503", path, status)
            t.check(rh.get("content-type", "").startswith("text/html"),
                    "a page: HTML", rh)
            t.check("Service unavailable" in text
                    and "Service indisponible" in text
                    and "Internal Server Error" not in text,
                    "the module's page, not Apache's", text[:400])


t.run([test_api_is_json, test_pages_are_the_modules])
