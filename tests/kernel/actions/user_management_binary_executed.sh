#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: User management binary executed
# expect: proc.name=useradd
# useradd runs (only --help: no account is created).
set -eu
. "$(dirname "$0")/_lib.sh"
useradd --help > /dev/null 2>&1 || true
