#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Fluentd server listening on unexpected port
# expect: proc.name=fluentd fd.sport=14443
# A stand-in named fluentd listens on 127.0.0.1:14443.
set -eu
. "$(dirname "$0")/_lib.sh"
standin fluentd tcp-listen 14443
