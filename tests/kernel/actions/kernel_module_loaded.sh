#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Kernel module loaded
# expect: proc.name=insmod
# insmod on a file that is not a module (the kernel refuses it; the attempt is what counts).
set -eu
. "$(dirname "$0")/_lib.sh"
printf "not a module" > "$E2E_TMP/e2e.ko"
insmod "$E2E_TMP/e2e.ko" 2>/dev/null || true
rm -f "$E2E_TMP/e2e.ko"
