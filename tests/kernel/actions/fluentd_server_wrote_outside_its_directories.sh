#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Fluentd server wrote outside its directories
# expect: proc.name=fluentd fd.name=/var/tmp/falco-e2e-fluentd.out
# A stand-in named fluentd writes a file in /var/tmp.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/tmp
standin fluentd write /var/tmp/falco-e2e-fluentd.out
rm -f /var/tmp/falco-e2e-fluentd.out
