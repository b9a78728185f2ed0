# SPDX-License-Identifier: Apache-2.0
"""fs.path.*: path arguments of filesystem calls, with or without fds."""
from __future__ import annotations

from support.state_sim import Sim


def _sim() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/bin/mv", [])
    sim.x("chdir", 100, res=0, path="/home/u")
    return sim


def test_name_resolved_and_raw() -> None:
    sim = _sim()
    ctx = sim.x("unlinkat", 100, res=0, dirfd=-100, name="../v/.bash_history",
                flags=0)
    assert sim.field(ctx, "fs.path.name") == "/home/v/.bash_history"
    assert sim.field(ctx, "fs.path.nameraw") == "../v/.bash_history"
    m = sim.x("mkdir", 100, res=0, path="new", mode=0o755)
    assert sim.field(m, "fs.path.name") == "/home/u/new"
    o = sim.x("openat", 100, fd=3, dirfd=-100, name="f.txt", flags=1, mode=0)
    assert sim.field(o, "fs.path.name") == "/home/u/f.txt"


def test_source_and_target() -> None:
    sim = _sim()
    r = sim.x("renameat2", 100, res=0, olddirfd=-100, oldpath="a",
              newdirfd=-100, newpath="/tmp/b", flags=0)
    assert sim.field(r, "fs.path.source") == "/home/u/a"
    assert sim.field(r, "fs.path.target") == "/tmp/b"
    assert sim.field(r, "fs.path.sourceraw") == "a"
    assert sim.field(r, "fs.path.name") is None
    s = sim.x("symlinkat", 100, res=0, target="/etc/passwd", linkdirfd=-100,
              linkpath="pw")
    assert sim.field(s, "fs.path.source") == "/home/u/pw"
    assert sim.field(s, "fs.path.target") == "/etc/passwd"


def test_failed_calls_have_no_paths() -> None:
    sim = _sim()
    ctx = sim.x("unlinkat", 100, res=-2, dirfd=-100, name="x", flags=0)
    assert sim.field(ctx, "fs.path.name") is None
    o = sim.x("openat", 100, fd=-13, dirfd=-100, name="y", flags=1, mode=0)
    assert sim.field(o, "fs.path.name") is None
