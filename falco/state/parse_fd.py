# SPDX-License-Identifier: Apache-2.0
"""State updates for the fd family: open/openat/openat2/creat, socket,
socketpair, connect, accept, bind, listen, pipe, dup*, fcntl F_DUPFD,
eventfd/signalfd/epoll/inotify/timerfd/memfd/pidfd, close, close_range.
"""
from __future__ import annotations

import ipaddress
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from falco.state.context import EventContext
from falco.state.parse_proc import Handler
from falco.state.paths import concatenate_paths, dir_with_slash
from falco.state.types import (
    AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, AT_FDCWD, FCNTL_F_DUPFD,
    FCNTL_F_DUPFD_CLOEXEC, MFD_CLOEXEC, O_CLOEXEC, O_DIRECTORY,
    SOCK_CLOEXEC, FdInfo, FdType, ThreadInfo)

if TYPE_CHECKING:
    from falco.state.inspector import Inspector

EINPROGRESS = -115
_FAMILY_TYPES = {AF_INET: FdType.IPV4, AF_INET6: FdType.IPV6,
                 AF_UNIX: FdType.UNIX, AF_NETLINK: FdType.NETLINK}
_L4 = {1: "tcp", 2: "udp", 3: "raw", 5: "tcp"}


def _res(ctx: EventContext) -> int | None:
    res = ctx.evt.res
    return res if isinstance(res, int) else None


def resolve_dirfd(insp: Inspector, t: ThreadInfo, name: str,
                  dirfd: Any) -> str:
    """The base directory a *at() path is relative to."""
    if name.startswith("/"):
        return ""
    if not isinstance(dirfd, int) or dirfd == AT_FDCWD:
        return insp.main_thread(t).cwd
    fdi = t.fds.get(dirfd)
    if fdi is None:
        return "<UNKNOWN>"
    return dir_with_slash(fdi.name) if fdi.name else ""


def parse_open_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = _res(ctx)
    if t is None or fd is None or fd < 0:
        return
    name = ctx.arg("name")
    if name is None:
        name = ctx.arg("pathname") or "<NA>"
    flags = ctx.arg("flags")
    if not isinstance(flags, int):
        flags = 0
    if ctx.evt.name in ("openat", "openat2"):
        base = resolve_dirfd(insp, t, name, ctx.arg("dirfd"))
    elif ctx.evt.name == "open_by_handle_at":
        base = ""
    else:
        base = insp.main_thread(t).cwd
    fdi = FdInfo(fd, FdType.DIRECTORY if flags & O_DIRECTORY else FdType.FILE,
                 concatenate_paths(base, name), name, flags,
                 _int(ctx.arg("dev")), _int(ctx.arg("ino")),
                 cloexec=bool(flags & O_CLOEXEC))
    ctx.fdinfo = insp.add_fd(t, fdi)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def parse_socket_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = _res(ctx)
    if t is None or fd is None or fd < 0:
        return
    domain = ctx.arg("domain")
    stype = _int(ctx.arg("type"))
    proto = _int(ctx.arg("proto"))
    ftype = _FAMILY_TYPES.get(domain, FdType.UNKNOWN) \
        if isinstance(domain, int) else FdType.UNKNOWN
    l4 = None
    if ftype.is_ip:
        l4 = "icmp" if proto in (1, 58) else _L4.get(stype & 0xF)
    fdi = FdInfo(fd, ftype, l4proto=l4,
                 cloexec=bool(stype & SOCK_CLOEXEC)
                 or bool(_int(ctx.arg("flags")) & O_CLOEXEC))
    ctx.fdinfo = insp.add_fd(t, fdi)


def _ip_type(ip: str | None, default: FdType) -> tuple[FdType, str | None]:
    """IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4 for Falco."""
    if ip is not None and ip.startswith("::ffff:"):
        try:
            v4 = ipaddress.IPv6Address(ip).ipv4_mapped
        except ValueError:
            v4 = None
        if v4 is not None:
            return FdType.IPV4, str(v4)
    return default, ip


def apply_tuple(fdi: FdInfo, tup: Any, server: bool) -> bool:
    """Copy a SockTuple (client = source) into ``fdi``; False if empty."""
    family = getattr(tup, "family", None)
    if family in (AF_INET, AF_INET6):
        ftype = FdType.IPV4 if family == AF_INET else FdType.IPV6
        ftype, sip = _ip_type(tup.sip, ftype)
        _, dip = _ip_type(tup.dip, ftype)
        fdi.type = ftype
        fdi.sip, fdi.sport, fdi.dip, fdi.dport = sip, tup.sport, dip, tup.dport
        fdi.is_server = server
        if fdi.l4proto is None:
            fdi.l4proto = "tcp"
        name = f"{sip}:{tup.sport}->{dip}:{tup.dport}"
    elif family == AF_UNIX:
        fdi.type = FdType.UNIX
        fdi.is_server = server
        name = getattr(tup, "dpath", None) or getattr(tup, "spath", None) or ""
    else:
        return False
    fdi.name_changed = bool(fdi.name) and fdi.name != name
    fdi.name = fdi.nameraw = name
    return True


