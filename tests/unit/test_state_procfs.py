# SPDX-License-Identifier: Apache-2.0
"""Bootstrap from /proc (a fake host root and the real one) and on-demand
lookups of unknown threads within a budget."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from falco.state import Inspector
from falco.state.procfs import ProcReader, linux_to_ppm_open_flags

from support.state_sim import Sim

H = "ab" * 32


def _fake_proc(root: Path, pid: int, ppid: int, comm: str, argv: list[str],
               cwd: str, cgroup: str = "0::/user.slice\n",
               tids: tuple[int, ...] = ()) -> None:
    base = root / "proc" / str(pid)
    for tid in (pid, *tids):
        t = base / "task" / str(tid)
        t.mkdir(parents=True)
        (t / "status").write_text(
            f"Name:\t{comm}\nTgid:\t{pid}\nPid:\t{tid}\nPPid:\t{ppid}\n"
            "Uid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\n"
            f"NStgid:\t{pid}\t7\nNSpid:\t{tid}\t7\nCapPrm:\t0000000000200000\n"
            "VmSize:\t 1000 kB\nVmRSS:\t 200 kB\n")
        (t / "stat").write_text(
            f"{tid} ({comm}) S {ppid} {pid} {pid} 34816 0 0 0 0 0 0 0 0 0 "
            "0 20 0 1 0 500 0 0\n")
        (t / "comm").write_text(comm + "\n")
        (t / "loginuid").write_text("1000")
        (t / "cgroup").write_text(cgroup)
    (base / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv)
                                   + b"\0")
    (base / "environ").write_bytes(b"HOME=/home/u\0LANG=C\0")
    os.symlink(cwd, base / "cwd")
    os.symlink("/usr/bin/" + comm, base / "exe")
    (base / "fd").mkdir()
    (base / "fdinfo").mkdir()


def test_bootstrap_from_fake_host_root(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "stat").write_text("btime 1700000000\n")
    _fake_proc(tmp_path, 1, 0, "init", ["/sbin/init"], "/")
    _fake_proc(tmp_path, 50, 1, "bash", ["-bash"], "/home/u",
               cgroup=f"12:cpu,cpuacct:/docker/{H}\n", tids=(51,))
    target = tmp_path / "data.txt"
    target.write_text("x")
    os.symlink(str(target), tmp_path / "proc" / "50" / "fd" / "3")
    (tmp_path / "proc" / "50" / "fdinfo" / "3").write_text(
        "pos:\t0\nflags:\t02100002\n")
    os.symlink("pipe:[4242]", tmp_path / "proc" / "50" / "fd" / "4")
    os.symlink("anon_inode:[eventpoll]", tmp_path / "proc" / "50" / "fd" / "5")
    insp = Inspector(host_root=str(tmp_path))
    assert insp.bootstrap_proc() == 3
    t = insp.threads[50]
    assert (t.comm, t.exe, t.args, t.cwd) == ("bash", "-bash", [], "/home/u/")
    assert (t.uid, t.gid, t.loginuid, t.tty) == (1000, 100, 1000, 34816)
    assert (t.vpid, t.ptid, t.sid, t.pgid) == (7, 1, 50, 50)
    assert t.exepath == "/usr/bin/bash"
    assert t.env == ["HOME=/home/u", "LANG=C"]
    assert t.container_id == H[:12]
    assert t.cap_permitted == 1 << 21
    assert t.clone_ts == 1700000000 * 10**9 + 5 * 10**9
    assert insp.threads[51].fds is t.fds
    assert t.fds[3].name == str(target) and t.fds[3].cloexec
    assert t.fds[3].flags & 3 == 3
    assert t.fds[4].type.value == "pipe" and t.fds[5].type.value == "eventpoll"
    assert insp.threads[1].container_id == "host"


def test_bootstrap_from_real_proc_finds_this_process() -> None:
    insp = Inspector()
    insp.bootstrap_proc()
    me = insp.threads[os.getpid()]
    assert me.cwd == os.getcwd().rstrip("/") + "/"
    assert me.uid == os.getuid()
    assert me.ptid == os.getppid()


def test_socket_fds_resolved_from_net_tables() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    cli = socket.create_connection(srv.getsockname())
    acc, _ = srv.accept()
    try:
        fds = ProcReader().read_fds(os.getpid())
        lport = srv.getsockname()[1]
        cport = cli.getsockname()[1]
        assert fds[srv.fileno()].name == f"127.0.0.1:{lport}"
        assert fds[srv.fileno()].is_server
        assert fds[cli.fileno()].name == \
            f"127.0.0.1:{cport}->127.0.0.1:{lport}"
        assert fds[cli.fileno()].is_server is False
        assert fds[acc.fileno()].name == \
            f"127.0.0.1:{cport}->127.0.0.1:{lport}"
        assert fds[acc.fileno()].is_server is True
    finally:
        for s in (cli, acc, srv):
            s.close()


def test_unknown_thread_looked_up_on_demand_within_budget() -> None:
    sim = Sim(proc_lookups=True, proc_lookup_budget=1)
    sim.init()
    ctx = sim.x("chdir", os.getpid(), res=0, path="/")
    assert ctx.thread is not None and not ctx.thread.incomplete
    assert sim.field(ctx, "proc.pid") == os.getpid()
    # Another live process, neither us nor the simulated init (pid 1: our
    # parent, when the suite runs as a namespace's first process).
    other = subprocess.Popen(["sleep", "30"])
    try:
        ctx2 = sim.x("chdir", other.pid, res=0, path="/")
    finally:
        other.kill()
        other.wait()
    assert ctx2.thread is not None and ctx2.thread.incomplete
    assert sim.field(ctx2, "proc.name") == "<NA>"
    assert sim.insp.stats.proc_lookups_skipped == 1


def test_unknown_thread_without_lookups_is_a_placeholder() -> None:
    sim = Sim()
    ctx = sim.x("chdir", 4321, res=0, path="/tmp")
    assert ctx.thread is not None and ctx.thread.incomplete
    assert sim.field(ctx, "proc.name") == "<NA>"
    assert sim.field(ctx, "proc.cmdline") == "<NA>"
    assert sim.field(ctx, "proc.pname") is None
    assert sim.field(ctx, "proc.cwd") == "/tmp/"


def test_linux_flag_conversion() -> None:
    assert linux_to_ppm_open_flags(0) == 1            # O_RDONLY
    assert linux_to_ppm_open_flags(0o1) == 2          # O_WRONLY
    assert linux_to_ppm_open_flags(0o2102) == 3 | 4 | 8  # RDWR|CREAT|APPEND
    assert linux_to_ppm_open_flags(0o2000000) & (1 << 12)
