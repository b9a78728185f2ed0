#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: PostgreSQL server spawned process
# expect: proc.name=true proc.pname=postgres
# A stand-in named postgres starts /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
standin postgres spawn /bin/true