def _socket_fd(insp: Inspector, t: ThreadInfo, fd: int) -> FdInfo:
    fdi = t.fds.get(fd)
    if fdi is None:
        fdi = insp.add_fd(t, FdInfo(fd, FdType.UNKNOWN))
    return fdi


def parse_connect_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = _res(ctx)
    fd = ctx.fdnum
    if t is None or fd is None or fd < 0 or res is None:
        return
    if res < 0 and res != EINPROGRESS:
        return
    fdi = _socket_fd(insp, t, fd)
    tup = ctx.arg("tuple")
    if not apply_tuple(fdi, tup, False):
        addr = ctx.arg("addr")
        if getattr(addr, "family", None) in (AF_INET, AF_INET6):
            ftype, ip = _ip_type(addr.addr, FdType.IPV4
                                 if addr.family == AF_INET else FdType.IPV6)
            fdi.type, fdi.dip, fdi.dport, fdi.is_server = \
                ftype, ip, addr.port, False
            fdi.name = fdi.nameraw = f"{fdi.sip or '0.0.0.0'}:" \
                f"{fdi.sport or 0}->{ip}:{addr.port}"
        elif getattr(addr, "family", None) == AF_UNIX:
            fdi.type, fdi.is_server = FdType.UNIX, False
            fdi.name = fdi.nameraw = addr.path or ""
    ctx.fdinfo = fdi


def parse_accept_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = _res(ctx)
    if t is None or fd is None or fd < 0:
        return
    fdi = FdInfo(fd, FdType.UNKNOWN)
    listener = None
    lfd = ctx.arg("fd") if ctx.evt.name.startswith("accept") else None
    if isinstance(lfd, int) and lfd != fd:
        listener = t.fds.get(lfd)
    if listener is not None:
        fdi.l4proto = listener.l4proto
    apply_tuple(fdi, ctx.arg("tuple"), True)
    flags = ctx.arg("flags")
    fdi.cloexec = isinstance(flags, int) and bool(flags & O_CLOEXEC)
    ctx.fdinfo = insp.add_fd(t, fdi)


def parse_bind_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = _res(ctx)
    fd = ctx.fdnum
    if t is None or res is None or res < 0 or fd is None:
        return
    fdi = _socket_fd(insp, t, fd)
    addr = ctx.arg("addr")
    family = getattr(addr, "family", None)
    if family in (AF_INET, AF_INET6):
        ftype, ip = _ip_type(addr.addr, FdType.IPV4
                             if family == AF_INET else FdType.IPV6)
        fdi.type, fdi.dip, fdi.dport, fdi.is_server = ftype, ip, addr.port, True
        fdi.name = fdi.nameraw = f"{ip}:{addr.port}"
    elif family == AF_UNIX:
        fdi.type, fdi.is_server = FdType.UNIX, True
        fdi.name = fdi.nameraw = addr.path or ""
    ctx.fdinfo = fdi


def parse_listen_exit(insp: Inspector, ctx: EventContext) -> None:
    res = _res(ctx)
    fdi = ctx.fdinfo
    if fdi is not None and res is not None and res >= 0:
        fdi.is_server = True


def _add_simple(insp: Inspector, ctx: EventContext, ftype: FdType,
                name: str = "", cloexec: bool = False) -> None:
    t = ctx.thread
    fd = _res(ctx)
    if t is None or fd is None or fd < 0:
        return
    ctx.fdinfo = insp.add_fd(t, FdInfo(fd, ftype, name, name,
                                       cloexec=cloexec))


def _flags_cloexec(ctx: EventContext) -> bool:
    return bool(_int(ctx.arg("flags")) & O_CLOEXEC)


def parse_pipe_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = _res(ctx)
    if t is None or res is None or res < 0:
        return
    ino = _int(ctx.arg("ino"))
    cloexec = _flags_cloexec(ctx)
    first = None
    for key in ("fd1", "fd2"):
        fd = ctx.arg(key)
        if isinstance(fd, int) and fd >= 0:
            fdi = insp.add_fd(t, FdInfo(fd, FdType.PIPE, ino=ino,
                                        flags=_int(ctx.arg("flags")),
                                        cloexec=cloexec))
            first = first or fdi
    ctx.fdinfo = first


