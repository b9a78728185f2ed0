#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# benign: compile a small C program with gcc (cpp, cc1, as, ld) and run it
set -eu
. "$(dirname "$0")/_lib.sh"
dir=$E2E_TMP/build
mkdir -p "$dir"
cat > "$dir/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
C
cat > "$dir/Makefile" <<'MK'
hello: hello.o
	cc -o hello hello.o
hello.o: hello.c
	cc -O2 -Wall -c hello.c
MK
if command -v make > /dev/null; then
	make -s -C "$dir"
else
	cc -O2 -Wall -o "$dir/hello" "$dir/hello.c"
fi
"$dir/hello" > /dev/null
rm -rf "$dir"
