#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# benign: a local HTTP server (python http.server on 127.0.0.1) and clients
# (curl and python urllib) fetching from it
set -eu
. "$(dirname "$0")/_lib.sh"
root=$E2E_TMP/www
mkdir -p "$root"
echo "hello" > "$root/index.html"
port=18080
python3 -m http.server --bind 127.0.0.1 --directory "$root" "$port" > /dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$root"' EXIT
i=0
until curl -fsS "http://127.0.0.1:$port/index.html" > /dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { echo "http server did not start" >&2; exit 1; }
	sleep 0.2
done
python3 -c "
import urllib.request
for _ in range(3):
    assert urllib.request.urlopen('http://127.0.0.1:$port/index.html').read() == b'hello\n'
"
