#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: MongoDB server spawned process
# expect: proc.name=true proc.pname=mongod
# A stand-in named mongod starts /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
standin mongod spawn /bin/true
