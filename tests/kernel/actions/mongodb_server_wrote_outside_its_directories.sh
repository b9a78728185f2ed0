#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MongoDB server wrote outside its directories
# expect: proc.name=mongod fd.name=/var/tmp/falco-e2e-mongod.out
# A stand-in named mongod writes a file in /var/tmp.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/tmp
standin mongod write /var/tmp/falco-e2e-mongod.out
rm -f /var/tmp/falco-e2e-mongod.out
