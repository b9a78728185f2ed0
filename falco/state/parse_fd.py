# SPDX-License-Identifier: Apache-2.0
"""State updates for the fd family: open/openat/openat2/creat, pipe,
dup*, fcntl F_DUPFD, eventfd/signalfd/epoll/inotify/timerfd/memfd/pidfd,
close, close_range (sockets: ``parse_net``).
"""
from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from falco.state.context import EventContext
from falco.state.entries import (
    AT_FDCWD, CLOSE_RANGE_CLOEXEC, FCNTL_F_DUPFD, FCNTL_F_DUPFD_CLOEXEC,
    MFD_CLOEXEC, O_CLOEXEC, O_DIRECTORY, FdInfo, FdType, ThreadInfo)
from falco.state.parse_net import NET_EXIT_HANDLERS
from falco.state.parse_proc import Handler
from falco.state.paths import concatenate_paths, dir_with_slash

if TYPE_CHECKING:
    from falco.state.inspector import Inspector


def resolve_dirfd(insp: Inspector, t: ThreadInfo, name: str,
                  dirfd: object) -> str:
    """The base directory a *at() path is relative to."""
    if name.startswith("/"):
        return ""
    if not isinstance(dirfd, int) or dirfd == AT_FDCWD:
        return insp.main_thread(t).cwd
    fdi = insp.fd_of(t, dirfd)
    if fdi is None:
        return "<UNKNOWN>"
    return dir_with_slash(fdi.name) if fdi.name else ""


def parse_open_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = ctx.evt.res
    if t is None or fd is None or fd < 0:
        return
    # open_by_handle_at: the path the kernel resolved the handle to
    name = ctx.arg("path" if ctx.evt.name == "open_by_handle_at" else "name")
    if not isinstance(name, str):
        name = "<NA>"           # the driver could not read it
    flags = ctx.int_arg("flags")
    if ctx.evt.name in ("openat", "openat2"):
        base = resolve_dirfd(insp, t, name, ctx.arg("dirfd"))
    elif ctx.evt.name == "open_by_handle_at":
        base = ""
    else:
        base = insp.main_thread(t).cwd
    fdi = FdInfo(fd, FdType.DIRECTORY if flags & O_DIRECTORY else FdType.FILE,
                 concatenate_paths(base, name), name, flags,
                 ctx.int_arg("dev"), ctx.int_arg("ino"),
                 cloexec=bool(flags & O_CLOEXEC))
    ctx.fdinfo = insp.add_fd(t, fdi)


def _add_simple(insp: Inspector, ctx: EventContext, ftype: FdType,
                name: str = "", cloexec: bool = False) -> None:
    t = ctx.thread
    fd = ctx.evt.res
    if t is None or fd is None or fd < 0:
        return
    ctx.fdinfo = insp.add_fd(t, FdInfo(fd, ftype, name, name,
                                       cloexec=cloexec))


def _flags_cloexec(ctx: EventContext) -> bool:
    return bool(ctx.int_arg("flags") & O_CLOEXEC)


def parse_pipe_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = ctx.evt.res
    if t is None or res is None or res < 0:
        return
    ino = ctx.int_arg("ino")
    cloexec = _flags_cloexec(ctx)
    first = None
    for key in ("fd1", "fd2"):
        fd = ctx.arg(key)
        if isinstance(fd, int) and fd >= 0:
            fdi = insp.add_fd(t, FdInfo(fd, FdType.PIPE, ino=ino,
                                        flags=ctx.int_arg("flags"),
                                        cloexec=cloexec))
            first = first or fdi
    ctx.fdinfo = first


def _copy_fd(insp: Inspector, ctx: EventContext, oldfd: object,
             cloexec: bool) -> None:
    t = ctx.thread
    newfd = ctx.evt.res
    if t is None or newfd is None or newfd < 0 or not isinstance(oldfd, int):
        return
    src = insp.fd_of(t, oldfd)
    if src is None:
        return
    if newfd == oldfd:
        ctx.fdinfo = src
        return
    copy = src.clone(newfd)
    copy.cloexec = cloexec
    ctx.fdinfo = insp.add_fd(t, copy)


def parse_dup_exit(insp: Inspector, ctx: EventContext) -> None:
    # dup2/dup3 exits carry "oldfd"; dup's (and old captures') only "fd"
    oldfd = ctx.arg("oldfd")
    if oldfd is None:
        oldfd = ctx.arg("fd")
    _copy_fd(insp, ctx, oldfd, _flags_cloexec(ctx))


