# SPDX-License-Identifier: Apache-2.0
"""State on demand and the prefilter change no alert: ``falco -e`` gives
the same alerts (rule, priority, output text, output fields, in order)
with ``prefilter.enabled`` true and false, for our default rules and for
Falco's stable + incubating + sandbox rules, on the shared captures, on
the capture bench/replay.py synthesizes, and on random coherent captures
(processes forking, execing, opening, closing, dup'ing fds and using
sockets). The VM test records captures of the e2e actions and the benign
workload and runs the same comparison on them
(tests/kernel/test_prefilter_recorded.py)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.synth_capture import synthesize

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DEFAULT = [ROOT / "rules" / "falco_rules.yaml",
           ROOT / "rules" / "application_rules.yaml",
           ROOT / "rules" / "falco_rules.local.yaml"]
UPSTREAM = [SHARED / "upstream-rules" / n for n in (
    "falco_rules.yaml", "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml")]
RULESETS = {"default": DEFAULT, "upstream": UPSTREAM}


def alerts(capture: Path, rules: list[Path], *overrides: str) -> list[dict]:
    args = [sys.executable, "-m", "falco", "-e", str(capture),
            "-o", "json_output=true", "-o", "log_level=error",
            "-o", "rule_matching=all", "-o", "json_include_tags_property=true"]
    for r in rules:
        args += ["-r", str(r)]
    for o in overrides:
        args += ["-o", o]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()
            if line.startswith("{")]


def same_alerts(capture: Path, rules: list[Path]) -> int:
    on = alerts(capture, rules)
    off = alerts(capture, rules, "prefilter.enabled=false")
    key = [(a["rule"], a["priority"], a["output"], a["output_fields"])
           for a in off]
    got = [(a["rule"], a["priority"], a["output"], a["output_fields"])
           for a in on]
    assert got == key, next(((i, x, y) for i, (x, y) in
                             enumerate(zip(got, key)) if x != y),
                            (len(got), len(key)))
    return len(on)


def ruleset_ok(name: str) -> list[Path]:
    rules = RULESETS[name]
    if not all(p.exists() for p in rules):
        pytest.skip("../shared/upstream-rules missing")
    return rules


@pytest.mark.parametrize("ruleset", sorted(RULESETS))
def test_shared_captures(ruleset: str) -> None:
    rules = ruleset_ok(ruleset)
    caps = sorted((SHARED / "captures").glob("*.scap"))
    if not caps:
        pytest.skip("../shared/captures missing")
    for cap in caps:
        same_alerts(cap, rules)


@pytest.mark.parametrize("ruleset", sorted(RULESETS))
def test_bench_synthesized_capture(ruleset: str, tmp_path: Path) -> None:
    rules = ruleset_ok(ruleset)
    spec = importlib.util.spec_from_file_location(
        "bench_replay", ROOT / "bench" / "replay.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    cap = tmp_path / "bench.scap"
    bench.synthesize(cap, 120_000)
    n = same_alerts(cap, rules)
    assert n >= 1 or ruleset == "upstream"


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ruleset", sorted(RULESETS))
def test_random_coherent_captures(ruleset: str, seed: int,
                                  tmp_path: Path) -> None:
    rules = ruleset_ok(ruleset)
    cap = synthesize(tmp_path / f"fuzz{seed}.scap", seed)
    n = same_alerts(cap, rules)
    assert n > 0          # the comparison compared something
