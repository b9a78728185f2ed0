# SPDX-License-Identifier: Apache-2.0
"""Real event contexts for the filter and rules tests.

``on(...)`` describes a process (name, arguments, pid, parents, user,
open fds) and one event it makes; ``build()`` bootstraps an ``Inspector``
with that process tree (as a capture's process list would) and runs the
event through it, so that fields are read by the real registry from real
state. ``REGISTRY`` is ``falco.fields.default_registry()`` and
``EVENT_NAMES`` every evt.type the real event table knows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from falco.driver.schema import get_schema
from falco.events.build import make_event
from falco.events.capture_state import FdEntry, ProcEntry, ScapFdType
from falco.events.sockets import SockTuple
from falco.fields import default_registry
from falco.state import EventContext, Inspector

REGISTRY = default_registry()
_SCHEMA = get_schema()
EVENT_NAMES = frozenset(n for n in (*_SCHEMA.by_name, *_SCHEMA.sc_names)
                        if n and n != "NA")
TS = 1_700_000_000_000_000_000
FD = 3                      # the fd the event uses
_FD_TYPES = {"file": ScapFdType.FILE_V2, "ipv4": ScapFdType.IPV4_SOCK,
             "pipe": ScapFdType.FIFO, "directory": ScapFdType.DIRECTORY,
             "unix": ScapFdType.UNIX_SOCK}


@dataclass(frozen=True)
class On:
    """A process and the event it makes (see ``on``)."""

    evt: str = "openat"
    direction: str = "<"
    comm: str | None = "cat"
    args: tuple[str, ...] = ()
    pid: int = 100
    parents: tuple[str, ...] = ("bash",)
    uid: int = 0
    fds: tuple[str, ...] = ()
    name: str = "/tmp/x"
    flags: str = "O_RDONLY"
    sip: str = "10.0.0.2"
    data: bytes = b""
    params: dict[str, Any] = field(default_factory=dict)

    def procs(self) -> list[ProcEntry]:
        """init (1), the parents (2, 3, ... outermost first), the process."""
        chain = ["init", *reversed(self.parents)]
        out = []
        for i, comm in enumerate(chain):
            tid = 1 if i == 0 else i + 1
            out.append(ProcEntry(tid=tid, pid=tid, ptid=0 if i == 0 else
                                 (1 if i == 1 else i), comm=comm,
                                 exe=f"/bin/{comm}", exepath=f"/bin/{comm}",
                                 cwd="/"))
        if self.comm is not None:
            ppid = len(chain) if len(chain) > 1 else 1
            out.append(ProcEntry(tid=self.pid, pid=self.pid, ptid=ppid,
                                 comm=self.comm, exe=self.comm,
                                 exepath=f"/usr/bin/{self.comm}",
                                 args=list(self.args), cwd="/",
                                 uid=self.uid, gid=self.uid))
        return out

    def fd_entries(self) -> list[FdEntry]:
        return [FdEntry(tid=self.pid, fd=10 + i, type=_FD_TYPES[kind],
                        name=f"/fd/{i}") for i, kind in enumerate(self.fds)]

    def event_params(self) -> dict[str, Any]:
        if self.evt in ("open", "openat") and self.direction == "<":
            base: dict[str, Any] = {"fd": FD, "name": self.name,
                                    "flags": self.flags, "mode": 0}
            if self.evt == "openat":
                base["dirfd"] = -100
        elif self.evt == "connect" and self.direction == "<":
            base = {"res": 0, "fd": FD, "tuple": SockTuple(
                2, "10.0.0.1", 40000, self.sip, 80)}
        elif self.evt in ("write", "read") and self.direction == "<":
            base = {"res": len(self.data), "data": self.data, "fd": FD,
                    "size": len(self.data)}
        elif self.evt == "execve" and self.direction == "<":
            base = {"res": 0, "exe": self.comm or "x",
                    "args": "\0".join(self.args), "tid": self.pid,
                    "pid": self.pid, "comm": self.comm or "x"}
        else:
            known = {p.name for p in
                     _SCHEMA.current(self.evt, self.direction).params}
            base = {k: v for k, v in (("res", 0), ("fd", FD))
                    if k in known}
        return {**base, **self.params}

    def build(self, num: int = 1) -> EventContext:
        insp = Inspector()
        fds = self.fd_entries()
        if self.evt in ("write", "read", "close"):
            fds.append(FdEntry(tid=self.pid, fd=FD, type=ScapFdType.FILE_V2,
                               name=self.name))
        insp.bootstrap_capture(self.procs(), fds)
        evt = make_event(self.evt, self.direction, self.event_params(),
                         ts=TS + num, tid=self.pid, num=num)
        return insp.process(evt)


def on(evt: str = "openat", **kw: Any) -> On:
    """``on("openat", comm="cat", name="/etc/passwd")``: cat (pid 100,
    child of bash, child of init) opens /etc/passwd. ``comm=None``: the
    thread is unknown (its fields have no value)."""
    if "args" in kw:
        kw["args"] = tuple(kw["args"])
    for key in ("parents", "fds"):
        if key in kw:
            kw[key] = tuple(kw[key])
    return On(evt, **kw)


def ctx(evt: str = "openat", **kw: Any) -> EventContext:
    return on(evt, **kw).build()
