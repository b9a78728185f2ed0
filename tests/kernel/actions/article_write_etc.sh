#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# article-rule: write_etc
# also: Write below etc
# expect: proc.cmdline='touch /etc/falco-e2e-article.conf' fd.name=/etc/falco-e2e-article.conf
# The article's first rule: a file below /etc opened for writing.
set -eu
. "$(dirname "$0")/_lib.sh"
touch /etc/falco-e2e-article.conf
rm -f /etc/falco-e2e-article.conf
