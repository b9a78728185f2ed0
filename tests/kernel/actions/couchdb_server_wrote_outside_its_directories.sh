#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: CouchDB server wrote outside its directories
# expect: proc.name=couchdb fd.name=/var/tmp/falco-e2e-couchdb.out
# A stand-in named couchdb writes a file in /var/tmp.
set -eu
. "$(dirname "$0")/_lib.sh"
mkdir -p /var/tmp
standin couchdb write /var/tmp/falco-e2e-couchdb.out
rm -f /var/tmp/falco-e2e-couchdb.out
