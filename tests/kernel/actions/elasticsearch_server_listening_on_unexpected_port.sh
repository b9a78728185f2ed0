#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Elasticsearch server listening on unexpected port
# expect: proc.name=elasticsearch fd.sport=14444
# A stand-in named elasticsearch listens on 127.0.0.1:14444.
set -eu
. "$(dirname "$0")/_lib.sh"
standin elasticsearch tcp-listen 14444
