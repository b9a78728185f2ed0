# SPDX-License-Identifier: Apache-2.0
"""An event's context kept for later: the engine holds the rules of an
event whose container metadata is still being looked up, and tests them
once it is known. Later events change the live tables (the process execs
again, its parent exits), so the held context owns copies of the event,
its thread, fd and ancestry; everything else (users, containers, the
host's addresses) is read from the live inspector.
"""
from __future__ import annotations

import copy
from collections import ChainMap
from typing import Any, Iterator

from falco.state.context import EventContext
from falco.state.entries import ThreadInfo

# Ancestors copied with the thread (deeper ones are read live).
MAX_ANCESTORS = 64


class FrozenInspector:
    """The inspector's thread table as it was for one event."""

    __slots__ = ("live", "threads", "first_ts", "prev_ts", "last_ts")

    def __init__(self, live: Any, threads: dict[int, ThreadInfo]) -> None:
        self.live = live
        self.threads: ChainMap[int, ThreadInfo] = ChainMap(threads, live.threads)
        self.first_ts = live.first_ts
        self.prev_ts = live.prev_ts
        self.last_ts = live.last_ts

    def __getattr__(self, name: str) -> Any:
        return getattr(self.live, name)

    def main_thread(self, t: ThreadInfo) -> ThreadInfo:
        if t.tid == t.pid:
            return t
        return self.threads.get(t.pid) or t

    def parent(self, t: ThreadInfo) -> ThreadInfo | None:
        main = self.main_thread(t)
        if main.ptid <= 0 or main.ptid == main.tid:
            return None
        return self.threads.get(main.ptid)

    def ancestors(self, t: ThreadInfo) -> Iterator[ThreadInfo]:
        seen = 0
        p = self.parent(t)
        while p is not None and seen < 256:
            yield p
            seen += 1
            p = self.parent(p)


def freeze(ctx: EventContext) -> EventContext:
    """A copy of ``ctx`` that later events do not change."""
    live = ctx.inspector
    t = ctx.thread
    fdinfo = ctx.fdinfo
    copies: dict[int, ThreadInfo] = {}
    if t is not None:
        cur: ThreadInfo | None = t
        for _ in range(MAX_ANCESTORS):
            if cur is None or cur.tid in copies:
                break
            copies[cur.tid] = copy.copy(cur)
            main = live.threads.get(cur.pid) if cur.tid != cur.pid else None
            if main is not None and main.tid not in copies:
                copies[main.tid] = copy.copy(main)
            cur = live.parent(cur)
    enter = ctx.enter
    frozen = EventContext(
        ctx.evt.detached(),
        None if t is None else copies[t.tid],
        FrozenInspector(live, copies),  # type: ignore[arg-type]
        None if enter is None else enter.detached())
    frozen.fdinfo = None if fdinfo is None else copy.copy(fdinfo)
    return frozen
