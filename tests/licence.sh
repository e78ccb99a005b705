#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every source file says its licence, Apache-2.0 (LICENSE), in a way
# Debian's licensecheck reads: an SPDX header in the file's own comment
# syntax (mail and SMS templates: a first line "{{! ... }}", which the
# render drops).  Fails listing each file licensecheck finds UNKNOWN or
# under another licence, but for the few of the list below.
# The files are those of the source tree: git's when it is a clone, else
# those of the distributed tree without what autotools generates there.
# Run by make check (CSAM_SRCDIR), or by hand: tests/licence.sh [SRCDIR].
set -eu

src=${1:-${CSAM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}}

if ! command -v licensecheck >/dev/null 2>&1; then
    echo "SKIP: licensecheck not installed (Debian package licensecheck, scripts/deps)"
    exit 77
fi

# Files that cannot carry the header, each accepted with what licensecheck
# says of it now (a change there is worth a look):
#   LICENSE                the licence itself
#   debian/changelog       dpkg's format has no comments
#   debian/source/format   one line, dpkg-source reads nothing else
#   tests/fuzz/corpus/     the fuzzers' seed inputs: data a parser reads,
#                          byte for byte, never source (skipped whole)
#   package-lock.json      JSON has no comments; the project's own entry
#                          says Apache-2.0, the others are the licences of
#                          the npm packages the browser tests download
allowed='LICENSE	Apache License 2.0
debian/changelog	UNKNOWN
debian/source/format	UNKNOWN
tests/httpd/browser/package-lock.json	Mozilla Public License 2.0 Apache License 2.0'

cd "$src"
list=$(mktemp)
trap 'rm -f "$list"' EXIT
if [ -e .git ] && git ls-files >"$list" 2>/dev/null && [ -s "$list" ]; then
    : # a clone: git's files
else
    # autotools' own files, generated into the tarball by make dist
    # ... and any build tree inside it (make distcheck builds in
    # _build/sub, under the unpacked sources): every directory holding a
    # config.status is skipped whole.
    find . -type d -exec test -e '{}/config.status' ';' -prune -o \
        -type f ! -path './autom4te.cache/*' ! -path './build-aux/*' \
        ! -name Makefile.in ! -name configure ! -name aclocal.m4 \
        ! -name 'csam_build.h.in' ! -path './m4/libtool.m4' \
        ! -path './m4/lt*.m4' -print | sed 's|^\./||' | LC_ALL=C sort >"$list"
fi
count=$(wc -l <"$list")
[ "$count" -gt 0 ] || {
    echo "licence: no files found in $src"
    exit 99
}

# --machine: "file<TAB>licence<TAB>copyright", one line a file
bad=$(tr '\n' '\0' <"$list" | xargs -0 licensecheck --machine --check=. --ignore='^$' |
    cut -f1,2 | while IFS='	' read -r file licence; do
        file=${file#./}
        case $file in tests/fuzz/corpus/*) continue ;; esac
        [ "$licence" = "Apache License 2.0" ] && continue
        printf '%s\n' "$allowed" | grep -qxF "$file	$licence" && continue
        printf '  %s: %s\n' "$file" "$licence"
    done)
if [ -n "$bad" ]; then
    echo "licence: files without the Apache-2.0 SPDX header (or with another licence):"
    printf '%s\n' "$bad"
    exit 1
fi
echo "licence: $count files, all Apache-2.0 (but the $(printf '%s\n' "$allowed" | wc -l) listed)"
