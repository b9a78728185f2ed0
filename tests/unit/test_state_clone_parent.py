# SPDX-License-Identifier: Apache-2.0
"""clone(CLONE_PARENT): the child's parent is its caller's parent. runc
starts a container's init this way (runc:[1:CHILD] -> runc:[2:INIT], pid 1
of the new PID namespace), so whichever side's exit event comes first, the
child keeps what its own event says (vpid 1, its namespace's start)."""
from __future__ import annotations

import pytest

from falco.state.entries import CL_CLONE_PARENT

from support.state_sim import Sim

BOOT = 1_690_000_000 * 10**9


@pytest.mark.parametrize("child_first", [True, False])
def test_clone_parent_child_keeps_its_namespace(child_first: bool) -> None:
    sim = Sim(boot_ts_epoch=BOOT)
    sim.init()
    sim.fork(1, 100, comm="runc")          # runc:[0:PARENT]
    sim.fork(100, 200, comm="runc")        # runc:[1:CHILD], unshares its PID ns
    common = dict(exe="/usr/bin/runc", args="init", comm="runc:[2:INIT]",
                  flags=CL_CLONE_PARENT, uid=0, gid=0,
                  cgroups="cpu=/default/ctr1\0")
    caller = dict(res=300, tid=200, pid=200, ptid=100, vtid=200, vpid=200, **common)
    child = dict(res=0, tid=300, pid=300, ptid=100, vtid=1, vpid=1,
                 pidns_init_start_ts=5 * 10**9, **common)
    if child_first:
        sim.x("clone", 300, **child)
        sim.x("clone", 200, **caller)
    else:
        sim.x("clone", 200, **caller)
        sim.x("clone", 300, **child)
    t = sim.insp.threads[300]
    assert (t.ptid, t.vtid, t.vpid) == (100, 1, 1)
    assert t.pidns_init_start_ts == BOOT + 5 * 10**9
    ctx = sim.execve(300, "/bin/sh", ["sh"], cgroups="cpu=/default/ctr1\0")
    assert sim.field(ctx, "proc.vpid") == 1
    assert sim.field(ctx, "proc.ppid") == 100
