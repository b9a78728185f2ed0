#!/usr/bin/env bash
# Install the Debian and Python packages the build, the demo and the test
# suite need. Idempotent: does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t pkgs < <(grep -v -e '^#' -e '^$' .ci/apt-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import importlib.metadata as m, sys
reqs = [l.split(">")[0].split("=")[0].strip() for l in open("requirements-dev.txt") if l.strip() and not l.startswith("#")]
sys.exit(0 if all(m.version(r) for r in reqs) else 1)' 2>/dev/null; then
	"$PYTHON" -m pip install -q -r requirements-dev.txt
fi
