# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the per-class field modules."""
from __future__ import annotations

from typing import Any, Iterator

from falco.fields.registry import (
    ArgMode, Comparator, Extractor, FieldDef, FieldType, IntKind, unavailable)
from falco.state.context import EventContext

S = FieldType.STRING
I = FieldType.INT
B = FieldType.BOOL
P = FieldType.PATH

# Linux capability numbers -> names (include/uapi/linux/capability.h).
CAP_NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


def caps_to_string(caps: int) -> str:
    return " ".join(name for bit, name in enumerate(CAP_NAMES)
                    if caps >> bit & 1)


def field(name: str, ftype: FieldType, desc: str, extract: Extractor,
          arg: ArgMode = ArgMode.NONE, multi: bool = False,
          deprecated: bool = False,
          compare: Comparator | None = None,
          kind: IntKind | None = None) -> FieldDef:
    return FieldDef(name, ftype, desc, extract, arg, multi,
                    deprecated=deprecated, compare=compare, int_kind=kind)


def unavailable_field(name: str, ftype: FieldType, desc: str, reason: str,
                      arg: ArgMode = ArgMode.NONE,
                      deprecated: bool = False,
                      kind: IntKind | None = None) -> FieldDef:
    """A field kept for rules that use it, but never computed here:
    ``reason`` says why (it is shown when a rule using it loads)."""
    return FieldDef(name, ftype, desc, unavailable, arg,
                    deprecated=deprecated, unavailable=reason,
                    int_kind=kind)


def main_of(ctx: EventContext) -> Any:
    t = ctx.thread
    if t is None or t.tid == t.pid:
        return t
    return ctx.inspector.threads.get(t.pid) or t


def parent_of(ctx: EventContext) -> Any:
    t = ctx.thread
    if t is None:
        return None
    return ctx.inspector.parent(t)


def ancestors(ctx: EventContext) -> Iterator[Any]:
    t = ctx.thread
    if t is None:
        return iter(())
    it: Iterator[Any] = ctx.inspector.ancestors(t)
    return it


def ancestor(ctx: EventContext, arg: str | None) -> Any:
    """proc.aname[N]: 0 is the process itself, 1 its parent, ..."""
    try:
        level = int(arg) if arg is not None else 1
    except ValueError:
        return None
    if level < 0:
        return None
    t = main_of(ctx)
    insp = ctx.inspector
    while t is not None and level > 0:
        t = insp.parent(t)
        level -= 1
    return t


def cmdline(t: Any) -> str:
    """proc.cmdline: the name (comm) followed by the arguments."""
    comm: str = t.comm
    return comm + " " + " ".join(t.args) if t.args else comm


def exeline(t: Any) -> str:
    exe: str = t.exe
    return exe + " " + " ".join(t.args) if t.args else exe


def env_value(env: list[str], key: str) -> str | None:
    prefix = key + "="
    for item in env:
        if item.startswith(prefix):
            return item[len(prefix):]
    return None
