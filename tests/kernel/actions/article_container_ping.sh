#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# article-rule: system_binaries_network_activity_container
# expect: proc.cmdline='ping -c 1 -W 2 127.0.0.1' evt.type=connect container.id=52913e790cad
# The article's example: ping 127.0.0.1 from inside a container.
set -eu
. "$(dirname "$0")/_lib.sh"
in_container 52913e790cadf089871f1eb19a765f586e4e936a480163ca76aa6486afd4aad8 ping -c 1 -W 2 127.0.0.1 > /dev/null
