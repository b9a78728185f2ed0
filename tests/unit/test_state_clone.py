# SPDX-License-Identifier: Apache-2.0
"""clone/fork/vfork: child creation from either side, threads vs processes,
fd and cwd inheritance."""
from __future__ import annotations

from support.state_sim import CL_CLONE_FILES, CL_CLONE_THREAD, Sim


def _shell() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100, comm="bash")
    sim.execve(100, "/bin/bash", ["-i"])
    sim.x("openat", 100, fd=3, dirfd=-100, name="/etc/hosts", flags=1,
          mode=0)
    sim.x("chdir", 100, res=0, path="/home")
    return sim


def test_parent_side_creates_child_with_parent_data() -> None:
    sim = _shell()
    ctx = sim.x("clone", 100, res=200, exe="/bin/bash", args="-i\0",
                tid=100, pid=100, ptid=1, comm="bash", flags=0, uid=0,
                gid=0, vtid=100, vpid=100)
    child = sim.insp.threads[200]
    assert (child.tid, child.pid, child.ptid) == (200, 200, 100)
    assert child.comm == "bash" and child.args == ["-i"]
    assert child.cwd == "/home/"
    assert child.fds[3].name == "/etc/hosts"
    # The fd table is a copy: closing in the child leaves the parent's.
    assert child.fds is not sim.insp.threads[100].fds
    assert ctx.thread is sim.insp.threads[100]


def test_child_side_first_then_parent_side() -> None:
    sim = _shell()
    ctx = sim.fork(100, 201, child_first=True)
    assert ctx.thread is sim.insp.threads[201]
    assert sim.field(ctx, "proc.pname") == "bash"
    assert sim.insp.threads[201].fds[3].name == "/etc/hosts"
    assert sim.insp.stats.threads_added == 3  # init, bash, child once


def test_close_in_child_does_not_touch_parent() -> None:
    sim = _shell()
    sim.fork(100, 202)
    sim.x("close", 202, res=0, fd=3)
    assert 3 not in sim.insp.threads[202].fds
    assert 3 in sim.insp.threads[100].fds


def test_thread_shares_fds_and_cwd_with_process() -> None:
    sim = _shell()
    ctx = sim.fork(100, 101, flags=CL_CLONE_THREAD)
    t = sim.insp.threads[101]
    assert t.pid == 100 and not t.is_main
    assert t.fds is sim.insp.threads[100].fds
    assert sim.field(ctx, "thread.ismain") is False
    assert sim.field(ctx, "proc.pid") == 100
    assert sim.field(ctx, "thread.tid") == 101
    sim.x("openat", 101, fd=4, dirfd=-100, name="x", flags=1, mode=0)
    assert sim.insp.threads[100].fds[4].name == "/home/x"
    sim.x("chdir", 101, res=0, path="/var")
    c = sim.x("openat", 100, fd=5, dirfd=-100, name="y", flags=1, mode=0)
    assert sim.field(c, "fd.name") == "/var/y"
    assert sim.insp.threads[100].nthreads == 2


def test_clone_files_shares_table() -> None:
    sim = _shell()
    sim.fork(100, 300, flags=CL_CLONE_FILES)
    assert sim.insp.threads[300].fds is sim.insp.threads[100].fds


def test_failed_clone_creates_nothing() -> None:
    sim = _shell()
    sim.x("clone", 100, res=-11, exe="/bin/bash", args="", tid=100,
          pid=100, ptid=1, comm="bash", flags=0, uid=0, gid=0)
    assert set(sim.insp.threads) == {1, 100}


def test_child_of_unknown_parent_is_created_from_event() -> None:
    sim = Sim()
    sim.init()
    ctx = sim.x("clone", 555, res=0, exe="/usr/bin/python3",
                args="x.py\0", tid=555, pid=555, ptid=444, comm="python3",
                flags=0, uid=1000, gid=1000, vtid=1, vpid=1)
    t = ctx.thread
    assert t is not None and t.comm == "python3" and t.uid == 1000
    assert (t.vtid, t.vpid) == (1, 1)
    assert sim.field(ctx, "proc.cmdline") == "python3 x.py"
    assert sim.field(ctx, "proc.pname") is None


def test_vfork_and_fork_names_are_handled() -> None:
    sim = _shell()
    sim.x("vfork", 100, res=400, exe="/bin/bash", args="", tid=100,
          pid=100, ptid=1, comm="bash", flags=0, uid=0, gid=0)
    sim.x("fork", 100, res=401, exe="/bin/bash", args="", tid=100,
          pid=100, ptid=1, comm="bash", flags=0, uid=0, gid=0)
    assert sim.insp.threads[400].ptid == 100
    assert sim.insp.threads[401].ptid == 100


def test_reused_tid_replaces_stale_entry() -> None:
    """A tid whose procexit was lost is reused: the new process wins."""
    sim = _shell()
    sim.fork(100, 500)
    sim.execve(500, "/usr/bin/old", [])
    sim.x("openat", 500, fd=7, dirfd=-100, name="/stale", flags=1, mode=0)
    sim.fork(1, 600)
    sim.execve(600, "/usr/bin/launcher", [])
    ctx = sim.fork(600, 500, comm="launcher")
    t = sim.insp.threads[500]
    assert t.ptid == 600 and t.comm == "launcher"
    assert 7 not in t.fds
    assert sim.field(ctx, "proc.pname") == "launcher"
    assert 500 not in (sim.insp.threads[100].children or set())
