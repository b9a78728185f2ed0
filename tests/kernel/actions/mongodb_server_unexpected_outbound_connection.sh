#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MongoDB server unexpected outbound connection
# expect: proc.name=mongod fd.sport=4444
# A stand-in named mongod connects a UDP socket to 127.0.0.1:4444.
set -eu
. "$(dirname "$0")/_lib.sh"
standin mongod udp-connect 4444
