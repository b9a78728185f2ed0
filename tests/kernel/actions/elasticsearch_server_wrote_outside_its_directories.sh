#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Elasticsearch server wrote outside its directories
# expect: proc.name=elasticsearch fd.name=/var/tmp/falco-e2e-elasticsearch.out
# A stand-in named elasticsearch writes a file in /var/tmp.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/tmp
standin elasticsearch write /var/tmp/falco-e2e-elasticsearch.out
rm -f /var/tmp/falco-e2e-elasticsearch.out
