#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# benign: package-manager-like file activity in /var/lib (database update by
# write-new-then-rename, lists of files, an unpacked tree under /var/tmp)
set -eu
. "$(dirname "$0")/_lib.sh"
db=/var/lib/falco-e2e-pkg
mkdir -p "$db/info" "$db/updates"
for pkg in alpha beta gamma; do
	printf '/usr/share/doc/%s\n/usr/share/doc/%s/copyright\n' "$pkg" "$pkg" > "$db/info/$pkg.list"
	md5sum "$db/info/$pkg.list" > "$db/info/$pkg.md5sums"
done
printf 'Package: alpha\nStatus: install ok installed\n' > "$db/status-new"
[ -e "$db/status" ] && cp "$db/status" "$db/status-old"
mv "$db/status-new" "$db/status"
echo 1 > "$db/updates/0001"
sort "$db/info/"*.list | uniq > /dev/null
tar -C /var/lib -cf "$E2E_TMP/pkg.tar" falco-e2e-pkg
mkdir -p /var/tmp/falco-e2e-unpack
tar -C /var/tmp/falco-e2e-unpack -xf "$E2E_TMP/pkg.tar"
rm -rf "$db" /var/tmp/falco-e2e-unpack "$E2E_TMP/pkg.tar"
