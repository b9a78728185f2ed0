#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Hard link to sensitive file
# expect: proc.name=ln evt.arg.oldpath=/etc/shadow
# A hard link to /etc/shadow is attempted (it may fail across filesystems).
set -eu
. "$(dirname "$0")/_lib.sh"
rm -f "$E2E_TMP/shadow-hard"
ln /etc/shadow "$E2E_TMP/shadow-hard" 2>/dev/null || true
rm -f "$E2E_TMP/shadow-hard"
