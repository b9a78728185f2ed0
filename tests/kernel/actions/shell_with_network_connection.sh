#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Shell with network connection
# expect: proc.name=bash evt.type=connect fd.sport=4445
# bash opens /dev/udp/127.0.0.1/4445 (reverse-shell plumbing).
set -eu
. "$(dirname "$0")/_lib.sh"
bash -c 'exec 3<>/dev/udp/127.0.0.1/4445; exec 3>&-'
