# SPDX-License-Identifier: Apache-2.0
"""Falco's own rules evaluated on state-engine contexts: the field
semantics (<NA>, container ids, ancestors, fd names) decide the verdicts."""
from __future__ import annotations

from pathlib import Path

import pytest

from falco.rules import load_rules
from support.external import UPSTREAM_RULES
from support.state_sim import Sim

RULES = UPSTREAM_RULES / "falco_rules.yaml"
H = "9a8b7c6d5e4f" + "0" * 52


@pytest.fixture(scope="module")
def ruleset(shared: Path):  # type: ignore[no-untyped-def]
    return load_rules([str(RULES)], Sim().registry)


def _matches(rs, ctx) -> set[str]:  # type: ignore[no-untyped-def]
    return {r.name for r in rs.match(ctx, ctx.evt.name, "all")}


def _host() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/usr/bin/python3", ["steal.py"])
    return sim


def test_untrusted_read_of_shadow(ruleset) -> None:  # type: ignore[no-untyped-def]
    sim = _host()
    sim.x("chdir", 100, res=0, path="/etc")
    ctx = sim.x("openat", 100, fd=3, dirfd=-100, name="./shadow", flags=1,
                mode=0)
    assert "Read sensitive file untrusted" in _matches(ruleset, ctx)
    other = sim.x("openat", 100, fd=4, dirfd=-100, name="hostname", flags=1,
                  mode=0)
    assert "Read sensitive file untrusted" not in _matches(ruleset, other)


def test_unknown_process_name_is_na(ruleset) -> None:  # type: ignore[no-untyped-def]
    """proc_name_exists excludes threads known only by tid ("<NA>")."""
    sim = Sim()
    sim.init()
    ctx = sim.x("openat", 4242, fd=3, dirfd=-100, name="/etc/shadow",
                flags=1, mode=0)
    assert sim.field(ctx, "proc.name") == "<NA>"
    assert "Read sensitive file untrusted" not in _matches(ruleset, ctx)


def test_terminal_shell_in_container(ruleset) -> None:  # type: ignore[no-untyped-def]
    sim = Sim()
    sim.init()
    sim.fork(1, 200)
    sim.execve(200, "/usr/bin/containerd-shim", [], comm="containerd-shim")
    sim.fork(200, 300)
    ctx = sim.execve(300, "/bin/bash", [], tty=34816,
                     cgroups=f"cpu=/docker/{H}\0")
    assert sim.field(ctx, "container.id") == H[:12]
    assert "Terminal shell in container" in _matches(ruleset, ctx)
    sim.fork(1, 400)
    host = sim.execve(400, "/bin/bash", [], tty=34816)
    assert "Terminal shell in container" not in _matches(ruleset, host)


def test_symlink_over_sensitive_file(ruleset) -> None:  # type: ignore[no-untyped-def]
    sim = _host()
    ctx = sim.x("symlinkat", 100, res=0, target="/etc/shadow",
                linkdirfd=-100, linkpath="/tmp/s")
    assert "Create Symlink Over Sensitive Files" in _matches(ruleset, ctx)
