# SPDX-License-Identifier: Apache-2.0
"""dup/dup2/dup3/fcntl, pipe/socketpair, close/close_range and the
anonymous fd kinds (eventfd, signalfd, epoll, inotify, timerfd, memfd)."""
from __future__ import annotations

from support.state_sim import Sim


def _sim() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/bin/sh", [])
    sim.x("openat", 100, fd=3, dirfd=-100, name="/etc/passwd", flags=1,
          mode=0)
    return sim


def test_dup_family_copies_entry() -> None:
    sim = _sim()
    d = sim.x("dup", 100, res=4, oldfd=3)
    assert sim.field(d, "fd.name") == "/etc/passwd"
    assert sim.field(d, "fd.num") == 4
    sim.x("dup2", 100, res=1, oldfd=3, newfd=1)
    sim.x("dup3", 100, res=7, oldfd=3, newfd=7, flags=0)
    f = sim.x("fcntl", 100, res=10, fd=3, cmd=1, arg=10)
    fds = sim.insp.threads[100].fds
    assert {fds[n].name for n in (1, 4, 7, 10)} == {"/etc/passwd"}
    assert sim.field(f, "fd.num") == 10
    assert fds[4] is not fds[3]
    # other fcntl commands change nothing
    sim.x("fcntl", 100, res=0, fd=3, cmd=2, arg=1)
    assert sorted(fds) == [1, 3, 4, 7, 10]


def test_dup_of_unknown_fd_adds_nothing() -> None:
    sim = _sim()
    sim.x("dup", 100, res=5, oldfd=99)
    assert 5 not in sim.insp.threads[100].fds


def test_pipe_and_socketpair() -> None:
    sim = _sim()
    p = sim.x("pipe", 100, res=0, fd1=4, fd2=5, ino=777)
    fds = sim.insp.threads[100].fds
    assert fds[4].type.value == "pipe" and fds[5].type.value == "pipe"
    assert fds[4].ino == 777
    assert sim.field(p, "fd.typechar") == "p"
    sim.x("socketpair", 100, res=0, fd1=6, fd2=7, source=1, peer=2,
          domain=1, type=1, proto=0)
    assert fds[6].type.value == "unix" and fds[7].type.value == "unix"


def test_close_and_close_range() -> None:
    sim = _sim()
    for fd in (4, 5, 6, 9):
        sim.x("dup", 100, res=fd, oldfd=3)
    c = sim.x("close", 100, res=0, fd=3)
    assert sim.field(c, "fd.name") == "/etc/passwd"
    fds = sim.insp.threads[100].fds
    assert 3 not in fds
    bad = sim.x("close", 100, res=-9, fd=4)
    assert 4 in fds and sim.field(bad, "evt.res") == "EBADF"
    sim.x("close_range", 100, res=0, first=5, last=6, flags=0)
    assert sorted(fds) == [4, 9]
    sim.x("close_range", 100, res=0, first=0, last=100, flags=4)
    assert sorted(fds) == [4, 9] and fds[4].cloexec and fds[9].cloexec


def test_anonymous_fd_kinds() -> None:
    sim = _sim()
    cases = [("eventfd2", dict(res=4, initval=0, flags=0), "event", "e"),
             ("signalfd4", dict(res=5, fd=-1, mask=0, flags=0), "signalfd",
              "s"),
             ("epoll_create1", dict(res=6, flags=0), "eventpoll", "l"),
             ("inotify_init1", dict(res=7, flags=0), "inotify", "i"),
             ("timerfd_create", dict(res=8, clockid=0, flags=0), "timerfd",
              "t")]
    for name, params, ftype, char in cases:
        ctx = sim.x(name, 100, **params)
        assert sim.field(ctx, "fd.type") == ftype, name
        assert sim.field(ctx, "fd.typechar") == char, name
    m = sim.x("memfd_create", 100, fd=9, name="payload", flags=1)
    assert sim.field(m, "fd.type") == "memfd"
    assert sim.field(m, "fd.name") == "payload"
    assert sim.insp.threads[100].fds[9].cloexec


def test_fd_fields_absent_on_events_without_fd() -> None:
    sim = _sim()
    ctx = sim.x("chdir", 100, res=0, path="/")
    for name in ("fd.name", "fd.type", "fd.num", "fd.typechar", "fd.sip"):
        assert sim.field(ctx, name) is None, name


def test_fd_types_lists_every_kind_once() -> None:
    sim = _sim()
    sim.x("pipe", 100, res=0, fd1=4, fd2=5, ino=1)
    ctx = sim.x("socket", 100, fd=6, domain=2, type=1, proto=0)
    assert sim.field(ctx, "fd.types") == ("file", "pipe", "ipv4")
    assert sim.field(ctx, "fd.types[4]") == "pipe"
    assert sim.field(ctx, "proc.fdopencount") == 4


def test_memfd_with_an_empty_name() -> None:
    sim = _sim()
    ctx = sim.x("memfd_create", 100, fd=5, name="", flags=1)
    assert sim.field(ctx, "fd.type") == "memfd"
    assert sim.field(ctx, "fd.name") == ""
    fdi = sim.insp.threads[100].fds[5]
    assert fdi.cloexec


def test_open_by_handle_at_names_the_resolved_path() -> None:
    sim = _sim()
    ctx = sim.x("open_by_handle_at", 100, fd=6, mountfd=3, flags=1,
                path="/var/lib/data.db", dev=0x803, ino=7)
    assert sim.field(ctx, "fd.name") == "/var/lib/data.db"
    assert sim.insp.threads[100].fds[6].name == "/var/lib/data.db"
    failed = sim.x("open_by_handle_at", 100, fd=-2, mountfd=3, flags=1,
                   path="/var/lib/gone")
    assert sim.field(failed, "fd.name") == "/var/lib/gone"


def test_pidfd_getfd_copies_the_target_fd() -> None:
    sim = _sim()
    sim.fork(1, 200)
    sim.x("openat", 200, fd=9, dirfd=-100, name="/etc/shadow", flags=1,
          mode=0)
    sim.x("pidfd_open", 100, fd=11, pid=200, flags=0)
    ctx = sim.x("pidfd_getfd", 100, fd=12, pid_fd=11, target_fd=9, flags=0)
    assert sim.field(ctx, "fd.name") == "/etc/shadow"
    assert sim.field(ctx, "fd.num") == 12
    # a target fd the process does not have: nothing is added
    sim.x("pidfd_getfd", 100, fd=13, pid_fd=11, target_fd=99, flags=0)
    assert 13 not in sim.insp.threads[100].fds
