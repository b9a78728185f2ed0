#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Redis server spawned process
# expect: proc.name=true proc.pname=redis-server
# A stand-in named redis-server starts /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
standin redis-server spawn /bin/true
