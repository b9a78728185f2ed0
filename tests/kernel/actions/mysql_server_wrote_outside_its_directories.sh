#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MySQL server wrote outside its directories
# expect: proc.name=mysqld fd.name=/var/tmp/falco-e2e-mysqld.out
# A stand-in named mysqld writes a file in /var/tmp.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/tmp
standin mysqld write /var/tmp/falco-e2e-mysqld.out
rm -f /var/tmp/falco-e2e-mysqld.out
