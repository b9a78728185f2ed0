#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MongoDB server listening on unexpected port
# expect: proc.name=mongod fd.sport=14441
# A stand-in named mongod listens on 127.0.0.1:14441.
set -eu
. "$(dirname "$0")/_lib.sh"
standin mongod tcp-listen 14441
