#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# _container.sh ID64 COMMAND [ARG...]
# Run COMMAND like a docker container would: new PID, mount and UTS
# namespaces, inside a cgroup named /docker/<ID64>. The process joins the
# cgroup before it executes COMMAND, so the execve already carries the
# container's cgroups.
set -eu
id=$1
shift
cg=/sys/fs/cgroup
if [ ! -e "$cg/cgroup.procs" ] && ! grep -q " $cg/[a-z]* cgroup " /proc/mounts; then
	mkdir -p "$cg"
	mount -t cgroup2 none "$cg"
fi
dirs=""
if [ -e "$cg/cgroup.procs" ]; then
	# cgroup v2: enable the controllers for /docker's subtree, as container
	# engines do, so each controller's view of the process names the
	# container's cgroup.
	mkdir -p "$cg/docker"
	for c in pids memory cpu; do
		grep -qw "$c" "$cg/cgroup.controllers" || continue
		echo "+$c" > "$cg/cgroup.subtree_control" 2>/dev/null || true
		echo "+$c" > "$cg/docker/cgroup.subtree_control" 2>/dev/null || true
	done
	dirs="$cg/docker/$id"
else
	for sub in pids cpu memory cpuset systemd; do
		[ -d "$cg/$sub" ] && dirs="$dirs $cg/$sub/docker/$id"
	done
fi
for d in $dirs; do
	mkdir -p "$d"
	# cpuset needs cpus and mems before it accepts tasks (cgroup v1).
	if [ -e "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
		cat "$d/../cpuset.cpus" > "$d/cpuset.cpus"
		cat "$d/../cpuset.mems" > "$d/cpuset.mems"
	fi
done
rc=0
unshare --fork --pid --mount-proc --uts -- /bin/sh -c '
	dirs=$1; shift
	joined=0
	for d in $dirs; do
		echo 0 2>/dev/null > "$d/cgroup.procs" && joined=1
	done
	[ "$joined" = 1 ] || { echo "cannot join the container cgroup" >&2; exit 1; }
	exec "$@"' container-entry "$dirs" "$@" || rc=$?
for d in $dirs; do rmdir "$d" 2>/dev/null || true; done
exit "$rc"
