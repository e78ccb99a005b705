#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/debian/in-root.sh SHARE SOURCE: the package checks, run by
# check-packages.sh as root inside its throwaway root (an overlay over /,
# private mount, network and process namespaces), never on the machine
# itself.  SHARE holds the .deb files and the source tree SOURCE.
#
#   1. install the three packages (dpkg -i), a2enmod csam && apache2ctl -t,
#      /etc/csam/csam.conf a conffile 0640, the man pages, install.sql
#      twice on a fresh database, remove and purge with apache2 healthy;
#   2. README's "Deploy on Debian 12", block by block as the README has
#      them (readme_blocks.py), then the person's activation and login
#      (citizen.py) against the site those blocks made.
# Prints "ok N - ..." / "not ok N - ..." per step and ends with
# "packages: N passed, N failed".
set -u

share=$1
src=$share/$2
work=/var/tmp/csam-in-root
rm -rf "$work"
mkdir -p "$work"
export LANG=C.UTF-8 LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
packages="csam-common libapache2-mod-csam libpam-csam"

n=0
passed=0
failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    [ $# -lt 2 ] || printf '%s\n' "$2" | tail -n 30 | sed 's/^/#   /'
}
# check WHAT COMMAND...: one step; the command's output is shown on failure.
check() {
    what=$1
    shift
    if "$@" >"$work/out" 2>&1; then ok "$what"; else not_ok "$what" "$(cat "$work/out")"; fi
}
finish() {
    echo "packages: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# ---------------------------------------------------------------- the root
# Services are never started by maintainer scripts here (policy-rc.d); the
# README's "systemctl reload apache2" runs apache2ctl, there being no
# systemd in this root.
mkdir -p /run/lock
chmod 1777 /run/lock
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
cat >/usr/local/sbin/systemctl <<'SHIM'
#!/bin/sh
# check-packages.sh's throwaway root has no systemd: apache2 by apache2ctl.
case "$1 $2" in
    "reload apache2" | "restart apache2" | "start apache2")
        if [ -s /run/apache2/apache2.pid ]; then exec apache2ctl graceful; fi
        exec apache2ctl start ;;
    "stop apache2") exec apache2ctl stop ;;
esac
echo "systemctl (throwaway root): $* not handled" >&2
exit 1
SHIM
chmod 755 /usr/local/sbin/systemctl
echo '127.0.0.1 portal.example.be' >>/etc/hosts
ip link set lo up

enabled() { [ -e /etc/apache2/mods-enabled/csam.load ]; }
check "apache2ctl -t before anything is installed" apache2ctl -t

# ---------------------------------------------------------------- install
check "dpkg -i the three packages" dpkg -i "$share"/csam-common_*.deb \
    "$share"/libapache2-mod-csam_*.deb "$share"/libpam-csam_*.deb
check "installed: mod_csam enabled by its package, as Debian's module packages do" enabled
check "a2enmod csam && apache2ctl -t" sh -c 'a2enmod csam && apache2ctl -t'
check "apache2 starts and stops with mod_csam loaded and no CSAM directive" \
    sh -c 'apache2ctl start && sleep 1 && apache2ctl -M | grep -q "csam_module" && apache2ctl stop'
check "/etc/csam/csam.conf: a conffile of csam-common, root:root 0640" sh -c '
    dpkg-query -W -f="\${Conffiles}\n" csam-common | grep -q "^ /etc/csam/csam.conf " &&
    [ "$(stat -c %a:%U:%G /etc/csam/csam.conf)" = 640:root:root ]'
check "pam_csam.so in the multiarch PAM directory" sh -c \
    'dpkg -L libpam-csam | grep -qx "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)/security/pam_csam.so"'
check "csam-admin in /usr/sbin" test -x /usr/sbin/csam-admin
check "csam-purge.timer installed, not enabled" sh -c '
    [ -f /lib/systemd/system/csam-purge.timer ] && [ -f /lib/systemd/system/csam-purge.service ] &&
    [ ! -e /etc/systemd/system/timers.target.wants/csam-purge.timer ]'
check "csam-purge.service starts the installed csam-admin" \
    grep -qx "ExecStart=/usr/sbin/csam-admin purge" /lib/systemd/system/csam-purge.service
check "man -w csam-admin mod_csam pam_csam" man -w csam-admin mod_csam pam_csam
check "man -w 5 csam.conf" man -w 5 csam.conf

