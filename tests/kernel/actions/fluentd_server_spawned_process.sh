#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Fluentd server spawned process
# expect: proc.name=true proc.pname=fluentd
# A stand-in named fluentd starts /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
standin fluentd spawn /bin/true