def parse_socketpair_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = _res(ctx)
    fd1, fd2 = ctx.arg("fd1"), ctx.arg("fd2")
    if t is None or res is None or res < 0 or fd1 == fd2:
        return
    cloexec = bool(_int(ctx.arg("type")) & SOCK_CLOEXEC)
    first = None
    for fd in (fd1, fd2):
        if isinstance(fd, int) and fd >= 0:
            fdi = insp.add_fd(t, FdInfo(fd, FdType.UNIX, cloexec=cloexec))
            first = first or fdi
    ctx.fdinfo = first


def _copy_fd(insp: Inspector, ctx: EventContext, oldfd: Any,
             cloexec: bool) -> None:
    t = ctx.thread
    newfd = _res(ctx)
    if t is None or newfd is None or newfd < 0 or not isinstance(oldfd, int):
        return
    src = t.fds.get(oldfd)
    if src is None:
        return
    if newfd == oldfd:
        ctx.fdinfo = src
        return
    copy = src.clone(newfd)
    copy.cloexec = cloexec
    ctx.fdinfo = insp.add_fd(t, copy)


def parse_dup_exit(insp: Inspector, ctx: EventContext) -> None:
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
    res = _res(ctx)
    fd = ctx.fdnum
    if t is None or fd is None:
        return
    fdi = ctx.fdinfo  # resolved before removal so fields still see it
    if fdi is not None and res is not None and res >= 0:
        t.fds.pop(fd, None)


def parse_close_range_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = _res(ctx)
    if t is None or res is None or res < 0:
        return
    first = _int(ctx.arg("first"))
    last = ctx.arg("last")
    last = last if isinstance(last, int) and last >= 0 else 0x7FFFFFFF
    cloexec_only = bool(_int(ctx.arg("flags")) & 4)
    for fd in [fd for fd in t.fds if first <= fd <= last]:
        if cloexec_only:
            t.fds[fd].cloexec = True
        else:
            del t.fds[fd]


def parse_memfd_exit(insp: Inspector, ctx: EventContext) -> None:
    name = ctx.arg("name") or ""
    t = ctx.thread
    fd = _res(ctx)
    if t is None or fd is None or fd < 0:
        return
    flags = _int(ctx.arg("flags"))
    ctx.fdinfo = insp.add_fd(t, FdInfo(fd, FdType.MEMFD, name, name, flags,
                                       cloexec=bool(flags & MFD_CLOEXEC)))


def _simple(ftype: FdType) -> Handler:
    def handler(insp: Inspector, ctx: EventContext) -> None:
        _add_simple(insp, ctx, ftype, cloexec=_flags_cloexec(ctx))
    return handler


def parse_pidfd_getfd_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = _res(ctx)
    if t is None or fd is None or fd < 0:
        return
    pidfd = t.fds.get(_int(ctx.arg("pidfd")))
    target_tid = getattr(pidfd, "ino", 0) if pidfd else 0
    target = insp.threads.get(target_tid) if target_tid else None
    src = target.fds.get(_int(ctx.arg("targetfd"))) if target else None
    if src is not None:
        copy = src.clone(fd)
        copy.cloexec = True
        ctx.fdinfo = insp.add_fd(t, copy)


def parse_pidfd_open_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = _res(ctx)
    if t is None or fd is None or fd < 0:
        return
    # The target pid is kept in ``ino`` for pidfd_getfd.
    ctx.fdinfo = insp.add_fd(t, FdInfo(fd, FdType.PIDFD, ino=_int(
        ctx.arg("pid")), cloexec=True))


def parse_sendrecv_exit(insp: Inspector, ctx: EventContext) -> None:
    """UDP and other unconnected sockets learn their peer from the tuple of
    sendto/sendmsg (we are the client) or recvfrom/recvmsg (the server)."""
    res = _res(ctx)
    if res is None or res < 0:
        return
    fdi = ctx.fdinfo
    if fdi is None or not fdi.type.is_ip or fdi.l4proto == "tcp":
        return
    tup = ctx.arg("tuple")
    if tup is not None:
        apply_tuple(fdi, tup, ctx.evt.name.startswith("recv"))


# Opportunistic updates from I/O events: used when those events are traced
# anyway, never a reason to trace them.
IO_EXIT_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    "sendto": parse_sendrecv_exit, "sendmsg": parse_sendrecv_exit,
    "recvfrom": parse_sendrecv_exit, "recvmsg": parse_sendrecv_exit,
})

FD_EXIT_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    "open": parse_open_exit, "openat": parse_open_exit,
    "openat2": parse_open_exit, "creat": parse_open_exit,
    "open_by_handle_at": parse_open_exit,
    "socket": parse_socket_exit, "connect": parse_connect_exit,
    "accept": parse_accept_exit, "accept4": parse_accept_exit,
    "bind": parse_bind_exit, "listen": parse_listen_exit,
    "pipe": parse_pipe_exit, "pipe2": parse_pipe_exit,
    "socketpair": parse_socketpair_exit,
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
