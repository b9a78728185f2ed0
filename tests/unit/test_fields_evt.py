# SPDX-License-Identifier: Apache-2.0
"""evt.* extraction: time rendering, results, arguments, open checks."""
from __future__ import annotations

import time

from support.state_sim import Sim

O_RDONLY, O_WRONLY, O_RDWR, O_CREAT = 1, 2, 3, 4
O_TMPFILE, O_F_CREATED = 1 << 13, 1 << 14


def _sim() -> Sim:
    sim = Sim()
    sim.init()
    sim.fork(1, 100)
    sim.execve(100, "/bin/touch", ["x"])
    return sim


def test_time_fields_render_like_falco() -> None:
    sim = _sim()
    ctx = sim.x("chdir", 100, res=0, path="/")
    ts = ctx.evt.ts
    local = time.localtime(ts // 10**9)
    frac = f"{ts % 10**9:09d}"
    assert sim.field(ctx, "evt.time") == \
        time.strftime("%H:%M:%S", local) + "." + frac
    assert sim.field(ctx, "evt.time.s") == time.strftime("%H:%M:%S", local)
    assert sim.field(ctx, "evt.datetime") == \
        time.strftime("%Y-%m-%d %H:%M:%S", local) + "." + frac
    assert sim.field(ctx, "evt.time.iso8601") == time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(ts // 10**9)) + f".{frac}Z"
    assert sim.field(ctx, "evt.rawtime") == ts
    assert sim.field(ctx, "evt.rawtime.s") == ts // 10**9
    assert sim.field(ctx, "evt.deltatime") == 1000
    assert sim.field(ctx, "evt.reltime") == ts - sim.insp.first_ts


def test_result_fields() -> None:
    sim = _sim()
    ok = sim.x("chdir", 100, res=0, path="/")
    bad = sim.x("chdir", 100, res=-13, path="/root")
    enter = sim.e("chdir", 100)
    assert (sim.field(ok, "evt.res"), sim.field(ok, "evt.rawres"),
            sim.field(ok, "evt.failed")) == ("SUCCESS", 0, False)
    assert (sim.field(bad, "evt.res"), sim.field(bad, "evt.rawres"),
            sim.field(bad, "evt.failed")) == ("EACCES", -13, True)
    assert sim.field(enter, "evt.res") is None
    assert sim.field(enter, "evt.dir") == ">"
    assert sim.field(bad, "evt.count.error") == 1
    assert sim.field(ok, "evt.count.error") == 0


def test_arguments() -> None:
    sim = _sim()
    ctx = sim.x("openat", 100, fd=3, dirfd=-100, name="/etc/shadow",
                flags=O_RDONLY, mode=0)
    assert sim.field(ctx, "evt.arg.name") == "/etc/shadow"
    assert sim.field(ctx, "evt.arg[2]") == "/etc/shadow"
    assert sim.field(ctx, "evt.arg[name]") == "/etc/shadow"
    assert sim.field(ctx, "evt.arg.flags") == "O_RDONLY"
    assert sim.field(ctx, "evt.rawarg.flags") == O_RDONLY
    assert sim.field(ctx, "evt.arg.fd") == "<f>/etc/shadow"
    assert sim.field(ctx, "evt.arg.nosuch") is None
    assert sim.field(ctx, "evt.arg[99]") is None
    args = sim.field(ctx, "evt.args")
    assert args.startswith("fd=3(<f>/etc/shadow) dirfd=")
    assert "name=/etc/shadow" in args and "flags=O_RDONLY" in args
    assert sim.field(ctx, "evt.type") == "openat"
    assert sim.field(ctx, "evt.type.is[openat]") == 1
    assert sim.field(ctx, "evt.type.is[open]") == 0
    assert sim.field(ctx, "syscall.type") == "openat"
    assert sim.field(ctx, "evt.category") == "file"
    assert sim.field(ctx, "evt.num") == sim.num


def test_is_open_checks() -> None:
    sim = _sim()

    def opened(flags: int, mode: int = 0, fd: int = 3) -> dict[str, bool]:
        ctx = sim.x("openat", 100, fd=fd, dirfd=-100, name="/tmp/f",
                    flags=flags, mode=mode)
        return {k: sim.field(ctx, f"evt.is_open_{k}")
                for k in ("read", "write", "exec", "create")}
    assert opened(O_RDONLY) == dict(read=True, write=False, exec=False,
                                    create=False)
    assert opened(O_WRONLY | O_CREAT, 0o644) == dict(
        read=False, write=True, exec=False, create=False)
    assert opened(O_RDWR | O_CREAT | O_F_CREATED, 0o755) == dict(
        read=True, write=True, exec=True, create=True)
    assert opened(O_RDWR | O_TMPFILE, 0o600)["create"] is True
    assert opened(O_RDWR | O_TMPFILE, 0o600, fd=-1)["create"] is False
    other = sim.x("chdir", 100, res=0, path="/")
    assert sim.field(other, "evt.is_open_read") is False


def test_io_fields() -> None:
    sim = _sim()
    sim.x("openat", 100, fd=3, dirfd=-100, name="/tmp/f", flags=1, mode=0)
    r = sim.x("read", 100, res=4, data=b"abcd", fd=3, size=10)
    assert sim.field(r, "evt.is_io") is True
    assert sim.field(r, "evt.is_io_read") is True
    assert sim.field(r, "evt.io_dir") == "read"
    assert sim.field(r, "evt.category") == "file"
    assert sim.field(r, "evt.buflen") == 4
    assert sim.field(r, "fd.name") == "/tmp/f"
    c = sim.x("chdir", 100, res=0, path="/")
    assert sim.field(c, "evt.is_io") is False and \
        sim.field(c, "evt.buflen") is None


def test_latency_from_enter_event() -> None:
    sim = _sim()
    sim.e("chdir", 100)
    sim.ts += 5000
    ctx = sim.x("chdir", 100, res=0, path="/")
    assert sim.field(ctx, "evt.latency") == 6000


def test_abspath_and_hostname() -> None:
    import socket
    sim = _sim()
    sim.x("chdir", 100, res=0, path="/home/a")
    ctx = sim.x("unlinkat", 100, res=0, dirfd=-100, name="../b/c", flags=0)
    assert sim.field(ctx, "evt.abspath") == "/home/b/c"
    r = sim.x("renameat2", 100, res=0, olddirfd=-100, oldpath="x",
              newdirfd=-100, newpath="/tmp/y", flags=0)
    assert sim.field(r, "evt.abspath.src") == "/home/a/x"
    assert sim.field(r, "evt.abspath.dst") == "/tmp/y"
    assert sim.field(r, "evt.hostname") == socket.gethostname()
