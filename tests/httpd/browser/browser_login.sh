#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The login, keys and logout pages in a browser: login.mjs, run by
# browser.sh (npm packages, chromium, the throwaway httpd).  Not named
# login.sh: automake would take login.mjs as the source of login.log.
CSAM_BROWSER_WALK=login.mjs
export CSAM_BROWSER_WALK
exec "$(dirname "$0")/browser.sh"
