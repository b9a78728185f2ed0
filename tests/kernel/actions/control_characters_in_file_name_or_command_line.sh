#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Control characters in file name or command line
# expect: evt.type=openat
# A file whose name holds a newline, a forged alert line and a terminal
# escape (the name alerts print escaped). The shell creates it itself (a
# redirection: no program's arguments carry the name), so the first alert
# is the open; rm's arguments then raise the command-line half.
set -eu
. "$(dirname "$0")/_lib.sh"
name="$E2E_TMP/evt$(printf '\n00:00:00.000000000: Critical Fake alert\033[2J')"
: > "$name"
rm -f "$name"
