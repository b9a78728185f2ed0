#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# _standin.sh NAME ACTION [ARG...]
# Run one action of _acts.py from a program whose process name is NAME
# (a small Python script installed as $E2E_TMP/bin/NAME, so the kernel's comm
# is NAME): stand-ins for mysqld, mongod, sha256sum and the like.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bindir=${FALCO_E2E_TMP:-/tmp/falco-e2e}/bin
name=$1
shift
mkdir -p "$bindir"
cat > "$bindir/$name" <<PY
#!/usr/bin/python3 -BS
import sys
sys.path.insert(0, "$here")
import _acts
sys.exit(_acts.main(sys.argv[1:]))
PY
chmod 0755 "$bindir/$name"
exec "$bindir/$name" "$@"
