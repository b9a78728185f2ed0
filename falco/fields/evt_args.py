# SPDX-License-Identifier: Apache-2.0
"""Event arguments as fields: evt.arg (rendered), evt.rawarg, evt.args and
evt.abspath.

Rendering follows libsinsp: fd arguments show the fd's type and name
(``<f>/etc/passwd``) and user/group ids their names when known.
"""
from __future__ import annotations

from falco.events.event import Event
from falco.state.context import EventContext
from falco.state.parse_fd import resolve_dirfd
from falco.state.paths import concatenate_paths

_FD_NAMES = frozenset(("fd", "fd1", "fd2", "oldfd", "newfd", "pidfd"))
_UID_NAMES = frozenset(("uid", "euid", "ruid", "suid", "loginuid"))
_GID_NAMES = frozenset(("gid", "egid", "rgid", "sgid"))


def _key(arg: str) -> str | int:
    return int(arg) if arg.isdigit() else arg


def _resolved(ctx: EventContext, name: str, value: object) -> str | None:
    """libsinsp's resolved form of fd and id parameters."""
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return None
    if name in _FD_NAMES and value >= 0 and ctx.thread is not None:
        fdi = ctx.inspector.fd_of(ctx.thread, value)
        if fdi is not None:
            return f"<{fdi.typechar}>{fdi.name}"
    elif name in _UID_NAMES and ctx.thread is not None:
        info = ctx.inspector.users_of(ctx.thread).user(value)
        return info.name if info is not None else None
    elif name in _GID_NAMES and ctx.thread is not None:
        group = ctx.inspector.users_of(ctx.thread).group(value)
        return group.name if group is not None else None
    return None


def arg(ctx: EventContext, arg: str | None) -> str | None:
    if arg is None:
        return None
    key = _key(arg)
    evt = ctx.evt
    if isinstance(key, int):
        names = evt.param_names()
        if key >= len(names):
            return None
        name = names[key]
    else:
        name = key
    # old captures: the value may be in the enter event only
    target: Event = evt
    if evt.param(name) is None and ctx.enter is not None \
            and ctx.enter.param(name) is not None:
        target = ctx.enter
    res = _resolved(ctx, name, target.param(name))
    if res is not None:
        return res
    return target.param_str(name)


def rawarg(ctx: EventContext, arg: str | None) -> object:
    if arg is None:
        return None
    key = _key(arg)
    if isinstance(key, int):
        return ctx.evt.param(key)
    return ctx.arg(key)


def args(ctx: EventContext, _arg: str | None) -> str:
    evt = ctx.evt
    out = []
    for name in evt.param_names():
        value = evt.param(name)
        text = evt.param_str(name)
        res = _resolved(ctx, name, value)
        if res is not None:
            text = f"{value}({res})"
        out.append(f"{name}={'' if text is None else text}")
    return " ".join(out)


def abspath(ctx: EventContext, arg: str | None) -> str | None:
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
