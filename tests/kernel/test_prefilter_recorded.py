# SPDX-License-Identifier: Apache-2.0
"""Captures recorded in the VM while the e2e actions and the benign
workload run (tests/kernel/actions) replay to the same alerts with the
prefilter and state on demand on and off, for our default rules and for
Falco's stable + incubating + sandbox rules.

The recording reads the rings in raw batches (no Event objects) and
writes every event the prefilter-off replay reads; the actions run are
the benign workload and one action per rule family (FALCO_PF_ACTIONS=all
for every one)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest

from falco.app.backend import event_names, live_inspector, state_events
from falco.app.recording import fd_entries, proc_entries
from falco.driver.ring import RingReader
from falco.events.scap_writer import ScapWriter
from falco.fields import default_registry
from falco.rules import load_rules
from test_e2e_rules import ALL_ACTIONS, prepare_vm, run_action

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
SHARED = next((d / "shared" for d in ROOT.parents
               if (d / "shared" / "upstream-rules").is_dir()),
              ROOT.parent / "shared")
DEFAULT = [ROOT / "rules" / "falco_rules.yaml",
           ROOT / "rules" / "application_rules.yaml"]
UPSTREAM = [SHARED / "upstream-rules" / n for n in (
    "falco_rules.yaml", "falco-incubating_rules.yaml",
    "falco-sandbox_rules.yaml")]


def legacy_names(rules: list[Path]) -> set[str] | None:
    """What falco reads with the prefilter off: the rules' event types
    and every event the state may use."""
    ruleset = load_rules([str(p) for p in rules], default_registry(),
                         all_evttypes=event_names())
    types = ruleset.evttypes()
    return None if types is None else set(types) | state_events()


# The application servers' actions are alike: MySQL's stand for all.
LIKE_MYSQL = ("couchdb_", "elasticsearch_", "fluentd_", "mongodb_",
              "postgresql_", "redis_")


def chosen_actions() -> list:
    if os.environ.get("FALCO_PF_ACTIONS") == "all":
        return list(ALL_ACTIONS)
    return [a for a in ALL_ACTIONS if not a.name.startswith(LIKE_MYSQL)]


def record(path: Path, names: set[str] | None) -> int:
    """Run the actions while the rings' events of ``names`` are written
    to ``path``; returns the number of events recorded."""
    inspector = live_inspector()
    reader = RingReader()
    reader.set_interesting(names)
    stop = threading.Event()
    count = [0]
    with ScapWriter(path, procs=proc_entries(inspector),
                    fds=fd_entries(inspector)) as writer:
        def take(block: bool) -> int:
            batch = reader.next_batch(block=block)
            data = batch.data
            for _seq, _ts, _tid, cpu, _code, off, ln, _np in batch.recs:
                writer.write_raw(cpu, data[off:off + ln])
            count[0] += len(batch.recs)
            return len(batch.recs)

        def drain() -> None:
            while not stop.is_set():
                take(True)
        t = threading.Thread(target=drain)
        t.start()
        try:
            for action in chosen_actions():
                run_action(action)
        finally:
            stop.set()
            t.join()
            while take(False):
                pass
            reader.close()
    return count[0]


def alerts(capture: Path, rules: list[Path], *overrides: str) -> list[tuple]:
    args = [sys.executable, "-m", "falco", "-e", str(capture), "-o",
            "json_output=true", "-o", "log_level=error", "-o",
            "rule_matching=all"]
    for r in rules:
        args += ["-r", str(r)]
    for o in overrides:
        args += ["-o", o]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    docs = [json.loads(line) for line in proc.stdout.splitlines()
            if line.startswith("{")]
    return [(d["rule"], d["priority"], d["output"], d["output_fields"])
            for d in docs]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("recorded")
    rules = DEFAULT + [p for p in UPSTREAM if p.exists()]
    names = legacy_names(rules)
    cap = workdir / "actions.scap"
    with ExitStack() as stack:
        prepare_vm(stack, workdir)
        n = record(cap, names)
    assert n > 1000, n
    return cap


@pytest.mark.parametrize("which", ["default", "upstream"])
def test_recorded_capture_same_alerts(recorded: Path, which: str) -> None:
    rules = DEFAULT if which == "default" else UPSTREAM
    if not all(p.exists() for p in rules):
        pytest.skip("../shared/upstream-rules missing")
    on = alerts(recorded, rules)
    off = alerts(recorded, rules, "prefilter.enabled=false")
    assert on == off, next(((i, a, b) for i, (a, b) in
                            enumerate(zip(on, off)) if a != b),
                           (len(on), len(off)))
    if which == "default":
        assert len(on) >= 20, len(on)       # the actions raised alerts
