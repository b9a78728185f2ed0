#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: PostgreSQL server listening on unexpected port
# expect: proc.name=postgres fd.sport=14445
# A stand-in named postgres listens on 127.0.0.1:14445.
set -eu
. "$(dirname "$0")/_lib.sh"
standin postgres tcp-listen 14445
