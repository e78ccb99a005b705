#!/bin/sh
# The login, keys and logout pages in a browser: login.mjs, run by
# browser.sh (npm packages, chromium, the throwaway httpd).
CSAM_BROWSER_WALK=login.mjs
export CSAM_BROWSER_WALK
exec "$(dirname "$0")/browser.sh"
