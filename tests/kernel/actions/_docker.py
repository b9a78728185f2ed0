#!/usr/bin/python3 -BS
# SPDX-License-Identifier: Apache-2.0
"""_docker.py [--privileged] [--mount SRC:DST[:ro]] --name NAME -- COMMAND...

Run COMMAND as a docker-like container (tests/kernel/actions/_container.sh:
PID, mount and UTS namespaces, cgroup /docker/<id>) whose metadata a Docker
Engine API stand-in (tests/support/docker_api.py) serves on
/var/run/docker.sock, where falco's docker engine looks: privileged or not,
with the bind mounts given.

No container runtime runs on the host kernel (scripts/bpf-test.sh runs this
suite there), so the e2e actions use the stand-in; the same rules are
tested against real podman, containerd and the CRI in the VM
(tests/kernel/test_containers_live.py). Like a runtime, the stand-in sends
the create event and the container starts once falco has inspected it
(after 60 s it starts anyway). Steps and their times go to stderr.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from support.docker_api import DockerApi

SOCK = "/var/run/docker.sock"
IMAGE = "localhost/falco-test:1.0"
T0 = time.monotonic()


def note(text: str) -> None:
    print(f"_docker.py: {time.monotonic() - T0:6.1f} s {text}", file=sys.stderr, flush=True)


def parse(argv: list[str]) -> tuple[str, bool, list[dict[str, object]], list[str]]:
    name, privileged, mounts = "", False, []
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--privileged":
            privileged = True
        elif opt == "--name":
            name = argv.pop(0)
        elif opt == "--mount":
            src, dst, *ro = argv.pop(0).split(":")
            mounts.append({"Type": "bind", "Source": src, "Destination": dst, "Mode": "",
                           "RW": ro != ["ro"], "Propagation": "rprivate"})
        else:
            raise SystemExit(f"_docker.py: unknown option {opt}")
    if not name or len(argv) < 2:
        raise SystemExit(__doc__)
    return name, privileged, mounts, argv[1:]


def real_docker() -> bool:
    """Something already answers on the socket: not ours to replace."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(SOCK)
        except OSError:
            return False
    return True


def main(argv: list[str]) -> int:
    name, privileged, mounts, command = parse(argv)
    if real_docker():
        raise SystemExit(f"_docker.py: {SOCK} already answers; refusing to replace it")
    os.makedirs(os.path.dirname(SOCK), exist_ok=True)
    api = DockerApi(SOCK).start()
    try:
        followed = api.wait_subscribed(60)
        note("falco's docker engine follows the events" if followed
             else "nobody follows the events")
        cid = uuid.uuid4().hex + uuid.uuid4().hex
        calls = api.calls
        api.create(cid, name, IMAGE, privileged=privileged, mounts=mounts)
        # nobody follows (a recording without falco): nobody will inspect
        end = time.monotonic() + (60 if followed else 0)
        while api.calls == calls and time.monotonic() < end:
            time.sleep(0.05)
        note(f"created {cid[:12]}, inspected: {api.calls > calls}")
        rc = subprocess.run([str(HERE / "_container.sh"), cid, *command],
                            check=False).returncode
        note(f"exited {rc}")
        # Removed a little after it exited (docker rm), not at once: falco
        # applies a runtime's destroy when its stream delivers it, which can
        # be before the event loop has read the container's own system
        # calls; the metadata is then gone (a known limit, issue 15).
        time.sleep(2)
        api.destroy(cid)
        return rc
    finally:
        api.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
