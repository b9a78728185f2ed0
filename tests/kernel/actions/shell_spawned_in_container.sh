#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Shell spawned in container
# expect: proc.name=sh proc.pname=unshare container.id=841d340b77f3
# A shell started inside a docker-like container.
set -eu
. "$(dirname "$0")/_lib.sh"
in_container 841d340b77f32782d03806d46c109bc2bfb28516c4a071e1059946372f369825 /bin/sh -c "exit 0"
