#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Write to non-device file below dev
# expect: proc.name=cp fd.name=/dev/e2e-payload
# A plain file dropped directly in /dev.
set -eu
. "$(dirname "$0")/_lib.sh"
cp /bin/true /dev/e2e-payload
rm -f /dev/e2e-payload
