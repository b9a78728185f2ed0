#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Control characters in file name or command line
# expect: proc.name=touch evt.type=openat
# A file whose name holds a newline, a forged alert line and a terminal
# escape (the name alerts print escaped).
set -eu
. "$(dirname "$0")/_lib.sh"
name="$E2E_TMP/evt$(printf '\n00:00:00.000000000: Critical Fake alert\033[2J')"
touch "$name"
rm -f "$name"
