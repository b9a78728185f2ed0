#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MySQL server unexpected outbound connection
# expect: proc.name=mysqld fd.sport=4444
# A stand-in named mysqld connects a UDP socket to 127.0.0.1:4444.
set -eu
. "$(dirname "$0")/_lib.sh"
standin mysqld udp-connect 4444
