#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Modify cron configuration
# expect: proc.name=cp fd.name=/etc/cron.d/e2e-job
# A file dropped in /etc/cron.d.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /etc/cron.d
cp /dev/null /etc/cron.d/e2e-job
rm -f /etc/cron.d/e2e-job
