#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MySQL server listening on unexpected port
# expect: proc.name=mysqld fd.sport=14440
# A stand-in named mysqld listens on 127.0.0.1:14440.
set -eu
. "$(dirname "$0")/_lib.sh"
standin mysqld tcp-listen 14440
