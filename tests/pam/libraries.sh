#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The libraries pam_csam.so brings into every process that authenticates
# through it (sshd, su, sudo, login): only those it uses.  libqrencode
# draws the app key's QR code on the web's enrolment page: mod_csam.so
# needs it, pam_csam.so must not (pam_csam(8), NOTES).
set -u
build=${CSAM_BUILDDIR:-.}
pam=$build/pam_csam/.libs/pam_csam.so
mod=$build/mod_csam/.libs/mod_csam.so
if ! command -v readelf >/dev/null 2>&1; then
    echo "SKIP: readelf not found (Debian package binutils)"
    exit 77
fi
for so in "$pam" "$mod"; do
    if [ ! -f "$so" ]; then
        echo "FAIL: $so not built"
        exit 1
    fi
done
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
echo "# pam_csam.so NEEDED:"; needed "$pam" | sed 's/^/#   /'
status=0
if needed "$pam" | grep -q '^libqrencode'; then
    echo "FAIL: pam_csam.so links libqrencode"
    status=1
else
    echo "ok - pam_csam.so does not link libqrencode"
fi
if needed "$mod" | grep -q '^libqrencode'; then
    echo "ok - mod_csam.so links libqrencode (the QR code is the web's)"
else
    echo "FAIL: mod_csam.so lost libqrencode: the test above proves nothing"
    status=1
fi
exit $status
