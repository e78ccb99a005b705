#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/bench/lookup.sh [LARGE]: lookup cost at 10 thousand and at LARGE
# (default 10 million) registrations, on a throwaway PostgreSQL cluster.
# Not part of make check (filling 10 million rows takes minutes).  Run it
# from the build directory after `make tests/bench/lookup`.
set -eu
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${CSAM_BUILDDIR:-$(pwd)}
bench=$builddir/tests/bench/lookup
if [ ! -x "$bench" ]; then
    echo "build it first: make tests/bench/lookup" >&2
    exit 2
fi
CSAM_SRCDIR=$srcdir
export CSAM_SRCDIR
exec "$srcdir/tests/lib/run-with-services" "$bench" "$@"
