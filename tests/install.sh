#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make install and make uninstall into a throwaway DESTDIR, from the build
# tree make check runs in:
#   - the layout: the modules, the schema with its migrations, the
#     mods-available pair (csam.load naming the installed module), the
#     purge timer's units (the service naming the installed csam-admin), the
#     examples, the run-time data, csam.conf in $(sysconfdir)/csam with
#     mode 0640, the man pages; no installed file names the source tree;
#   - a second install keeps a csam.conf the administrator changed, and
#     uninstall leaves it, while removing everything else it installed;
#   - every installed man page renders without a warning.
# Nothing outside the temporary directory is touched.
set -eu

build=${CSAM_BUILDDIR:-$PWD}
src=${CSAM_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# make's value of a variable of the build tree, fully expanded.
makevar() {
    printf 'print-%s:\n\t@echo $(%s)\n' "$1" "$1" >"$tmp/print.mk"
    make -s --no-print-directory -C "$build" -f Makefile -f "$tmp/print.mk" \
        "print-$1"
}

# File $1 exists with mode $2 (octal, as stat -c %a prints it).
want() {
    if [ ! -f "$1" ]; then
        fail "missing: $1"
    elif [ "$(stat -c %a "$1")" != "$2" ]; then
        fail "$1: mode $(stat -c %a "$1"), expected $2"
    fi
}

pkgdatadir=$(makevar pkgdatadir)
docdir=$(makevar docdir)
sysconfdir=$(makevar sysconfdir)
apachemoddir=$(makevar apachemoddir)
pamdir=$(makevar pamdir)
mandir=$(makevar mandir)
root=$tmp/root

echo "# make install DESTDIR=$root"
make -s -C "$build" install DESTDIR="$root" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; echo "FAIL: make install"; exit 1; }

# ---- the layout
want "$root$apachemoddir/mod_csam.so" 755
want "$root$pamdir/pam_csam.so" 755
[ ! -e "$root$apachemoddir/mod_csam.la" ] || fail "mod_csam.la installed"
[ ! -e "$root$pamdir/pam_csam.la" ] || fail "pam_csam.la installed"

# The schema: install.sql and every file it includes, side by side.
want "$root$pkgdatadir/sql/install.sql" 644
for f in $(sed -n 's/^\\ir[[:space:]]\{1,\}//p' "$src/conf/sql/install.sql"); do
    want "$root$pkgdatadir/sql/$f" 644
done
# roles.sql when this tree has it (the layout's sql/roles.sql).
if [ -f "$src/conf/sql/roles.sql" ]; then
    want "$root$pkgdatadir/sql/roles.sql" 644
fi

want "$root$pkgdatadir/apache2/csam.load" 644
want "$root$pkgdatadir/apache2/csam.conf" 644
load="LoadModule csam_module $apachemoddir/mod_csam.so"
# one directive, under its licence comment
if [ "$(grep -v '^#' "$root$pkgdatadir/apache2/csam.load" 2>/dev/null)" != "$load" ]; then
    fail "csam.load is not the one directive '$load'"
fi
# Module-wide file: every directive commented out, so that a2enmod alone
# changes nothing.
if grep -n '^[[:space:]]*[^#[:space:]]' "$root$pkgdatadir/apache2/csam.conf"; then
    fail "apache2/csam.conf has uncommented lines (above)"
fi
grep -q "^#CSAMDataDir  *$pkgdatadir\$" "$root$pkgdatadir/apache2/csam.conf" ||
    fail "apache2/csam.conf does not name the installed data directory"

want "$root$pkgdatadir/common-passwords.txt" 644
want "$root$pkgdatadir/reserved-usernames.txt" 644
want "$root$pkgdatadir/templates/mail/fr/activation.subject" 644
want "$root$docdir/examples/csam.conf" 644
want "$root$docdir/examples/portal-site.conf" 644
for f in "$src"/conf/pam.d/*; do
    want "$root$docdir/examples/pam.d/${f##*/}" 644
done

conf=$root$sysconfdir/csam/csam.conf
want "$conf" 640
grep -q "^#data_dir = $pkgdatadir\$" "$conf" ||
    fail "csam.conf's data_dir does not name the installed data directory"

