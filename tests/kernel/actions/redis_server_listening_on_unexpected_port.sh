#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Redis server listening on unexpected port
# expect: proc.name=redis-server fd.sport=14446
# A stand-in named redis-server listens on 127.0.0.1:14446.
set -eu
. "$(dirname "$0")/_lib.sh"
standin redis-server tcp-listen 14446
