#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/bench/storm.sh [--quick]: a login storm across two httpd nodes on
# one PostgreSQL (DESIGN 5, issue 15 "Load across nodes"), measured in one
# run against the Argon2id ceiling of this machine.
#
# Two nodes of tests/lib/httpd-run with the built module share the test
# cluster of tests/lib/run-with-services.  tests/bench/storm.py makes N
# active accounts (two through the API, the rest copied from them in SQL
# with the same Argon2id password hash, app keys sealed by
# tests/bench/storm-keys), then many client threads log in, spread over
# both nodes: password, then the code mailed through the test SMTP server
# (e-mail key) or computed from the app's secret (TOTP key).  It prints
# logins/s, the Argon2id ceiling (verifications/s of that same hash on the
# cores the nodes run on, libargon2 through ctypes, one thread per core),
# their ratio (goal >= 0.8), p50/p99 of a login's latency, the CPU time
# each process spent per login against one verification's (a ratio the
# machine's other load does not move, unlike rates), the database
# transactions and rows written per login, and checks that no login
# failed and that the database holds exactly one session per login.
#
# The nodes are what is measured, so they get cores of their own, as web
# nodes have machines of their own: on a machine of two cores or more the
# upper half of the cores runs the nodes and the lower half PostgreSQL,
# the SMTP server and the clients (taskset; the ceiling is measured on
# the nodes' cores).  Each node runs one child; the nodes share one table
# of password-check slots (CSAMArgon2Slots), one per core: Argon2id runs
# that outnumber the cores only take turns, each slower for the memory
# the other evicts.
#
#   CSAM_BUILDDIR=/path/to/build tests/bench/storm.sh [--quick]
#
# --quick: 1,000 accounts, 8 clients, 15 s of storm (about 35 s in all):
# the stage of scripts/check.  8 clients over 2 nodes queue at most 4
# logins for a node's Argon2id slot, so a wait for it lasts a few
# verifications (100 ms here), far from the 2 s after which the module
# answers 503: a slow CI machine gives lower figures, not a failed login.
# Environment (defaults in brackets):
# CSAM_STORM_ACCOUNTS [10000], CSAM_STORM_TOTP percent of them with the
# app key [30], CSAM_STORM_CLIENTS concurrent clients [16: the cores are
# busy with fewer; each one more only adds to the wait for an Argon2id
# slot, which the module bounds at 2 s before it answers 503],
# CSAM_STORM_DURATION seconds of storm [60], CSAM_STORM_CEILING_SECONDS
# [5], CSAM_STORM_REGISTRATIONS (e.g. 10000000: after a first storm, fill
# the database with that many registrations, one in ten with an active
# account and a session, as tests/bench/lookup.sh does, then storm again
# and print the ratios; minutes and a few GB under TMPDIR: by hand only);
# CSAM_STORM_NODES httpd nodes [2], CSAM_STORM_ARGON2_MAX the nodes'
# shared CSAMArgon2Max [their cores], CSAM_STORM_PIN [1; 0: every process
# on every core, the ceiling on all of them], CSAM_HTTPD_EXTRA_CONF,
# configuration lines for every node (tests/lib/httpd-run).
# Prints TAP lines ("ok N - ...") for what must hold and the figures as
# "# " lines.  Exit status: 0 when measured (the figures are the result,
# whatever the ratio), 1 when something answered wrongly (a failed login,
# a lost or doubled session), 2 when something needed is missing.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)

need() {
    echo "storm.sh: $*" >&2
    exit 2
}

case "${1:-}" in
    --quick)
        CSAM_STORM_ACCOUNTS=${CSAM_STORM_ACCOUNTS:-1000}
        CSAM_STORM_DURATION=${CSAM_STORM_DURATION:-15}
        CSAM_STORM_CEILING_SECONDS=${CSAM_STORM_CEILING_SECONDS:-3}
        CSAM_STORM_CLIENTS=${CSAM_STORM_CLIENTS:-8}
        export CSAM_STORM_ACCOUNTS CSAM_STORM_DURATION \
            CSAM_STORM_CEILING_SECONDS CSAM_STORM_CLIENTS
        ;;
    "") ;;
    *) need "usage: storm.sh [--quick]" ;;
esac

builddir=${CSAM_BUILDDIR:-$(pwd)}
builddir=$(cd "$builddir" 2>/dev/null && pwd) ||
    need "no build directory ${CSAM_BUILDDIR:-}: set CSAM_BUILDDIR"
[ -f "$builddir/mod_csam/.libs/mod_csam.so" ] ||
    need "$builddir/mod_csam/.libs/mod_csam.so not found: build first, or set CSAM_BUILDDIR"
