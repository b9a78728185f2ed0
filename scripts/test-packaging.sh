#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packaging test (make test-packaging):
#  1. scripts/build-deb.sh builds falco and falco-dkms into out/ (+ lintian);
#  2. on the host, natively, apt-get installs both .debs into a throw-away
#     overlay of the root file system (chroot): DKMS builds falco_probe
#     against the 6.1 headers and installs it in that tree;
#     then, still natively in that chroot, tests/packaging phase "ebpf": the
#     installed falco runs with the BPF programs it ships (--modern-bpf)
#     on this host's kernel and `cat /etc/shadow` raises its alert;
#  3. the 6.1 kernel boots under qemu (TCG) with that tree as its root file
#     system and systemd as init; a oneshot unit runs
#     tests/packaging/test_packaging.py, phase "systemd": falco.service
#     started at boot, devices readable, alert in the journal, reload,
#     restart after a kill, stop;
#  4. the same kernel and tree boot with virtme's init and run the tests of
#     phase "vm":
#     DKMS status, modprobe, `service falco start`, an alert in syslog and
#     the journal, `service falco stop`, `apt-get remove falco` with the
#     daemon running;
#  5. back on the host, in a chroot of the tree, phase "chroot": `apt-get
#     remove falco-dkms` (its full depmod takes ~6 min under TCG, 2 s here),
#     `apt-get purge`;
#  6. the overlay's upper layer (everything the install, the run and the
#     removal changed) must hold no falco file.
# Compiling, depmod and man-db under TCG over 9p are 10-100x slower than
# natively; only the kernel-facing part runs in the VM. ~5 min in all.
#   scripts/test-packaging.sh [--no-build] [pytest args...]
# Environment: KVER, VM_CPUS (2), VM_MEM (2G), VM_TIMEOUT seconds (1200),
# VM_TCG_THREAD (single|multi, as scripts/vm-run.sh explains), VM_VNG_ARGS,
# OUT (out/: where the .debs are).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
KVER=${KVER:-$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -n 1)}
OUT=${OUT:-$ROOT/out}
start=$(date +%s)
stamp() { echo "test-packaging: [$(( $(date +%s) - start )) s] $*"; }

build=1
if [ "${1:-}" = --no-build ]; then build=0; shift; fi
[ "$(id -u)" -eq 0 ] || { echo "test-packaging: needs root (mount, chroot)" >&2; exit 2; }
for need in vng dkms chroot; do
	command -v "$need" >/dev/null || { echo "test-packaging: $need missing" >&2; exit 2; }
done
if [ ! -d "/lib/modules/$KVER/build" ] || [ ! -r "/boot/vmlinuz-$KVER" ]; then
	echo "test-packaging: need linux-headers-amd64 and linux-image-amd64 ($KVER)" >&2
	exit 2
fi

# The tree starts as a copy of this host: it must not have them already.
for p in falco falco-dkms; do
	if dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -q -v not-installed; then
		echo "test-packaging: $p is installed on this host; purge it first" >&2
		exit 2
	fi
done

if [ "$build" = 1 ]; then
	OUT=$OUT scripts/build-deb.sh
	stamp "packages built"
fi
falco_deb=$(ls "$OUT"/falco_*_amd64.deb 2>/dev/null | sort -V | tail -n 1)
dkms_deb=$(ls "$OUT"/falco-dkms_*_all.deb 2>/dev/null | sort -V | tail -n 1)
if [ -z "$falco_deb" ] || [ -z "$dkms_deb" ]; then
	echo "test-packaging: no falco/falco-dkms .debs in $OUT" >&2
	exit 2
fi

