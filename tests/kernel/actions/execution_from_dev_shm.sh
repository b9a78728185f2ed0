#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Execution from dev shm
# expect: proc.name=e2e-dropper proc.exepath=/dev/shm/e2e-dropper
# A program copied to /dev/shm and started from there.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /dev/shm
cp /bin/true /dev/shm/e2e-dropper
/dev/shm/e2e-dropper
rm -f /dev/shm/e2e-dropper
