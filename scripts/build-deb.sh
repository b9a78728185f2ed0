#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the falco and falco-dkms .debs into out/ and run lintian on them.
#   scripts/build-deb.sh [extra dpkg-buildpackage options]
# The build runs on a copy of the tree (tracked and new files, no build
# products), so the checkout's in-place extension and module stay untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/out}
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' falco/__init__.py)
work=$out/build
src=$work/falco-$version

rm -rf "$work"
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$src"
else
	tar --exclude=./out --exclude=./build --exclude='*.so' --exclude='*.o' \
		--exclude='*.ko' -cf - . | tar -xf - -C "$src"
fi

# The system interpreter, not a developer's pyenv/virtualenv shims.
(cd "$src" && env PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg-buildpackage -us -uc -b "$@")

rm -f "$out"/falco_*.deb "$out"/falco-dkms_*.deb "$out"/falco_*.changes "$out"/falco_*.buildinfo
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
echo "build-deb: packages in $out:"
ls -1 "$out"/*.deb

if command -v lintian >/dev/null; then
	lintian --fail-on error --suppress-tags bad-distribution-in-changes-file \
		"$out"/falco_*.changes
fi
