# SPDX-License-Identifier: Apache-2.0
"""State from the scheduler's meta events, found in captures: procinfo
samples (a thread's CPU time, about once a second) and switch events (a
CPU leaving a thread). The module does not emit them; sysdig's drivers
did, and their captures carry them.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from falco.state.context import EventContext
from falco.state.parse_proc import Handler

if TYPE_CHECKING:
    from falco.state.inspector import Inspector


def parse_procinfo(insp: Inspector, ctx: EventContext) -> None:
    """CPU ticks used since the thread's previous sample (none: 0)."""
    t = ctx.thread
    user, system = ctx.arg("cpu_usr"), ctx.arg("cpu_sys")
    if t is None or not isinstance(user, int) or not isinstance(system, int):
        return
    first = t.cpu_user_total < 0
    t.cpu_user_used = 0 if first else max(user - t.cpu_user_total, 0)
    t.cpu_sys_used = 0 if first else max(system - t.cpu_sys_total, 0)
    t.cpu_user_total, t.cpu_sys_total = user, system


def parse_switch(insp: Inspector, ctx: EventContext) -> None:
    """The thread switched out ran since the previous switch on its CPU."""
    evt = ctx.evt
    last = insp.last_switch.get(evt.cpu)
    insp.last_switch[evt.cpu] = evt.ts
    t = ctx.thread
    if t is None:
        return
    t.exectime = evt.ts - last if last is not None and evt.ts > last else 0
    t.totexectime += t.exectime


SCHED_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    "procinfo": parse_procinfo, "switch": parse_switch,
})
