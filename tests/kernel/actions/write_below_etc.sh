#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Write below etc
# expect: proc.name=touch fd.name=/etc/falco-e2e.conf
# A new file below /etc.
set -eu
. "$(dirname "$0")/_lib.sh"
touch /etc/falco-e2e.conf
rm -f /etc/falco-e2e.conf
