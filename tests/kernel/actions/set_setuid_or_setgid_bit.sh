#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Set setuid or setgid bit
# expect: proc.name=chmod
# chmod u+s on a scratch copy of /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
cp /bin/true "$E2E_TMP/suid-true"
chmod u+s "$E2E_TMP/suid-true"
rm -f "$E2E_TMP/suid-true"
