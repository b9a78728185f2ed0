#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/rules: rules load/compile time and rule evaluation cost.

1. Loads ../shared/upstream-rules falco_rules + incubating + sandbox
   (best of --repeat runs) and prints registry build and load+compile time.
2. Replays captures (the shared ones, repeated --passes times, plus a
   synthetic capture of --events events written with bench/replay.py's
   workload) four ways: read only (lazy events); read + decode every
   parameter; read + state; read + state + every candidate rule of each
   event evaluated (``rule_matching: all``, the worst case). Prints
   events/s (process CPU time) and the cost added by the rules.
3. Prints the per-rule evaluation cost (calls, mean ns, total ms).

Numbers are printed, never asserted.
Usage: python3 bench/rules.py [--events N] [--passes N] [--repeat N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from falco.driver.schema import get_schema  # noqa: E402
from falco.events.scap import CaptureReader  # noqa: E402
from falco.fields import default_registry  # noqa: E402
from falco.rules import RuleSet, load_rules  # noqa: E402
from falco.state import Inspector  # noqa: E402

SHARED = ROOT.parent / "shared"
UPSTREAM = [SHARED / "upstream-rules" / f for f in (
    "falco_rules.yaml", "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml")]


def event_names() -> frozenset[str]:
    schema = get_schema()
    return frozenset(n for n in (*schema.by_name, *schema.sc_names)
                     if n and n != "NA")


def bench_load(repeat: int) -> RuleSet:
    names = event_names()
    best_reg = best_load = float("inf")
    rs = None
    for _ in range(repeat):
        t0 = time.process_time()
        registry = default_registry()
        t1 = time.process_time()
        rs = load_rules(UPSTREAM, registry, all_evttypes=names)
        t2 = time.process_time()
        best_reg, best_load = min(best_reg, t1 - t0), min(best_load, t2 - t1)
    assert rs is not None
    enabled = sum(1 for r in rs.rules if r.enabled)
    print(f"load+compile falco_rules+incubating+sandbox: {best_load * 1e3:.1f}"
          f" ms (best of {repeat}; {len(rs.rules)} rules, {enabled} "
          f"enabled, {len(rs.warnings)} warnings); field registry "
          f"{best_reg * 1e3:.1f} ms")
    evts = rs.evttypes()
    print(f"  enabled rules need {len(evts) if evts else 'all'} event names")
    return rs


def _inspector(reader: CaptureReader) -> Inspector:
    insp = Inspector()
    insp.bootstrap_capture(reader.procs, reader.fds,
                           getattr(reader, "users", ()),
                           getattr(reader, "groups", ()))
    return insp


def replay(path: Path, passes: int, body: Callable[..., None]) -> tuple[
        int, float]:
    n = 0
    t0 = time.process_time()
    for _ in range(passes):
        with CaptureReader(path) as reader:
            insp = _inspector(reader)
            for ev in reader:
                body(insp, ev)
                n += 1
    return n, time.process_time() - t0


def measure(label: str, paths: list[Path], passes: int,
            rs: RuleSet) -> dict[str, tuple[int, float, int]]:
    rules_for = rs.rules_for
    counter = {"evals": 0, "hits": 0}

    def read_only(insp: Inspector, ev: Any) -> None:
        pass

    def decode_all(insp: Inspector, ev: Any) -> None:
        for i in range(ev.nparams):
            ev.param(i)

    def with_state(insp: Inspector, ev: Any) -> None:
        insp.process(ev)

    def with_rules(insp: Inspector, ev: Any) -> None:
        ctx = insp.process(ev)
        for rule in rules_for(ev.name):
            counter["evals"] += 1
            if rule.predicate(ctx):
                counter["hits"] += 1

    results = {}
    for name, body in (("read", read_only), ("read+decode", decode_all),
                       ("read+state", with_state),
                       ("read+state+rules", with_rules)):
        total_n, total_t = 0, 0.0
        for path in paths:
            n, t = replay(path, passes, body)
            total_n += n
            total_t += t
        results[name] = (total_n, total_t, 0)
    print(f"\n{label}: {results['read'][0]:,} events")
    for name, (n, t, _) in results.items():
        print(f"  {name:<18} {n / t:>10,.0f} ev/s  ({t:.2f} s)")
    read_t = results["read"][1]
    decode_t = results["read+decode"][1]
    state_t = results["read+state"][1]
    rules_t = results["read+state+rules"][1]
    added = rules_t - state_t
    print(f"  rules add {added:.2f} s = {added / read_t:.2f}x lazy reading, "
          f"{added / decode_t:.2f}x reading+decoding every parameter, "
          f"{added / state_t:.2f}x read+state; "
          f"{counter['evals']:,} rule evaluations, {counter['hits']:,} "
          f"matches")
    return results


def per_rule(paths: list[Path], passes: int, rs: RuleSet,
             top: int) -> None:
    cost: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    clock = time.process_time_ns
    for path in paths:
        for _ in range(passes):
            with CaptureReader(path) as reader:
                insp = _inspector(reader)
                for ev in reader:
                    ctx = insp.process(ev)
                    for rule in rs.rules_for(ev.name):
                        t0 = clock()
                        rule.predicate(ctx)
                        c = cost[rule.name]
                        c[0] += 1
                        c[1] += clock() - t0
    rows = sorted(cost.items(), key=lambda kv: -kv[1][1])
    print(f"\nper-rule cost (top {top} of {len(rows)} evaluated rules; "
          "timer overhead included):")
    print(f"  {'rule':<58} {'calls':>9} {'mean ns':>8} {'total ms':>9}")
    for name, (calls, ns) in rows[:top]:
        print(f"  {name[:58]:<58} {calls:>9,} {ns / calls:>8,.0f} "
              f"{ns / 1e6:>9.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--passes", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    rs = bench_load(args.repeat)
    captures = sorted((SHARED / "captures").glob("*.scap"))
    if captures:
        measure(f"shared captures x{args.passes}", captures, args.passes, rs)
        per_rule(captures, args.passes, rs, args.top)
    if args.events:
        from replay import synthesize   # bench/replay.py workload
        with tempfile.TemporaryDirectory(prefix="falco-bench-") as tmp:
            path = Path(tmp) / "synthetic.scap"
            synthesize(path, args.events)
            measure(f"synthetic capture (openat/read/write/lseek/close/"
                    f"connect)", [path], 1, rs)
            per_rule([path], 1, rs, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
