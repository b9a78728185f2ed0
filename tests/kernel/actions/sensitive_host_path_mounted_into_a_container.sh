#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Sensitive host path mounted into a container
# also: Switch to root by unexpected program
# expect: proc.cmdline=true container.name=falco-e2e-mount
# variant: podman proc.cmdline=true container.name=falco-e2e-mount also='Switch to root by unexpected program'
# A real podman container with the host's /etc mounted (read-only) in it.
# "Switch to root by unexpected program": crun's own setup of the container.
set -eu
. "$(dirname "$0")/_lib.sh"
"$E2E_ACTIONS/_podman.py" --mount /etc:/host-etc:ro --name falco-e2e-mount -- true
