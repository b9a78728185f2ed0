# SPDX-License-Identifier: Apache-2.0
"""procexit: removal after the event, reparenting to the reaper."""
from __future__ import annotations

from support.state_sim import CL_CLONE_THREAD, Sim


def _tree() -> Sim:
    """init(1) -> bash(100) -> python(200) -> sleep(300)."""
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/bin/bash", [])
    sim.fork(100, 200)
    sim.execve(200, "/usr/bin/python3", ["t.py"])
    sim.fork(200, 300)
    sim.execve(300, "/bin/sleep", ["10"])
    return sim


def test_exited_thread_survives_its_procexit_then_goes() -> None:
    sim = _tree()
    ctx = sim.e("procexit", 300, status=0, ret=0, sig=0, core=0,
                reaper_tid=1)
    assert sim.field(ctx, "proc.name") == "sleep"
    assert 300 in sim.insp.threads
    sim.x("chdir", 1, res=0, path="/")
    assert 300 not in sim.insp.threads
    assert 300 not in (sim.insp.threads[200].children or set())


def test_children_are_reparented_to_reaper_tid() -> None:
    sim = _tree()
    sim.e("procexit", 200, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    ctx = sim.x("chdir", 300, res=0, path="/")
    assert 200 not in sim.insp.threads
    assert sim.insp.threads[300].ptid == 1
    assert sim.field(ctx, "proc.pname") == "init"
    assert sim.field(ctx, "proc.ppid") == 1
    assert 300 in (sim.insp.threads[1].children or set())


def test_reparent_without_reaper_goes_to_init() -> None:
    sim = _tree()
    sim.e("procexit", 200, status=0, ret=0, sig=0, core=0, reaper_tid=0)
    ctx = sim.x("chdir", 300, res=0, path="/")
    assert sim.field(ctx, "proc.pname") == "init"


def test_subreaper_inherits() -> None:
    sim = _tree()
    sim.e("procexit", 200, status=0, ret=0, sig=0, core=0, reaper_tid=100)
    ctx = sim.x("chdir", 300, res=0, path="/")
    assert sim.field(ctx, "proc.pname") == "bash"
    assert sim.field(ctx, "proc.aname[2]") == "init"


def test_main_thread_kept_while_threads_live() -> None:
    sim = _tree()
    sim.fork(200, 201, flags=CL_CLONE_THREAD)
    sim.e("procexit", 200, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    ctx = sim.x("openat", 201, fd=3, dirfd=-100, name="/x", flags=1, mode=0)
    assert 200 in sim.insp.threads and sim.insp.threads[200].dead
    assert sim.field(ctx, "proc.name") == "python3"
    assert sim.field(ctx, "proc.cmdline") == "python3 t.py"
    sim.e("procexit", 201, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    sim.x("chdir", 1, res=0, path="/")
    assert 201 not in sim.insp.threads and 200 not in sim.insp.threads


def test_enter_events_of_removed_threads_are_forgotten() -> None:
    sim = _tree()
    sim.e("close", 300, fd=1)
    sim.e("procexit", 300, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    sim.x("chdir", 1, res=0, path="/")
    assert 300 not in sim.insp._enter
