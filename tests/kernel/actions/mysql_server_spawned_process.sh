#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MySQL server spawned process
# expect: proc.name=true proc.pname=mysqld
# A stand-in named mysqld starts /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
standin mysqld spawn /bin/true
