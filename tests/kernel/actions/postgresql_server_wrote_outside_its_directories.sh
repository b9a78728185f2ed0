#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: PostgreSQL server wrote outside its directories
# expect: proc.name=postgres fd.name=/var/tmp/falco-e2e-postgres.out
# A stand-in named postgres writes a file in /var/tmp.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/tmp
standin postgres write /var/tmp/falco-e2e-postgres.out
rm -f /var/tmp/falco-e2e-postgres.out
