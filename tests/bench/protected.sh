#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/bench/protected.sh: the cost of AuthType CSAM on a protected
# request (DESIGN 5, issue 4 "Speed"), measured, in one run:
#   (a) a static file, unprotected;
#   (b) the same file under AuthType CSAM / Require valid-user, with a
#       csam_session cookie obtained through /csam/api/v1/login,
#       /login/challenge and /login/verify with the mailed code;
#   (d) as (b) on a virtual host with CSAMSessionCacheTTL 0: no session
#       cache, the database asked on every request;
#   (c) the same file under Apache's own mod_auth_form + mod_session +
#       mod_session_cookie + mod_session_crypto (an htpasswd file as the
#       AuthFormProvider), with a session obtained by POSTing its form.
# wrk on loopback, interleaved a, b, c, d, a, ... with the same duration,
# threads and keep-alive connections; then the database statements per
# protected request and per login code verification (log_statement = all
# on the throwaway cluster).  Not part of make check.
#
#   CSAM_BUILDDIR=/path/to/build tests/bench/protected.sh
#
# DESIGN 5's goal: (b) serves at least 0.95 times (a)'s requests per
# second with wrk's 32 keep-alive connections on 2 threads, and more than
# (c).
#
# Environment (defaults in brackets): CSAM_BENCH_DURATION seconds per wrk
# run [2], CSAM_BENCH_ROUNDS [10], CSAM_BENCH_THREADS [2],
# CSAM_BENCH_CONNECTIONS [32, below 48], CSAM_BENCH_HTPASSWD_HASH
# htpasswd's hash option for (c) [-m], CSAM_BENCH_PROFILE=b, c or bc to add
# a perf profile of httpd while it serves those.
# Exit status: 0 when measured (whether or not the goals are met: the
# figures are the result), 1 when a configuration does not answer as it
# must, 2 when something needed is missing.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
moddir=/usr/lib/apache2/modules

need() {
    echo "protected.sh: $*" >&2
    exit 2
}

builddir=${CSAM_BUILDDIR:-$(pwd)}
builddir=$(cd "$builddir" 2>/dev/null && pwd) ||
    need "no build directory ${CSAM_BUILDDIR:-}: set CSAM_BUILDDIR"

command -v wrk >/dev/null 2>&1 || need "wrk not found (Debian package wrk)"
command -v curl >/dev/null 2>&1 || need "curl not found (Debian package curl)"
command -v htpasswd >/dev/null 2>&1 ||
    need "htpasswd not found (Debian package apache2-utils)"
[ -f "$builddir/mod_csam/.libs/mod_csam.so" ] ||
    need "$builddir/mod_csam/.libs/mod_csam.so not found: build first, or set CSAM_BUILDDIR"
for m in session session_cookie session_crypto auth_form request; do
    [ -f "$moddir/mod_$m.so" ] || need "$moddir/mod_$m.so not found (Debian package apache2)"
done

CSAM_SRCDIR=$srcdir
CSAM_BUILDDIR=$builddir
export CSAM_SRCDIR CSAM_BUILDDIR
# A build configured --enable-sanitizers needs its runtime preloaded into
# httpd, as make check does.
if [ -z "${CSAM_TEST_PRELOAD:-}" ] && [ -f "$builddir/Makefile" ]; then
    CSAM_TEST_PRELOAD=$(sed -n 's/^SAN_PRELOAD = //p' "$builddir/Makefile")
    export CSAM_TEST_PRELOAD
fi

# First pass: get a throwaway PostgreSQL and SMTP server, and come back.
if [ -z "${CSAM_TEST_PG:-}" ]; then
    exec "$srcdir/tests/lib/run-with-services" "$0" "$@"
fi

# Second pass: the three locations, then httpd around the driver.
# mod_auth_form's user; both secrets are random for each run.
form_password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
crypto_passphrase=$(head -c 33 /dev/urandom | base64 | tr '+/' '-_')
passwd=$CSAM_TEST_TMPDIR/bench-htpasswd
# htpasswd's default hash (-m, MD5-based APR1) unless told: what
# `htpasswd -c` gives an administrator; mod_auth_form checks it again on
# every request.
hash=${CSAM_BENCH_HTPASSWD_HASH:--m}
case "$hash" in -m|-s|-B|-2|-5) ;; *) need "bad CSAM_BENCH_HTPASSWD_HASH $hash" ;; esac
htpasswd -nb "$hash" bench "$form_password" | sed '/^$/d' >"$passwd"
chmod 644 "$passwd"
conf=$CSAM_TEST_TMPDIR/bench.conf
cat >"$conf" <<EOF
# tests/bench/protected.sh
LoadModule request_module $moddir/mod_request.so
LoadModule session_module $moddir/mod_session.so
LoadModule session_cookie_module $moddir/mod_session_cookie.so
LoadModule session_crypto_module $moddir/mod_session_crypto.so
LoadModule auth_form_module $moddir/mod_auth_form.so
# As a production server logs: not a debug line per request.
LogLevel warn
# Keep-alive connections stay up for the whole run, so every
# configuration pays for requests, not for TCP handshakes.
MaxKeepAliveRequests 0
# Two children of 48 threads, both alive for the whole run: event closes
# kept-alive connections of a child whose threads are all busy, and an
# idle child stopped between two runs would close its connections too;
# with more threads per child than wrk has connections (32), neither
# happens.  mod_csam's pools (one per child for each of the two servers
# below) hold at most CSAMPoolMax connections: 2 x 2 x 8 fit in the test
# cluster's 40 connections (most protected requests need none: the
# session cache).
ThreadLimit 48
ThreadsPerChild 48
ServerLimit 2
MaxRequestWorkers 96
StartServers 2
MaxSpareThreads 96
CSAMPoolMax 8

# The main server (its CSAM settings) on the first virtual host; (d) on
# the second.  The locations below are the main server's: both have them.
<VirtualHost *:*>
    ServerName 127.0.0.1
</VirtualHost>
<VirtualHost *:*>
    ServerName nocache.bench
    CSAMSessionCacheTTL 0
</VirtualHost>

<Location /bench/b>
    AuthType CSAM
    AuthName "CSAM"
    Require valid-user
</Location>

<Location /bench/c>
    AuthType form
    AuthName "bench"
    AuthFormProvider file
    AuthUserFile "$passwd"
    Session On
    SessionCookieName session path=/;httponly
    SessionCryptoPassphrase "$crypto_passphrase"
    Require valid-user
</Location>
<Location /bench/form-login>
    SetHandler form-login-handler
    AuthType form
    AuthName "bench"
    AuthFormProvider file
    AuthUserFile "$passwd"
    AuthFormLoginSuccessLocation /bench/c/index.html
    Require all granted
    Session On
    SessionCookieName session path=/;httponly
    SessionCryptoPassphrase "$crypto_passphrase"
</Location>
EOF
CSAM_BENCH_FORM_USER=bench
CSAM_BENCH_FORM_PASSWORD=$form_password
CSAM_BENCH_FORM_HASH=$hash
export CSAM_BENCH_FORM_USER CSAM_BENCH_FORM_PASSWORD CSAM_BENCH_FORM_HASH
exec "$srcdir/tests/lib/httpd-run" --conf "$conf" \
    /usr/bin/python3 "$srcdir/tests/bench/protected_run.py" "$@"
