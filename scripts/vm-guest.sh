#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs inside the virtme-ng VM (started by vm-run.sh): installs and loads
# falco_probe, runs the command, unloads the module and fails if the
# kernel log shows a WARNING, BUG or Oops.
#   vm-guest.sh [--no-module] [--param name=value]... -- <command...>
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KO="$ROOT/driver/falco_probe.ko"
load=1
params=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-module) load=0; shift ;;
	--param) params+=("$2"); shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done

# The host's Python (pytest, cffi, ...) is shared over 9p.
for d in /root/.pyenv/versions/3.11.7/bin; do
	[ -x "$d/python3" ] && PATH="$d:$PATH"
done
export PATH
export FALCO_KERNEL_VM=1 FPROBE_KO="$KO" PYTHONDONTWRITEBYTECODE=1
# 9p opens are slow: scratch space on tmpfs.
mkdir -p /tmp/fprobe && export TMPDIR=/tmp/fprobe

dmesg -C
if [ "$load" = 1 ]; then
	kver=$(uname -r)
	mkdir -p "/lib/modules/$kver/updates"
	cp "$KO" "/lib/modules/$kver/updates/falco_probe.ko"
	# tests reload it often: from the overlay's tmpfs, not over 9p
	FPROBE_KO="/lib/modules/$kver/updates/falco_probe.ko"
	export FPROBE_KO
	# A full depmod takes minutes under TCG: index only our module
	# (the VM's /lib is a throw-away overlay).
	depmod "$kver" "/lib/modules/$kver/updates/falco_probe.ko" 2>/dev/null
	if ! modprobe falco_probe "${params[@]}"; then
		echo "vm-guest: modprobe falco_probe failed" >&2
		dmesg | tail -20 >&2
		exit 90
	fi
fi

cd "$ROOT"
"$@"
rc=$?

if [ "$load" = 1 ] && grep -q '^falco_probe ' /proc/modules; then
	if ! rmmod falco_probe; then
		echo "vm-guest: rmmod falco_probe failed" >&2
		[ $rc = 0 ] && rc=91
	fi
fi
if dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace' >/dev/null; then
	echo "vm-guest: kernel log shows a WARNING/BUG/Oops:" >&2
	dmesg | grep -E -A15 'WARNING:|BUG:|Oops|general protection' | head -60 >&2
	[ $rc = 0 ] && rc=92
fi
echo "vm-guest: exit status $rc"
exit $rc
