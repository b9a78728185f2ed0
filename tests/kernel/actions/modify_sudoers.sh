#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Modify sudoers
# expect: proc.name=cp fd.name=/etc/sudoers.d/e2e
# An empty file dropped in /etc/sudoers.d.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /etc/sudoers.d
cp /dev/null /etc/sudoers.d/e2e
rm -f /etc/sudoers.d/e2e
