# SPDX-License-Identifier: Apache-2.0
"""Which lines of a test httpd's error log fail the test (python3 standard
library).  Shared by tests/lib/httpd-run, which checks every log once the
test is over, and tests/httpd/csamtest.py, whose log_expected() lets one
step of a test declare the exact lines that step makes httpd log.

A line fails the test when it is at level error or worse, a sanitizer
report or a child that died, unless it lies in a span of the log that a
test step declared (a "span record": the log, a byte range, and the
expected lines) and matches one of that span's expected lines.

An expected line is a regular expression matched whole (re.fullmatch)
against the line stripped of its time, pid and client fields:
"MODULE:LEVEL MESSAGE", e.g.
    csam:error CSAM00029: SMS not sent: the gateway answered HTTP 503 \\(.*\\)
Spell the tag and the text; keep wildcards for the parts that vary.

Usage (httpd-run): errorlog.py SPANS_FILE LOG...  prints each line that
fails the test and exits 1 when there is one.
"""
import json
import re
import sys

# What fails a test: httpd's levels error and worse, sanitizer reports,
# crashed children.
BAD = re.compile(r"\[[a-z_0-9]*:(emerg|alert|crit|error)\]|AddressSanitizer"
                 r"|LeakSanitizer|runtime error:|exit signal"
                 r"|possible coredump")

# [time] [module:level] [pid N:tid M] [client A:P] [remote ...] message
_FIELDS = re.compile(r"\[[^]]*\] \[([a-z_0-9]*):([a-z0-9]+)\]"
                     r"(?: \[(?:pid|client|remote) [^]]*\])* (.*)")


def normalize(line):
    """"module:level message" for an httpd log line; other lines as they
    are."""
    m = _FIELDS.fullmatch(line.rstrip("\n"))
    if m is None:
        return line.rstrip("\n")
    return "%s:%s %s" % m.groups()


def lines(path, start=0, end=None):
    """(offset, text) of each complete line of path between the offsets."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read() if end is None else f.read(max(0, end - start))
    off = start
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        yield off, raw.decode("utf-8", "replace")
        off += len(raw)


def complete_size(path):
    """The offset just past the last complete line of path."""
    with open(path, "rb") as f:
        data = f.read()
    return data.rfind(b"\n") + 1


def matches(expected, line):
    text = normalize(line)
    return any(re.fullmatch(e, text) for e in expected)


def read_spans(path):
    spans = []
    try:
        with open(path, encoding="utf-8") as f:
            for row in f:
                if row.strip():
                    spans.append(json.loads(row))
    except FileNotFoundError:
        pass
    return spans


def unexpected(path, spans):
    """The lines of log `path` that fail the test, given the span records."""
    mine = [s for s in spans if s["log"] == path]
    bad = []
    for off, line in lines(path):
        if not BAD.search(line):
            continue
        if any(s["start"] <= off < s["end"] and matches(s["expect"], line)
               for s in mine):
            continue
        bad.append(line.rstrip("\n"))
    return bad


def main(argv):
    if len(argv) < 2:
        print("usage: errorlog.py SPANS_FILE LOG...", file=sys.stderr)
        return 2
    spans = read_spans(argv[0])
    failed = 0
    for path in argv[1:]:
        try:
            bad = unexpected(path, spans)
        except FileNotFoundError:
            continue
        if bad:
            failed = 1
            print("httpd-run: unexpected lines in %s:" % path)
            for line in bad:
                print(line)
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
