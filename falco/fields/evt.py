# SPDX-License-Identifier: Apache-2.0
"""evt.* and syscall.* fields: the event itself."""
from __future__ import annotations

import errno
import socket
import time
from types import MappingProxyType
from typing import Any, Callable

from falco.driver._falco_ffi import lib
from falco.fields._common import B, I, S, field, unavailable_field
from falco.fields.evt_args import abspath, arg, args, rawarg
from falco.fields.registry import ArgMode, FieldDef, FieldType, IntKind
from falco.state.context import EventContext
from falco.state.entries import (
    O_CREAT, O_F_CREATED, O_RDONLY, O_TMPFILE, O_WRONLY, S_IXANY)

_NS = 1_000_000_000
_NO_PLUGINS = ("this engine loads no plugins, so no event comes from a "
               "plugin")
_OPENS = frozenset(("open", "openat", "openat2", "open_by_handle_at"))
_CATEGORIES = MappingProxyType({
    lib.EC_UNKNOWN: "unknown", lib.EC_OTHER: "other", lib.EC_FILE: "file",
    lib.EC_NET: "net", lib.EC_IPC: "IPC", lib.EC_MEMORY: "memory",
    lib.EC_PROCESS: "process", lib.EC_SLEEP: "sleep",
    lib.EC_SYSTEM: "system", lib.EC_SIGNAL: "signal", lib.EC_USER: "user",
    lib.EC_TIME: "time", lib.EC_PROCESSING: "processing",
    lib.EC_IO_READ: "IO_read", lib.EC_IO_WRITE: "IO_write",
    lib.EC_IO_OTHER: "IO_other", lib.EC_WAIT: "wait",
    lib.EC_SCHEDULER: "scheduler", lib.EC_INTERNAL: "internal"})
_IO_CATEGORIES = frozenset((lib.EC_IO_READ, lib.EC_IO_WRITE,
                            lib.EC_IO_OTHER))
# the category proper, without the syscall/tracepoint/plugin/meta bits
_CATEGORY_MASK = lib.EC_SYSCALL - 1
EC_IO_BASE, EC_SYSCALL = lib.EC_IO_BASE, lib.EC_SYSCALL
EF_READS_FROM_FD, EF_WRITES_TO_FD = lib.EF_READS_FROM_FD, lib.EF_WRITES_TO_FD
EF_WAITS = lib.EF_WAITS


def _flags(ctx: EventContext) -> int:
    flags = ctx.arg("flags")
    return flags if isinstance(flags, int) else 0


def _res_name(ctx: EventContext, _arg: str | None) -> str | None:
    res = _rawres(ctx, None)
    if res is None:
        return None
    if res >= 0:
        return "SUCCESS"
    return errno.errorcode.get(-res, str(res))


def _rawres(ctx: EventContext, _arg: str | None) -> int | None:
    evt = ctx.evt
    if evt.direction != "<":
        return None
    res = evt.res
    return res if isinstance(res, int) else None


def _failed(ctx: EventContext, _arg: str | None) -> bool:
    res = _rawres(ctx, None)
    return res is not None and res < 0


