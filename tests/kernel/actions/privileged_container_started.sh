#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Privileged container started
# also: Switch to root by unexpected program
# expect: proc.cmdline=true container.name=falco-e2e-privileged
# variant: podman proc.cmdline=true container.name=falco-e2e-privileged also='Switch to root by unexpected program'
# A real podman container run with --privileged (falco's podman engine
# reads the flag from podman's API).
# "Switch to root by unexpected program": crun's own setup of the container.
set -eu
. "$(dirname "$0")/_lib.sh"
"$E2E_ACTIONS/_podman.py" --privileged --name falco-e2e-privileged -- true
