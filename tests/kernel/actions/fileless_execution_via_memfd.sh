#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# rule: Fileless execution via memfd
# expect: proc.exe=e2e-memfd proc.pname=e2e-actor
# /bin/true copied into a memfd and executed from /proc/self/fd.
set -eu
. "$(dirname "$0")/_lib.sh"
standin e2e-actor memfd-exec /bin/true
