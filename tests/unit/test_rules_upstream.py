# SPDX-License-Identifier: Apache-2.0
"""Acceptance: Falco's published rules files load with the real field
registry and event table, and ``falco -V`` says so."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from falco.driver.schema import get_schema
from falco.fields import default_registry
from falco.rules import RuleSet, load_rules
from support.external import ROOT, UPSTREAM_RULES as UPSTREAM

STABLE = UPSTREAM / "falco_rules.yaml"
INCUBATING = UPSTREAM / "falco-incubating_rules.yaml"
SANDBOX = UPSTREAM / "falco-sandbox_rules.yaml"
OLD = UPSTREAM / "falco-0.13.0_falco_rules.yaml"
K8S = UPSTREAM / "falco-0.13.0_k8s_audit_rules.yaml"

pytestmark = pytest.mark.usefixtures("shared")


def event_names() -> frozenset[str]:
    """Every evt.type value: event names plus syscall names."""
    schema = get_schema()
    return frozenset(n for n in (*schema.by_name, *schema.sc_names)
                     if n and n != "NA")


def load(*paths: Path) -> RuleSet:
    return load_rules(list(paths), default_registry(),
                      all_evttypes=event_names(), collect_errors=True)


def test_stable_rules_alone() -> None:
    rs = load(STABLE)
    assert [str(e) for e in rs.errors] == []
    assert len(rs.rules) == 25
    assert all(r.evttypes for r in rs.rules)


def test_stable_incubating_sandbox_together() -> None:
    rs = load(STABLE, INCUBATING, SANDBOX)
    assert [str(e) for e in rs.errors] == []
    assert len(rs.rules) == 25 + 31 + 37
    assert sum(1 for r in rs.rules if not r.enabled) >= 12
    assert not [w for w in rs.warnings if w.code == "LOAD_NO_EVTTYPE"]
    spawned = rs.get("Terminal shell in container")
    assert spawned is not None
    assert spawned.evttypes is not None and "execve" in spawned.evttypes


def test_2018_single_file_ruleset() -> None:
    rs = load(OLD)
    assert [str(e) for e in rs.errors] == []
    assert len(rs.rules) == 26


def test_k8s_audit_rules_are_refused() -> None:
    rs = load(K8S)
    assert rs.rules == []
    assert rs.errors and rs.errors[0].code == "LOAD_UNKNOWN_SOURCE"
    assert "unsupported source 'k8s_audit'" in rs.errors[0].message
    assert rs.errors[0].location.line == 25


@pytest.mark.parametrize("files,ok", [
    ([STABLE], True), ([STABLE, INCUBATING, SANDBOX], True), ([OLD], True),
    ([K8S], False)])
def test_falco_validate_command(files: list[Path], ok: bool) -> None:
    args = [sys.executable, "-m", "falco"]
    for f in files:
        args += ["-V", str(f)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert (proc.returncode == 0) is ok, proc.stdout + proc.stderr
    if not ok:
        assert "unsupported source" in proc.stdout + proc.stderr
