#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Switch to root by unexpected program
# expect: proc.name=escalate proc.exepath=/tmp/falco-e2e/bin/escalate evt.type=setuid
# A program dropped in /tmp (a copy of the python interpreter) calls setuid(0).
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p "$E2E_TMP/bin"
cp "$(readlink -f /usr/bin/python3)" "$E2E_TMP/bin/escalate"
"$E2E_TMP/bin/escalate" -BS -c 'import os; os.setuid(0)'
rm -f "$E2E_TMP/bin/escalate"
