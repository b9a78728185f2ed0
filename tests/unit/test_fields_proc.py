# SPDX-License-Identifier: Apache-2.0
"""proc.* and thread.* extraction over a process tree."""
from __future__ import annotations

from support.state_sim import Sim


def _tree() -> Sim:
    """init -> sshd -> bash -> python3 -> sh"""
    sim = Sim()
    sim.init()
    sim.fork(1, 10)
    sim.execve(10, "/usr/sbin/sshd", ["-D"])
    sim.fork(10, 20)
    sim.execve(20, "/bin/bash", ["-l"], env="HOME=/root\0TERM=xterm\0")
    sim.x("setsid", 20, res=20)
    sim.fork(20, 30)
    sim.execve(30, "/usr/bin/python3", ["app.py", "--debug"],
               env="HOME=/root\0")
    sim.fork(30, 40)
    sim.execve(40, "/bin/sh", ["-c", "id"], env="")
    return sim


def test_ancestor_fields() -> None:
    sim = _tree()
    ctx = sim.x("chdir", 40, res=0, path="/")
    assert sim.field(ctx, "proc.name") == "sh"
    assert sim.field(ctx, "proc.pname") == "python3"
    assert sim.field(ctx, "proc.aname[0]") == "sh"
    assert sim.field(ctx, "proc.aname[1]") == "python3"
    assert sim.field(ctx, "proc.aname[2]") == "bash"
    assert sim.field(ctx, "proc.aname[3]") == "sshd"
    assert sim.field(ctx, "proc.aname[4]") == "init"
    assert sim.field(ctx, "proc.aname[5]") is None
    assert sim.field(ctx, "proc.aname") == ("python3", "bash", "sshd", "init")
    assert sim.field(ctx, "proc.apid") == (30, 20, 10, 1)
    assert sim.field(ctx, "proc.apid[2]") == 20
    assert sim.field(ctx, "proc.aexe[3]") == "/usr/sbin/sshd"
    assert sim.field(ctx, "proc.pcmdline") == "python3 app.py --debug"
    assert sim.field(ctx, "proc.acmdline[2]") == "bash -l"
    assert sim.field(ctx, "proc.pexe") == "/usr/bin/python3"
    assert sim.field(ctx, "proc.pexepath") == "/usr/bin/python3"
    assert sim.field(ctx, "proc.ppid") == 30
    assert sim.field(ctx, "proc.cmdline") == "sh -c id"
    assert sim.field(ctx, "proc.cmdnargs") == 2
    assert sim.field(ctx, "proc.cmdlenargs") == 4
    assert sim.field(ctx, "proc.args[1]") == "id"


def test_session_and_login_shell() -> None:
    sim = _tree()
    ctx = sim.x("chdir", 40, res=0, path="/")
    assert sim.field(ctx, "proc.sid") == 20
    assert sim.field(ctx, "proc.sname") == "bash"
    assert sim.field(ctx, "proc.sid.exe") == "/bin/bash"
    assert sim.field(ctx, "proc.is_sid_leader") is False
    assert sim.field(ctx, "proc.loginshellid") == 20
    assert sim.field(ctx, "proc.vpgid.name") == "bash"


def test_env_fields() -> None:
    sim = _tree()
    ctx = sim.x("chdir", 40, res=0, path="/")
    assert sim.field(ctx, "proc.env") == ""
    assert sim.field(ctx, "proc.env[HOME]") is None
    assert sim.field(ctx, "proc.aenv[HOME]") == "/root"
    assert sim.field(ctx, "proc.aenv[TERM]") == "xterm"
    assert sim.field(ctx, "proc.aenv[NOPE]") is None


def test_duration_and_thread_fields() -> None:
    sim = _tree()
    start = sim.insp.threads[40].clone_ts
    ctx = sim.x("chdir", 40, res=0, path="/")
    assert sim.field(ctx, "proc.duration") == ctx.evt.ts - start
    assert sim.field(ctx, "proc.pid.ts") == start
    assert sim.field(ctx, "thread.nametid") == "sh40"
    assert sim.field(ctx, "thread.vtid") == 40
    assert sim.field(ctx, "proc.vpid") == 40
    assert sim.field(ctx, "thread.cgroups") == ""
    assert sim.field(ctx, "proc.nthreads") == 1


def test_no_thread_gives_na() -> None:
    from falco.state import EventContext
    sim = _tree()
    ctx = sim.x("chdir", 40, res=0, path="/")
    bare = EventContext(ctx.evt, None, sim.insp)
    for name in ("proc.name", "proc.pname", "proc.aname", "proc.cmdline",
                 "user.name", "container.id", "fd.name", "thread.tid"):
        assert sim.field(bare, name) is None, name
