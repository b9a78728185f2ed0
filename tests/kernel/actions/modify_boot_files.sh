#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Modify boot files
# expect: proc.name=touch fd.name=/boot/e2e-implant
# A new file below /boot.
set -eu
. "$(dirname "$0")/_lib.sh"
touch /boot/e2e-implant
rm -f /boot/e2e-implant
