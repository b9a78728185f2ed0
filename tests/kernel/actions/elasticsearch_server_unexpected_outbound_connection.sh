#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Elasticsearch server unexpected outbound connection
# expect: proc.name=elasticsearch fd.sport=4444
# A stand-in named elasticsearch connects a UDP socket to 127.0.0.1:4444.
set -eu
. "$(dirname "$0")/_lib.sh"
standin elasticsearch udp-connect 4444
