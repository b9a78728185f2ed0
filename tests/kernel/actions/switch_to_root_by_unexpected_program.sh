#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Switch to root by unexpected program
# expect: proc.name=e2e-actor evt.type=setuid
# An ordinary program calls setuid(0).
set -eu
. "$(dirname "$0")/_lib.sh"
standin e2e-actor setuid0