def _local(ts: int, fmt: str) -> str:
    return time.strftime(fmt, time.localtime(ts // _NS))


def _time(ctx: EventContext, _arg: str | None) -> str:
    ts = ctx.evt.ts
    return f"{_local(ts, '%H:%M:%S')}.{ts % _NS:09d}"


def _datetime(ctx: EventContext, _arg: str | None) -> str:
    ts = ctx.evt.ts
    return f"{_local(ts, '%Y-%m-%d %H:%M:%S')}.{ts % _NS:09d}"


def _iso8601(ctx: EventContext, _arg: str | None) -> str:
    ts = ctx.evt.ts
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts // _NS)) + \
        f".{ts % _NS:09d}Z"


def _latency(ctx: EventContext) -> int:
    """Exit minus enter timestamp; 0 without a paired enter event."""
    if ctx.evt.direction != "<" or ctx.enter is None:
        return 0
    return int(ctx.evt.ts - ctx.enter.ts)


def _is_io_read(ctx: EventContext, _arg: str | None) -> bool:
    return bool(ctx.evt.info.flags & EF_READS_FROM_FD)


def _is_io_write(ctx: EventContext, _arg: str | None) -> bool:
    return bool(ctx.evt.info.flags & EF_WRITES_TO_FD)


_IO_SUBCATEGORY = MappingProxyType({
    "file": "file", "directory": "file", "ipv4": "net", "ipv6": "net",
    "pipe": "ipc", "unix": "ipc", "event": "ipc", "signalfd": "ipc",
    "inotify": "ipc", "userfaultfd": "ipc",
})


def _category(ctx: EventContext, _arg: str | None) -> str | None:
    """The table category; I/O events are named after their fd's kind."""
    low = ctx.evt.info.category & _CATEGORY_MASK
    if low in _IO_CATEGORIES:
        fdi = ctx.fdinfo
        return "unknown" if fdi is None else _IO_SUBCATEGORY.get(
            fdi.type.value, "unknown")
    return _CATEGORIES.get(low, "unknown")


def _buffer(ctx: EventContext, _arg: str | None) -> bytes | None:
    data = ctx.arg("data")
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    return bytes(data) if isinstance(data, (bytes, bytearray)) else None


def _buflen(ctx: EventContext, _arg: str | None) -> int | None:
    """Bytes moved by an I/O event (its result), when its fd is known."""
    if not ctx.evt.info.category & EC_IO_BASE or ctx.fdinfo is None:
        return None
    res = _rawres(ctx, None)
    return res if res is not None and res >= 0 else None


def _open_check(kind: str) -> Any:
    def extract(ctx: EventContext, _arg: str | None) -> bool:
        name = ctx.evt.name
        if ctx.evt.direction != "<":
            return False
        if name == "creat":
            mode = ctx.arg("mode")
            return kind == "exec" and isinstance(mode, int) and bool(
                mode & S_IXANY)
        if name not in _OPENS:
            return False
        flags = _flags(ctx)
        if kind == "read":
            return bool(flags & O_RDONLY)
        if kind == "write":
            return bool(flags & O_WRONLY)
        if kind == "create":
            res = _rawres(ctx, None)
            return bool(flags & O_F_CREATED) or bool(
                flags & O_TMPFILE and res is not None and res >= 0)
        if flags & (O_TMPFILE | O_CREAT) and name != "open_by_handle_at":
            mode = ctx.arg("mode")
            return isinstance(mode, int) and bool(mode & S_IXANY)
        return False
    return extract


def _hostname(ctx: EventContext, _arg: str | None) -> str:
    meta = ctx.inspector.meta
    name = meta.get("hostname")
    if name is None:
        name = meta["hostname"] = socket.gethostname()
    return str(name)


def _syscall_type(ctx: EventContext, _arg: str | None) -> str | None:
    return ctx.evt.name if ctx.evt.info.category & EC_SYSCALL else None


def _type_is(ctx: EventContext, arg: str | None) -> int:
    return 1 if ctx.evt.name == arg else 0


def _count_error(kind: str) -> Any:
    def extract(ctx: EventContext, _arg: str | None) -> int:
        res = _rawres(ctx, None)
        if res is None or res >= 0:
            return 0
        if kind == "any":
            return 1
        fdi = ctx.fdinfo
        if kind == "file":
            return int(fdi is not None and fdi.type.value in ("file",
                       "directory") or fdi is None and ctx.evt.name in _OPENS)
        if kind == "net":
            return int(fdi is not None and fdi.type.is_socket)
        if kind == "memory":
            return int(ctx.evt.name in ("brk", "mmap", "mmap2", "munmap",
                                        "mprotect"))
        return int(not (fdi is not None or ctx.evt.name in _OPENS))
    return extract


def _distance(ctx: EventContext, arg: str | None) -> int | None:
    try:
        center = int(arg or "")
    except ValueError:
        return None
    return abs(ctx.evt.ts - center) // 1_000_000


def _around(op: str, values: tuple[str, ...], arg: str | None
            ) -> Callable[[EventContext], bool]:
    if op != "=" or len(values) != 1:
        raise ValueError("evt.around takes '= <milliseconds>'")
    try:
        center = int(arg or "")
        delta = int(values[0]) * 1_000_000
    except ValueError:
        raise ValueError("evt.around[<ns timestamp>] = <milliseconds> "
                         "takes integers") from None
    return lambda ctx: abs(ctx.evt.ts - center) <= delta


def _count_procinfo(ctx: EventContext, _arg: str | None) -> int:
    t = ctx.thread
    return int(ctx.evt.name == "procinfo" and t is not None and t.is_main)


def _infra(key: str) -> Any:
    """One item of an infrastructure event's description, written as
    "Event: start; ID: 0123...; name: web; Image: nginx:1.25@sha256:..."."""
    def extract(ctx: EventContext, _arg: str | None) -> str | None:
        if ctx.evt.name != "infra":
            return None
        desc = ctx.arg("description")
        if not isinstance(desc, str):
            return None
        for item in desc.split(";"):
            name, sep, value = item.partition(":")
            if sep and name.strip() == key:
                value = value.strip()
                if key == "ID":
                    return value[:12]
                if key == "Image":
                    return value.split("@", 1)[0]
                return value
        return None
    return extract


def fields() -> list[FieldDef]:
    REL = FieldType.RELTIME
    ABS = FieldType.ABSTIME
    return [
        field("evt.num", I, "event number", lambda c, a: c.evt.num,
              kind=IntKind.UINT64),
        field("evt.time", S, "event timestamp, local time "
              "HH:MM:SS.nnnnnnnnn", _time),
        field("evt.time.s", S, "event timestamp, local time HH:MM:SS",
              lambda c, a: _local(c.evt.ts, "%H:%M:%S")),
        field("evt.time.iso8601", S, "event timestamp in ISO 8601 (UTC, ns)",
              _iso8601),
        field("evt.datetime", S, "event date and time, local",
              _datetime),
        field("evt.datetime.s", S, "event date and time to the second",
              lambda c, a: _local(c.evt.ts, "%Y-%m-%d %H:%M:%S")),
        field("evt.rawtime", ABS, "event timestamp, ns since epoch",
              lambda c, a: c.evt.ts),
        field("evt.rawtime.s", I, "integer part of the timestamp (s)",
              lambda c, a: c.evt.ts // _NS, kind=IntKind.UINT64),
        field("evt.rawtime.ns", I, "fractional part of the timestamp (ns)",
              lambda c, a: c.evt.ts % _NS, kind=IntKind.UINT64),
        field("evt.reltime", REL, "ns since the first event",
              lambda c, a: c.evt.ts - c.inspector.first_ts),
        field("evt.reltime.s", I, "seconds since the first event",
              lambda c, a: (c.evt.ts - c.inspector.first_ts) // _NS,
              kind=IntKind.UINT64),
        field("evt.reltime.ns", I, "fractional ns since the first event",
              lambda c, a: (c.evt.ts - c.inspector.first_ts) % _NS,
              kind=IntKind.UINT64),
        field("evt.outputtime", S, "event timestamp as used in outputs",
              _time),
        field("evt.latency", REL, "ns between the enter and exit events",
              lambda c, a: _latency(c)),
        field("evt.latency.s", I, "seconds part of evt.latency",
              lambda c, a: (v := _latency(c)) and v // _NS,
              kind=IntKind.UINT64),
        field("evt.latency.ns", I, "ns part of evt.latency",
              lambda c, a: (v := _latency(c)) and v % _NS,
              kind=IntKind.UINT64),
        field("evt.latency.human", S, "evt.latency as text",
              lambda c, a: (v := _latency(c)) is not None
              and f"{v / _NS:.6f}s" or None),
        field("evt.latency.quantized", I, "10-base log of evt.latency",
              lambda c, a: (v := _latency(c)) is not None
              and max(0, len(str(v)) - 1) or 0, kind=IntKind.UINT64),
        field("evt.deltatime", REL, "ns since the previous event",
              lambda c, a: c.evt.ts - (c.inspector.prev_ts or c.evt.ts)),
        field("evt.deltatime.s", I, "seconds part of evt.deltatime",
              lambda c, a: (c.evt.ts - (c.inspector.prev_ts or c.evt.ts))
              // _NS, kind=IntKind.UINT64),
        field("evt.deltatime.ns", I, "ns part of evt.deltatime",
              lambda c, a: (c.evt.ts - (c.inspector.prev_ts or c.evt.ts))
              % _NS, kind=IntKind.UINT64),
        field("evt.dir", S, "event direction, '>' enter or '<' exit",
              lambda c, a: c.evt.direction),
        field("evt.type", S, "event type name (e.g. open)",
              lambda c, a: c.evt.name),
        field("evt.type.is", I, "1 if the event type is the argument",
              _type_is, ArgMode.REQUIRED, kind=IntKind.UINT32),
        field("syscall.type", S, "system call name; <NA> for non-syscall "
              "events", _syscall_type),
        field("evt.category", S, "event category (file, net, process...)",
              _category),
        field("evt.cpu", I, "CPU the event happened on",
              lambda c, a: c.evt.cpu, kind=IntKind.INT16),
        field("evt.args", S, "all event arguments as text", args),
        field("evt.arg", S, "one argument, rendered; by name "
              "(evt.arg.fd, evt.arg[name]) or index (evt.arg[0])", arg,
              ArgMode.REQUIRED),
        field("evt.rawarg", S, "one argument, raw value (evt.rawarg.res)",
              rawarg, ArgMode.REQUIRED),
        field("evt.info", S, "event arguments as text (as evt.args)", args),
        field("evt.buffer", FieldType.BYTES, "the data buffer of I/O "
              "events", _buffer),
        field("evt.buflen", I, "length of the I/O buffer", _buflen,
              kind=IntKind.UINT64),
        field("evt.res", S, "result: SUCCESS or the errno name (ENOENT)",
              _res_name),
        field("evt.rawres", I, "result as a number", _rawres),
        field("evt.failed", B, "true when the call returned an error",
              _failed),
        field("evt.is_io", B, "true for events that read or write fd data",
              lambda c, a: _is_io_read(c, a) or _is_io_write(c, a)),
        field("evt.is_io_read", B, "true for events reading fd data",
              _is_io_read),
        field("evt.is_io_write", B, "true for events writing fd data",
              _is_io_write),
        field("evt.io_dir", S, "'read' or 'write' for I/O events",
              lambda c, a: "write" if _is_io_write(c, a) else
              "read" if _is_io_read(c, a) else None),
        field("evt.is_wait", B, "true for events that make the thread wait",
              lambda c, a: bool(c.evt.info.flags & EF_WAITS)),
        field("evt.wait_latency", REL, "time spent waiting",
              lambda c, a: _latency(c) if c.evt.info.flags & EF_WAITS
              else 0),
        field("evt.is_syslog", B, "true for writes to /dev/log",
              lambda c, a: (f := c.fdinfo) is not None and
              "/dev/log" in f.name and _is_io_write(c, a)),
        field("evt.count", I, "1 for every event", lambda c, a: 1,
              kind=IntKind.UINT32),
        field("evt.count.error", I, "1 for failed events",
              _count_error("any"), kind=IntKind.UINT32),
        field("evt.count.error.file", I, "1 for failed file events",
              _count_error("file"), kind=IntKind.UINT32),
        field("evt.count.error.net", I, "1 for failed network events",
              _count_error("net"), kind=IntKind.UINT32),
        field("evt.count.error.memory", I, "1 for failed memory events",
              _count_error("memory"), kind=IntKind.UINT32),
        field("evt.count.error.other", I, "1 for other failed events",
              _count_error("other"), kind=IntKind.UINT32),
        field("evt.count.exit", I, "1 for exit events",
              lambda c, a: int(c.evt.direction == "<"), kind=IntKind.UINT32),
        field("evt.count.procinfo", I, "1 for procinfo events of a "
              "process's main thread", _count_procinfo, kind=IntKind.UINT32),
        field("evt.count.threadinfo", I, "1 for procinfo events (of any "
              "thread)", lambda c, a: int(c.evt.name == "procinfo"),
              kind=IntKind.UINT32),
        field("evt.around", I, "evt.around[T]=D keeps the events at most "
              "D ms before or after T (ns since epoch, as evt.rawtime); "
              "extracted, the distance to T in ms", _distance,
              ArgMode.REQUIRED, compare=_around, kind=IntKind.UINT64),
        field("evt.abspath", S, "absolute path of a *at() path argument "
              "(evt.abspath.src, evt.abspath.dst)", abspath,
              ArgMode.OPTIONAL),
        field("evt.is_open_read", B, "true for opens for reading",
              _open_check("read")),
        field("evt.is_open_write", B, "true for opens for writing",
              _open_check("write")),
        field("evt.is_open_exec", B, "true for opens creating an "
              "executable file", _open_check("exec")),
        field("evt.is_open_create", B, "true for opens that created the "
              "file", _open_check("create")),
        field("evt.source", S, "event source (syscall)",
              lambda c, a: "syscall"),
        field("evt.hostname", S, "host name", _hostname),
        field("evt.is_async", B, "true for events injected outside the "
              "syscall stream", lambda c, a: c.evt.name in ("container",
                                                           "notification")),
        field("evt.asynctype", S, "type of an async event",
              lambda c, a: c.evt.name if c.evt.name in (
                  "container", "notification") else None),
        unavailable_field("evt.pluginname", S, "plugin that produced the "
                          "event", _NO_PLUGINS),
        unavailable_field("evt.plugininfo", S, "plugin event summary",
                          _NO_PLUGINS),
        field("evt.infra.docker.name", S, "docker event name of an "
              "infrastructure event (captures of the Sysdig agent)",
              _infra("Event")),
        field("evt.infra.docker.container.id", S, "container id (12 "
              "chars) of an infrastructure event", _infra("ID")),
        field("evt.infra.docker.container.name", S, "container name of an "
              "infrastructure event", _infra("name")),
        field("evt.infra.docker.container.image", S, "container image of "
              "an infrastructure event (without digest)", _infra("Image")),
    ]
