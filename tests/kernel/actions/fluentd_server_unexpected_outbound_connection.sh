#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Fluentd server unexpected outbound connection
# expect: proc.name=fluentd fd.sport=4444
# A stand-in named fluentd connects a UDP socket to 127.0.0.1:4444.
set -eu
. "$(dirname "$0")/_lib.sh"
standin fluentd udp-connect 4444
