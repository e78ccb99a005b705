#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recovery at the desk and the helpdesk search in a browser: recovery.mjs,
# run by browser.sh (npm packages, chromium, the throwaway httpd).  Not
# named recovery.sh: automake would take recovery.mjs as the source of its
# log.
CSAM_BROWSER_WALK=recovery.mjs
export CSAM_BROWSER_WALK
exec "$(dirname "$0")/browser.sh"
