#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The online procedure's pages in a browser: online.mjs, run by browser.sh
# (npm packages, chromium, the tests' OpenID provider in front of the
# throwaway httpd).
CSAM_BROWSER_WALK=online.mjs
export CSAM_BROWSER_WALK
exec "$(dirname "$0")/browser.sh"
