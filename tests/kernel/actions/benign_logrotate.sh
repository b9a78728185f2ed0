#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# benign: log rotation with logrotate (copytruncate, create, compress) of
# logs below /var/log
set -eu
. "$(dirname "$0")/_lib.sh"
logs=/var/log/falco-e2e-benign
mkdir -p "$logs"
for i in 1 2 3; do echo "request $i" >> "$logs/app.log"; done
for i in 1 2 3; do echo "event $i" >> "$logs/worker.log"; done
conf=$E2E_TMP/logrotate.conf
cat > "$conf" <<CONF
$logs/app.log {
	rotate 2
	copytruncate
	compress
	missingok
}
$logs/worker.log {
	rotate 2
	create 0640 root root
	compress
	missingok
}
CONF
logrotate -f -s "$E2E_TMP/logrotate.state" "$conf"
logrotate -f -s "$E2E_TMP/logrotate.state" "$conf"
rm -rf "$logs" "$conf" "$E2E_TMP/logrotate.state"
