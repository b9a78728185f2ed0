#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reproduces the QEMU multi-threaded TCG guest freeze without falco_probe:
# a syscall storm runs while the kernel's own raw_syscalls trace events are
# switched on and off from tracefs (the same static keys our tracepoint
# probes flip). With VM_TCG_THREAD=multi the guest soft-locks in
# syscall_trace_enter within ~50 cycles; with the default (single) all pass.
#   VM_TCG_THREAD=multi scripts/tcg-freeze-repro.sh [CYCLES]
# Progress goes to the kernel log (the console, shown with --verbose).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --in-vm ]; then
	cycles=$2
	storm=$(mktemp /tmp/storm.XXXXXX)
	printf '%s\n' '#include <fcntl.h>' '#include <unistd.h>' '#include <sys/syscall.h>' \
		'int main(void) { for (long i = 0;; i++) { syscall(SYS_getppid);' \
		'if (i % 16 == 0) close(open("/dev/null", O_RDONLY)); } }' |
		gcc -O2 -x c -o "$storm" -
	mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
	ev=/sys/kernel/tracing/events
	nice -n 19 "$storm" &
	pid=$!
	for i in $(seq 1 "$cycles"); do
		echo 1 >"$ev/raw_syscalls/enable"
		echo 1 >"$ev/sched/sched_process_exec/enable"
		sleep 0.05
		echo 0 >"$ev/raw_syscalls/enable"
		echo 0 >"$ev/sched/sched_process_exec/enable"
		[ $((i % 10)) != 0 ] || echo "tcg-freeze-repro: cycle $i" >/dev/kmsg
	done
	kill "$pid"
	echo "tcg-freeze-repro: $cycles cycles, no freeze" | tee /dev/kmsg
	exit 0
fi
VM_TIMEOUT=${VM_TIMEOUT:-900} VM_VNG_ARGS="${VM_VNG_ARGS:-} --verbose" \
	exec "$ROOT/scripts/vm-run.sh" --no-module "$ROOT/scripts/tcg-freeze-repro.sh --in-vm ${1:-100}"
