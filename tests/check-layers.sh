#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The layers of DESIGN 6 hold: fails, naming the files, when
#   - common/engine/ includes libpq-fe.h or statement.h (SQL, statements
#     and libpq live in the store; the engine sees its typed functions);
#   - common/store/ includes an engine header;
#   - a host (mod_csam/, pam_csam/, admin/) includes a store header
#     (store.h, any common/store/*.h) or engine_internal.h;
#   - common/base/ includes a delivery, store or engine header;
#   - common/delivery/ includes a store or engine header;
#   - files call each other in a cycle: from nm of the built objects of
#     common/, mod_csam/, pam_csam/ and admin/, each file's undefined symbols are
#     edges to the files that define them, and every strongly connected
#     set of more than one file is a cycle.
# Run by make check (CSAM_SRCDIR, CSAM_BUILDDIR), or by hand from a build
# tree: tests/check-layers.sh [SRCDIR [BUILDDIR]].
set -eu

src=${1:-${CSAM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}}
build=${2:-${CSAM_BUILDDIR:-$PWD}}
violations=0

say() {
    echo "check-layers: $*"
    violations=$((violations + 1))
}

# The basenames of the headers of common/$1, one a line (the rooms are
# included by basename: each has its own -I).
headers_of() {
    for h in "$src/common/$1"/*.h; do
        [ -e "$h" ] && basename "$h"
    done
}

# "file:line:header" for each #include in the .c and .h files under $1.
includes_in() {
    find "$src/$1" -name '*.[ch]' | LC_ALL=C sort | while read -r f; do
        sed -n '=;s/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f" |
            awk -v f="${f#"$src"/}" '
                /^[0-9]+$/ { line = $0; next }
                { n = split($0, p, "/"); print f ":" line ":" p[n] }'
    done
}

# Every include under $1 of a header named in the list $2 is a violation,
# explained by $3.
refuse() {
    includes_in "$1" | while IFS=: read -r file line header; do
        if echo "$2" | grep -qxF "$header"; then
            echo "$file:$line: includes $header: $3"
        fi
    done
}

engine_h=$(headers_of engine)
store_h=$(headers_of store)
delivery_h=$(headers_of delivery)

found=$(
    refuse common/engine "$(printf '%s\n' libpq-fe.h statement.h)" \
        "the engine calls the store's typed functions, never SQL or libpq"
    refuse common/store "$engine_h" "the store knows nothing of the engine"
    for module in mod_csam pam_csam admin; do
        refuse "$module" "$(printf '%s\n' "$store_h" engine_internal.h)" \
            "a module sees the engine's public header only"
    done
    refuse common/base "$(printf '%s\n' "$delivery_h" "$store_h" "$engine_h" libpq-fe.h)" \
        "base depends on no other room"
    refuse common/delivery "$(printf '%s\n' "$store_h" "$engine_h" libpq-fe.h)" \
        "delivery depends on base only"
)
if [ -n "$found" ]; then
    echo "$found" | while read -r l; do echo "check-layers: $l"; done
    violations=$((violations + $(echo "$found" | wc -l)))
fi

# ---- cycles between files, from the objects' symbols
objects=$(cd "$build" && find common mod_csam pam_csam admin -name '*.o' 2>/dev/null | LC_ALL=C sort)
if [ -z "$objects" ]; then
    echo "check-layers: no objects under $build (common, mod_csam, pam_csam, admin): build first" >&2
    exit 1
fi
symbols=$(mktemp)
trap 'rm -f "$symbols"' EXIT
# Each object's source: its directory without .libs/, its name without
# automake's "<target>-" prefix.  An object whose source is gone (a stale
# build tree) is left out.
for o in $objects; do
    dir=$(dirname "$o")
    dir=${dir%/.libs}
    name=$(basename "$o" .o)
    name=${name##*-}
    file=$dir/$name.c
    [ -f "$src/$file" ] || continue
    nm -P "$build/$o" | awk -v f="$file" '
        $2 == "U" { print f, "U", $1; next }
        $2 ~ /^[TDBRCVWG]$/ { print f, "D", $1 }'
done | LC_ALL=C sort -u >"$symbols"

# csam_module, httpd's module record, is named by every file of mod_csam
# (APLOG_USE_MODULE, for the per-module log level) and names the hooks of
# all of them: that is the module's root, not a call between files.
cycles=$(awk -v ignored="csam_module" '
    !($1 in idx) { idx[$1] = ++n; name[n] = $1 }
    $3 == ignored { next }
    $2 == "D" { def[$3] = $1; next }
    { use[++nuse] = $1 SUBSEP $3 }
    END {
        for (u = 1; u <= nuse; u++) {
            split(use[u], p, SUBSEP)
            if (!(p[2] in def) || def[p[2]] == p[1]) continue
            a = idx[p[1]]; b = idx[def[p[2]]]
            if (!((a, b) in edge)) { edge[a, b] = p[2]; reach[a, b] = 1 }
        }
        # Floyd-Warshall closure: a hundred files, a million steps.
        for (k = 1; k <= n; k++)
            for (i = 1; i <= n; i++)
                if ((i, k) in reach)
                    for (j = 1; j <= n; j++)
                        if ((k, j) in reach) reach[i, j] = 1
        for (i = 1; i <= n; i++) {
            if (i in done) continue
            members = ""
            count = 0
            for (j = 1; j <= n; j++)
                if (j == i || ((i, j) in reach && (j, i) in reach)) {
                    done[j] = 1
                    comp[++count] = j
                }
            if (count < 2) continue
            print "cycle of " count " files:"
            for (x = 1; x <= count; x++)
                for (y = 1; y <= count; y++)
                    if ((comp[x], comp[y]) in edge)
                        print "  " name[comp[x]] " -> " name[comp[y]] \
                            " (" edge[comp[x], comp[y]] ")"
        }
    }' "$symbols")
if [ -n "$cycles" ]; then
    echo "$cycles" | while IFS= read -r l; do echo "check-layers: $l"; done
    violations=$((violations + $(echo "$cycles" | grep -c '^cycle')))
fi

nfiles=$(cut -d' ' -f1 "$symbols" | sort -u | wc -l)
if [ "$violations" -gt 0 ]; then
    echo "check-layers: $violations violation(s) ($nfiles files' objects read)"
    exit 1
fi
echo "check-layers: the layers hold ($nfiles files' objects read, no cycle)"
