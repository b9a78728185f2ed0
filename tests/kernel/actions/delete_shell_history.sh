#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Delete shell history
# expect: proc.name=rm
# A shell history file is deleted.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p "$E2E_TMP/home"
echo "ls" >> "$E2E_TMP/home/.bash_history"
rm -f "$E2E_TMP/home/.bash_history"
