#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Write below root home
# expect: proc.name=touch fd.name=/root/e2e-note
# A new file directly in /root.
set -eu
. "$(dirname "$0")/_lib.sh"
touch /root/e2e-note
rm -f /root/e2e-note
