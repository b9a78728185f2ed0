# SPDX-License-Identifier: Apache-2.0
"""fs.path.* fields: the path arguments of filesystem system calls, even
those that create no fd (unlink, rename, mkdir, chmod, mount, ...).

Only successful calls have these fields. ``name``/``source``/``target``
are resolved against the call's dirfd or the cwd; the ``raw`` variants
are the argument as passed.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable

from falco.fields._common import P, field
from falco.fields.registry import FieldDef
from falco.state.context import EventContext
from falco.state.parse_fd import resolve_dirfd
from falco.state.paths import concatenate_paths

# event -> (path param, dirfd param or None); "@fd" = the event's fd name.
_PATH = MappingProxyType({
    "mkdir": ("path", None), "mkdirat": ("path", "dirfd"),
    "rmdir": ("path", None), "unlink": ("path", None),
    "unlinkat": ("name", "dirfd"), "open": ("name", None),
    "openat": ("name", "dirfd"), "openat2": ("name", "dirfd"),
    "creat": ("name", None), "fchmodat": ("filename", "dirfd"),
    "chmod": ("filename", None), "fchmod": ("@fd", None),
    "chown": ("path", None), "lchown": ("path", None),
    "fchown": ("@fd", None), "fchownat": ("pathname", "dirfd"),
    "quotactl": ("special", None), "umount": ("name", None),
    "umount2": ("name", None), "mknodat": ("path", "dirfd"),
    "mknod": ("path", None), "newfstatat": ("path", "dirfd"),
})
_SOURCE = MappingProxyType({
    "rename": ("oldpath", None), "renameat": ("oldpath", "olddirfd"),
    "renameat2": ("oldpath", "olddirfd"), "link": ("newpath", None),
    "linkat": ("newpath", "newdir"), "symlink": ("linkpath", None),
    "symlinkat": ("linkpath", "linkdirfd"), "mount": ("dev", None),
})
_TARGET = MappingProxyType({
    "rename": ("newpath", None), "renameat": ("newpath", "newdirfd"),
    "renameat2": ("newpath", "newdirfd"), "link": ("oldpath", None),
    "linkat": ("oldpath", "olddir"), "symlink": ("target", None),
    "symlinkat": ("target", None), "mount": ("dir", None),
})
_FD_RESULT = frozenset(("open", "openat", "openat2", "creat"))


def _succeeded(ctx: EventContext) -> bool:
    evt = ctx.evt
    if evt.direction != "<":
        return False
    res = evt.res
    if not isinstance(res, int):
        return False
    return res != -1 and res >= 0 if evt.name in _FD_RESULT else res == 0


def _extract(table: MappingProxyType[str, tuple[str, str | None]],
             raw: bool) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        spec = table.get(ctx.evt.name)
        if spec is None or not _succeeded(ctx):
            return None
        pname, dirfd = spec
        if pname == "@fd":
            fdi = ctx.fdinfo
            return None if fdi is None else fdi.name
        path = ctx.arg(pname)
        if not isinstance(path, str):
            return None
        if raw or path.startswith("/"):
            return path if raw else concatenate_paths("", path)
        t = ctx.thread
        if t is None:
            return None
        if dirfd is None:
            if table is _TARGET and ctx.evt.name == "symlinkat":
                base = "<UNKNOWN>"
            else:
                base = ctx.inspector.main_thread(t).cwd
        else:
            base = resolve_dirfd(ctx.inspector, t, path, ctx.arg(dirfd))
        return concatenate_paths(base, path)
    return extract


def fields() -> list[FieldDef]:
    return [
        field("fs.path.name", P, "path a filesystem call operates on, "
              "resolved", _extract(_PATH, False)),
        field("fs.path.nameraw", P, "path a filesystem call operates on, "
              "as passed", _extract(_PATH, True)),
        field("fs.path.source", P, "source path of rename/link/symlink/"
              "mount, resolved", _extract(_SOURCE, False)),
        field("fs.path.sourceraw", P, "source path, as passed",
              _extract(_SOURCE, True)),
        field("fs.path.target", P, "target path of rename/link/symlink/"
              "mount, resolved", _extract(_TARGET, False)),
        field("fs.path.targetraw", P, "target path, as passed",
              _extract(_TARGET, True)),
    ]
