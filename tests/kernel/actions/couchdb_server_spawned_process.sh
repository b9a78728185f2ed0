#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: CouchDB server spawned process
# expect: proc.name=true proc.pname=couchdb
# A stand-in named couchdb starts /bin/true.
set -eu
. "$(dirname "$0")/_lib.sh"
standin couchdb spawn /bin/true
