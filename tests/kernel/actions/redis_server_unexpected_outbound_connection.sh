#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Redis server unexpected outbound connection
# expect: proc.name=redis-server fd.sport=4444
# A stand-in named redis-server connects a UDP socket to 127.0.0.1:4444.
set -eu
. "$(dirname "$0")/_lib.sh"
standin redis-server udp-connect 4444
