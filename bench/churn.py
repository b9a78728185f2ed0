#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""State-engine churn benchmark.

N short-lived processes (default 100,000), each: clone (parent and child
exits), execve, two openat, socket, connect to 127.0.0.1, three close,
procexit -- synthesized with ``make_event`` in batches, then fed through an
``Inspector`` (optionally extracting the fields a typical rule reads).
Prints events/s of the state engine alone and with field extraction, peak
RSS, and RSS at start and after the run (state must be freed).

    python3 bench/churn.py [--procs 100000] [--batch 500]
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from falco.events.build import make_event  # noqa: E402
from falco.events.capture_state import ProcEntry  # noqa: E402
from falco.events.sockets import SockAddr, SockTuple  # noqa: E402
from falco.fields import default_registry  # noqa: E402
from falco.state import Inspector  # noqa: E402

FIELDS = ("proc.name", "proc.pname", "proc.cmdline", "fd.name", "user.name",
          "container.id", "evt.type", "proc.aname[2]")


def settle() -> None:
    """Collect garbage and hand free heap pages back to the OS."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_kb() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in kB."""
    cur = peak = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return cur, peak


def process_events(i: int, ts: int) -> tuple[list[Any], list[Any]]:
    """The 11 events of one short-lived process (tid 10000+i): the ones
    that build its state, and the ones that tear it down."""
    tid = 10_000 + i
    cg = "cpu=/user.slice\0memory=/user.slice\0"
    common = dict(exe="/bin/bash", args="-c\0work\0", comm="bash",
                  cgroups=cg, flags=0, uid=1000, gid=1000)
    out: list[Any] = []

    def ev(etype: str, d: str, who: int, /, **params: Any) -> None:
        nonlocal ts
        ts += 1000
        out.append(make_event(etype, d, params, ts=ts, tid=who))

    ev("clone", "<", 2, res=tid, tid=2, pid=2, ptid=1, vtid=2, vpid=2,
       **common)
    ev("clone", "<", tid, res=0, tid=tid, pid=tid, ptid=2, vtid=tid,
       vpid=tid, **common)
    ev("execve", "<", tid, res=0, exe="/usr/bin/worker",
       args=f"--id\0{i}\0", tid=tid, pid=tid, ptid=2, comm="worker",
       cgroups=cg, env="HOME=/home/u\0PATH=/usr/bin\0", uid=1000, gid=1000,
       loginuid=1000, trusted_exepath="/usr/bin/worker")
    ev("openat", "<", tid, fd=3, dirfd=-100, name="/etc/hosts", flags=1,
       mode=0)
    ev("openat", "<", tid, fd=4, dirfd=-100, name=f"data/{i}.txt",
       flags=2 | 4, mode=0o644)
    ev("socket", "<", tid, fd=5, domain=2, type=1, proto=0)
    ev("connect", "<", tid, res=0, fd=5,
       tuple=SockTuple(2, "127.0.0.1", 30000 + i % 30000, "127.0.0.1", 80),
       addr=SockAddr(2, "127.0.0.1", 80))
    build = out
    out = []
    for fd in (3, 4, 5):
        ev("close", "<", tid, res=0, fd=fd)
    ev("procexit", ">", tid, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    return build, out


def make_batch(first: int, count: int, ts: int) -> list[Any]:
    """``count`` processes alive at the same time, then all exiting."""
    builds: list[Any] = []
    ends: list[Any] = []
    for i in range(first, first + count):
        b, e = process_events(i, ts)
        ts += 20_000
        builds.extend(b)
        ends.extend(e)
    return builds + ends


class Runner:
    """Feeds batches through the inspector, timing both kinds of events."""

    def __init__(self, insp: Inspector, getters: list[Any]) -> None:
        self.insp = insp
        self.getters = getters
        self.t_state = self.t_fields = 0.0
        self.events = self.extracted = self.max_threads = 0

    def run(self, batch: list[Any]) -> None:
        # Events alternate between "state engine only" and "state + field
        # reads", processed in order; each kind is timed on its own (CPU
        # time of this process, so that a busy machine does not skew it).
        insp, getters, pc = self.insp, self.getters, time.process_time
        for j, evt in enumerate(batch):
            if j & 1:
                t0 = pc()
                ctx = insp.process(evt)
                for extract, arg in getters:
                    if extract(ctx, arg) is not None:
                        self.extracted += 1
                self.t_fields += pc() - t0
            else:
                t0 = pc()
                insp.process(evt)
                self.t_state += pc() - t0
            if j % 1024 == 0:
                self.max_threads = max(self.max_threads, len(insp.threads))
        self.events += len(batch)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500,
                    help="processes alive at the same time")
    ap.add_argument("--warmup", type=int, default=3,
                    help="batches run before the RSS baseline")
    opts = ap.parse_args()

    insp = Inspector()
    insp.bootstrap_capture([
        ProcEntry(tid=1, pid=1, ptid=0, comm="init", exe="/sbin/init"),
        ProcEntry(tid=2, pid=2, ptid=1, comm="bash", exe="/bin/bash",
                  cwd="/home/u", uid=1000, gid=1000)])
    reg = default_registry()
    getters = []
    for name in FIELDS:
        arg = None
        if name.endswith("]"):
            name, _, arg = name[:-1].partition("[")
        fdef, dotted = reg.resolve(name)
        getters.append((fdef.extract, arg if arg is not None else dotted))
    # Warm up imports, caches and the allocator (a few full batches: the
    # harness's own working set) before taking the RSS baseline.
    ts = 1_600_000_000_000_000_000
    warm = Runner(insp, getters)
    for w in range(opts.warmup):
        warm.run(make_batch(opts.procs + w * opts.batch, opts.batch, ts))
        ts += 20_000 * opts.batch
    insp.process(make_event("chdir", "<", {"res": 0, "path": "/"}, ts=ts,
                            tid=1))
    settle()
    rss_start, _ = rss_kb()

    ts = 1_700_000_000_000_000_000
    runner = Runner(insp, getters)
    for first in range(0, opts.procs, opts.batch):
        count = min(opts.batch, opts.procs - first)
        runner.run(make_batch(first, count, ts))
        ts += 20_000 * count
    insp.process(make_event("chdir", "<", {"res": 0, "path": "/"}, ts=ts,
                            tid=1))
    half = runner.events / 2
    settle()
    rss_end, rss_peak = rss_kb()
    print(f"churn: {opts.procs} processes ({opts.batch} alive at once), "
          f"{runner.events} events")
    print(f"  state only      : {half / runner.t_state:,.0f} events/s")
    print(f"  state + {len(FIELDS)} fields: {half / runner.t_fields:,.0f} "
          f"events/s ({runner.extracted} values extracted)")
    print(f"  threads left    : {len(insp.threads)} (max seen "
          f"{runner.max_threads}), removed {insp.stats.threads_removed}")
    print(f"  RSS start       : {rss_start / 1024:.1f} MB")
    print(f"  RSS peak        : {rss_peak / 1024:.1f} MB")
    print(f"  RSS after       : {rss_end / 1024:.1f} MB "
          f"({(rss_end - rss_start) * 100 / rss_start:+.1f}% vs start)")
    ok = len(insp.threads) == 2 and rss_end <= rss_start * 1.10
    print("  state freed     : " + ("yes" if ok else "NO"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
