# SPDX-License-Identifier: Apache-2.0
# Sourced by the action scripts: scratch space and the helpers' paths.
# Every action cleans up what it creates; scratch lives on tmpfs.
E2E_TMP=${FALCO_E2E_TMP:-/tmp/falco-e2e}
E2E_ACTIONS=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$E2E_TMP"
standin() { "$E2E_ACTIONS/_standin.sh" "$@"; }
in_container() { "$E2E_ACTIONS/_container.sh" "$@"; }
