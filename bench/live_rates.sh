#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Live rates benchmark: builds falco_probe and runs bench/live_rates.py in
# the VM (falco with the default rules, prefilter off and on, under a busy
# benign workload and a stepped syscall generator).  Prints numbers only.
#   bench/live_rates.sh [--seconds S] [--rates R1,R2,...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
exec scripts/vm-run.sh "python3 bench/live_rates.py $*"
