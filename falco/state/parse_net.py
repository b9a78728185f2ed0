# SPDX-License-Identifier: Apache-2.0
"""State updates for sockets: socket, socketpair, connect, accept, bind,
listen, and UDP peers from sendto/recvfrom tuples."""
from __future__ import annotations

import errno
import ipaddress
import socket
from types import MappingProxyType
from typing import TYPE_CHECKING

from falco.events.sockets import (
    AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, SockAddr, SockTuple)
from falco.state.context import EventContext
from falco.state.entries import (
    O_CLOEXEC, SOCK_CLOEXEC, FdInfo, FdType, ThreadInfo)
from falco.state.parse_proc import Handler

if TYPE_CHECKING:
    from falco.state.inspector import Inspector

EINPROGRESS = -errno.EINPROGRESS
_FAMILY_TYPES = {AF_INET: FdType.IPV4, AF_INET6: FdType.IPV6,
                 AF_UNIX: FdType.UNIX, AF_NETLINK: FdType.NETLINK}
_L4 = {socket.SOCK_STREAM: "tcp", socket.SOCK_DGRAM: "udp"}


def parse_socket_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = ctx.evt.res
    if t is None or fd is None or fd < 0:
        return
    domain = ctx.arg("domain")
    stype = ctx.int_arg("type")
    proto = ctx.int_arg("proto")
    ftype = _FAMILY_TYPES.get(domain, FdType.UNKNOWN) \
        if isinstance(domain, int) else FdType.UNKNOWN
    l4 = _l4proto(stype, proto) if ftype.is_ip else None
    fdi = FdInfo(fd, ftype, l4proto=l4,
                 cloexec=bool(stype & SOCK_CLOEXEC)
                 or bool(ctx.int_arg("flags") & O_CLOEXEC))
    ctx.fdinfo = insp.add_fd(t, fdi)


def _l4proto(stype: int, proto: int) -> str | None:
    """The transport of an IP socket from socket()'s type and protocol."""
    raw = stype & 0xFF == socket.SOCK_RAW
    if proto == socket.IPPROTO_TCP:
        return "raw" if raw else "tcp"
    if proto == socket.IPPROTO_UDP:
        return "raw" if raw else "udp"
    if proto == 0:
        return _L4.get(stype & 0xFF)
    if proto in (socket.IPPROTO_ICMP, socket.IPPROTO_ICMPV6):
        return "raw" if raw else "icmp"
    return "raw" if proto == socket.IPPROTO_RAW else None


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


def apply_tuple(fdi: FdInfo, tup: object, server: bool) -> bool:
    """Copy a SockTuple (client = source) into ``fdi``; False when there is
    none (not carried, or the driver could not read the socket) or its
    family is neither IP nor unix."""
    if not isinstance(tup, SockTuple):
        return False
    family = tup.family
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
        # the path of the socket's address ("" for an unnamed socket)
        name = tup.dpath or tup.spath or ""
    else:
        return False
    fdi.name_changed = bool(fdi.name) and fdi.name != name
    fdi.name = fdi.nameraw = name
    return True


def _socket_fd(insp: Inspector, t: ThreadInfo, fd: int) -> FdInfo:
    fdi = insp.fd_of(t, fd)
    if fdi is None:
        fdi = insp.add_fd(t, FdInfo(fd, FdType.UNKNOWN))
    return fdi


def parse_connect_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = ctx.evt.res
    fd = ctx.fdnum
    if t is None or fd is None or fd < 0 or res is None:
        return
    if res < 0 and res != EINPROGRESS:
        return
    fdi = _socket_fd(insp, t, fd)
    if not apply_tuple(fdi, ctx.arg("tuple"), False):
        # no tuple: the address connected to is all there is
        addr = ctx.arg("addr")
        if isinstance(addr, SockAddr) and addr.family in (AF_INET, AF_INET6):
            ftype, ip = _ip_type(addr.addr, FdType.IPV4
                                 if addr.family == AF_INET else FdType.IPV6)
            fdi.type, fdi.dip, fdi.dport, fdi.is_server = \
                ftype, ip, addr.port, False
            fdi.name = fdi.nameraw = f"{fdi.sip or '0.0.0.0'}:" \
                f"{fdi.sport or 0}->{ip}:{addr.port}"
        elif isinstance(addr, SockAddr) and addr.family == AF_UNIX:
            fdi.type, fdi.is_server = FdType.UNIX, False
            fdi.name = fdi.nameraw = addr.path or ""
    ctx.fdinfo = fdi


def parse_accept_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    fd = ctx.evt.res
    if t is None or fd is None or fd < 0:
        return
    # The exit event carries the new fd, not the listening one: the
    # tuple alone says what the connection is.
    fdi = FdInfo(fd, FdType.UNKNOWN)
    apply_tuple(fdi, ctx.arg("tuple"), True)
    fdi.cloexec = bool(ctx.int_arg("flags") & O_CLOEXEC)
    ctx.fdinfo = insp.add_fd(t, fdi)


def parse_bind_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = ctx.evt.res
    fd = ctx.fdnum
    if t is None or res is None or res < 0 or fd is None:
        return
    fdi = _socket_fd(insp, t, fd)
    addr = ctx.arg("addr")
    if not isinstance(addr, SockAddr):
        ctx.fdinfo = fdi
        return
    family = addr.family
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
    res = ctx.evt.res
    fdi = ctx.fdinfo
    if fdi is not None and res is not None and res >= 0:
        fdi.is_server = True


def parse_socketpair_exit(insp: Inspector, ctx: EventContext) -> None:
    t = ctx.thread
    res = ctx.evt.res
    fd1, fd2 = ctx.arg("fd1"), ctx.arg("fd2")
    if t is None or res is None or res < 0 or fd1 == fd2:
        return
    cloexec = bool(ctx.int_arg("type") & SOCK_CLOEXEC)
    first = None
    for fd in (fd1, fd2):
        if isinstance(fd, int) and fd >= 0:
            fdi = insp.add_fd(t, FdInfo(fd, FdType.UNIX, cloexec=cloexec))
            first = first or fdi
    ctx.fdinfo = first


def parse_sendrecv_exit(insp: Inspector, ctx: EventContext) -> None:
    """UDP and other unconnected sockets learn their peer from the tuple of
    sendto/sendmsg (we are the client) or recvfrom/recvmsg (the server)."""
    res = ctx.evt.res
    if res is None or res < 0:
        return
    fdi = ctx.fdinfo
    if fdi is None or not fdi.type.is_ip or fdi.l4proto == "tcp":
        return
    apply_tuple(fdi, ctx.arg("tuple"), ctx.evt.name.startswith("recv"))


# Opportunistic updates from I/O events: used when those events are traced
# anyway, never a reason to trace them.
IO_EXIT_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    "sendto": parse_sendrecv_exit, "sendmsg": parse_sendrecv_exit,
    "recvfrom": parse_sendrecv_exit, "recvmsg": parse_sendrecv_exit,
})


NET_EXIT_HANDLERS: MappingProxyType[str, Handler] = MappingProxyType({
    "socket": parse_socket_exit, "connect": parse_connect_exit,
    "accept": parse_accept_exit, "accept4": parse_accept_exit,
    "bind": parse_bind_exit, "listen": parse_listen_exit,
    "socketpair": parse_socketpair_exit,
})
