#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Clear log file
# expect: proc.name=cp fd.name=/var/log/falco-e2e/app.log
# A log below /var/log is appended to, then emptied by copying /dev/null over it.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/log/falco-e2e
echo "line" >> /var/log/falco-e2e/app.log
cp /dev/null /var/log/falco-e2e/app.log
rm -rf /var/log/falco-e2e
