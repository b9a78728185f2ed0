#!/usr/bin/python3 -BS
# SPDX-License-Identifier: Apache-2.0
"""_podman.py [--privileged] [--mount SRC:DST[:ro]] [--name NAME] -- COMMAND...

Run COMMAND in a real podman container (crun; vfs storage on a tmpfs) of
localhost/falco-test:1.0, a busybox image imported once per boot.

podman's API service answers on its default socket, /run/podman/podman.sock,
where falco's podman engine looks, for the container's life only. Like
kubelet, the action creates the container, then starts it once the service
has answered an inspect of it (its access log says so: falco's engine read
the metadata; after 60 s it starts anyway). Containers go through the API
(one podman process, not one per step: each costs seconds in the test VM).
Steps and their times go to stderr.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

BASE = "/run/falco-e2e-podman"
SOCK = "/run/podman/podman.sock"
IMAGE = "localhost/falco-test:1.0"
API = "/v4.0.0/libpod"
APPLETS = ("sh", "true", "cat", "sleep", "ls", "cp", "rm")
ENV = dict(os.environ, CONTAINERS_CONF=f"{BASE}/containers.conf",
           CONTAINERS_STORAGE_CONF=f"{BASE}/storage.conf",
           CONTAINERS_REGISTRIES_CONF=f"{BASE}/registries.conf")
T0 = time.monotonic()


def note(text: str) -> None:
    print(f"_podman.py: {time.monotonic() - T0:6.1f} s {text}", file=sys.stderr,
          flush=True)


def wait_for(seconds: float, check) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return False


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True)


def prepare() -> None:
    """State on a tmpfs of its own; the image, once."""
    os.makedirs(BASE, exist_ok=True)
    if subprocess.run(["mountpoint", "-q", BASE]).returncode:
        subprocess.run(["mount", "-t", "tmpfs", "falco-e2e-podman", BASE], check=True)
    if not os.path.exists(f"{BASE}/storage.conf"):
        with open(f"{BASE}/containers.conf", "w") as f:
            f.write('[containers]\nnetns = "host"\n[engine]\ncgroup_manager = "cgroupfs"\n'
                    f'events_logger = "file"\nevents_logfile_path = "{BASE}/events.log"\n'
                    'runtime = "crun"\n[network]\n'
                    f'network_config_dir = "{BASE}/networks"\n')
        with open(f"{BASE}/storage.conf", "w") as f:
            f.write(f'[storage]\ndriver = "vfs"\nrunroot = "{BASE}/run"\n'
                    f'graphroot = "{BASE}/root"\n')
        with open(f"{BASE}/registries.conf", "w") as f:
            f.write("unqualified-search-registries = []\n")
    if os.path.exists(f"{BASE}/image-ready"):
        return
    root = f"{BASE}/rootfs"
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root"):
        os.makedirs(f"{root}/{d}", exist_ok=True)
    subprocess.run(["cp", "/bin/busybox", f"{root}/bin/busybox"], check=True)
    for applet in APPLETS:
        if not os.path.lexists(f"{root}/bin/{applet}"):
            os.symlink("busybox", f"{root}/bin/{applet}")
    with open(f"{root}/etc/passwd", "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(f"{root}/etc/group", "w") as f:
        f.write("root:x:0:\n")
    tar = subprocess.Popen(["tar", "-C", root, "-cf", "-", "."], stdout=subprocess.PIPE)
    imp = subprocess.run(["podman", "import", "--change", 'CMD ["/bin/sh"]', "-", IMAGE],
                         stdin=tar.stdout, env=ENV, capture_output=True, text=True)
    tar.wait()
    subprocess.run(["rm", "-rf", root], check=True)
    if imp.returncode:
        raise SystemExit(f"podman import failed: {imp.stderr}")
    open(f"{BASE}/image-ready", "w").close()
    note("image imported")


def stop_stale() -> None:
    """A service an earlier action left (killed on a timeout)."""
    try:
        with open(f"{BASE}/service.pid") as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        wait_for(10, lambda: not os.path.exists(f"/proc/{pid}"))
    except (OSError, ValueError):
        pass
    if os.path.exists(SOCK):
        os.unlink(SOCK)


class _Conn(http.client.HTTPConnection):
    def __init__(self) -> None:
        super().__init__("localhost", timeout=120)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(SOCK)


def api(method: str, path: str, body: object = None) -> bytes:
    conn = _Conn()
    try:
        conn.request(method, API + path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status >= 300:
        raise SystemExit(f"{method} {path}: {resp.status} {data[:300]!r}")
    return data


def followed() -> bool:
    """A client (falco's podman engine) holds a connection to the socket."""
    out = subprocess.run(["ss", "-xH", "src", SOCK], capture_output=True, text=True)
    return "ESTAB" in out.stdout


def inspected(cid: str) -> bool:
    with open(f"{BASE}/service.log", errors="replace") as f:
        return f'containers/{cid}/json HTTP/1.1" 200' in f.read()


def parse(argv: list[str]) -> tuple[dict[str, object], list[str]]:
    spec: dict[str, object] = {"image": IMAGE}
    mounts = []
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--privileged":
            spec["privileged"] = True
        elif opt == "--name":
            spec["name"] = argv.pop(0)
        elif opt == "--mount":
            src, dst, *ro = argv.pop(0).split(":")
            mounts.append({"type": "bind", "source": src, "destination": dst,
                           "options": ["rbind"] + (["ro"] if ro == ["ro"] else [])})
        else:
            raise SystemExit(f"_podman.py: unknown option {opt}")
    if len(argv) < 2:
        raise SystemExit(__doc__)
    spec["mounts"] = mounts
    return spec, argv[1:]


def main(argv: list[str]) -> int:
    spec, command = parse(argv)
    spec["command"] = command
    prepare()
    stop_stale()
    os.makedirs(os.path.dirname(SOCK), exist_ok=True)
    with open(f"{BASE}/service.log", "w") as log:
        svc = subprocess.Popen(["podman", "--log-level=info", "system", "service",
                                "--time=0", f"unix://{SOCK}"], env=ENV, stdout=log,
                               stderr=subprocess.STDOUT)
    with open(f"{BASE}/service.pid", "w") as f:
        f.write(str(svc.pid))
    cid = ""
    try:
        if not wait_for(60, lambda: os.path.exists(SOCK)):
            raise SystemExit("podman system service: no socket after 60 s")
        note("service up")
        if not (wait_for(60, followed) and time.sleep(1) is None and wait_for(10, followed)):
            note("no client follows the service")
        note("client connected")
        cid = json.loads(api("POST", "/containers/create", spec))["Id"]
        note(f"created {cid[:12]}")
        if not wait_for(60, lambda: inspected(cid)):
            note("nobody inspected the container")
        note("inspected")
        api("POST", f"/containers/{cid}/start")
        status = json.loads(api("POST", f"/containers/{cid}/wait") or b"0")
        note(f"exited {status}")
        return 0 if status == 0 else 1
    finally:
        if cid:
            try:
                api("DELETE", f"/containers/{cid}?force=true")
            except (OSError, SystemExit) as exc:
                note(f"remove: {exc}")
        svc.terminate()
        try:
            svc.wait(30)
        except subprocess.TimeoutExpired:
            svc.kill()
            svc.wait()
        for path in (SOCK, f"{BASE}/service.pid"):
            if os.path.exists(path):
                os.unlink(path)
        note("service stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
