# SPDX-License-Identifier: Apache-2.0
"""Memory bounds: thread and fd table limits, idle purge, freeing."""
from __future__ import annotations

import pytest

from falco.state import Inspector

from support.state_sim import Sim

NS = 1_000_000_000


def test_thread_table_limit_drops_new_threads() -> None:
    sim = Sim(max_threads=5)
    sim.init()
    for tid in range(100, 110):
        sim.fork(1, tid)
    assert len(sim.insp.threads) == 5
    assert sim.insp.stats.threads_dropped > 0
    # A dropped thread still gets a context (not stored).
    ctx = sim.x("chdir", 109, res=0, path="/")
    assert ctx.thread is not None


def test_fd_table_limit() -> None:
    sim = Sim(max_fds=8)
    sim.init()
    sim.fork(1, 100)
    for fd in range(20):
        sim.x("openat", 100, fd=fd, dirfd=-100, name=f"/f{fd}", flags=1,
              mode=0)
    fds = sim.insp.threads[100].fds
    assert len(fds) == 8 and sim.insp.stats.fds_dropped == 12
    sim.x("openat", 100, fd=3, dirfd=-100, name="/again", flags=1, mode=0)
    assert fds[3].name == "/again"


def test_idle_dead_threads_purged_and_live_ones_kept_in_capture_mode() -> None:
    sim = Sim(purge_interval_ns=10 * NS, thread_timeout_ns=5 * NS)
    sim.init()
    sim.fork(1, 100)
    sim.insp.threads[100].dead = True      # e.g. missed procexit removal
    sim.fork(1, 200)
    sim.ts += 20 * NS
    sim.x("chdir", 1, res=0, path="/")
    sim.ts += 20 * NS
    sim.x("chdir", 1, res=0, path="/")
    assert 100 not in sim.insp.threads
    assert 200 in sim.insp.threads           # idle but maybe alive
    assert sim.insp.stats.purged >= 1


def test_live_mode_purges_idle_threads_gone_from_proc(tmp_path: object) -> None:
    sim = Sim(purge_interval_ns=10 * NS, thread_timeout_ns=5 * NS,
              proc_lookups=True, host_root=str(tmp_path))
    sim.init()
    sim.fork(1, 100)
    sim.ts += 30 * NS
    sim.x("chdir", 1, res=0, path="/")
    sim.ts += 30 * NS
    sim.x("chdir", 1, res=0, path="/")
    assert 100 not in sim.insp.threads


def test_churn_frees_everything() -> None:
    sim = Sim()
    sim.init()
    for i in range(200):
        tid = 1000 + i
        sim.fork(1, tid)
        sim.execve(tid, "/bin/true", [])
        sim.x("openat", tid, fd=3, dirfd=-100, name="/etc/hosts", flags=1,
              mode=0)
        sim.e("procexit", tid, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    sim.x("chdir", 1, res=0, path="/")
    assert set(sim.insp.threads) == {1}
    assert not sim.insp._enter and not sim.insp.threads[1].children


def test_containers_without_threads_are_forgotten() -> None:
    sim = Sim(purge_interval_ns=10 * NS, thread_timeout_ns=5 * NS)
    sim.insp.containers.exit_grace_s = 15
    sim.init()
    cid = "ab" * 32
    sim.fork(1, 100, cgroups=f"cpu=/docker/{cid}\0")
    assert sim.insp.containers.get(cid[:12]) is not None
    sim.e("procexit", 100, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    sim.ts += 20 * NS
    sim.x("chdir", 1, res=0, path="/")
    sim.ts += 10 * NS
    sim.x("chdir", 1, res=0, path="/")
    assert sim.insp.containers.get(cid[:12]) is not None   # grace: 15 s
    sim.ts += 10 * NS
    sim.x("chdir", 1, res=0, path="/")
    assert sim.insp.containers.get(cid[:12]) is None
    assert len(sim.insp.containers) == 0


def test_containers_leave_a_grace_after_their_last_thread() -> None:
    """Not a thread-table purge later (300 s by default): swept every half
    grace, a container leaves between 1 and 1.5 grace after its last
    thread's exit."""
    sim = Sim()
    sim.insp.containers.exit_grace_s = 10
    sim.init()
    cid = "cd" * 32
    sim.fork(1, 100, cgroups=f"cpu=/docker/{cid}\0")
    sim.e("procexit", 100, status=0, ret=0, sig=0, core=0, reaper_tid=1)
    gone_at = None
    for second in range(1, 40):
        sim.ts += NS
        sim.x("chdir", 1, res=0, path="/")
        if sim.insp.containers.get(cid[:12]) is None:
            gone_at = second
            break
    assert gone_at is not None and 10 <= gone_at <= 16, gone_at
    assert sim.insp.containers.stats.removed_exit == 1
    assert sim.insp.stats.purged == 0      # no thread-table purge ran


def test_full_table_is_not_rescanned_for_every_new_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Sim(max_threads=50)
    sim.init()
    for tid in range(100, 160):
        sim.fork(1, tid)
    scans: list[int] = []
    original = Inspector.purge

    def counting(self: Inspector, now: int, force: bool = False) -> int:
        scans.append(now)
        return original(self, now, force)
    monkeypatch.setattr(Inspector, "purge", counting)
    for tid in range(200, 300):       # 200 clone events, 100 µs of time
        sim.fork(1, tid)
    assert len(sim.insp.threads) == 50
    assert len(scans) <= 1


def test_sim_bootstraps_init_and_reads_fields() -> None:
    sim = Sim()
    sim.init()
    ctx = sim.x("chdir", 1, res=0, path="/tmp")
    assert sim.field(ctx, "proc.name") == "init"
    assert sim.field(ctx, "proc.cwd") == "/tmp/"
    assert sim.field(ctx, "evt.type") == "chdir"
