# SPDX-License-Identifier: Apache-2.0
"""execve/execveat: process identity replaced, close-on-exec fds dropped."""
from __future__ import annotations

from support.state_sim import Sim

O_CLOEXEC = 1 << 12


def _sim() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100, comm="bash")
    return sim


def test_execve_replaces_identity() -> None:
    sim = _sim()
    ctx = sim.execve(100, "/usr/bin/python3", ["-c", "print(1)"],
                     env="HOME=/root\0PATH=/bin\0", tty=34816,
                     loginuid=1000, cwd="/srv")
    t = ctx.thread
    assert t is not None
    assert t.exe == "/usr/bin/python3" and t.comm == "python3"
    assert t.args == ["-c", "print(1)"]
    assert t.env == ["HOME=/root", "PATH=/bin"]
    assert sim.field(ctx, "proc.cmdline") == "python3 -c print(1)"
    assert sim.field(ctx, "proc.exeline") == "/usr/bin/python3 -c print(1)"
    assert sim.field(ctx, "proc.args") == "-c print(1)"
    assert sim.field(ctx, "proc.env[HOME]") == "/root"
    assert sim.field(ctx, "proc.tty") == 34816
    assert sim.field(ctx, "user.loginuid") == 1000
    assert sim.field(ctx, "proc.cwd") == "/srv/"
    assert sim.field(ctx, "proc.exepath") == "/usr/bin/python3"
    assert sim.field(ctx, "proc.pname") == "init"


def test_failed_execve_changes_nothing() -> None:
    sim = _sim()
    sim.x("execve", 100, res=-2, exe="/nope", args="", tid=100, pid=100,
          ptid=1, comm="nope")
    assert sim.insp.threads[100].comm == "bash"


def test_cloexec_fds_are_closed_at_exec() -> None:
    sim = _sim()
    sim.x("openat", 100, fd=3, dirfd=-100, name="/a", flags=1 | O_CLOEXEC,
          mode=0)
    sim.x("openat", 100, fd=4, dirfd=-100, name="/b", flags=1, mode=0)
    sim.x("socket", 100, fd=5, domain=2, type=1 | 0o2000000, proto=0)
    sim.x("pipe2", 100, res=0, fd1=6, fd2=7, ino=9, flags=O_CLOEXEC)
    sim.x("dup3", 100, res=8, oldfd=4, newfd=8, flags=O_CLOEXEC)
    sim.x("fcntl", 100, res=9, fd=4, cmd=26, arg=0)
    sim.execve(100, "/bin/true", [])
    assert sorted(sim.insp.threads[100].fds) == [4]


def test_exepath_falls_back_to_filename_relative_to_cwd() -> None:
    sim = _sim()
    sim.x("chdir", 100, res=0, path="/opt/app")
    ctx = sim.execve(100, "./run", [], exepath="", filename="./bin/../run")
    assert sim.field(ctx, "proc.exepath") == "/opt/app/run"
    assert sim.field(ctx, "proc.exe") == "./run"


def test_execve_flags_and_caps() -> None:
    sim = _sim()
    ctx = sim.execve(100, "/tmp/x", [], flags=1 | 4,
                     cap_permitted=(1 << 21) | 1, cap_effective=1 << 21)
    assert sim.field(ctx, "proc.is_exe_writable") is True
    assert sim.field(ctx, "proc.is_exe_from_memfd") is True
    assert sim.field(ctx, "proc.is_exe_upper_layer") is False
    assert sim.field(ctx, "thread.cap_permitted") == "CAP_CHOWN CAP_SYS_ADMIN"
    assert sim.field(ctx, "thread.cap_effective") == "CAP_SYS_ADMIN"


def test_execve_moves_process_into_container() -> None:
    sim = _sim()
    cid = "3f1b2c4d5e6f" + "0" * 52
    ctx = sim.execve(100, "/bin/sh", [], cgroups=f"cpu=/docker/{cid}\0")
    assert sim.field(ctx, "container.id") == cid[:12]
    assert sim.field(ctx, "container.full_id") == cid
    assert sim.field(ctx, "container.type") == "docker"
    ctx2 = sim.x("chdir", 1, res=0, path="/")
    assert sim.field(ctx2, "container.id") == "host"
    assert sim.field(ctx2, "container.name") == "host"