# The purge timer's units, the service naming the installed csam-admin
# and csam.conf.
sbindir=$(makevar sbindir)
want "$root$pkgdatadir/systemd/csam-purge.timer" 644
service=$root$pkgdatadir/systemd/csam-purge.service
want "$service" 644
grep -qxF "ExecStart=$sbindir/csam-admin purge" "$service" ||
    fail "csam-purge.service does not start $sbindir/csam-admin"
[ -x "$root$sbindir/csam-admin" ] || fail "csam-admin not installed in $sbindir"
grep -qF "reads $sysconfdir/csam/csam.conf" "$service" ||
    fail "csam-purge.service does not name $sysconfdir/csam/csam.conf"

want "$root$mandir/man8/mod_csam.8" 644
want "$root$mandir/man8/pam_csam.8" 644
want "$root$mandir/man8/csam-admin.8" 644
want "$root$mandir/man5/csam.conf.5" 644

# No installed text names the source tree's schema, or keeps a
# placeholder that make did not fill in.
if grep -rn -e 'conf/sql/install\.sql' -e '@[a-z]*dir@' -e '@VERSION@' \
        "$root$mandir" "$root$pkgdatadir/apache2" "$root$pkgdatadir/systemd" \
        "$conf"; then
    fail "installed files name the source tree or an unfilled placeholder (above)"
fi
grep -q "$pkgdatadir/sql/install.sql" "$root$mandir/man8/mod_csam.8" ||
    fail "mod_csam(8) does not name $pkgdatadir/sql/install.sql"
grep -q "$pkgdatadir/sql/install.sql" "$root$mandir/man8/pam_csam.8" ||
    fail "pam_csam(8) does not name $pkgdatadir/sql/install.sql"
grep -q "$pkgdatadir/systemd/csam-purge.service" "$root$mandir/man8/csam-admin.8" ||
    fail "csam-admin(8) does not name $pkgdatadir/systemd/csam-purge.service"

# ---- every man page renders without a warning
# Except troff's "cannot adjust line" and "can't break line" (groff 1.22
# spells them so): a path of a long prefix
# (distcheck's is over 60 columns) is one word that no 80-column line can
# hold; with /usr it fits.  Macros, escapes and fonts still count.
for page in $(find "$root$mandir" -type f | sort); do
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null |
          grep -v -E "warning.*: (cannot|can't) (adjust|break) line$") ||
        :
    LC_ALL=C.UTF-8 man -l "$page" >/dev/null 2>&1 ||
        fail "man -l ${page#"$root"} failed"
    if [ -n "$out" ]; then
        printf '%s\n' "$out"
        fail "man -l ${page#"$root"} warns (above)"
    fi
done

# ---- a changed csam.conf survives a second install and the uninstall
echo "database = service=mine" >>"$conf"
chmod 600 "$conf"
make -s -C "$build" install DESTDIR="$root" >"$tmp/install2.log" 2>&1 ||
    { cat "$tmp/install2.log"; fail "second make install"; }
grep -q '^database = service=mine$' "$conf" ||
    fail "a second make install overwrote the changed csam.conf"
[ "$(stat -c %a "$conf")" = 600 ] ||
    fail "a second make install changed csam.conf's mode"

make -s -C "$build" uninstall DESTDIR="$root" >"$tmp/uninstall.log" 2>&1 ||
    { cat "$tmp/uninstall.log"; fail "make uninstall"; }
grep -q '^database = service=mine$' "$conf" 2>/dev/null ||
    fail "make uninstall removed the changed csam.conf"
left=$(find "$root" -type f ! -path "$conf" | sort)
if [ -n "$left" ]; then
    printf '%s\n' "$left"
    fail "make uninstall left files behind (above)"
fi

# ---- an unchanged csam.conf goes with the rest
rm -rf "$root"
make -s -C "$build" install DESTDIR="$root" >"$tmp/install3.log" 2>&1 ||
    { cat "$tmp/install3.log"; fail "make install into an empty root"; }
make -s -C "$build" uninstall DESTDIR="$root" >"$tmp/uninstall2.log" 2>&1 ||
    { cat "$tmp/uninstall2.log"; fail "make uninstall"; }
left=$(find "$root" -type f | sort)
if [ -n "$left" ]; then
    printf '%s\n' "$left"
    fail "make uninstall of an untouched install left files behind (above)"
fi

if [ "$failures" -ne 0 ]; then
    echo "install: $failures failures"
    exit 1
fi
echo "install: the layout, modes, a kept csam.conf and clean uninstall hold"
