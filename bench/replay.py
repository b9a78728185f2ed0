#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/replay: capture replay throughput, ours vs sysdig -r.

Replays a capture of >= 1M events (synthesized with our writer unless
--capture is given) through:
  1. the source alone (every event becomes an Event), with a code filter
     matching nothing (skipped in C), and decoding one param per event;
  2. the full ``falco -e FILE`` with (i) a selective rule, (ii) our
     default rules, (iii) Falco's stable rules, each with the prefilter
     and state on demand off ("before") and on ("after", the default),
     against ``sysdig -r FILE`` with the union of the same rules'
     conditions (macros and lists expanded; rules whose fields sysdig
     0.29 does not know are left out and counted).
Numbers are printed, never asserted. The ratio is sysdig's time over
falco's (>= 1.0: falco is as fast or faster).

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from falco.app.backend import event_names  # noqa: E402
from falco.events import SockTuple, make_event  # noqa: E402
from falco.events.capture_state import (FdEntry, ProcEntry,  # noqa: E402
                                        ScapFdType, UserEntry)
from falco.events.scap import CaptureReader  # noqa: E402
from falco.events.scap_writer import ScapWriter, synth_enter  # noqa: E402
from falco.fields import default_registry  # noqa: E402
from falco.filter.syntax import to_text  # noqa: E402
from falco.rules import load_rules  # noqa: E402

NOTHING = "ptrace"  # an event type the synthetic workload never produces
UPSTREAM = ROOT.parent / "shared" / "upstream-rules"
DEFAULT_RULES = [ROOT / "rules" / "falco_rules.yaml",
                 ROOT / "rules" / "application_rules.yaml",
                 ROOT / "rules" / "falco_rules.local.yaml"]
SELECTIVE = """- rule: bench_selective
  desc: a selective rule (matches one event in 100,000)
  condition: evt.type = openat and evt.dir = < and fd.name = /etc/shadow
  output: "shadow opened (command=%proc.cmdline file=%fd.name)"
  priority: WARNING
"""


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


def rare() -> list[bytes]:
    """Events a rule is after (one in 100,000): /etc/shadow read by the
    app, and written below /etc."""
    base = {"fd": 7, "dirfd": -100, "mode": 0, "dev": 0x803, "ino": 2}
    return [make_event("openat", "<", {**base, "name": "/etc/shadow",
                                       "flags": "O_RDONLY"}, tid=1000).raw,
            make_event("openat", "<", {**base, "name": "/etc/app.conf",
                                       "flags": "O_WRONLY|O_CREAT"},
                       tid=1001).raw]


def synthesize(path: Path, n: int) -> None:
    tpl = templates()
    special = rare()
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
            raw = tpl[i % len(tpl)][1]
            if i % 100_000 == 50_000:
                raw = special[(i // 100_000) % len(special)]
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


def run_falco(path: Path, rules: list[Path], *overrides: str
              ) -> tuple[float, int] | None:
    """(seconds, alerts) of ``falco -e FILE`` with ``rules``."""
    args = [sys.executable, "-m", "falco", "-e", str(path),
            "-o", "log_level=error", "-o", "json_output=true"]
    for r in rules:
        args += ["-r", str(r)]
    for o in overrides:
        args += ["-o", o]
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True,
                          cwd=str(ROOT))
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"  falco failed ({proc.returncode}): {proc.stderr[-300:]}")
        return None
    alerts = sum(1 for line in proc.stdout.splitlines()
                 if line.startswith("{"))
    return secs, alerts


def sysdig_union(rules: list[Path], probe: Path) -> tuple[str, int, int]:
    """The union of the rules' conditions sysdig 0.29 can parse; (filter,
    rules in it, rules left out)."""
    ruleset = load_rules([str(r) for r in rules], default_registry(),
                         all_evttypes=event_names())
    kept, left = [], 0
    for rule in ruleset.enabled_rules:
        text = to_text(rule.ast)
        _, err = run_sysdig(probe, text)
        if "error" in err.lower():
            left += 1
        else:
            kept.append(f"({text})")
    return " or ".join(kept) or f"evt.type={NOTHING}", len(kept), left


def compare(path: Path, seen: int, label: str, rules: list[Path],
            probe: Path) -> None:
    print(f"\n({label})")
    before = run_falco(path, rules, "prefilter.enabled=false")
    after = run_falco(path, rules)
    if before is not None:
        print(f"  falco -e, prefilter off (before): {rate(seen, before[0])}"
              f"  [{before[1]} alerts]")
    if after is not None:
        print(f"  falco -e, prefilter on  (after) : {rate(seen, after[0])}"
              f"  [{after[1]} alerts]")
    if not shutil.which("sysdig"):
        print("  sysdig not installed: no comparison")
        return
    filt, kept, left = sysdig_union(rules, probe)
    ssecs, err = run_sysdig(path, filt)
    print(f"  sysdig -r, union of {kept} conditions ({left} left out: "
          f"fields sysdig lacks): {rate(seen, ssecs)}"
          + (f"  [{err}]" if err else ""))
    for name, got in (("before", before), ("after", after)):
        if got is not None:
            print(f"  ratio sysdig time / falco time ({name}): "
                  f"{ssecs / got[0]:.2f}")


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
        probe = tmpdir / "probe.scap"
        synthesize(probe, 10)
        seen, n, secs = run_source(path, None)
        print(f"source alone (all events -> Event): {rate(n, secs)}")
        seen, n2, secs2 = run_source(path, {NOTHING})
        print(f"source + filter matching nothing  : {rate(seen, secs2)} "
              f"[{n2} delivered]")
        _, n3, secs3 = run_source(path, None, decode=True)
        print(f"source + decode one param/event   : {rate(n3, secs3)}")
        selective = tmpdir / "selective.yaml"
        selective.write_text(SELECTIVE)
        compare(path, seen, "i: a selective rule", [selective], probe)
        compare(path, seen, "ii: our default rules", DEFAULT_RULES, probe)
        if (UPSTREAM / "falco_rules.yaml").exists():
            compare(path, seen, "iii: Falco's stable rules",
                    [UPSTREAM / "falco_rules.yaml"], probe)
    finally:
        if args.keep:
            print(f"kept {tmpdir}")
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