# -- empty is not absent ---------------------------------------------------

def test_exec_without_arguments_drops_the_old_image_arguments() -> None:
    """sh -c id: the id process has no arguments, not sh's."""
    sim = _sim()
    sim.execve(100, "sh", ["-c", "id"])
    ctx = sim.execve(100, "id", [])
    assert ctx.evt.param_raw("args") == b""
    t = ctx.thread
    assert t is not None and t.args == []
    assert sim.field(ctx, "proc.cmdline") == "id"
    assert sim.field(ctx, "proc.args") == ""
    assert sim.field(ctx, "proc.cmdnargs") == 0


def test_one_empty_argument_is_an_argument() -> None:
    sim = _sim()
    ctx = sim.x("execve", 100, res=0, exe="prog", args=[""], tid=100,
                pid=100, ptid=1, comm="prog")
    assert ctx.thread is not None and ctx.thread.args == [""]
    assert sim.field(ctx, "proc.cmdnargs") == 1


def test_empty_environment_replaces_the_old_one() -> None:
    sim = _sim()
    sim.execve(100, "/bin/sh", [], env="HOME=/root\0")
    ctx = sim.execve(100, "/usr/bin/env", [], env="")
    assert ctx.thread is not None and ctx.thread.env == []
    assert sim.field(ctx, "proc.env") == ""


def test_old_execve_without_env_keeps_it() -> None:
    """An event version that does not carry env says nothing about it."""
    sim = _sim()
    sim.execve(100, "/bin/sh", [], env="HOME=/root\0")
    ctx = sim.ev("execve", "<", 100, code=13, res=0, exe="/bin/ls",
                 args="-l\0", tid=100, pid=100, ptid=1, cwd="/")
    t = ctx.thread
    assert t is not None and t.env == ["HOME=/root"] and t.args == ["-l"]


def test_unreadable_argument_area() -> None:
    """No exe (the driver could not copy argv): an exec drops the old
    command line, a clone keeps what the child inherited."""
    sim = _sim()
    sim.execve(100, "/bin/sh", ["-c", "x"])
    sim.x("clone", 100, res=101, exe=None, args="", tid=100, pid=100,
          ptid=1, comm="sh")
    ctx = sim.x("clone", 101, res=0, exe=None, args="", tid=101, pid=101,
                ptid=100, comm="sh")
    assert ctx.thread is not None
    assert (ctx.thread.exe, ctx.thread.args) == ("/bin/sh", ["-c", "x"])
    ctx = sim.x("execve", 101, res=0, exe=None, args="", tid=101, pid=101,
                ptid=100, comm="true")
    assert ctx.thread is not None
    assert (ctx.thread.exe, ctx.thread.args) == ("", [])
    assert sim.field(ctx, "proc.cmdline") == "true"


def test_empty_cgroups_leave_the_container() -> None:
    sim = _sim()
    cid = "3f1b2c4d5e6f" + "0" * 52
    ctx = sim.execve(100, "/bin/sh", [], cgroups=f"cpu=/docker/{cid}\0")
    assert sim.field(ctx, "container.id") == cid[:12]
    ctx = sim.execve(100, "/bin/sh", [], cgroups="")
    assert ctx.thread is not None and ctx.thread.cgroups == []
    assert sim.field(ctx, "container.id") == "host"


def test_empty_comm_from_prctl_and_clone() -> None:
    sim = _sim()
    ctx = sim.x("prctl", 100, res=0, option=15, arg2_str="", arg2_int=0)
    assert ctx.thread is not None and ctx.thread.comm == ""
    assert sim.field(ctx, "proc.name") == ""
    ctx = sim.fork(100, 102, comm="")
    assert ctx.thread is not None and ctx.thread.comm == ""
