#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Privileged container started
# expect: proc.cmdline=true container.name=falco-e2e-privileged
# A docker-like container whose runtime (the Docker API stand-in of
# _docker.py) says it runs privileged. Real podman, containerd and CRI
# containers raise the same rule in tests/kernel/test_containers_live.py.
set -eu
. "$(dirname "$0")/_lib.sh"
"$E2E_ACTIONS/_docker.py" --privileged --name falco-e2e-privileged -- true
