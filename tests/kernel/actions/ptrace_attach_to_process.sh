#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Ptrace attach to process
# expect: proc.name=e2e-actor evt.arg.request=PTRACE_ATTACH
# A program attaches to its own child with PTRACE_ATTACH, then detaches.
set -eu
. "$(dirname "$0")/_lib.sh"
standin e2e-actor ptrace
