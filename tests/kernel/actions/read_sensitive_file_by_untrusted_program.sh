#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Read sensitive file by untrusted program
# expect: proc.name=cat fd.name=/etc/shadow
# cat reads /etc/shadow.
set -eu
. "$(dirname "$0")/_lib.sh"
cat /etc/shadow > /dev/null