def parse_fcntl_exit(insp: Inspector, ctx: EventContext) -> None:
    cmd = ctx.arg("cmd")
    if cmd in (FCNTL_F_DUPFD, FCNTL_F_DUPFD_CLOEXEC):
        _copy_fd(insp, ctx, ctx.arg("fd"), cmd == FCNTL_F_DUPFD_CLOEXEC)


def parse_close_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = ctx.evt.res
    fd = ctx.fdnum
    if t is None or fd is None:
        return
    fdi = ctx.fdinfo  # resolved before removal so fields still see it
    if fdi is not None and res is not None and res >= 0:
        t.fds.pop(fd, None)


def parse_close_range_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = ctx.evt.res
    if t is None or res is None or res < 0:
        return
    first, last = ctx.arg("first"), ctx.arg("last")
    if not isinstance(first, int) or not isinstance(last, int):
        return                  # the range is not carried: unknown
    if last < 0:
        last = 0x7FFFFFFF       # ~0U: to the last fd
    cloexec_only = bool(ctx.int_arg("flags") & CLOSE_RANGE_CLOEXEC)
    for fd in [fd for fd in t.fds if first <= fd <= last]:
        if cloexec_only:
            t.fds[fd].cloexec = True
        else:
            del t.fds[fd]


def parse_memfd_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = ctx.evt.res
    if t is None or fd is None or fd < 0:
        return
    name = ctx.arg("name")          # memfd_create("") names it ""
    if not isinstance(name, str):
        name = ""
    flags = ctx.int_arg("flags")
    ctx.fdinfo = insp.add_fd(t, FdInfo(fd, FdType.MEMFD, name, name, flags,
                                       cloexec=bool(flags & MFD_CLOEXEC)))


def _simple(ftype: FdType) -> Handler:
    def handler(insp: Inspector, ctx: EventContext) -> None:
        _add_simple(insp, ctx, ftype, cloexec=_flags_cloexec(ctx))
    return handler


def parse_pidfd_getfd_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = ctx.evt.res
    if t is None or fd is None or fd < 0:
        return
    pidfd = insp.fd_of(t, ctx.int_arg("pid_fd", -1))
    if pidfd is None or pidfd.type is not FdType.PIDFD:
        return
    target = insp.threads.get(pidfd.ino)
    src = insp.fd_of(target, ctx.int_arg("target_fd", -1)) if target \
        else None
    if src is not None:
        copy = src.clone(fd)
        copy.cloexec = True
        ctx.fdinfo = insp.add_fd(t, copy)


def parse_pidfd_open_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = ctx.evt.res
    if t is None or fd is None or fd < 0:
        return
    # The target pid is kept in ``ino`` for pidfd_getfd.
    ctx.fdinfo = insp.add_fd(t, FdInfo(fd, FdType.PIDFD,
                                       ino=ctx.int_arg("pid"), cloexec=True))


FD_EXIT_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    **NET_EXIT_HANDLERS,
    "open": parse_open_exit, "openat": parse_open_exit,
    "openat2": parse_open_exit, "creat": parse_open_exit,
    "open_by_handle_at": parse_open_exit,
    "pipe": parse_pipe_exit, "pipe2": parse_pipe_exit,
    "dup": parse_dup_exit, "dup2": parse_dup_exit, "dup3": parse_dup_exit,
    "fcntl": parse_fcntl_exit, "close": parse_close_exit,
    "close_range": parse_close_range_exit,
    "memfd_create": parse_memfd_exit,
    "eventfd": _simple(FdType.EVENT), "eventfd2": _simple(FdType.EVENT),
    "signalfd": _simple(FdType.SIGNALFD), "signalfd4": _simple(FdType.SIGNALFD),
    "epoll_create": _simple(FdType.EVENTPOLL),
    "epoll_create1": _simple(FdType.EVENTPOLL),
    "inotify_init": _simple(FdType.INOTIFY),
    "inotify_init1": _simple(FdType.INOTIFY),
    "timerfd_create": _simple(FdType.TIMERFD),
    "userfaultfd": _simple(FdType.USERFAULTFD),
    "io_uring_setup": _simple(FdType.IO_URING),
    "pidfd_open": parse_pidfd_open_exit,
    "pidfd_getfd": parse_pidfd_getfd_exit,
})
