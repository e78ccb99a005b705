#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The mobile-app and SMS keys in a browser: keytypes.mjs, run by
# browser.sh (npm packages, chromium, the throwaway httpd with an SMS
# gateway).  Not named keytypes.sh: automake would take keytypes.mjs as
# the source of its log.
CSAM_BROWSER_WALK=keytypes.mjs
export CSAM_BROWSER_WALK
exec "$(dirname "$0")/browser.sh"
