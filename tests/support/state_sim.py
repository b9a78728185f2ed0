# SPDX-License-Identifier: Apache-2.0
"""A small event simulator shared by the state and field tests.

It feeds synthetic events (``falco.events.build.make_event``) through an
``Inspector`` and reads fields through the default registry, the same way
the engine does.
"""
from __future__ import annotations

from typing import Any

from falco.events.build import make_event
from falco.events.capture_state import ProcEntry
from falco.fields import default_registry
from falco.state import EventContext, Inspector

BASE_TS = 1_700_000_000_000_000_000
CL_CLONE_THREAD = 1 << 13
CL_CLONE_FILES = 1 << 0


class Sim:
    def __init__(self, **kw: Any) -> None:
        self.insp = Inspector(**kw)
        self.ts = BASE_TS
        self.registry = default_registry()
        self.num = 0

    def init(self, *procs: ProcEntry) -> None:
        if not procs:
            procs = (ProcEntry(tid=1, pid=1, ptid=0, comm="init",
                               exe="/sbin/init", exepath="/sbin/init",
                               cwd="/", uid=0, gid=0),)
        self.insp.bootstrap_capture(procs)

    def ev(self, name: str, direction: str, who: int, /, *,
           code: int | None = None, **params: Any) -> EventContext:
        """One event of thread ``who`` (params may include a "tid")."""
        self.ts += 1000
        self.num += 1
        evt = make_event(name, direction, params, ts=self.ts, tid=who,
                         num=self.num, code=code)
        return self.insp.process(evt)

    def x(self, name: str, who: int, /, **params: Any) -> EventContext:
        return self.ev(name, "<", who, **params)

    def e(self, name: str, who: int, /, **params: Any) -> EventContext:
        return self.ev(name, ">", who, **params)

    def field(self, ctx: EventContext, name: str) -> Any:
        arg = None
        if name.endswith("]"):
            name, _, arg = name[:-1].partition("[")
        fdef, dotted = self.registry.resolve(name)
        return fdef.extract(ctx, arg if arg is not None else dotted)

    def fork(self, parent: int, child: int, comm: str | None = None,
             flags: int = 0, child_first: bool = False,
             cgroups: str = "") -> EventContext:
        """A clone() seen from both sides (parent exit, child exit)."""
        p = self.insp.threads[parent]
        common = dict(exe=p.exe, args="\0".join(p.args), comm=comm or p.comm,
                      flags=flags, uid=p.uid, gid=p.gid, cgroups=cgroups)
        pid = p.pid if flags & CL_CLONE_THREAD else child
        child_params = dict(res=0, tid=child, pid=pid, ptid=parent
                            if not flags & CL_CLONE_THREAD else p.ptid,
                            vtid=child, vpid=pid, **common)
        parent_params = dict(res=child, tid=parent, pid=p.pid, ptid=p.ptid,
                             vtid=parent, vpid=p.pid, **common)
        if child_first:
            ctx = self.x("clone", child, **child_params)
            self.x("clone", parent, **parent_params)
            return ctx
        self.x("clone", parent, **parent_params)
        return self.x("clone", child, **child_params)

    def execve(self, tid: int, exe: str, args: list[str],
               comm: str | None = None, **extra: Any) -> EventContext:
        t = self.insp.threads[tid]
        params = dict(res=0, exe=exe, args="\0".join(args) + "\0"
                      if args else "", tid=tid, pid=t.pid, ptid=t.ptid,
                      comm=comm or exe.rsplit("/", 1)[-1],
                      trusted_exepath=extra.pop("exepath", exe),
                      uid=t.uid, gid=t.gid)
        params.update(extra)
        return self.x("execve", tid, **params)
