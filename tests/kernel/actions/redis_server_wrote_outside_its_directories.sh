#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Redis server wrote outside its directories
# expect: proc.name=redis-server fd.name=/var/tmp/falco-e2e-redis-server.out
# A stand-in named redis-server writes a file in /var/tmp.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/tmp
standin redis-server write /var/tmp/falco-e2e-redis-server.out
rm -f /var/tmp/falco-e2e-redis-server.out
