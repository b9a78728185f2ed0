# SPDX-License-Identifier: Apache-2.0
"""thread.* fields: the event's thread."""
from __future__ import annotations

from typing import Any, Callable

from falco.fields._common import B, I, S, caps_to_string, field
from falco.fields.registry import ArgMode, FieldDef, FieldType, IntKind
from falco.state.context import EventContext


def _t(get: Callable[[Any], Any]) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        t = ctx.thread
        return None if t is None else get(t)
    return extract


def _cgroups(t: Any) -> str:
    return " ".join(f"{s}={p}" for s, p in t.cgroups)


def _cgroup(ctx: EventContext, arg: str | None) -> Any:
    t = ctx.thread
    if t is None or arg is None:
        return None
    for subsys, path in t.cgroups:
        if subsys == arg:
            return path
    return None


def _exectime(ctx: EventContext, _arg: str | None) -> int | None:
    t = ctx.thread
    if t is None:
        return None
    return t.exectime if ctx.evt.name == "switch" else 0


def _cpu(user: bool, system: bool) -> Callable[[EventContext, str | None],
                                               int | None]:
    """Ticks (1/100 s) used between two samples of about a second: a
    percentage of one CPU, at most 100 (libsinsp)."""
    def extract(ctx: EventContext, _arg: str | None) -> int | None:
        t = ctx.thread
        if t is None or ctx.evt.name != "procinfo":
            return None
        used = (t.cpu_user_used if user else 0) + \
            (t.cpu_sys_used if system else 0)
        return min(used, 100)
    return extract


def fields() -> list[FieldDef]:
    return [
        field("thread.tid", I, "id of the thread", _t(lambda t: t.tid)),
        field("thread.vtid", I, "thread id in its pid namespace",
              _t(lambda t: t.vtid if t.vtid >= 0 else None)),
        field("thread.ismain", B, "true for the main thread of a process",
              _t(lambda t: t.tid == t.pid)),
        field("thread.nametid", S, "process name followed by the tid",
              lambda c, a: None if c.thread is None
              else f"{c.thread.comm}{c.evt.tid}"),
        field("thread.cap_permitted", S, "permitted capabilities",
              _t(lambda t: caps_to_string(t.cap_permitted))),
        field("thread.cap_inheritable", S, "inheritable capabilities",
              _t(lambda t: caps_to_string(t.cap_inheritable))),
        field("thread.cap_effective", S, "effective capabilities",
              _t(lambda t: caps_to_string(t.cap_effective))),
        field("thread.cgroups", S, "all cgroups as subsys=path",
              _t(_cgroups)),
        field("thread.cgroup", S, "cgroup path of one subsystem: "
              "thread.cgroup.cpuacct", _cgroup, ArgMode.REQUIRED),
        field("thread.exectime", FieldType.RELTIME, "CPU time (ns) of the "
              "slice that ended with this switch event (0 on other events; "
              "switch events come from captures)", _exectime),
        field("thread.totexectime", FieldType.RELTIME, "CPU time (ns) of "
              "the thread over the switch events seen so far",
              _t(lambda t: t.totexectime)),
        field("thread.pfmajor", I, "major page faults",
              _t(lambda t: t.pfmajor), kind=IntKind.UINT64),
        field("thread.pfminor", I, "minor page faults",
              _t(lambda t: t.pfminor), kind=IntKind.UINT64),
        field("thread.vmsize", I, "virtual memory (kB)",
              _t(lambda t: t.vmsize), kind=IntKind.UINT64),
        field("thread.vmrss", I, "resident memory (kB)",
              _t(lambda t: t.vmrss), kind=IntKind.UINT64),
        field("thread.vmsize.b", I, "virtual memory (bytes)",
              _t(lambda t: t.vmsize * 1024), kind=IntKind.UINT64),
        field("thread.vmrss.b", I, "resident memory (bytes)",
              _t(lambda t: t.vmrss * 1024), kind=IntKind.UINT64),
        field("thread.cpu", I, "CPU used since the thread's previous "
              "procinfo sample, in % of a CPU (procinfo events of captures)",
              _cpu(True, True), kind=IntKind.INT32),
        field("thread.cpu.user", I, "user CPU used since the previous "
              "procinfo sample, in % of a CPU", _cpu(True, False),
              kind=IntKind.INT32),
        field("thread.cpu.system", I, "system CPU used since the previous "
              "procinfo sample, in % of a CPU", _cpu(False, True),
              kind=IntKind.INT32),
    ]
