#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The kernel test suite: build falco_probe against Debian's 6.1 headers,
# boot the matching kernel under qemu (TCG), load the module, run every
# test under tests/kernel with pytest, unload the module.  Fails if a test
# fails or the kernel log shows a WARNING, BUG or Oops.
#   scripts/vm-test.sh [pytest args...]     (default: -q tests/kernel)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
KVER=${KVER:-$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -n 1)}
export KVER

if [ ! -d "/lib/modules/$KVER/build" ] || [ ! -r "/boot/vmlinuz-$KVER" ]; then
	echo "vm-test: need linux-headers-amd64 and linux-image-amd64 ($KVER)" >&2
	exit 2
fi
make -C driver KERNELDIR="/lib/modules/$KVER/build"

if [ $# -gt 0 ]; then
	cmd="python3 -m pytest -p no:cacheprovider -o faulthandler_timeout=300 $(printf '%q ' "$@")"
else
	cmd="python3 -m pytest -p no:cacheprovider -o faulthandler_timeout=300 -q --durations=10 tests/kernel"
fi
log=$(mktemp /tmp/vm-test.XXXXXX)
trap 'rm -f "$log"' EXIT
set +e
scripts/vm-run.sh "$cmd" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
grep -E '^=*.*[0-9]+ (passed|failed|error|skipped|deselected).* in [0-9.]+s' "$log" |
	sed 's/^/vm-test: pytest summary: /' || echo "vm-test: pytest summary: <none>"
echo "vm-test: exit status $rc"
exit "$rc"
