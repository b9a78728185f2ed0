#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Symlink to sensitive file
# expect: proc.name=ln evt.arg.target=/etc/shadow
# A symlink to /etc/shadow in scratch space.
set -eu
. "$(dirname "$0")/_lib.sh"
rm -f "$E2E_TMP/shadow-link"
ln -s /etc/shadow "$E2E_TMP/shadow-link"
rm -f "$E2E_TMP/shadow-link"
