#!/usr/bin/env bash
# Install the Debian and Python packages the build, the demo and the test
# suite need. Idempotent: does nothing when everything is present.
#   - the build dependencies of the Debian packages, read from
#     debian/control itself (apt-get build-dep), so the two cannot drift;
#   - .ci/apt-packages.txt: what the tests and the demo need beyond that;
#   - requirements-dev.txt: Python packages from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install: $*" >&2
		exit 1
	fi
}
updated=
apt_update() {
	[ -n "$updated" ] || apt-get update -q -o DPkg::Lock::Timeout=600
	updated=1
}

mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' .ci/apt-packages.txt)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	need_root "${missing[*]}"
	apt_update
	apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

# dpkg-checkbuilddeps (dpkg-dev, pulled in by build-essential above) says
# whether debian/control's Build-Depends are all satisfied.
if ! dpkg-checkbuilddeps debian/control >/dev/null 2>&1; then
	need_root "the build dependencies in debian/control"
	apt_update
	apt-get build-dep -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends ./
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import importlib.metadata as m, re, sys
reqs = [re.split(r"[<>=!~ ;\[]", l.strip())[0] for l in open("requirements-dev.txt")
        if l.strip() and not l.lstrip().startswith("#")]
sys.exit(0 if all(m.version(r) for r in reqs) else 1)' 2>/dev/null; then
	pip=("$PYTHON" -m pip install -q -r requirements-dev.txt)
	# Debian's own python3 is "externally managed" (PEP 668): the test
	# tools then go next to its packages, as on a throw-away CI machine.
	if "$PYTHON" -c 'import sys, sysconfig, os
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
		pip+=(--break-system-packages)
	fi
	"${pip[@]}"
fi
