# SPDX-License-Identifier: Apache-2.0
"""The default rule for names and command lines holding control
characters: matched on the raw bytes (the alert prints them escaped)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from falco.rules import load_rules
from support.hostile import HOSTILE_NAMES
from support.state_sim import Sim

RULES = Path(__file__).resolve().parents[2] / "rules" / "falco_rules.yaml"
RULE = "Control characters in file name or command line"
HIDING = {"newline_fake_line", "ansi_osc", "cr_crlf", "u2028_nel", "tab_del",
          "bidi_zero_width"}


@pytest.fixture(scope="module")
def rule() -> Any:
    rs = load_rules([str(RULES)], Sim().registry)
    return next(r for r in rs.rules if r.name == RULE)


def _sim() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/usr/bin/app", ["x"])
    return sim


@pytest.mark.parametrize("key", sorted(HOSTILE_NAMES))
def test_opened_names(rule: Any, key: str) -> None:
    name = HOSTILE_NAMES[key].decode("utf-8", "surrogateescape")
    # PPM flags: O_WRONLY|O_CREAT (2|4) creates; O_RDONLY (1) only reads,
    # and the rule leaves plain opens to the prefilter (they stay in C).
    sim = _sim()
    ctx = sim.x("openat", 100, fd=3, dirfd=-100, name=name, flags=2 | 4,
                mode=0o644)
    assert rule.predicate(ctx) is (key in HIDING)
    ctx = sim.x("openat", 100, fd=4, dirfd=-100, name=name, flags=1, mode=0)
    assert not rule.predicate(ctx)


def test_rename_link_mkdir(rule: Any) -> None:
    sim = _sim()
    bad = "/tmp/a\x1b[2Jb"
    assert rule.predicate(sim.x("renameat2", 100, res=0, olddirfd=-100,
                                oldpath="/tmp/x", newdirfd=-100,
                                newpath=bad, flags=0))
    assert rule.predicate(sim.x("symlinkat", 100, res=0, target="/etc/passwd",
                                linkdirfd=-100, linkpath=bad))
    assert rule.predicate(sim.x("mkdirat", 100, res=0, dirfd=-100, path=bad,
                                mode=0o755))
    assert not rule.predicate(sim.x("mkdirat", 100, res=0, dirfd=-100,
                                    path="/tmp/plain", mode=0o755))


def test_arguments(rule: Any) -> None:
    sim = _sim()
    sim.fork(100, 101)
    assert rule.predicate(sim.execve(101, "/usr/bin/echo",
                                     ["echo", "\x1b]0;title\x07"]))
    sim.fork(100, 102)
    assert not rule.predicate(sim.execve(102, "/bin/sh",
                                         ["sh", "-c", "a\n\tb"]))
