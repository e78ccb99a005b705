#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/debian/check-packages.sh: the Debian packages, built and checked
# without touching the machine (DESIGN 3.7).
#
# Builds libapache2-mod-csam, libpam-csam and csam-common with
# dpkg-buildpackage in a copy of the tree (it writes into the directory
# above the source), runs lintian on them (no error allowed; its whole
# output is kept in the log), then runs tests/debian/in-root.sh as root in a
# throwaway root: an overlay over / in private mount, network and process
# namespaces, chrooted into.  Whatever the packages, the README's commands,
# PostgreSQL and apache2 do there lands in the overlay's upper directory,
# which is deleted afterwards; every process started there dies with the
# namespace.  The machine's own apache2, PostgreSQL and /etc are never
# touched (checked at the end).
#
# As root:  tests/debian/check-packages.sh
# CSAM_DEB_KEEP=1 keeps the work directory (packages, logs) and says where.
# Prints "ok N - ..." / "not ok N - ..." lines and ends with
# "packages: N passed, N failed"; exits 0 when every step passed, 1
# otherwise, 77 (with a SKIP: line) when not root.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the package checks need root (dpkg -i in a throwaway root)"
    exit 77
fi
for tool in dpkg-buildpackage lintian unshare chroot ip python3; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "check-packages: $tool not found (scripts/deps installs it)" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/csam-deb.XXXXXX) || exit 1
cleanup() {
    trap - EXIT INT TERM
    if [ -n "${CSAM_DEB_KEEP:-}" ]; then
        echo "check-packages: kept $work"
    else
        rm -rf "$work"
    fi
}
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

n=0
passed=0
failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    [ $# -lt 2 ] || printf '%s\n' "$2" | tail -n 40 | sed 's/^/#   /'
}
finish() {
    echo "packages: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] || exit 1
    exit 0
}

# ---------------------------------------------------------------- build
# The tree as git sees it (tracked files and new ones not ignored), or the
# whole tree without builds when it is not a git checkout.
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$work/share/csam-$version
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar --null -T - -cf -) | tar -xf - -C "$src"
else
    tar -C "$top" --exclude=./build --exclude=./demo-state -cf - . | tar -xf - -C "$src"
fi
t0=$(date +%s)
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - t0)) s)"
else
    not_ok "dpkg-buildpackage -us -uc -b" "$(tail -n 40 "$work/build.log")"
    finish
fi
for p in csam-common libapache2-mod-csam libpam-csam; do
    echo "# dpkg-deb -c $p:"
    dpkg-deb -c "$work/share/${p}_${version}"_*.deb | awk '{ print "#   " $1 " " $2 " " $6 }'
done

changes=$(ls "$work"/share/csam_"$version"_*.changes)
lintian --pedantic -I "$changes" >"$work/lintian.log" 2>&1
lintian_rc=$?
echo "# lintian --pedantic -I:"
grep -v '^running with root privileges' "$work/lintian.log" | sed 's/^/#   /'
if [ "$lintian_rc" -eq 0 ] && ! grep -q '^E: ' "$work/lintian.log"; then
    ok "lintian: no error"
else
    not_ok "lintian: no error" "$(grep '^E: ' "$work/lintian.log")"
fi

# ---------------------------------------------------------------- the throwaway root
# What the machine looks like before, to show afterwards it is unchanged.
machine_state() {
    dpkg-query -W -f='${Package} ${Status}\n' csam-common libapache2-mod-csam libpam-csam 2>/dev/null
    ls /etc/apache2/mods-enabled /etc/apache2/sites-enabled 2>/dev/null
    ls -d /etc/csam /etc/apache2/mods-available/csam.load 2>/dev/null
    ls /etc/postgresql/*/ 2>/dev/null
}
machine_state >"$work/machine.before"

mkdir -p "$work/upper" "$work/overlay-work" "$work/root"
unshare --mount --net --pid --fork --propagation private sh -c '
    set -e
    work=$1
    root=$work/root
    mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/overlay-work" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
    mkdir -p "$root/csam-check"
    mount --bind "$work/share" "$root/csam-check"
    exec chroot "$root" /bin/sh "/csam-check/$2/tests/debian/in-root.sh" /csam-check "$2"
' sh "$work" "csam-$version" >"$work/in-root.log" 2>&1
in_root_rc=$?
# Renumber the throwaway root's steps after the build's.
while IFS= read -r line; do
    case "$line" in
        "ok "[0-9]*) ok "$(printf '%s' "$line" | sed 's/^ok [0-9]* - //')" ;;
        "not ok "[0-9]*) not_ok "$(printf '%s' "$line" | sed 's/^not ok [0-9]* - //')" ;;
        "packages: "*) ;;
        *) printf '%s\n' "$line" ;;
    esac
done <"$work/in-root.log"
if [ "$in_root_rc" -ne 0 ] && ! grep -q '^not ok ' "$work/in-root.log"; then
    not_ok "the throwaway root ran to its end (exit $in_root_rc)" "$(tail -n 20 "$work/in-root.log")"
fi

machine_state >"$work/machine.after"
if cmp -s "$work/machine.before" "$work/machine.after"; then
    ok "the machine's packages, apache2 and PostgreSQL configuration are unchanged"
else
    not_ok "the machine's packages, apache2 and PostgreSQL configuration are unchanged" \
        "$(diff "$work/machine.before" "$work/machine.after")"
fi
finish
