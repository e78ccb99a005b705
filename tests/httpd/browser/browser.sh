#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The browser tests of mod_csam's pages against a throwaway httpd
# (tests/lib/httpd-run, itself inside run-with-services): walk.mjs (the
# desk and the activation), or the walk named by CSAM_BROWSER_WALK
# (browser_login.sh: login.mjs; browser_keytypes.sh: keytypes.mjs, with
# the SMS gateway of run-with-services configured; browser_online.sh:
# online.mjs, behind mod_auth_openidc and the tests' OpenID provider,
# tests/lib/oidc_provider.py, which runs as long as the walk;
# browser_recovery.sh: recovery.mjs).  playwright-core and axe-core come from
# npm, at the versions of package-lock.json, into the build tree
# ($CSAM_BUILDDIR/tests/browser), or into CSAM_BROWSER_MODULES when set
# (scripts/check: one install for all its trees, make distcheck's too),
# reused while they match; the walks may run at once (make -j), so the
# install is done under a lock.
set -u

srcdir=${CSAM_SRCDIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
# npm writes into the build tree only, never into the sources.
if [ -z "${CSAM_BUILDDIR:-}" ]; then
    echo "browser.sh: CSAM_BUILDDIR is not set (run it through make check)" >&2
    exit 99
fi
builddir=$CSAM_BUILDDIR
here=$srcdir/tests/httpd/browser
work=$builddir/tests/browser
deps=${CSAM_BROWSER_MODULES:-$work}
CSAM_BROWSER_MODULES=$deps
export CSAM_BROWSER_MODULES
chromium=${CSAM_CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
    echo "SKIP: $chromium not found (Debian package chromium)"
    exit 77
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node and npm not found (Debian packages nodejs, npm)"
    exit 77
fi

walk=${CSAM_BROWSER_WALK:-walk.mjs}
case "$walk" in
    walk.mjs|login.mjs|keytypes.mjs|online.mjs|recovery.mjs) ;;
    *) echo "browser.sh: unknown walk $walk" >&2; exit 99 ;;
esac

# The online walk needs Apache to identify people: mod_auth_openidc.
oidc_module=/usr/lib/apache2/modules/mod_auth_openidc.so
if [ "$walk" = online.mjs ] && [ ! -f "$oidc_module" ]; then
    echo "SKIP: $oidc_module missing (Debian package libapache2-mod-auth-openidc; scripts/deps)"
    exit 77
fi

mkdir -p "$deps" "$work" || exit 99
# One install at a time; the other walk waits and then reuses it.
exec 9>"$deps/.install-lock" || exit 99
if command -v flock >/dev/null 2>&1; then
    flock 9 || exit 99
fi
if ! cmp -s "$here/package-lock.json" "$deps/package-lock.json" ||
    [ ! -f "$deps/node_modules/playwright-core/package.json" ] ||
    [ ! -f "$deps/node_modules/axe-core/package.json" ]; then
    # The sources may be read-only (distcheck): copies, made writable.
    cp "$here/package.json" "$here/package-lock.json" "$deps/" || exit 99
    chmod u+w "$deps/package.json" "$deps/package-lock.json"
    # From npm's cache when it has them: no registry asked again.
    if ! (cd "$deps" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error); then
        rm -f "$deps/package-lock.json"
        # Not a skip: without them no accessibility, keyboard or CSRF
        # check of the pages runs.
        echo "browser.sh: npm ci failed: playwright-core and axe-core cannot be installed" >&2
        exit 99
    fi
fi
exec 9>&-

# A way to reach the desk pages without the officer's authentication, as
# on a server whose administrator forgot it: the pages must refuse.
# Per walk: the walks may run at once.
conf=$work/${walk%.mjs}
cat >"$conf-no-officer.conf" <<'EOF'
<Location /csam/registration>
    <If "-n req('X-Test-No-Officer')">
        AuthType None
        Require all granted
    </If>
</Location>
EOF
# The application a citizen logs in to (login.mjs writes its page into
# the server's document root); a short wait between two codes, so the walk
# logs in twice without sleeping a minute.
cat >"$conf-app.conf" <<'EOF'
CSAMResendCooldown 3
<Location /app>
    AuthType CSAM
    Require valid-user
</Location>
EOF

# The SMS key needs a gateway: the recording one run-with-services
# started (its default JSON body, {"to": ..., "text": ...}).
if [ "$walk" = keytypes.mjs ]; then
    if [ -z "${CSAM_TEST_SMS_URL:-}" ] || [ -z "${CSAM_TEST_SMS_DIR:-}" ]; then
        echo "browser.sh: CSAM_TEST_SMS_URL and CSAM_TEST_SMS_DIR are not set (run it through make check)" >&2
        exit 99
    fi
    printf 'CSAMSMSTransport http\nCSAMSMSURL "%s/send"\n' \
        "$CSAM_TEST_SMS_URL" >"$conf-sms.conf" || exit 99
fi

CSAM_CHROMIUM=$chromium
export CSAM_CHROMIUM
set -- --conf "$conf-no-officer.conf"
if [ "$walk" != walk.mjs ]; then
    set -- "$@" --conf "$conf-app.conf"
fi
if [ "$walk" = keytypes.mjs ]; then
    set -- "$@" --conf "$conf-sms.conf"
fi
if [ "$walk" != online.mjs ]; then
    exec "$srcdir/tests/lib/httpd-run" "$@" node "$here/$walk"
fi

# The online procedure behind an OpenID provider, as with itsme: the
# provider approves at once whomever the walk chose last (POST
# /test/person) and writes mod_auth_openidc's configuration for itself;
# the national number reaches mod_csam through the request environment.
rm -f "$conf-oidc.port" "$conf-oidc.conf"
/usr/bin/python3 "$srcdir/tests/lib/oidc_provider.py" \
    --port-file "$conf-oidc.port" --httpd-conf "$conf-oidc.conf" &
oidc=$!
trap 'kill "$oidc" 2>/dev/null' EXIT
trap 'exit 99' INT TERM HUP
tries=0
until [ -s "$conf-oidc.port" ] && [ -s "$conf-oidc.conf" ]; do
    if ! kill -0 "$oidc" 2>/dev/null || [ "$tries" -ge 100 ]; then
        echo "browser.sh: the OpenID provider did not start" >&2
        exit 99
    fi
    tries=$((tries + 1))
    sleep 0.1
done
CSAM_TEST_OIDC_URL=http://127.0.0.1:$(cat "$conf-oidc.port")
CSAM_SRCDIR=$srcdir
export CSAM_TEST_OIDC_URL CSAM_SRCDIR
cat >"$conf-online.conf" <<'EOF'
# mod_auth_openidc's redirect URI (/oidc/redirect) and the online
# procedure's page and API: only a person the provider identified.
<Location /oidc>
    AuthType openid-connect
    Require valid-user
</Location>
<LocationMatch "^/csam/(online|api/v1/online)(/|$)">
    AuthType openid-connect
    Require valid-user
    CSAMIdentitySource env OIDC_CLAIM_national_number
    CSAMIdentityNames OIDC_CLAIM_given_name OIDC_CLAIM_family_name
</LocationMatch>
EOF
"$srcdir/tests/lib/httpd-run" "$@" --conf "$conf-oidc.conf" \
    --conf "$conf-online.conf" node "$here/$walk"
rc=$?
exit "$rc"
