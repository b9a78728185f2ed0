#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# benign: everyday shell scripting (pipes, subshells, loops, text tools,
# temporary files, reading /etc/passwd and /etc/os-release)
set -eu
. "$(dirname "$0")/_lib.sh"
work=$(mktemp -d "$E2E_TMP/shell.XXXXXX")
for i in 1 2 3 4 5; do
	echo "item $i $(date +%s)" >> "$work/items.txt"
done
count=$(wc -l < "$work/items.txt")
[ "$count" -eq 5 ]
grep -c item "$work/items.txt" > /dev/null
sed 's/item/entry/' "$work/items.txt" | awk '{print $2}' | sort -n | tail -1 > "$work/last"
cut -d: -f1,7 /etc/passwd | head -3 > /dev/null
. /etc/os-release 2>/dev/null || true
(cd "$work" && ls -l > listing && find . -type f | xargs cat > /dev/null)
bash -c 'declare -A m; m[a]=1; echo "${m[a]}"' > /dev/null
env | sort > /dev/null
id -u > /dev/null
uname -a > /dev/null
rm -rf "$work"
