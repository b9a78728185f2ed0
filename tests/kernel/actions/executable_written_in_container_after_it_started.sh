#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Executable written in container after it started
# also: Shell spawned in container
# expect: proc.exepath=/run/falco-e2e-drift/drift-tool container.id=5d1f7a2b9c3e
# A program copied into a running (docker-like) container, then run: not
# part of its image. Written to a tmpfs, not an overlay's upper layer.
set -eu
. "$(dirname "$0")/_lib.sh"
dir=/run/falco-e2e-drift
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
"$E2E_ACTIONS/_container.sh" 5d1f7a2b9c3e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8 \
	/bin/sh -c "cp /bin/true $dir/drift-tool && $dir/drift-tool"
