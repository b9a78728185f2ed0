#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Container churn: N short-lived containers (default 10,000) through the
real container table, metadata manager and Docker API client.

Each container: the runtime's create event (a Docker-API stand-in on a
unix socket, tests/support/docker_api.py: no runtime runs on this kernel;
the VM test uses real ones), a process cloned and exec'd in its cgroup,
its container fields read, the process exits, the runtime's destroy event.
Half the containers are destroyed by the runtime, the other half are only
left by their last thread (removed ``exit_grace_s`` later, event time).

Prints containers/s, lookups, the table's size and RSS at start (after a
warm-up) and at the end: memory must return to its baseline.

    python3 bench/container_churn.py [--containers 10000] [--alive 50]
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from falco.containers.docker import DockerEngine  # noqa: E402
from falco.containers.manager import MetadataManager  # noqa: E402
from falco.events.build import make_event  # noqa: E402
from falco.events.capture_state import ProcEntry  # noqa: E402
from falco.fields import default_registry  # noqa: E402
from falco.state import Inspector  # noqa: E402
from support.docker_api import DockerApi  # noqa: E402

FIELDS = ("container.id", "container.name", "container.image.repository",
          "container.image.tag", "container.privileged")
NS = 1_000_000_000


def settle() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cid_of(i: int) -> str:
    return f"{i:012x}" + "ab" * 26


class Churn:
    def __init__(self, insp: Inspector, api: DockerApi, getters: list[Any]) -> None:
        self.insp, self.api, self.getters = insp, api, getters
        self.ts = 1_700_000_000 * NS
        self.filled = self.read = 0

    def event(self, name: str, d: str, who: int, /, **params: Any) -> Any:
        self.ts += 100_000
        return self.insp.process(make_event(name, d, params, ts=self.ts, tid=who))

    def wave(self, first: int, count: int) -> None:
        """``count`` containers created, each running one process, then
        gone (even: destroy event; odd: last thread exits only)."""
        ids = [cid_of(i) for i in range(first, first + count)]
        for i, cid in zip(range(first, first + count), ids):
            self.api.create(cid, f"job-{i}", "example/app:1.2")
        end = time.monotonic() + 10
        table = self.insp.containers
        while time.monotonic() < end and any(table.get(c[:12]) is None for c in ids):
            time.sleep(0.001)
        for n, cid in enumerate(ids):
            tid = 100_000 + n
            cg = f"cpu=/docker/{cid}\0"
            self.event("clone", "<", 2, res=tid, tid=2, pid=2, ptid=1, vtid=2,
                       vpid=2, exe="/usr/bin/containerd-shim", args="",
                       comm="shim", cgroups="cpu=/\0", flags=0, uid=0, gid=0)
            self.event("clone", "<", tid, res=0, tid=tid, pid=tid, ptid=2,
                       vtid=1, vpid=1, exe="/usr/bin/containerd-shim",
                       args="", comm="shim", cgroups=cg, flags=0, uid=0, gid=0)
            ctx = self.event("execve", "<", tid, res=0, exe="/bin/app",
                             args="run\0", tid=tid, pid=tid, ptid=2, comm="app",
                             cgroups=cg, env="", uid=0, gid=0, loginuid=-1,
                             trusted_exepath="/bin/app")
            for extract, arg in self.getters:
                self.read += 1
                if extract(ctx, arg) is not None:
                    self.filled += 1
            self.event("procexit", ">", tid, status=0, ret=0, sig=0, core=0,
                       reaper_tid=1)
        for n, cid in enumerate(ids):
            if n % 2 == 0:
                self.api.destroy(cid)
            else:               # the runtime forgets it without an event
                self.api.containers.pop(cid, None)
        # Purge (event time) past the exit grace.
        self.ts += 40 * NS
        self.event("chdir", "<", 1, res=0, path="/")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--containers", type=int, default=10_000)
    ap.add_argument("--alive", type=int, default=50,
                    help="containers alive at the same time")
    opts = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="falco-churn-")
    api = DockerApi(os.path.join(tmp, "docker.sock")).start()
    insp = Inspector(purge_interval_ns=5 * NS)
    insp.bootstrap_capture([
        ProcEntry(tid=1, pid=1, ptid=0, comm="init", exe="/sbin/init"),
        ProcEntry(tid=2, pid=2, ptid=1, comm="shim", exe="/usr/bin/containerd-shim")])
    table = insp.containers
    table.exit_grace_s = 30
    manager = MetadataManager([DockerEngine(api.path)], table)
    table.lookups = manager
    manager.start()
    end = time.monotonic() + 10
    while not manager.available("docker") and time.monotonic() < end:
        time.sleep(0.01)
    api.wait_subscribed()
    reg = default_registry()
    getters = [(reg.resolve(n)[0].extract, None) for n in FIELDS]
    churn = Churn(insp, api, getters)
    first = 0
    for _ in range(4):                  # warm-up: caches, allocator
        churn.wave(first, opts.alive)
        first += opts.alive
    settle()
    rss_start, len_start = rss_kb(), len(table)
    t0 = time.monotonic()
    done = 0
    while done < opts.containers:
        n = min(opts.alive, opts.containers - done)
        churn.wave(first, n)
        first += n
        done += n
    elapsed = time.monotonic() - t0
    time.sleep(0.2)
    churn.ts += 40 * NS
    churn.event("chdir", "<", 1, res=0, path="/")
    settle()
    rss_end = rss_kb()
    s, m = table.stats, manager.stats
    print(f"container churn: {done} containers ({opts.alive} alive at once), "
          f"{done / elapsed:,.0f} containers/s")
    print(f"  fields filled   : {churn.filled}/{churn.read}")
    print(f"  metadata ready at first process: {s.ready_at_first_sight}, "
          f"waited {s.waited}, lookups {m.lookups} (ok {m.lookups_ok})")
    print(f"  removed         : destroy events {s.removed_destroy}, after "
          f"last thread {s.removed_exit}, evicted {s.evicted}")
    print(f"  table entries   : {len_start} at start, {len(table)} at end "
          f"(max {table.max_entries}); threads {len(insp.threads)}")
    print(f"  RSS start       : {rss_start / 1024:.1f} MB")
    print(f"  RSS end         : {rss_end / 1024:.1f} MB "
          f"({(rss_end - rss_start) * 100 / rss_start:+.1f}% vs start)")
    ok = len(table) <= len_start and rss_end <= rss_start * 1.10
    print("  memory at baseline: " + ("yes" if ok else "NO"))
    manager.close()
    api.stop()
    os.rmdir(tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
