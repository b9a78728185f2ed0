# SPDX-License-Identifier: Apache-2.0
"""modern_ebpf natively on this host (no VM), numbers only:

1. overhead: N open+close of one file and N getppid, bare and with the BPF
   programs capturing the default rules' syscall set (getppid is not in
   it: filtered at the dispatcher) while bench/bpf_drain.py drains the
   rings through the product's C reader; both bare runs are repeated to
   show the noise;
2. the highest rate of open+close system calls held for a few seconds with
   no event lost to a full ring at the default ring size (buf_size_preset
   4: 8 MiB, one ring per CPU, a pacer per CPU), for two consumers: the C
   reader alone (bpf_drain.py) and LiveSource turning every event into a
   Python Event (what falco's engine receives).
Run as root: python3 bench/bpf_overhead.py [-n N] [--seconds S]
    [--start-rate R] [--no-overhead]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONSUMER_EVENTS = r"""
import signal, sys
sys.path.insert(0, sys.argv[1])
from falco.driver.bpf import BpfLayout, BpfRingReader
from falco.events.live import LiveSource
sys.path.insert(0, sys.argv[1] + "/bench")
from bpf_drain import RULES_SET
stop = False
def on(sig, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on)
src = LiveSource(reader=BpfRingReader(BpfLayout(1, 8 << 20)), interesting=set(RULES_SET))
print("ready", flush=True)
n = 0
while not stop:
    n += len(src.next_batch())
src.set_interesting(set())
while batch := src.next_batch(block=False):
    n += len(batch)
t = src.stats().total
print(f"events {n} seen {t.n_evts} dropped {t.dropped} (buffer {t.n_drops_buffer}, "
      f"page faults {t.n_drops_pf})", flush=True)
src.close()
"""


def build(bindir: Path) -> None:
    subprocess.run(["make", "-s", "-C", str(ROOT / "driver" / "bpf")], check=True)
    for name in ("kernel_overhead_loop", "syscall_pacer"):
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(bindir / name),
                        str(ROOT / "bench" / f"{name}.c")], check=True)


def loop(bindir: Path, workload: str, n: int) -> float:
    out = subprocess.run([str(bindir / "kernel_overhead_loop"), workload, str(n)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


class Consumer:
    """A consumer process: "drain" (bpf_drain.py) or "events" (LiveSource)."""

    def __init__(self, kind: str) -> None:
        cmd = [sys.executable, str(ROOT / "bench" / "bpf_drain.py")] if kind == "drain" \
            else [sys.executable, "-c", CONSUMER_EVENTS, str(ROOT)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        if not ready.startswith("ready"):
            raise SystemExit(f"consumer {kind} failed: {ready!r}")

    def stop(self) -> tuple[str, int]:
        """Its summary line and the events lost to a full ring (the
        capture is system-wide: page-fault drops of other processes'
        arguments say nothing of the ring size and are only shown)."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stdout is not None
        line = self.proc.stdout.read().strip()
        self.proc.wait()
        return line, int(line.split("(buffer ")[1].split(",")[0])


def overhead(bindir: Path, n: int) -> None:
    rows: list[tuple[str, str, float]] = []
    for w in ("open", "getppid"):
        rows.append(("bare", w, loop(bindir, w, n)))
    c = Consumer("drain")
    for w in ("open", "getppid"):
        rows.append(("modern_ebpf", w, loop(bindir, w, n)))
    summary, _ = c.stop()
    for w in ("open", "getppid"):
        rows.append(("bare (again)", w, loop(bindir, w, n)))
    bare = {w: min(s for cfg, ww, s in rows if ww == w and cfg.startswith("bare"))
            for w in ("open", "getppid")}
    print(f"bpf_overhead: {n} iterations per run, native, {os.cpu_count()} CPUs, "
          f"kernel {os.uname().release}")
    print(f"{'config':<14} {'workload':<10} {'seconds':>9} {'ns/iter':>9} {'slowdown':>9}")
    for cfg, w, s in rows:
        print(f"{cfg:<14} {w:<10} {s:9.3f} {s / n * 1e9:9.0f} {s / bare[w]:8.2f}x")
    print(f"modern_ebpf reader: {summary}")


def held(bindir: Path, kind: str, rate: float, seconds: float) -> tuple[bool, float, str]:
    """Run one pacer per CPU for a total of @rate calls/s: zero drops?"""
    ncpu = os.cpu_count() or 1
    c = Consumer(kind)
    pacers = [subprocess.Popen(["taskset", "-c", str(cpu), str(bindir / "syscall_pacer"),
                                "open", str(rate / ncpu), str(seconds)],
                               stdout=subprocess.PIPE, text=True) for cpu in range(ncpu)]
    made = 0.0
    for p in pacers:
        out, _ = p.communicate()
        calls, secs = out.split()
        made += int(calls) / float(secs)
    summary, dropped = c.stop()
    return dropped == 0, made, summary


def zero_drop_rate(bindir: Path, kind: str, seconds: float,
                   start: float) -> None:
    """Double the rate from @start while it is held (made within 10% and no
    ring-full drop), halve it while it is not, then bisect."""
    def holds(rate: float) -> tuple[bool, float, str]:
        ok, made, summary = held(bindir, kind, rate, seconds)
        return ok and made > 0.9 * rate, made, summary

    rate, best, best_summary = start, 0.0, ""
    ok, made, summary = holds(rate)
    while not ok and rate > start / 64:
        rate /= 2
        ok, made, summary = holds(rate)
    if not ok:
        print(f"zero ring-full drops, consumer {kind}: not held even at "
              f"{rate:,.0f}/s (made {made:,.0f}/s); {summary}")
        return
    while ok:
        best, best_summary = made, summary
        rate *= 2
        ok, made, summary = holds(rate)
    top = made
    lo, hi = rate / 2, rate
    for _ in range(4):
        mid = (lo + hi) / 2
        ok, made, summary = holds(mid)
        top = max(top, made)
        if ok:
            lo, best, best_summary = mid, max(best, made), summary
        else:
            hi = mid
    print(f"zero ring-full drops, consumer {kind}: {best:,.0f} open+close "
          f"syscalls/s held {seconds:.0f} s (the pacers made at most "
          f"{top:,.0f}/s); {best_summary}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--start-rate", type=float, default=50_000.0,
                    help="first rate tried (syscalls/s, all CPUs)")
    ap.add_argument("--no-overhead", action="store_true",
                    help="only the zero-drop rates")
    args = ap.parse_args()
    if os.geteuid() != 0 or not Path("/sys/kernel/btf/vmlinux").exists():
        print("bpf_overhead: needs root and a kernel with BTF")
        return 2
    with tempfile.TemporaryDirectory(prefix="falco-bpf-bench-") as d:
        bindir = Path(d)
        build(bindir)
        if not args.no_overhead:
            overhead(bindir, args.n)
        for kind in ("drain", "events"):
            zero_drop_rate(bindir, kind, args.seconds, args.start_rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
