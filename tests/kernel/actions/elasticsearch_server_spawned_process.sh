#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Elasticsearch server spawned process
# expect: proc.name=true proc.pname=elasticsearch
# A stand-in named elasticsearch starts /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
standin elasticsearch spawn /bin/true
