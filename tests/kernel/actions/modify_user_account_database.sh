#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Modify user account database
# expect: proc.name=e2e-actor fd.name=/etc/passwd
# /etc/passwd opened for appending by an ordinary program (content unchanged).
set -eu
. "$(dirname "$0")/_lib.sh"
standin e2e-actor append /etc/passwd
