#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: CouchDB server listening on unexpected port
# expect: proc.name=couchdb fd.sport=14442
# A stand-in named couchdb listens on 127.0.0.1:14442.
set -eu
. "$(dirname "$0")/_lib.sh"
standin couchdb tcp-listen 14442