if [ ! -x "$builddir/tests/bench/storm-keys" ]; then
    make -C "$builddir" -s tests/bench/storm-keys >&2 ||
        need "cannot build $builddir/tests/bench/storm-keys"
fi
# The ceiling calls libargon2 itself, as the module does.
/sbin/ldconfig -p 2>/dev/null | grep -q 'libargon2\.so' ||
    need "libargon2 not found (Debian package libargon2-1)"

CSAM_SRCDIR=$srcdir
CSAM_BUILDDIR=$builddir
export CSAM_SRCDIR CSAM_BUILDDIR
# A build configured --enable-sanitizers needs its runtime preloaded into
# httpd, as make check does.
if [ -z "${CSAM_TEST_PRELOAD:-}" ] && [ -f "$builddir/Makefile" ]; then
    CSAM_TEST_PRELOAD=$(sed -n 's/^SAN_PRELOAD = //p' "$builddir/Makefile")
    export CSAM_TEST_PRELOAD
fi

CSAM_STORM_NODES=${CSAM_STORM_NODES:-2}
case "$CSAM_STORM_NODES" in
    # Each node's 8 connections within the test cluster's 40.
    [1-4]) ;;
    *) need "CSAM_STORM_NODES takes 1 to 4" ;;
esac
export CSAM_STORM_NODES

# First pass: the cores split (lower half: the services and the clients,
# upper half: the nodes), a throwaway PostgreSQL and SMTP server on the
# lower half, and come back.
if [ -z "${CSAM_TEST_PG:-}" ]; then
    pin=
    if [ "${CSAM_STORM_PIN:-1}" != 0 ]; then
        command -v taskset >/dev/null 2>&1 ||
            need "taskset not found (Debian package util-linux)"
        # "services nodes", each a comma-separated list; empty on one core.
        split=$(python3 -c 'import os
c = sorted(os.sched_getaffinity(0))
h = len(c) // 2
if h:
    print(",".join(map(str, c[:len(c) - h])), ",".join(map(str, c[len(c) - h:])))')
        # A sandbox that refuses affinities runs everything everywhere.
        if [ -n "$split" ] && taskset -c "${split#* }" true 2>/dev/null; then
            CSAM_STORM_SERVICE_CPUS=${split% *}
            CSAM_STORM_NODE_CPUS=${split#* }
            export CSAM_STORM_SERVICE_CPUS CSAM_STORM_NODE_CPUS
            pin="taskset -c $CSAM_STORM_SERVICE_CPUS"
        fi
    fi
    # shellcheck disable=SC2086 # $pin: nothing, or a command and its options
    exec $pin "$srcdir/tests/lib/run-with-services" "$0" "$@"
fi

# Second pass: the nodes around the driver, on their cores.
node_cpus=${CSAM_STORM_NODE_CPUS:-}
if [ -n "$node_cpus" ]; then
    ncpu=$(echo "$node_cpus" | tr ',' '\n' | grep -c .)
else
    ncpu=$(nproc)
fi
# The nodes take turns on the same cores, so they take them through one
# table of password-check slots, as many as the cores: a run then never
# waits for another node's on the same core, and each runs in memory the
# run before it left warm (as on a machine of its own).  The table's file
# must be on a memory file system.
[ -d /dev/shm ] || need "/dev/shm not found (the nodes' shared slots)"
slots=/dev/shm/csam-storm-$$.slots
conf=$CSAM_TEST_TMPDIR/storm.conf
cat >"$conf" <<EOF
# tests/bench/storm.sh
# As a production server logs: not a line per login.
LogLevel warn
# A client that logs in again with the e-mail key gets a new code at
# once (the storm reuses accounts only when it runs out of them).
CSAMResendCooldown 0
# One child per node, with room for every client.
CSAMPoolMax 8
ThreadLimit 64
ThreadsPerChild 64
ServerLimit 1
MaxRequestWorkers 64
StartServers 1
MaxSpareThreads 64
# Every node's checks together: one at a time per core ($ncpu).
CSAMArgon2Max ${CSAM_STORM_ARGON2_MAX:-$ncpu}
CSAMArgon2Slots $slots
EOF
pin=
[ -z "$node_cpus" ] || pin="taskset -c $node_cpus"
status=0
# shellcheck disable=SC2086 # $pin: nothing, or a command and its options
$pin "$srcdir/tests/lib/httpd-run" --nodes "$CSAM_STORM_NODES" --conf "$conf" \
    /usr/bin/python3 "$srcdir/tests/bench/storm.py" || status=$?
rm -f "$slots"
exit "$status"
