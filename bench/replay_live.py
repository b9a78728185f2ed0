#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/replay_live: live drain rate of the ring reader (run in the VM).

With falco_probe loaded, runs a syscall-heavy workload (dd with 1-byte
blocks: one read + one write per byte) at increasing rates and reads the
rings with the LiveSource for a few seconds per step.  Prints, per step,
the syscall events/s the reader delivered and the drops the module counted
(buffer full, page faults, preemption), and the highest rate with zero
drops at the module's current buffer size.  Numbers are printed, never
asserted.

Usage (inside the VM): python3 bench/replay_live.py [--seconds S]
Host: scripts/vm-run.sh 'python3 bench/replay_live.py'
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from falco.events.live import LiveSource  # noqa: E402

# (workers, bytes per dd run): each byte costs a read and a write syscall
STEPS = [(1, 20_000), (1, 100_000), (2, 100_000), (2, 400_000),
         (4, 400_000)]


def step(workers: int, nbytes: int, seconds: float,
         decode: bool) -> tuple[float, int, int]:
    with LiveSource(interesting={"read", "write"}) as src:
        before = src.stats().total
        procs = [subprocess.Popen(
            ["sh", "-c", f"while :; do dd if=/dev/zero of=/dev/null bs=1 "
             f"count={nbytes} 2>/dev/null; done"]) for _ in range(workers)]
        n = 0
        t0 = time.perf_counter()
        try:
            while time.perf_counter() - t0 < seconds:
                batch = src.next_batch()
                n += len(batch)
                if decode:
                    for ev in batch:
                        ev.param(0)
        finally:
            for p in procs:
                p.kill()
            for p in procs:
                p.wait()
        secs = time.perf_counter() - t0
        # drain what is left so the counters settle
        while src.next_batch(block=False):
            pass
        after = src.stats().total
    dropped = after.dropped - before.dropped
    return n / secs, dropped, after.n_evts - before.n_evts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--decode", action="store_true",
                    help="decode one param of every event too")
    args = ap.parse_args()
    param = Path("/sys/module/falco_probe/parameters/buffer_bytes")
    size = param.read_text().strip() if param.exists() else "?"
    print(f"buffer_bytes per CPU: {size}")
    best = 0.0
    for workers, nbytes in STEPS:
        rate, dropped, seen = step(workers, nbytes, args.seconds,
                                   args.decode)
        print(f"workers={workers} dd_bytes={nbytes:>7}: delivered "
              f"{rate:>10,.0f} ev/s, module saw {seen:,}, dropped "
              f"{dropped:,}")
        if dropped == 0:
            best = max(best, rate)
    print(f"highest drained rate with zero drops: {best:,.0f} ev/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