# ---------------------------------------------------------------- PostgreSQL
# A fresh "main" cluster on 5432, as the postgresql package makes on a new
# machine; the machine's own cluster, if any, is hidden (this root's
# copy only).
pgv=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
rm -rf "/etc/postgresql/$pgv/main" "/var/lib/postgresql/$pgv/main"
check "a fresh PostgreSQL $pgv cluster starts" pg_createcluster --start -p 5432 \
    --locale C.UTF-8 "$pgv" main
as_pg() { runuser -u postgres -- "$@"; }
as_pg createdb csam_twice >"$work/out" 2>&1
install_sql() {
    as_pg psql -X -q -v ON_ERROR_STOP=1 -d csam_twice -f /usr/share/csam/sql/install.sql
}
check "psql -f /usr/share/csam/sql/install.sql: a new database's schema" install_sql
# The schema and the recorded version, without pg_dump's per-run
# \restrict key.
schema() {
    as_pg pg_dump -s csam_twice 2>&1 | grep -v '^\\\(un\)\{0,1\}restrict '
    as_pg psql -X -At -d csam_twice -c 'SELECT version FROM csam_schema_version ORDER BY version' 2>&1
}
schema >"$work/schema1"
check "psql -f /usr/share/csam/sql/install.sql again: no error" install_sql
schema >"$work/schema2"
check "the second run changed nothing (pg_dump -s, csam_schema_version)" diff "$work/schema1" "$work/schema2"

# ---------------------------------------------------------------- remove, purge
check "dpkg --remove the three" dpkg --remove $packages
check "removed: mod_csam disabled, apache2ctl -t" sh -c '! [ -e /etc/apache2/mods-enabled/csam.load ] && apache2ctl -t'
check "dpkg --purge the three" dpkg --purge $packages
check "purged: nothing of them left in /etc, apache2ctl -t" sh -c '
    ! [ -e /etc/apache2/mods-available/csam.load ] && ! [ -e /etc/csam/csam.conf ] &&
    ! dpkg-query -W -f="\${Status}\n" $0 2>/dev/null | grep -q installed && apache2ctl -t' "$packages"

# ---------------------------------------------------------------- README
# The local mail server the README counts on (127.0.0.1:25): the tests'
# SMTP server keeping each mail as a file.
mkdir -p "$work/mail"
python3 "$src/tests/lib/smtp_server.py" --port 25 --maildir "$work/mail/" \
    >"$work/smtp.log" 2>&1 &
i=0
until grep -q ready "$work/smtp.log" 2>/dev/null || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done

blocks=$work/blocks
mkdir -p "$blocks"
if count=$(python3 "$src/tests/debian/readme_blocks.py" "$src/README.md" "$blocks" 2>&1); then
    ok "README's \"Deploy on Debian 12\": $count blocks"
else
    not_ok "README's \"Deploy on Debian 12\" blocks" "$count"
    finish
fi
officer_password=$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')
printf '%s\n' "$officer_password" >"$work/officer-password"
printf '%s\n%s\n' "$officer_password" "$officer_password" >"$work/officer-password-twice"
for script in "$blocks"/*.sh; do
    opts=$(cat "${script%.sh}.opts")
    stdin=/dev/null
    save=/dev/null
    for opt in $opts; do
        case "$opt" in
            stdin=*) stdin=$work/${opt#stdin=} ;;
            save=*) save=$work/${opt#save=}.json ;;
        esac
    done
    first=$(head -n 1 "$script")
    # In the directory of the .deb files, as the README says; setsid: no
    # terminal, so htpasswd and curl read passwords from standard input.
    if (cd "$share" && setsid -w bash -e -o pipefail "$script" <"$stdin" >"$save" 2>"$work/block.err"); then
        ok "README block $(basename "$script" .sh): $first"
    else
        not_ok "README block $(basename "$script" .sh): $first" "$(cat "$work/block.err")"
        finish
    fi
done
python3 "$src/tests/debian/citizen.py" http://portal.example.be "$work/mail" \
    "$work/registration.json" marie@example.be >"$work/citizen.out" 2>&1
while IFS= read -r line; do
    case "$line" in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) not_ok "${line#not ok - }" ;;
        *) echo "$line" ;;
    esac
done <"$work/citizen.out"
if grep -q '^not ok - ' "$work/citizen.out"; then
    echo "# apache2's error log:"
    tail -n 20 /var/log/apache2/error.log 2>/dev/null | sed 's/^/#   /'
elif ! grep -q '^ok - /app/ without a session' "$work/citizen.out"; then
    not_ok "the person's walk ran to its end" "$(cat "$work/citizen.out")"
fi
apachectl stop >/dev/null 2>&1
finish
