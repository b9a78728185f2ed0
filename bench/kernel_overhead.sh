#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Kernel overhead benchmark: builds falco_probe, the BPF programs, the
# workload and reader C programs and (if falcosecurity-scap-dkms is
# installed) the scap module,
# then runs bench/kernel_overhead.py inside the VM.  Prints numbers only.
#   bench/kernel_overhead.sh [-n ITERATIONS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
KVER=${KVER:-$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -n 1)}
export KVER
bindir=$ROOT/out/bench
mkdir -p "$bindir"
make -s -C driver KERNELDIR="/lib/modules/$KVER/build"
make -s -C driver/bpf
gcc -O2 -Wall -o "$bindir/kernel_overhead_loop" bench/kernel_overhead_loop.c
gcc -O2 -Wall -o "$bindir/kernel_overhead_drain" bench/kernel_overhead_drain.c

scap_ko=""
if ls -d /usr/src/scap-* >/dev/null 2>&1; then
	ver=$(basename "$(ls -d /usr/src/scap-* | sort -V | tail -n 1)")
	ver=${ver#scap-}
	scap_ko=$(find "/var/lib/dkms/scap/$ver/$KVER" -name 'scap.ko*' 2>/dev/null | head -n 1 || true)
	if [ -z "$scap_ko" ]; then
		dkms build -m scap -v "$ver" -k "$KVER" >&2 || true
		scap_ko=$(find "/var/lib/dkms/scap/$ver/$KVER" -name 'scap.ko*' 2>/dev/null | head -n 1 || true)
	fi
fi
exec scripts/vm-run.sh "python3 bench/kernel_overhead.py --bindir $bindir --scap-ko '$scap_ko' $*"
