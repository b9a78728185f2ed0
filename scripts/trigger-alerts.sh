#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Perform a few actions the default rules alert on, so a person watching
# `make demo` sees alerts: a file written below /etc, /etc/shadow read by
# cat, and a shell started in a docker-like container.
#   scripts/trigger-alerts.sh           # run them here, or forward them to
#                                       # the demo VM when one is running
#   scripts/trigger-alerts.sh --local   # always run them here
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=$ROOT/out/demo

if [ "${1:-}" != --local ] && [ ! -e /dev/falco0 ] && [ -e "$DEMO/vm-running" ]; then
	# The demo VM has its own kernel: actions must happen inside it. It
	# watches this inbox on the shared file system.
	mkdir -p "$DEMO/inbox"
	touch "$DEMO/inbox/trigger.$$"
	echo "trigger-alerts: asked the demo VM to run the actions; watch its terminal"
	exit 0
fi

say() { echo "trigger-alerts: $*"; }

say "writing /etc/falco-demo.conf (rule: Write below etc)"
touch /etc/falco-demo.conf
rm -f /etc/falco-demo.conf

say "reading /etc/shadow with cat (rule: Read sensitive file by untrusted program)"
cat /etc/shadow > /dev/null

id=$(printf 'falco-demo-%s' "$(date +%s)" | sha256sum | cut -c1-64)
say "starting a shell in container ${id:0:12} (rule: Shell spawned in container)"
"$ROOT/tests/kernel/actions/_container.sh" "$id" /bin/sh -c 'exit 0'
