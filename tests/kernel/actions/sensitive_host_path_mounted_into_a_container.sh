#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Sensitive host path mounted into a container
# expect: proc.cmdline=true container.name=falco-e2e-mount
# A docker-like container whose runtime (the Docker API stand-in of
# _docker.py) has the host's /etc mounted in it, read-only. Real podman,
# containerd and CRI containers raise the same rule in
# tests/kernel/test_containers_live.py.
set -eu
. "$(dirname "$0")/_lib.sh"
"$E2E_ACTIONS/_docker.py" --mount /etc:/host-etc:ro --name falco-e2e-mount -- true
