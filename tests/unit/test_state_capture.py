# SPDX-License-Identifier: Apache-2.0
"""Replaying the shared captures (old enter/exit-pair schema)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from falco.events.scap import CaptureReader
from falco.fields import default_registry
from falco.state import EventContext, Inspector
from support.external import CAPTURES

pytestmark = pytest.mark.usefixtures("shared")


def _replay(name: str) -> Iterator[EventContext]:
    path = CAPTURES / name
    insp = Inspector()
    with CaptureReader(path) as rd:
        insp.bootstrap_capture(rd.procs, rd.fds, rd.users, rd.groups)
        for evt in rd:
            yield insp.process(evt)


def _f(ctx: EventContext, name: str) -> Any:
    reg = default_registry()
    arg = None
    if name.endswith("]"):
        name, _, arg = name[:-1].partition("[")
    fdef, dotted = reg.resolve(name)
    return fdef.extract(ctx, arg if arg is not None else dotted)


def test_connect_localhost_fd_name() -> None:
    seen = []
    for ctx in _replay("connect_localhost.scap"):
        if ctx.evt.name == "connect" and ctx.evt.direction == "<":
            seen.append({n: _f(ctx, n) for n in (
                "fd.name", "fd.sip", "fd.sport", "fd.cip", "fd.cport",
                "fd.l4proto", "fd.type", "evt.res", "fd.num")})
    assert seen == [{"fd.name": "127.0.0.1:47192->127.0.0.1:80",
                     "fd.sip": "127.0.0.1", "fd.sport": 80,
                     "fd.cip": "127.0.0.1", "fd.cport": 47192,
                     "fd.l4proto": "tcp", "fd.type": "ipv4",
                     "evt.res": "EINPROGRESS", "fd.num": 4}]


def test_cat_write_opens_and_closes() -> None:
    opened, closed = [], []
    for ctx in _replay("cat_write.scap"):
        t = ctx.thread
        if t is None or t.comm != "cat" or ctx.evt.direction != "<":
            continue
        if ctx.evt.name == "open":
            opened.append((_f(ctx, "fd.name"), _f(ctx, "proc.cmdline"),
                           _f(ctx, "proc.pname"), _f(ctx, "fd.num")))
        elif ctx.evt.name == "close" and _f(ctx, "fd.num") == 3:
            closed.append(_f(ctx, "fd.name"))
    names = ["/etc/ld.so.cache", "/lib/x86_64-linux-gnu/libc.so.6",
             "/usr/lib/locale/locale-archive", "/dev/null"]
    assert opened == [(n, "cat /dev/null", "bash", 3) for n in names]
    assert closed == names


def test_open_multiple_files() -> None:
    opened = []
    for ctx in _replay("open-multiple-files.scap"):
        if ctx.evt.name == "open" and ctx.evt.direction == "<":
            opened.append((_f(ctx, "fd.name"), _f(ctx, "proc.name"),
                           _f(ctx, "evt.is_open_read"), _f(ctx, "user.name"),
                           _f(ctx, "proc.aname[2]")))
    assert opened == [(f"/tmp/file-{i}", "python", True, "mstemm", "emacs")
                      for i in range(1, 14)]


def test_unknown_thread_and_enter_event_values_match_sysdig() -> None:
    """Values sysdig 0.29.3 prints for the capture's thread 31699, which is
    in no process list: placeholder ids, fd.num -1 before the fd exists."""
    rows = {}
    for ctx in _replay("connect_localhost.scap"):
        if ctx.evt.tid == 31699:
            rows[(ctx.evt.name, ctx.evt.direction)] = {n: _f(ctx, n) for n in (
                "proc.name", "proc.ppid", "proc.sid", "proc.vpid", "user.uid",
                "user.name", "proc.cwd", "fd.num", "fd.typechar")}
    assert rows[("socket", ">")] == {
        "proc.name": "<NA>", "proc.ppid": -1, "proc.sid": -1,
        "proc.vpid": None, "user.uid": 4294967295, "user.name": None,
        "proc.cwd": "", "fd.num": -1, "fd.typechar": "4"}
    assert rows[("connect", "<")]["fd.num"] == 4
    assert rows[("connect", "<")]["fd.typechar"] == "4"
