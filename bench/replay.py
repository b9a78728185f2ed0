#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/replay: capture replay throughput, ours vs sysdig -r.

Replays a capture of >= 1M events (synthesized with our writer unless
--capture is given) through:
  1. the source alone (every event becomes an Event),
  2. the source with a filter matching nothing (skipped in C),
  3. the source + reading one param of every event (decode cost),
and runs ``sysdig -r FILE <same filter>`` on the same file, printing events/s
and the ratio.  Numbers are printed, never asserted.

Usage: python3 bench/replay.py [--events N] [--capture FILE] [--keep]
"""
from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from falco.events import SockTuple, make_event  # noqa: E402
from falco.events.capture_state import (FdEntry, ProcEntry,  # noqa: E402
                                        ScapFdType, UserEntry)
from falco.events.scap import CaptureReader  # noqa: E402
from falco.events.scap_writer import ScapWriter, synth_enter  # noqa: E402

NOTHING = "ptrace"  # an event type the synthetic workload never produces


def templates() -> list[tuple[int, bytes]]:
    """(tid, event bytes) of a small busy workload: enter + exit pairs."""
    full = {"dirfd": -100, "flags": "O_RDONLY|O_CLOEXEC", "mode": 0,
            "dev": 0x803, "ino": 1}
    exits = []
    for tid in (1000, 1001, 1002, 1003):
        exits += [
            make_event("openat", "<", {**full, "fd": 5,
                                       "name": f"/var/lib/app/{tid}.db"},
                       tid=tid),
            make_event("read", "<", {"res": 64, "data": b"x" * 64, "fd": 5,
                                     "size": 4096}, tid=tid),
            make_event("write", "<", {"res": 32, "data": b"y" * 32, "fd": 5,
                                      "size": 32}, tid=tid),
            make_event("lseek", "<", {"res": 0, "fd": 5, "offset": 0,
                                      "whence": 0}, tid=tid),
            make_event("close", "<", {"res": 0, "fd": 5}, tid=tid),
            make_event("connect", "<", {
                "res": 0, "fd": 6,
                "tuple": SockTuple(2, "10.0.0.1", 40000 + tid, "10.0.0.2",
                                   443)}, tid=tid),
        ]
    out = []
    for ev in exits:
        enter = synth_enter(ev)
        if enter is not None:
            out.append((ev.tid, enter))
        out.append((ev.tid, ev.raw))
    return out


def synthesize(path: Path, n: int) -> None:
    tpl = templates()
    procs = [ProcEntry(tid=t, pid=1000, ptid=1, comm="app",
                       exe="/usr/bin/app", exepath="/usr/bin/app",
                       cwd="/srv/", fdlimit=1024)
             for t in (1000, 1001, 1002, 1003)]
    fds = [FdEntry(tid=1000, fd=1, type=ScapFdType.FILE_V2,
                   name="/dev/null")]
    ts = 1_700_000_000_000_000_000
    with ScapWriter(path, procs=procs, fds=fds,
                    users=[UserEntry(0, 0, "root", "/root", "/bin/sh")],
                    compress=False, enter_events=False) as w:
        for i in range(n):
            _, raw = tpl[i % len(tpl)]
            ts += 1000
            w.write_raw(i & 1, struct.pack("<Q", ts) + raw[8:])


def rate(n: int, secs: float) -> str:
    return f"{n / secs:>12,.0f} ev/s  ({n:,} events in {secs:.2f} s)"


def run_source(path: Path, interesting: set[str] | None,
               decode: bool = False) -> tuple[int, int, float]:
    t0 = time.perf_counter()
    delivered = 0
    with CaptureReader(path, interesting) as rd:
        for batch in rd.batches():
            delivered += len(batch)
            if decode:
                for ev in batch:
                    ev.param(0)
        seen = rd.seen
    return seen, delivered, time.perf_counter() - t0


def run_sysdig(path: Path, filt: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(["sysdig", "-r", str(path), "-q", filt],
                          capture_output=True, text=True)
    return time.perf_counter() - t0, proc.stderr.strip()[:200]


NEVER_RULES = """- rule: bench_never
  desc: a rule that matches nothing
  condition: evt.type={etype} and proc.name=no-such-process-xyz
  output: "never %proc.name"
  priority: INFO
"""


def run_falco(path: Path, etype: str, tmpdir: Path) -> float | None:
    """Seconds for ``falco -e FILE`` with one rule matching nothing."""
    rules = tmpdir / f"never-{etype}.yaml"
    rules.write_text(NEVER_RULES.format(etype=etype))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "falco", "-r", str(rules),
                           "-e", str(path)], capture_output=True, text=True,
                          cwd=str(Path(__file__).resolve().parents[1]))
    if proc.returncode != 0:
        print(f"  falco failed ({proc.returncode}): {proc.stderr[-300:]}")
        return None
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--capture", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    tmpdir = Path(tempfile.mkdtemp(prefix="falco-bench-"))
    try:
        if args.capture:
            path = args.capture
        else:
            path = tmpdir / "replay.scap"
            t0 = time.perf_counter()
            synthesize(path, args.events)
            print(f"synthesized {args.events:,} events "
                  f"({path.stat().st_size / 1e6:.0f} MB) in "
                  f"{time.perf_counter() - t0:.1f} s: {path}")
        seen, n, secs = run_source(path, None)
        print(f"source alone (all events -> Event): {rate(n, secs)}")
        seen, n2, secs2 = run_source(path, {NOTHING})
        ours = seen / secs2
        print(f"source + filter matching nothing  : {rate(seen, secs2)} "
              f"[{n2} delivered]")
        _, n3, secs3 = run_source(path, None, decode=True)
        print(f"source + decode one param/event   : {rate(n3, secs3)}")
        if shutil.which("sysdig"):
            filt = f"evt.type={NOTHING}"
            ssecs, err = run_sysdig(path, filt)
            theirs = seen / ssecs
            print(f"sysdig -r FILE {filt!r:20}: {rate(seen, ssecs)}"
                  + (f"  [{err}]" if err else ""))
            print(f"ratio ours/sysdig (filter matching nothing): "
                  f"{ours / theirs:.2f}x")
            print(f"ratio ours/sysdig (every event to Python)  : "
                  f"{(n / secs) / theirs:.2f}x")
        else:
            print("sysdig not installed: no comparison")
        for etype in (NOTHING, "read"):
            fsecs = run_falco(path, etype, tmpdir)
            if fsecs is not None:
                print(f"falco -e FILE, rule 'evt.type={etype} and "
                      f"proc.name=<none>': {rate(seen, fsecs)}")
                if shutil.which("sysdig"):
                    ssecs, _ = run_sysdig(
                        path, f"evt.type={etype} and "
                        "proc.name=no-such-process-xyz")
                    print(f"sysdig -r FILE, same filter"
                          f"{'':19}: {rate(seen, ssecs)}  "
                          f"ratio {ssecs / fsecs:.2f}x")
    finally:
        if args.keep:
            print(f"kept {tmpdir}")
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
