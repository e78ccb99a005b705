#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/chaos/run.sh BUILDDIR: the chaos tests (kill -9 of an httpd child
# during a code verification, of a PAM process once its code was mailed,
# of PostgreSQL among registration commits), each once, under
# tests/lib/run-test with the environment make check gives its tests
# (AM_TESTS_ENVIRONMENT in Makefile.am), against a built tree.
#
# Not part of make check, which runs three times in scripts/check: that
# script runs this once, against its gcc tree.  Prints one
# "ok N - NAME" or "not ok N - NAME" line per test (a skip is "not ok":
# these tests need no more than make check's do), each test's measured
# facts as "# " lines, and ends with "chaos: N passed, N failed, S s";
# exits 0 when every test passed, 1 otherwise.  Each test's whole output
# is kept in BUILDDIR/tests/chaos/NAME.log.
set -u

if [ $# -ne 1 ] || [ ! -f "$1/Makefile" ]; then
    echo "usage: tests/chaos/run.sh BUILDDIR (a configured and built tree)" >&2
    exit 2
fi
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
var() { sed -n "s|^$1 = ||p" "$build/Makefile" | head -n 1; }

CSAM_SRCDIR=$top
CSAM_BUILDDIR=$build
CSAM_TEST_PRELOAD=$(var SAN_PRELOAD)
APACHE2_BIN=$(var APACHE2_BIN)
export CSAM_SRCDIR CSAM_BUILDDIR CSAM_TEST_PRELOAD APACHE2_BIN

# The PAM test enrols its account with a check program of tests/lib.
make -C "$build" -s tests/lib/csam-enrol >/dev/null || exit 1
mkdir -p "$build/tests/chaos"

n=0
passed=0
failed=0
start=$(date +%s)
for name in kill_httpd_verify kill_pam_mailed kill_pg_commit; do
    n=$((n + 1))
    log=$build/tests/chaos/$name.log
    t0=$(date +%s)
    rc=0
    "$top/tests/lib/run-test" "$top/tests/chaos/$name.py" >"$log" 2>&1 || rc=$?
    took=$(($(date +%s) - t0))
    grep '^# ' "$log" | grep -v '^# [0-9]* tests, '
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok $n - tests/chaos/$name.py (${took} s)"
    else
        failed=$((failed + 1))
        reason=
        [ "$rc" -eq 77 ] && reason=" # SKIP $(sed -n 's/^SKIP: //p' "$log" | tail -n 1)"
        echo "not ok $n - tests/chaos/$name.py (exit $rc, ${took} s)$reason"
        tail -n 40 "$log" | sed 's/^/    /'
    fi
done
echo "chaos: $passed passed, $failed failed, $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ]
