#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The modern_ebpf source natively on this host's kernel (no VM): the kernel
# tests of the BPF programs (per-syscall parameters, accounting, shared
# rings, load/attach/detach cycles, the live source) and the e2e rules suite
# with `falco --modern-bpf`.
#
# Everything runs in a throw-away mount namespace where each directory the
# tests and the actions write below (/etc, /root, /boot, /var, /usr/local,
# /tmp, /home, /opt, /dev and /dev/shm) is an overlay whose upper layer is a
# tmpfs: nothing they write reaches the host.  The cgroups the container
# actions create below /sys/fs/cgroup (a kernel file system, not
# overlayable) are removed afterwards.
#   scripts/bpf-test.sh [pytest args...]   (default: -q tests/kernel)
# Needs root, a kernel with BTF (/sys/kernel/btf/vmlinux), clang, bpftool.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ "${1:-}" = --in-namespace ]; then
	shift
	work=$1
	shift
	# Every layer's upper and work directories live on one tmpfs, outside
	# the directories overlaid.
	mount -t tmpfs falco-bpf-test "$work"
	for d in /etc /root /boot /var /usr/local /tmp /home /opt; do
		[ -d "$d" ] || continue
		n=$(echo "$d" | tr / _)
		mkdir -p "$work/$n/upper" "$work/$n/work"
		mount -t overlay falco-bpf-test -o \
			"lowerdir=$d,upperdir=$work/$n/upper,workdir=$work/$n/work" "$d"
	done
	# /dev: an overlay of the device nodes, the original pseudo-terminals
	# and message queues mounted back, a fresh /dev/shm.
	mkdir -p "$work/dev.orig" "$work/_dev/upper" "$work/_dev/work"
	mount --rbind /dev "$work/dev.orig"
	mount -t overlay falco-bpf-test -o \
		"lowerdir=$work/dev.orig,upperdir=$work/_dev/upper,workdir=$work/_dev/work" /dev
	for sub in pts mqueue hugepages; do
		if mountpoint -q "$work/dev.orig/$sub"; then
			mkdir -p "/dev/$sub"
			mount --rbind "$work/dev.orig/$sub" "/dev/$sub"
		fi
	done
	mkdir -p /dev/shm
	mount -t tmpfs -o mode=1777 falco-bpf-test-shm /dev/shm
	export PYTHONDONTWRITEBYTECODE=1 TMPDIR=/tmp
	export FALCO_KERNEL_SOURCES=bpf FALCO_E2E_FALCO_ARGS=--modern-bpf
	exec python3 -m pytest -p no:cacheprovider -o faulthandler_timeout=600 "$@"
fi

[ "$(id -u)" -eq 0 ] || { echo "bpf-test: needs root" >&2; exit 2; }
if [ ! -r /sys/kernel/btf/vmlinux ]; then
	echo "bpf-test: this kernel has no BTF (/sys/kernel/btf/vmlinux): the" \
		"BPF tests run in the VM only (scripts/vm-test.sh)" >&2
	exit 2
fi
for need in clang bpftool unshare; do
	command -v "$need" >/dev/null || { echo "bpf-test: $need missing" >&2; exit 2; }
done
make -s -C driver/bpf
[ $# -gt 0 ] || set -- -q --durations=10 tests/kernel

# cgroups that exist before: the ones created by the run are removed after
cg_before=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name docker 2>/dev/null |
	sort || true)
work=$(mktemp -d /run/falco-bpf-test.XXXXXX)
rc=0
unshare --mount --propagation private -- "$0" --in-namespace "$work" "$@" || rc=$?
for d in $(find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name docker 2>/dev/null | sort); do
	if ! grep -qxF "$d" <<<"$cg_before"; then
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	fi
done
rmdir "$work" 2>/dev/null || true
echo "bpf-test: exit status $rc"
exit "$rc"
