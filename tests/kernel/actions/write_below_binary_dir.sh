#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Write below binary dir
# expect: proc.name=cp fd.name=/usr/local/bin/e2e-dropper
# A program copied into /usr/local/bin.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /usr/local/bin
cp /bin/true /usr/local/bin/e2e-dropper
rm -f /usr/local/bin/e2e-dropper
