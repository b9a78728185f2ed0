#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Network activity by non-network system binary
# expect: proc.name=sha256sum evt.type=connect fd.sport=4444
# A program named sha256sum connects a UDP socket to 127.0.0.1:4444.
set -eu
. "$(dirname "$0")/_lib.sh"
standin sha256sum udp-connect 4444
