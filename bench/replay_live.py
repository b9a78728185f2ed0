#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/replay_live: live drain rate of the ring reader (run in the VM).

With falco_probe loaded: (1) a burst of 1-byte dd read+write syscalls as
fast as the machine goes, drained once as raw C records and once as Event
objects (events/s delivered and drops); (2) a child doing read() at paced
rates, stepping up until the module reports drops; prints the highest
rate drained with zero drops at the module's current buffer size.
Numbers are printed, never asserted.

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

PACER = r"""
import os, sys, time
rate, secs = float(sys.argv[1]), float(sys.argv[2])
fd = os.open("/dev/zero", os.O_RDONLY)
t0 = time.perf_counter(); n = 0
while True:
    now = time.perf_counter() - t0
    if now >= secs:
        break
    due = int(now * rate) + 1
    while n < due:
        os.read(fd, 1); n += 1
    time.sleep(0.0005)
print(n)
"""


def paced(rate: float, seconds: float, raw: bool) -> tuple[float, int, int]:
    """Reader drains while a child does ``rate`` read()s per second."""
    with LiveSource(interesting={"read"}) as src:
        before = src.stats().total
        child = subprocess.Popen([sys.executable, "-c", PACER, str(rate),
                                  str(seconds)], stdout=subprocess.PIPE,
                                 text=True)
        n = 0
        while child.poll() is None:
            if raw:
                n += src.reader.drain()
            else:
                n += len(src.next_batch())
        done = int((child.stdout.read() if child.stdout else "0") or 0)
        while src.next_batch(block=False):
            pass
        after = src.stats().total
    return done / seconds, after.dropped - before.dropped, n


def burst(seconds: float, raw: bool) -> tuple[float, int, int]:
    """Reader drains a dd doing 1-byte read+write as fast as it can."""
    with LiveSource(interesting={"read", "write"}) as src:
        before = src.stats().total
        proc = subprocess.Popen(
            ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=1 "
             "count=100000000"], stderr=subprocess.DEVNULL)
        n = 0
        t0 = time.perf_counter()
        try:
            while time.perf_counter() - t0 < seconds:
                if raw:
                    n += src.reader.drain()
                else:
                    n += len(src.next_batch())
        finally:
            proc.kill()
            proc.wait()
        secs = time.perf_counter() - t0
        after = src.stats().total
    return n / secs, after.dropped - before.dropped, \
        after.n_evts - before.n_evts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rates", default="500,1000,2000,4000,8000,16000")
    args = ap.parse_args()
    param = Path("/sys/module/falco_probe/parameters/buffer_bytes")
    size = param.read_text().strip() if param.exists() else "?"
    print(f"buffer_bytes per CPU: {size}")
    for raw in (True, False):
        what = "C reader only (no Python objects)" if raw else "Event objects"
        rate, dropped, seen = burst(args.seconds, raw)
        print(f"burst, {what}: drained {rate:,.0f} ev/s; module saw "
              f"{seen:,}, dropped {dropped:,}")
    best = 0.0
    for r in (float(x) for x in args.rates.split(",")):
        rate, dropped, got = paced(r, args.seconds, False)
        print(f"paced {r:>8,.0f} read/s: achieved {rate:,.0f} read/s, "
              f"delivered {got:,} events, dropped {dropped:,}")
        if dropped == 0:
            best = max(best, rate)
        else:
            break
    print(f"highest syscall rate drained with zero drops: {best:,.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
