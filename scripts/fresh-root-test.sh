#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prove that a fresh Debian 12 machine can build and test this checkout:
# build a minimal Debian 12 root with mmdebstrap from this machine's apt
# sources, copy the committed tree (git archive of HEAD) and ../shared in,
# then run scripts/install-deps.sh and the build inside it (chroot).
#   scripts/fresh-root-test.sh            install-deps + make build module + host tests
#   scripts/fresh-root-test.sh --build    install-deps + make build module only
#   scripts/fresh-root-test.sh --keep     keep the root afterwards (path printed)
# Not part of `make test` (it downloads a few hundred MB of packages).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$(cd "$ROOT/.." && pwd)/shared
mode=tests
keep=
for arg in "$@"; do
	case "$arg" in
	--build) mode=build ;;
	--keep) keep=1 ;;
	*) echo "usage: $0 [--build] [--keep]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-root-test: run as root" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "fresh-root-test: mmdebstrap missing (scripts/install-deps.sh)" >&2; exit 2; }
[ -d "$SHARED" ] || { echo "fresh-root-test: $SHARED missing" >&2; exit 2; }

work=$(mktemp -d /var/tmp/falco-fresh.XXXXXX)
tree=$work/root
cleanup() {
	if [ -z "$keep" ]; then
		rm -rf "$work"
	else
		echo "fresh-root-test: root kept in $tree"
	fi
}
trap cleanup EXIT

# This machine's apt sources (deb822 or one-line), as a fresh machine of
# ours would have them.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && sources+=("$f")
done
[ "${#sources[@]}" -gt 0 ] || { echo "fresh-root-test: no apt sources on this machine" >&2; exit 2; }

start=$(date +%s)
echo "fresh-root-test: mmdebstrap bookworm (minbase + ca-certificates, python3-pip, git) into $tree"
# A machine "with CPython, pip and venv, gcc and the Python headers": the
# minimum the guide promises; everything else comes from install-deps.sh.
mmdebstrap --variant=minbase --include=ca-certificates,python3,python3-pip,python3-venv,python3-dev,gcc,git,make \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	bookworm "$tree" "${sources[@]}"
echo "fresh-root-test: root built in $(( $(date +%s) - start )) s"

# The same network access as this machine: its local certificate
# authorities (the egress proxy's) and pip's index settings, nothing else.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
	mkdir -p "$tree/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$tree/usr/local/share/ca-certificates/"
	chroot "$tree" update-ca-certificates >/dev/null
fi
for f in /etc/pip.conf /etc/xdg/pip/pip.conf /etc/xdg/pip/constraints.txt /root/.config/pip/pip.conf; do
	if [ -e "$f" ]; then
		mkdir -p "$tree$(dirname "$f")"
		cp "$f" "$tree$f"
	fi
done
cp /etc/resolv.conf "$tree/etc/resolv.conf"

mkdir -p "$tree/work/main" "$tree/work/shared"
git -C "$ROOT" archive HEAD | tar -x -C "$tree/work/main"
cp -a "$SHARED/." "$tree/work/shared/"
echo "fresh-root-test: checkout $(git -C "$ROOT" rev-parse --short HEAD) copied (committed files only)"

# Run the steps as on a machine of its own: new mount and PID namespaces
# with the root pivoted into the tree (not a chroot: the kernel refuses new
# user namespaces inside a chroot, and systemd-journald, started by the
# tests, refuses to run in one), /proc, /sys (with the cgroup tree journald
# needs), /dev and tmpfs /tmp and /run.
steps=("scripts/install-deps.sh" "make build module")
if [ "$mode" = tests ]; then
	steps+=("python3 -m pytest -q -p no:cacheprovider tests/unit tests/integration")
fi
inner=$work/inner.sh
{
	echo 'set -euo pipefail'
	echo 'cd /work/main'
	for s in "${steps[@]}"; do
		printf 't0=$(date +%%s); echo "fresh-root-test: \$ %s"\n' "$s"
		printf '%s\n' "$s"
		printf 'echo "fresh-root-test: ok in $(( $(date +%%s) - t0 )) s: %s"\n' "$s"
	done
} >"$inner"
cp "$inner" "$tree/inner.sh"
unshare --mount --pid --fork --propagation private -- bash -euc '
	tree=$1
	mount --bind "$tree" "$tree"
	mount -t tmpfs fresh-tmp "$tree/tmp"
	mount -t tmpfs fresh-run "$tree/run"
	mount --rbind /dev "$tree/dev"
	mount --rbind /sys "$tree/sys"
	mkdir -p "$tree/.oldroot"
	cd "$tree"
	pivot_root . .oldroot
	mount -t proc proc /proc
	umount -l /.oldroot
	rmdir /.oldroot
	# This shell stays PID 1 (as init would); the steps run as its child.
	env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 CI=true TERM=dumb bash /inner.sh
' fresh-root "$tree"
echo "fresh-root-test: PASSED in $(( $(date +%s) - start )) s"