# Upper and work dirs on disk; only the tree's own mounts (below) are
# not part of its view of /.
work=$(mktemp -d /var/tmp/falco-pkg.XXXXXX)
tree=$work/root
cleanup() {
	local m
	for m in "$tree$ROOT" "$tree/tmp" "$tree/dev" "$tree/sys" "$tree/proc" "$tree"; do
		if mountpoint -q "$m"; then
			umount -R "$m" || umount -R -l "$m"
		fi
	done
	# Never delete through a mount (the tree binds the host's /dev).
	if findmnt -rn -o TARGET | grep -q -F "$work"; then
		echo "test-packaging: $work still has mounts; left in place" >&2
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$work/upper" "$work/work" "$tree"
mount -t overlay falco-pkg -o "lowerdir=/,upperdir=$work/upper,workdir=$work/work" "$tree"

bind_host() {
	local d
	for d in proc sys dev; do
		mount --rbind "/$d" "$tree/$d"
		mount --make-rslave "$tree/$d"
	done
	mount -t tmpfs falco-pkg-tmp "$tree/tmp"
	# The checkout (the tests, the interpreter's view of them) stays
	# visible even when it lives below /tmp, as CI's clean clones may.
	mkdir -p "$tree$ROOT"
	mount --bind "$ROOT" "$tree$ROOT"
}
unbind_host() {
	local m
	for m in "$tree$ROOT" "$tree/tmp" "$tree/dev" "$tree/sys" "$tree/proc"; do
		umount -R "$m"
	done
}

# This host image's policy-rc.d (a container build's "start nothing",
# exit 101) would make invoke-rc.d skip the service actions the package's
# scripts ask for: a real Debian machine has none.
rm -f "$tree/usr/sbin/policy-rc.d"

# -- install (native, in a chroot of the overlay) --------------------------------
bind_host
cp "$falco_deb" "$dkms_deb" "$tree/tmp/"
chroot "$tree" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends \
	"/tmp/$(basename "$dkms_deb")" "/tmp/$(basename "$falco_deb")"
chroot "$tree" dpkg-query -L falco falco-dkms >"$work/files"
version=$(chroot "$tree" dpkg-query -W -f '${Version}' falco-dkms)
version=${version%-*}
stamp "installed in $tree"
if [ $# -eq 0 ]; then
	ebpf_args=(-v -s -rfE tests/packaging/test_packaging.py)
else
	ebpf_args=("$@")
fi
set +e
chroot "$tree" env -C "$ROOT" FALCO_PKG_PHASE=ebpf FALCO_PKG_VERSION="$version" \
	PYTHONDONTWRITEBYTECODE=1 PATH="$(dirname "$(python3 -c 'import sys; print(sys.executable)')"):/usr/sbin:/usr/bin:/sbin:/bin" \
	python3 -m pytest -p no:cacheprovider -o faulthandler_timeout=600 "${ebpf_args[@]}"
erc=$?
set -e
unbind_host
stamp "ebpf phase (native): exit status $erc"

if [ $# -eq 0 ]; then
	set -- -v -s -rfE tests/packaging/test_packaging.py
fi
pytest_cmd="python3 -m pytest -p no:cacheprovider -o faulthandler_timeout=600 $(printf '%q ' "$@")"
test_env="FALCO_PKG_VERSION=$version KVER=$KVER"

# The host's interpreter (with pytest), which the tree shares.
pybin=$(dirname "$(python3 -c 'import sys; print(sys.executable)')")

# -- the systemd unit, with systemd as PID 1 in the VM ------------------------------
# A oneshot unit runs the phase and powers the VM off; its files are named
# so that the final leftover check does not see them, and are removed.
# systemd-tmpfiles empties /tmp at boot (tmp.conf: "D /tmp"), which in the
# tree would delete a checkout living there (CI's clones may): an override
# keeps /tmp for this boot, and the test module (stdlib + pytest only) runs
# from a copy anyway.
check=pkg-systemd-check
checkdir=/var/lib/$check
mkdir -p "$tree$checkdir"
cp tests/packaging/test_packaging.py "$tree$checkdir/"
keep_tmp=$tree/etc/tmpfiles.d/tmp.conf
if [ ! -e "$keep_tmp" ]; then
	echo "d /tmp 1777 root root -" >"$keep_tmp"
else
	keep_tmp=""
fi
cat >"$tree/etc/systemd/system/$check.service" <<UNIT
[Unit]
Description=Debian packaging test, phase systemd
After=multi-user.target falco.service

[Service]
Type=oneshot
WorkingDirectory=$checkdir
Environment=FALCO_PKG_PHASE=systemd $test_env PYTHONDONTWRITEBYTECODE=1 TMPDIR=/run
Environment=PATH=$pybin:/usr/sbin:/usr/bin:/sbin:/bin
ExecStart=/bin/sh -c 'python3 -m pytest -p no:cacheprovider -v -rfE test_packaging.py >/var/log/$check.log 2>&1; echo \$\$? >/var/log/$check.rc'
# --force: the host's other services (postgresql...) are in the tree too;
# their orderly stop can take an hour under TCG. Our results are on disk.
ExecStopPost=/bin/sh -c 'sync; /bin/systemctl poweroff --force --no-block'

[Install]
WantedBy=multi-user.target
UNIT
ln -s "/etc/systemd/system/$check.service" \
	"$tree/etc/systemd/system/multi-user.target.wants/$check.service"
set +e
timeout --foreground "${VM_TIMEOUT:-1200}" \
	vng --run "/boot/vmlinuz-$KVER" --root "$tree" --rw --disable-kvm --force-9p --systemd \
	--qemu-opts="-accel tcg,thread=${VM_TCG_THREAD:-single}" \
	--cpus "${VM_CPUS:-2}" --memory "${VM_MEM:-2G}" ${VM_VNG_ARGS:-} </dev/null 2>&1 |
	cat >"$work/systemd-boot.log"
set -e
cat "$tree/var/log/$check.log" 2>/dev/null ||
	grep -a -e "$check" -e falco "$tree/var/log/syslog" 2>/dev/null | tail -n 40
src=$(cat "$tree/var/log/$check.rc" 2>/dev/null || echo 1)
rm -f "$tree/var/log/$check.log" "$tree/var/log/$check.rc" "$tree/etc/systemd/system/$check.service" \
	"$tree/etc/systemd/system/multi-user.target.wants/$check.service"
rm -rf "$tree$checkdir"
[ -z "$keep_tmp" ] || rm -f "$keep_tmp"
stamp "systemd phase: exit status $src"

# -- the kernel-facing part, in the VM -------------------------------------------
guest="$ROOT/scripts/vm-guest.sh --no-module -- env FALCO_PKG_PHASE=vm $test_env $pytest_cmd"
# The tree is the VM's root file system, writable (--rw: it is our overlay).
# Single-threaded TCG, as scripts/vm-run.sh explains. qemu truncates a
# regular file given as its stdout: always write into a pipe.
set +e
timeout --foreground "${VM_TIMEOUT:-1200}" \
	vng --run "/boot/vmlinuz-$KVER" --root "$tree" --rw --disable-kvm --force-9p \
	--qemu-opts="-accel tcg,thread=${VM_TCG_THREAD:-single}" \
	--cpus "${VM_CPUS:-2}" --memory "${VM_MEM:-2G}" \
	${VM_VNG_ARGS:-} --exec "$guest" 2>&1 | cat
rc=${PIPESTATUS[0]}
set -e
stamp "VM phase: exit status $rc"
[ "$rc" = 0 ] && rc=$src
[ "$rc" = 0 ] && rc=$erc

# -- removal of the module package and purge, natively in the chroot -------------
bind_host
cp "$work/files" "$tree/tmp/package-files"
set +e
chroot "$tree" env -C "$ROOT" FALCO_PKG_PHASE=chroot FALCO_PKG_FILES=/tmp/package-files \
	$test_env PYTHONDONTWRITEBYTECODE=1 PATH="$pybin:/usr/sbin:/usr/bin:/sbin:/bin" \
	$pytest_cmd
crc=$?
set -e
unbind_host
[ "$rc" = 0 ] && rc=$crc
stamp "chroot phase: exit status $crc"

# -- nothing left: the upper layer holds every change made in the tree ----------
left=$(cd "$work/upper" && find . \( -iname '*falco*' -o -name 'falco_probe.ko*' \) \
	-not -path './work/*' -not -path './tmp/*' | sort)
if [ -n "$left" ]; then
	echo "test-packaging: files left behind after purge:" >&2
	echo "$left" >&2
	[ "$rc" = 0 ] && rc=1
fi
stamp "exit status $rc"
exit "$rc"
