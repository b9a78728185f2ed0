#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot Debian's kernel under qemu (TCG) with virtme-ng, load falco_probe
# and run one command inside; exits with the command's status (or 90-92 if
# the module failed to load/unload or the kernel log shows a WARNING/BUG).
#   scripts/vm-run.sh [--no-module] [--param name=value]... '<command>'
# Environment: KVER (default: newest installed -amd64), VM_CPUS (2),
# VM_MEM (2G), VM_TIMEOUT seconds (1800), VM_TCG_THREAD (single|multi),
# VM_VNG_ARGS (extra vng options, e.g. '--verbose --debug' to debug a hang).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KVER=${KVER:-$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -n 1)}
KERNEL=/boot/vmlinuz-$KVER

guest_args=()
while [ $# -gt 1 ]; do
	case "$1" in
	--no-module) guest_args+=(--no-module); shift ;;
	--param) guest_args+=(--param "$2"); shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--no-module] [--param k=v]... '<command>'" >&2; exit 2; }
cmd=$1

[ -r "$KERNEL" ] || { echo "vm-run: $KERNEL missing (apt-get install linux-image-amd64)" >&2; exit 2; }
command -v vng >/dev/null || { echo "vm-run: vng missing (pip install virtme-ng)" >&2; exit 2; }

# Rebuild the module when a source is newer than it.
ko=$ROOT/driver/falco_probe.ko
if [ ! -e "$ko" ] || [ -n "$(find "$ROOT/driver" -name '*.[ch]' -newer "$ko" | head -1)" ]; then
	make -s -C "$ROOT/driver" KERNELDIR="/lib/modules/$KVER/build" >&2
fi

guest="$ROOT/scripts/vm-guest.sh ${guest_args[*]:-} -- bash -c $(printf '%q' "$cmd")"
# One host thread for all vCPUs (-accel tcg,thread=single): with QEMU 7.2's
# default multi-threaded TCG, a guest vCPU executing a syscall tracepoint
# site while another vCPU patches it (static key flip when any tracepoint
# probe is registered or removed) can spin on the stale code forever: soft
# lockup in syscall_trace_enter. Toggling the kernel's own raw_syscalls
# trace events from tracefs under a syscall storm, with no module of ours
# loaded, freezes the guest the same way (see issue 2's note).
exec timeout --foreground "${VM_TIMEOUT:-1800}" \
	vng --run "$KERNEL" --disable-kvm --force-9p \
	--qemu-opts="-accel tcg,thread=${VM_TCG_THREAD:-single}" \
	--cpus "${VM_CPUS:-2}" --memory "${VM_MEM:-2G}" \
	--rwdir "$ROOT" ${VM_VNG_ARGS:-} --exec "$guest"
