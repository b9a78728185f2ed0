#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: run falco live, in the foreground, with the default rules.
# Where this kernel can load falco_probe, it runs here with the module;
# where it cannot but has BTF (kernel 5.17+), it runs here with the BPF
# programs (engine modern_ebpf); otherwise it boots the VM with the module
# and runs there.
# From a second terminal, run scripts/trigger-alerts.sh to see alerts.
# Stop with Ctrl-C: falco prints its summary (in the VM too: the host side
# asks the guest to stop falco with SIGINT through out/demo/stop).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RULES=(-r rules/falco_rules.yaml -r rules/application_rules.yaml -r rules/falco_rules.local.yaml)

if [ "${1:-}" = --in-vm ]; then
	# Inside the VM: make the directories the trigger script writes
	# below writable (the host's file system is shared read-only), serve
	# trigger requests from the host, then run falco in the foreground.
	for d in /etc /root; do
		if ! touch "$d/.falco-demo-probe" 2>/dev/null; then
			layer=$(mktemp -d /tmp/falco-demo-layer.XXXXXX)
			mount -t tmpfs falco-demo "$layer"
			mkdir "$layer/upper" "$layer/work"
			mount -t overlay overlay \
				-o "lowerdir=$d,upperdir=$layer/upper,workdir=$layer/work" "$d"
		fi
		rm -f "$d/.falco-demo-probe"
	done
	ip link set lo up 2>/dev/null || true
	mkdir -p out/demo/inbox
	touch out/demo/vm-running
	echo "demo: falco is starting (under emulation this takes a minute)."
	echo "demo: from another terminal run: scripts/trigger-alerts.sh"
	python3 -m falco "${RULES[@]}" -o syslog_output.enabled=false &
	falco=$!
	trap 'rm -f out/demo/vm-running; kill "$watcher" 2>/dev/null || true' EXIT
	(
		while sleep 0.5; do
			for req in out/demo/inbox/*; do
				[ -e "$req" ] || continue
				rm -f "$req"
				scripts/trigger-alerts.sh --local >/dev/null 2>&1 || true
			done
			if [ -e out/demo/stop ]; then
				kill -INT "$falco" 2>/dev/null
				break
			fi
		done
	) &
	watcher=$!
	wait "$falco"
	exit $?
fi

if [ "$(id -u)" = 0 ] && { [ -e /dev/falco0 ] || insmod driver/falco_probe.ko 2>/dev/null; }; then
	echo "demo: falco_probe is loaded in this kernel; running falco here (Ctrl-C stops)."
	echo "demo: from another terminal run: scripts/trigger-alerts.sh"
	exec python3 -m falco "${RULES[@]}" -o syslog_output.enabled=false
fi

if [ "$(id -u)" = 0 ] && [ -r /sys/kernel/btf/vmlinux ] && [ -r falco/driver/falco_probe.bpf.o ]; then
	echo "demo: this kernel cannot load falco_probe; running falco here with the BPF programs (modern_ebpf, Ctrl-C stops)."
	echo "demo: from another terminal run: scripts/trigger-alerts.sh"
	exec python3 -m falco --modern-bpf "${RULES[@]}" -o syslog_output.enabled=false
fi

echo "demo: this kernel cannot load falco_probe nor run the BPF programs; booting the VM (Debian's kernel under qemu)."
# The VM runs in its own session so that Ctrl-C does not kill qemu (and
# falco with it, before its summary): Ctrl-C here asks the guest instead.
mkdir -p out/demo
rm -f out/demo/stop
setsid "$ROOT/scripts/vm-run.sh" "$ROOT/scripts/demo.sh --in-vm" </dev/null &
vm=$!
trap 'echo; echo "demo: stopping falco in the VM"; touch out/demo/stop' INT TERM
rc=0
while kill -0 "$vm" 2>/dev/null; do
	wait "$vm" && rc=0 || rc=$?
done
rm -f out/demo/stop
exit "$rc"
