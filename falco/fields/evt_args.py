# SPDX-License-Identifier: Apache-2.0
"""Event arguments as fields: evt.arg (rendered), evt.rawarg, evt.args and
evt.abspath.

Rendering follows libsinsp: fd arguments show the fd's type and name
(``<f>/etc/passwd``) and user/group ids their names when known.
"""
from __future__ import annotations

from typing import Any

from falco.state.parse_fd import resolve_dirfd
from falco.state.paths import concatenate_paths

_FD_NAMES = frozenset(("fd", "fd1", "fd2", "oldfd", "newfd", "pidfd"))
_UID_NAMES = frozenset(("uid", "euid", "ruid", "suid", "loginuid"))
_GID_NAMES = frozenset(("gid", "egid", "rgid", "sgid"))


def _param_names(evt: Any) -> list[str]:
    try:
        return list(evt.param_names())
    except (AttributeError, TypeError):
        return []


def _key(arg: str) -> str | int:
    return int(arg) if arg.isdigit() else arg


def _resolved(ctx: Any, name: str, value: Any) -> str | None:
    """libsinsp's resolved form of fd and id parameters."""
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return None
    if name in _FD_NAMES and value >= 0 and ctx.thread is not None:
        fdi = ctx.thread.fds.get(value)
        if fdi is not None:
            return f"<{fdi.typechar}>{fdi.name}"
    elif name in _UID_NAMES and ctx.thread is not None:
        info = ctx.inspector.users_of(ctx.thread).user(value)
        return info.name if info is not None else None
    elif name in _GID_NAMES and ctx.thread is not None:
        info = ctx.inspector.users_of(ctx.thread).group(value)
        return info.name if info is not None else None
    return None


def _param_str(evt: Any, key: str | int) -> str | None:
    try:
        text: str | None = evt.param_str(key)
        return text
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def arg(ctx: Any, arg: str | None) -> Any:
    if arg is None:
        return None
    key = _key(arg)
    evt = ctx.evt
    if isinstance(key, int):
        names = _param_names(evt)
        if key >= len(names):
            return None
        name = names[key]
    else:
        name = key
    target = evt
    if ctx.arg(name) is not None and _get(evt, name) is None:
        target = ctx.enter
    value = _get(target, name)
    res = _resolved(ctx, name, value)
    if res is not None:
        return res
    return _param_str(target, name)


def _get(evt: Any, name: str) -> Any:
    try:
        return evt.param(name)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def rawarg(ctx: Any, arg: str | None) -> Any:
    if arg is None:
        return None
    key = _key(arg)
    if isinstance(key, int):
        return _get(ctx.evt, key)  # type: ignore[arg-type]
    return ctx.arg(key)


def args(ctx: Any, _arg: str | None) -> str:
    evt = ctx.evt
    out = []
    for name in _param_names(evt):
        value = _get(evt, name)
        text = _param_str(evt, name)
        res = _resolved(ctx, name, value)
        if res is not None:
            text = f"{value}({res})"
        out.append(f"{name}={'' if text is None else text}")
    return " ".join(out)


def abspath(ctx: Any, arg: str | None) -> str | None:
    """evt.abspath[.src|.dst]: a path argument resolved against its dirfd."""
    evt = ctx.evt
    name = evt.name
    pairs = {"unlinkat": ("dirfd", "name"), "mkdirat": ("dirfd", "path"),
             "renameat": ("olddirfd", "oldpath"),
             "renameat2": ("olddirfd", "oldpath"),
             "linkat": ("olddir", "oldpath"),
             "symlinkat": ("linkdirfd", "linkpath"),
             "fchmodat": ("dirfd", "filename"),
             "fchownat": ("dirfd", "pathname"),
             "openat": ("dirfd", "name"), "openat2": ("dirfd", "name")}
    if arg in ("dst", "target") and name in ("renameat", "renameat2"):
        dirfd_name, path_name = "newdirfd", "newpath"
    elif arg in ("dst", "target") and name == "linkat":
        dirfd_name, path_name = "newdir", "newpath"
    elif name in pairs:
        dirfd_name, path_name = pairs[name]
    else:
        return None
    path = ctx.arg(path_name)
    if not isinstance(path, str) or ctx.thread is None:
        return None
    base = resolve_dirfd(ctx.inspector, ctx.thread, path,
                         ctx.arg(dirfd_name))
    return concatenate_paths(base, path)
