#!/bin/sh
# The browser tests of mod_csam's pages against a throwaway httpd
# (tests/lib/httpd-run, itself inside run-with-services): walk.mjs (the
# desk and the activation), or the walk named by CSAM_BROWSER_WALK
# (browser_login.sh: login.mjs; browser_keytypes.sh: keytypes.mjs, with
# the SMS gateway of run-with-services configured; browser_recovery.sh:
# recovery.mjs).  playwright-core and axe-core come from
# npm, at the versions of package-lock.json, into the build tree
# ($CSAM_BUILDDIR/tests/browser), reused while they match; the walks may
# run at once (make -j), so the install is done under a lock.
set -u

srcdir=${CSAM_SRCDIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
# npm writes into the build tree only, never into the sources.
if [ -z "${CSAM_BUILDDIR:-}" ]; then
    echo "browser.sh: CSAM_BUILDDIR is not set (run it through make check)" >&2
    exit 99
fi
builddir=$CSAM_BUILDDIR
here=$srcdir/tests/httpd/browser
deps=$builddir/tests/browser
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
    walk.mjs|login.mjs|keytypes.mjs|recovery.mjs) ;;
    *) echo "browser.sh: unknown walk $walk" >&2; exit 99 ;;
esac

mkdir -p "$deps" || exit 99
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
    if ! (cd "$deps" && npm ci --no-audit --no-fund --loglevel=error); then
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
conf=$deps/${walk%.mjs}
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
exec "$srcdir/tests/lib/httpd-run" "$@" node "$here/$walk"
