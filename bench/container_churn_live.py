#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Container churn against a real runtime, with falco running live: run it
where podman runs (the test VM, falco_probe loaded):

    scripts/vm-run.sh 'python3 bench/container_churn_live.py --containers 60'

podman (crun, vfs storage on a tmpfs) runs short-lived containers through
its API (create, start, wait, remove), ``--parallel`` at a time; falco
runs with the default rules and podman's socket. Before and after (once
the runtime's destroy events are in, and falco's thread table has let the
containers' threads go), it prints falco's RSS and its container table's
size from /metrics: both must come back to their baseline. The stand-in
version for 10,000 containers is bench/container_churn.py.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.runtimes import IMAGE, Images, Runtimes, cleanup_mounts  # noqa: E402

PORT = 8798
API = "/v4.0.0/libpod"


class _Conn(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=300)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def call(sock: str, method: str, path: str, body: object = None) -> bytes:
    conn = _Conn(sock)
    try:
        conn.request(method, API + path, None if body is None else json.dumps(body),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status >= 300:
        raise OSError(f"{method} {path}: {resp.status} {data[:200]!r}")
    return data


def one_container(sock: str, i: int) -> None:
    cid = json.loads(call(sock, "POST", "/containers/create", {
        "image": IMAGE, "command": ["sh", "-c", "true"],
        "name": f"churn-{i}", "labels": {"churn": str(i)}}))["Id"]
    call(sock, "POST", f"/containers/{cid}/start")
    call(sock, "POST", f"/containers/{cid}/wait")
    call(sock, "DELETE", f"/containers/{cid}?force=true")


def metrics() -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=60) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_metric(name: str, pred, timeout: float) -> float:  # type: ignore[no-untyped-def]
    """``name``'s value once ``pred`` holds (or at the timeout); the
    webserver may not listen yet."""
    end = time.time() + timeout
    while True:
        try:
            value = metrics().get(name, 0.0)
        except OSError:
            value = 0.0
        if pred(value) or time.time() > end:
            return value
        time.sleep(2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--containers", type=int, default=60)
    ap.add_argument("--parallel", type=int, default=4)
    args = ap.parse_args()
    base = Path("/tmp/falco-churn")
    base.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "falco-churn", str(base)], check=True)
    rt = Runtimes(base / "rt", Images(ROOT / "build" / "container-images").build())
    work = Path(tempfile.mkdtemp(prefix="churn-", dir=base))
    falco = None
    try:
        rt.configure()
        rt.start_podman()
        rt.podman("import", "--change", 'CMD ["/bin/sh"]', str(rt.images.rootfs), IMAGE)
        conf = work / "falco.yaml"
        conf.write_text(json.dumps({
            "json_output": True, "log_syslog": False,
            "webserver": {"enabled": True, "listen_address": "127.0.0.1",
                          "listen_port": PORT},
            "container_engines": {
                "docker": {"enabled": False}, "containerd": {"enabled": False},
                "cri": {"enabled": False}, "podman": {"sockets": [rt.podman_sock]},
                "lookup_wait_ms": 8000, "lookup_timeout_ms": 10000,
                "exit_grace_s": 5}}))
        falco = subprocess.Popen(
            [sys.executable, "-m", "falco", "-c", str(conf), "-r",
             str(ROOT / "rules" / "falco_rules.yaml")], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=open(work / "falco.stderr", "w"),
            env=dict(os.environ, PYTHONPATH=str(ROOT)))
        wait_metric('falco_container_engine_up{engine="podman:%s"}' % rt.podman_sock,
                    lambda v: v == 1, 600)
        # Warm-up: one container, so that first-use allocations are not counted.
        one_container(rt.podman_sock, -1)
        time.sleep(10)
        before = metrics()
        rss0 = rss_kb(falco.pid)
        start = time.time()
        todo = list(range(args.containers))
        lock = threading.Lock()
        errors: list[str] = []

        def worker() -> None:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                try:
                    one_container(rt.podman_sock, i)
                except OSError as exc:
                    errors.append(str(exc))

        threads = [threading.Thread(target=worker) for _ in range(args.parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.time() - start
        entries = wait_metric("falco_container_entries",
                              lambda v: v <= before["falco_container_entries"], 120)
        time.sleep(15)          # thread table purge, exit grace
        after = metrics()
        rss1 = rss_kb(falco.pid)
        done = args.containers - len(errors)
        print(f"container churn (podman, live): {done} containers in {secs:.0f} s "
              f"({done / secs:.2f}/s, {args.parallel} at a time), {len(errors)} errors")
        for key in ("falco_container_seen_total", "falco_container_resolved_total",
                    "falco_container_ready_at_first_sight_total",
                    "falco_container_removed_destroy_total",
                    "falco_container_removed_exit_total",
                    "falco_container_wait_timeouts_total"):
            print(f"  {key}: {after.get(key, 0) - before.get(key, 0):+.0f}")
        print(f"  table entries: {before['falco_container_entries']:.0f} before, "
              f"{entries:.0f} after")
        print(f"  falco RSS: {rss0 / 1024:.1f} MB before, {rss1 / 1024:.1f} MB after "
              f"({(rss1 - rss0) / 1024:+.1f} MB)")
        return 0 if not errors else 1
    finally:
        if falco is not None:
            falco.terminate()
            falco.wait(60)
        rt.stop()
        cleanup_mounts(base)
        subprocess.run(["umount", "-l", str(base)], check=False)


if __name__ == "__main__":
    sys.exit(main())
