# SPDX-License-Identifier: Apache-2.0
"""open/openat/openat2/creat: absolute names, dirfd/cwd resolution, old
enter/exit pairs."""
from __future__ import annotations

import pytest

from support.state_sim import Sim

O_RDONLY, O_WRONLY, O_CREAT, O_DIRECTORY = 1, 2, 4, 1 << 10


def _sim() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/bin/cat", [])
    sim.x("chdir", 100, res=0, path="/home/user")
    return sim


@pytest.mark.parametrize("name,expected", [
    ("notes.txt", "/home/user/notes.txt"),
    ("../../etc//passwd", "/etc/passwd"),
    ("./a/./b/", "/home/user/a/b"),
    ("/etc/../etc/shadow", "/etc/shadow"),
    ("..", "/home"),
    ("../../../..", "/"),
])
def test_openat_relative_to_cwd(name: str, expected: str) -> None:
    sim = _sim()
    ctx = sim.x("openat", 100, fd=3, dirfd=-100, name=name, flags=O_RDONLY,
                mode=0)
    assert sim.field(ctx, "fd.name") == expected
    assert sim.field(ctx, "fd.nameraw") == name
    assert sim.insp.threads[100].fds[3].name == expected


def test_openat_relative_to_dirfd() -> None:
    sim = _sim()
    d = sim.x("openat", 100, fd=5, dirfd=-100, name="/var/log",
              flags=O_RDONLY | O_DIRECTORY, mode=0)
    assert sim.field(d, "fd.type") == "directory"
    assert sim.field(d, "fd.typechar") == "d"
    assert sim.field(d, "fd.directory") == "/var/log"
    ctx = sim.x("openat", 100, fd=6, dirfd=5, name="syslog", flags=O_RDONLY,
                mode=0)
    assert sim.field(ctx, "fd.name") == "/var/log/syslog"
    assert sim.field(ctx, "fd.directory") == "/var/log"
    assert sim.field(ctx, "fd.filename") == "syslog"
    assert sim.field(ctx, "fd.typechar") == "f"
    unknown = sim.x("openat", 100, fd=7, dirfd=42, name="x", flags=1, mode=0)
    assert sim.field(unknown, "fd.name") == "<UNKNOWN>x"


def test_open_and_creat_use_cwd() -> None:
    sim = _sim()
    ctx = sim.x("open", 100, fd=3, name="a.txt", flags=O_WRONLY | O_CREAT,
                mode=0o644, dev=0x800001, ino=1234)
    assert sim.field(ctx, "fd.name") == "/home/user/a.txt"
    assert sim.field(ctx, "fd.ino") == 1234
    assert sim.field(ctx, "fd.dev.major") == 8
    assert sim.field(ctx, "fd.dev.minor") == 1
    c = sim.x("creat", 100, fd=4, name="b", mode=0o755)
    assert sim.field(c, "fd.name") == "/home/user/b"
    assert sim.field(c, "evt.is_open_exec") is True


def test_failed_open_adds_no_fd_but_name_comes_from_event() -> None:
    sim = _sim()
    ctx = sim.x("openat", 100, fd=-2, dirfd=-100, name="missing",
                flags=O_RDONLY, mode=0)
    assert 2 not in sim.insp.threads[100].fds
    assert -2 not in sim.insp.threads[100].fds
    assert sim.field(ctx, "fd.name") == "/home/user/missing"
    assert sim.field(ctx, "evt.res") == "ENOENT"
    assert sim.field(ctx, "evt.failed") is True
    assert sim.field(ctx, "fd.type") is None


def test_openat2() -> None:
    sim = _sim()
    ctx = sim.x("openat2", 100, fd=3, dirfd=-100, name="x/y", flags=O_RDONLY,
                mode=0, resolve=0)
    assert sim.field(ctx, "fd.name") == "/home/user/x/y"


def test_old_capture_pair_takes_args_from_enter_event() -> None:
    """Old openat exit (code 103) only has fd: name/flags come from enter."""
    sim = _sim()
    sim.ev("openat", ">", 100, code=102, dirfd=-100, name="rel.txt",
           flags=O_WRONLY, mode=0)
    ctx = sim.ev("openat", "<", 100, code=103, fd=9)
    assert sim.insp.threads[100].fds[9].name == "/home/user/rel.txt"
    assert sim.field(ctx, "fd.name") == "/home/user/rel.txt"
    assert sim.field(ctx, "evt.is_open_write") is True
    assert sim.field(ctx, "evt.is_open_read") is False


def test_old_close_exit_takes_fd_from_enter() -> None:
    sim = _sim()
    sim.x("openat", 100, fd=3, dirfd=-100, name="/etc/hosts", flags=1,
          mode=0)
    sim.e("close", 100, fd=3)
    ctx = sim.x("close", 100, res=0)
    assert sim.field(ctx, "fd.name") == "/etc/hosts"
    assert sim.field(ctx, "fd.num") == 3
    assert 3 not in sim.insp.threads[100].fds


def test_enter_of_another_syscall_is_not_paired() -> None:
    sim = _sim()
    sim.e("read", 100, fd=0, size=10)
    ctx = sim.x("close", 100, res=0)
    assert ctx.enter is None


def test_corrupt_parameter_does_not_break_the_tables() -> None:
    """A parameter that fails to decode: tables unchanged, event counted."""
    from falco.errors import DecodeError

    class Broken:
        name, direction, ts, tid, num, cpu = "openat", "<", 1, 100, 7, 0

        @property
        def res(self) -> int:
            raise DecodeError("bad length", 10)

        def param(self, key: object) -> object:
            raise DecodeError("bad length", 10)

        def param_names(self) -> list[str]:
            return ["fd", "dirfd", "name"]

    sim = _sim()
    before = dict(sim.insp.threads[100].fds)
    ctx = sim.insp.process(Broken())
    assert ctx.thread is sim.insp.threads[100]
    assert sim.insp.threads[100].fds == before
    assert sim.insp.stats.bad_events == 1


def test_enter_events_not_kept_when_pairing_is_off() -> None:
    sim = Sim(pair_enter_events=False)
    sim.init()
    sim.e("close", 1, fd=3)
    assert not sim.insp._enter
