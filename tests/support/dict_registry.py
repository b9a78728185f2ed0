# SPDX-License-Identifier: Apache-2.0
"""A small field registry over plain dicts, for tests of the filter and
rules layers (and of layers built on them) without the state engine.

The context is a ``dict``: ``ctx["proc.name"]`` is the value of
``proc.name``; an argument is looked up as ``ctx["proc.aname[2]"]``. Missing
keys extract as None (``<NA>``).
"""
from __future__ import annotations

from typing import Any, Iterable

from falco.fields.registry import ArgMode, FieldDef, FieldRegistry, FieldType

# name, type, arg mode, multi
_FIELDS: tuple[tuple[str, FieldType, ArgMode, bool], ...] = (
    ("evt.type", FieldType.STRING, ArgMode.NONE, False),
    ("evt.num", FieldType.INT, ArgMode.NONE, False),
    ("evt.time", FieldType.STRING, ArgMode.NONE, False),
    ("evt.dir", FieldType.STRING, ArgMode.NONE, False),
    ("evt.args", FieldType.STRING, ArgMode.NONE, False),
    ("evt.arg", FieldType.STRING, ArgMode.REQUIRED, False),
    ("evt.rawarg", FieldType.STRING, ArgMode.REQUIRED, False),
    ("evt.res", FieldType.STRING, ArgMode.NONE, False),
    ("evt.rawres", FieldType.INT, ArgMode.NONE, False),
    ("evt.failed", FieldType.BOOL, ArgMode.NONE, False),
    ("evt.is_open_read", FieldType.BOOL, ArgMode.NONE, False),
    ("evt.is_open_write", FieldType.BOOL, ArgMode.NONE, False),
    ("evt.buffer", FieldType.BYTES, ArgMode.NONE, False),
    ("proc.name", FieldType.STRING, ArgMode.NONE, False),
    ("proc.pname", FieldType.STRING, ArgMode.NONE, False),
    ("proc.aname", FieldType.STRING, ArgMode.OPTIONAL, True),
    ("proc.apid", FieldType.INT, ArgMode.OPTIONAL, True),
    ("proc.pid", FieldType.INT, ArgMode.NONE, False),
    ("proc.ppid", FieldType.INT, ArgMode.NONE, False),
    ("proc.cmdline", FieldType.STRING, ArgMode.NONE, False),
    ("proc.exe", FieldType.STRING, ArgMode.NONE, False),
    ("proc.exepath", FieldType.PATH, ArgMode.NONE, False),
    ("proc.args", FieldType.STRING, ArgMode.NONE, False),
    ("proc.aenv", FieldType.STRING, ArgMode.OPTIONAL, False),
    ("proc.env", FieldType.STRING, ArgMode.OPTIONAL, False),
    ("fd.name", FieldType.PATH, ArgMode.NONE, False),
    ("fd.directory", FieldType.PATH, ArgMode.NONE, False),
    ("fd.filename", FieldType.STRING, ArgMode.NONE, False),
    ("fd.typechar", FieldType.STRING, ArgMode.NONE, False),
    ("fd.type", FieldType.STRING, ArgMode.NONE, False),
    ("fd.num", FieldType.INT, ArgMode.NONE, False),
    ("fd.sip", FieldType.IPADDR, ArgMode.NONE, False),
    ("fd.cip", FieldType.IPADDR, ArgMode.NONE, False),
    ("fd.net", FieldType.IPNET, ArgMode.NONE, False),
    ("fd.snet", FieldType.IPNET, ArgMode.NONE, False),
    ("fd.sport", FieldType.PORT, ArgMode.NONE, False),
    ("fd.cport", FieldType.PORT, ArgMode.NONE, False),
    ("fd.types", FieldType.CHARBUF_LIST, ArgMode.OPTIONAL, True),
    ("user.name", FieldType.STRING, ArgMode.NONE, False),
    ("user.uid", FieldType.INT, ArgMode.NONE, False),
    ("container.id", FieldType.STRING, ArgMode.NONE, False),
    ("container.image.repository", FieldType.STRING, ArgMode.NONE, False),
)

TEST_EVTTYPES = frozenset(
    ["open", "openat", "openat2", "execve", "execveat", "connect", "accept",
     "accept4", "close", "read", "write", "clone", "clone3", "fork", "vfork",
     "procexit", "mkdir", "mkdirat", "unlink", "unlinkat", "rename",
     "renameat", "renameat2", "chmod", "setuid", "setns", "sendto",
     "recvfrom", "socket", "bind", "listen", "ptrace", "creat", "dup",
     "container", "memfd_create", "madvise", "switch"]
    + [f"syscall_{i}" for i in range(160)])


def _extractor(name: str) -> Any:
    def extract(ctx: Any, arg: str | None) -> Any:
        key = name if arg is None else f"{name}[{arg}]"
        return ctx.get(key)
    return extract


def make_test_registry(extra: Iterable[FieldDef] = ()) -> FieldRegistry:
    reg = FieldRegistry()
    for name, ftype, mode, multi in _FIELDS:
        reg.register(FieldDef(name, ftype, f"test field {name}",
                              _extractor(name), mode, multi))
    reg.register_all(extra)
    return reg
