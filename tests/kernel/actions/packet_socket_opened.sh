#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Packet socket opened
# expect: proc.name=e2e-actor evt.arg.domain=AF_PACKET
# An AF_PACKET raw socket is opened and closed.
set -eu
. "$(dirname "$0")/_lib.sh"
standin e2e-actor packet-socket
