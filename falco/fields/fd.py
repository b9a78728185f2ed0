# SPDX-License-Identifier: Apache-2.0
"""fd.* fields: the file descriptor the event creates, uses or closes.

Only events that deal with fds have fd fields (others give <NA>). When the
fd is not in the table (e.g. a failed open), ``fd.name`` and
``fd.directory`` fall back to the path or tuple carried by the event.
"""
from __future__ import annotations

import socket
from types import MappingProxyType
from typing import Any, Callable

from falco.fields._common import B, I, P, S, field
from falco.fields.registry import (
    ArgMode, Comparator, FieldDef, FieldType, IntKind)
from falco.state.context import EventContext
from falco.state.entries import FD_LOWER_LAYER, FD_UPPER_LAYER, FdType
from falco.state.hostnames import HostNames
from falco.state.parse_fd import resolve_dirfd
from falco.state.paths import basename, concatenate_paths, dirname

_FILEISH = (FdType.FILE, FdType.DIRECTORY)
Get = Callable[[Any], Any]


def _fdinfo(ctx: EventContext) -> Any:
    if not ctx.inspector.uses_fd(ctx.evt):
        return None
    return ctx.fdinfo


def _fd(get: Get) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        fdi = _fdinfo(ctx)
        return None if fdi is None else get(fdi)
    return extract


def _name_from_event(ctx: EventContext, raw: bool = False) -> Any:
    evt = ctx.evt
    if evt.direction != "<":
        return None
    name = evt.name
    if name in ("open", "creat", "openat", "openat2", "open_by_handle_at"):
        path = ctx.arg("path" if name == "open_by_handle_at" else "name")
        if not isinstance(path, str):
            return None
        if raw or ctx.thread is None:
            return path
        if name in ("openat", "openat2"):
            base = resolve_dirfd(ctx.inspector, ctx.thread, path,
                                 ctx.arg("dirfd"))
        elif name == "open_by_handle_at":
            base = ""
        else:
            base = ctx.inspector.main_thread(ctx.thread).cwd
        return concatenate_paths(base, path)
    if name in ("connect", "accept", "accept4"):
        return evt.param_str("tuple")
    return ""


def _name(ctx: EventContext, _arg: str | None) -> Any:
    evt = ctx.evt
    if not ctx.inspector.uses_fd(evt):
        return None
    fdi = ctx.fdinfo
    if fdi is None or evt.name == "connect" and evt.direction == "<" \
            and (evt.res or 0) < 0:
        # no fd, or a failed connect: what the event tried (libsinsp)
        return _name_from_event(ctx)
    return fdi.name


def _nameraw(ctx: EventContext, _arg: str | None) -> Any:
    if not ctx.inspector.uses_fd(ctx.evt):
        return None
    fdi = ctx.fdinfo
    return fdi.nameraw if fdi is not None else _name_from_event(ctx, True)


def _directory(ctx: EventContext, _arg: str | None) -> Any:
    if not ctx.inspector.uses_fd(ctx.evt):
        return None
    fdi = ctx.fdinfo
    if fdi is None:
        name = _name_from_event(ctx)
        return None if name is None else dirname(name)
    if fdi.type is FdType.DIRECTORY:
        return fdi.name
    if fdi.type is FdType.FILE:
        return dirname(fdi.name)
    return None


def _filename(fdi: Any) -> Any:
    if fdi.type is not FdType.FILE:
        return None
    return basename(fdi.name) if "/" in fdi.name else "/"


def _num(ctx: EventContext, _arg: str | None) -> Any:
    if not ctx.inspector.uses_fd(ctx.evt):
        return None
    fdi = ctx.fdinfo
    if fdi is not None:
        return fdi.fd
    fd = ctx.fdnum
    return -1 if fd is None else fd


# The type an fd-creating event would give when the fd is not (yet) known.
_EVENT_TYPECHARS = MappingProxyType({
    "open": "f", "openat": "f", "openat2": "f", "creat": "f",
    "socket": "4", "accept": "4", "accept4": "4", "pipe": "p", "pipe2": "p",
    "eventfd": "e", "eventfd2": "e", "signalfd": "s", "signalfd4": "s",
    "timerfd_create": "t", "inotify_init": "i", "inotify_init1": "i",
})


def _typechar(ctx: EventContext, _arg: str | None) -> Any:
    if not ctx.inspector.uses_fd(ctx.evt):
        return None
    fdi = ctx.fdinfo
    if fdi is not None:
        return fdi.typechar
    return _EVENT_TYPECHARS.get(ctx.evt.name, "o")


def _role(fdi: Any) -> bool:
    return fdi.type.is_ip and fdi.is_server is not None


# (client, server, local, remote) selectors over (ip, port).
def _cip(f: Any) -> Any:
    return f.sip if _role(f) else None


def _sip(f: Any) -> Any:
    return f.dip if f.type.is_ip else None


def _lip(f: Any) -> Any:
    if not _role(f):
        return None
    return f.dip if f.is_server else f.sip


def _rip(f: Any) -> Any:
    if not _role(f):
        return None
    return f.sip if f.is_server else f.dip


def _cport(f: Any) -> Any:
    return f.sport if _role(f) else None


def _sport(f: Any) -> Any:
    return f.dport if f.type.is_ip else None


def _lport(f: Any) -> Any:
    if not _role(f):
        return None
    return f.dport if f.is_server else f.sport


def _rport(f: Any) -> Any:
    if not _role(f):
        return None
    return f.sport if f.is_server else f.dport


def _both(a: Get, b: Get) -> Get:
    def get(f: Any) -> Any:
        vals = tuple(v for v in (a(f), b(f)) if v is not None)
        return vals or None
    return get


def _proto_of(port_of: Get) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, _arg: str | None) -> Any:
        fdi = _fdinfo(ctx)
        if fdi is None:
            return None
        port = port_of(fdi)
        if port is None:
            return None
        cache = ctx.inspector.meta.setdefault("services", {})
        key = (port, fdi.l4proto or "tcp")
        name = cache.get(key)
        if name is None:
            try:
                name = socket.getservbyport(port, key[1])
            except (OSError, OverflowError):
                name = str(port)
            cache[key] = name
        return name
    return extract


def _types(ctx: EventContext, arg: str | None) -> Any:
    t = ctx.thread
    if t is None:
        return None
    if arg is not None:
        try:
            fdi = t.fds.get(int(arg))
        except ValueError:
            return None
        return None if fdi is None else fdi.type.value
    seen: dict[str, None] = {}
    for fdi in t.fds.values():
        seen[fdi.type.value] = None
    return tuple(seen) or None


def _is_server(ctx: EventContext, _arg: str | None) -> Any:
    """libsinsp's test: a server socket, or the server IP is local."""
    fdi = _fdinfo(ctx)
    if fdi is None:
        return None
    if not fdi.type.is_ip:
        return False
    if fdi.is_server and fdi.sip is None:
        return True
    return bool(ctx.inspector.is_local_ip(fdi.dip))


def _sockfamily(f: Any) -> Any:
    if f.type.is_ip:
        return "ip"
    if f.type is FdType.UNIX:
        return "unix"
    return None


def _uid(ctx: EventContext, _arg: str | None) -> Any:
    num = _num(ctx, None)
    t = ctx.thread
    return None if num is None or t is None else f"{t.tid}{num}"


def _container(get: Callable[[Any, str | None], Any]
               ) -> Callable[[Any, str | None], Any]:
    def extract(ctx: EventContext, arg: str | None) -> Any:
        value = get(ctx, arg)
        if value is None or ctx.thread is None:
            return None
        return f"{ctx.thread.container_id}:{value}"
    return extract


def _ip_of(ctx: EventContext, get: Get) -> str | None:
    """The selected IP of an IP socket that has a role (libsinsp)."""
    fdi = _fdinfo(ctx)
    if fdi is None or not _role(fdi):
        return None
    ip: str | None = get(fdi)
    return ip


def _ip_name(hostnames: HostNames, get: Get
             ) -> Callable[[EventContext, str | None], str | None]:
    def extract(ctx: EventContext, _arg: str | None) -> str | None:
        ip = _ip_of(ctx, get)
        names = hostnames.names_of(ip) if ip is not None else ()
        return names[0] if names else None
    return extract


def _ip_name_compare(hostnames: HostNames, get: Get) -> Comparator:
    """=, != and in: the IP against the addresses of the names (watched
    from now on); other operators compare the extracted name."""
    def compare(op: str, names: tuple[str, ...], _arg: str | None
                ) -> Callable[[EventContext], bool] | None:
        if op not in ("=", "!=", "in"):
            return None
        hostnames.watch(names)
        matches = hostnames.matches

        def check(ctx: EventContext) -> bool:
            ip = _ip_of(ctx, get)
            if ip is None:
                return False
            hit = any(matches(n, ip) for n in names)
            return not hit if op == "!=" else hit
        return check
    return compare


def fields(hostnames: HostNames) -> list[FieldDef]:
    IP = FieldType.IPADDR
    NET = FieldType.IPNET
    PORT = FieldType.PORT
    return [
        field("fd.num", I, "the fd number", _num),
        field("fd.type", S, "fd type: file, directory, ipv4, ipv6, unix, "
              "pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, "
              "memfd, ...", _fd(lambda f: f.type.value)),
        field("fd.typechar", S, "fd type as one letter (f, d, 4, 6, u, p, "
              "e, s, l, i, t, n, m, ...)", _typechar),
        field("fd.name", P, "fd name: absolute path, or connection tuple "
              "client->server", _name),
        field("fd.nameraw", P, "fd name as passed to the system call",
              _nameraw),
        field("fd.directory", P, "directory of a file fd", _directory),
        field("fd.filename", S, "file name without its directory",
              _fd(_filename)),
        field("fd.ip", IP, "client or server IP (filter only)",
              _fd(_both(_cip, _sip)), multi=True),
        field("fd.cip", IP, "client IP", _fd(_cip)),
        field("fd.sip", IP, "server IP", _fd(_sip)),
        field("fd.lip", IP, "local IP", _fd(_lip)),
        field("fd.rip", IP, "remote IP", _fd(_rip)),
        field("fd.port", PORT, "client or server port (filter only)",
              _fd(_both(_cport, _sport)), multi=True),
        field("fd.cport", PORT, "client port", _fd(_cport)),
        field("fd.sport", PORT, "server port", _fd(_sport)),
        field("fd.lport", PORT, "local port", _fd(_lport)),
        field("fd.rport", PORT, "remote port", _fd(_rport)),
        field("fd.net", NET, "client or server network (filter only)",
              _fd(_both(_cip, _sip)), multi=True),
        field("fd.cnet", NET, "client network", _fd(_cip)),
        field("fd.snet", NET, "server network", _fd(_sip)),
        field("fd.lnet", NET, "local network", _fd(_lip)),
        field("fd.rnet", NET, "remote network", _fd(_rip)),
        field("fd.l4proto", S, "IP protocol: tcp, udp, icmp or raw",
              _fd(lambda f: f.l4proto if f.type.is_ip else None)),
        field("fd.sockfamily", S, "socket family: ip or unix",
              _fd(_sockfamily)),
        field("fd.is_server", B, "true for listening sockets and sockets "
              "whose server address is one of this machine's", _is_server),
        field("fd.connected", B, "true for connected sockets",
              _fd(lambda f: f.connected)),
        field("fd.name_changed", B, "true when the fd name changed "
              "(e.g. a UDP socket's tuple)", _fd(lambda f: f.name_changed)),
        field("fd.uid", S, "unique id of the fd: the thread id followed by "
              "the fd number", _uid),
        field("fd.containername", S, "container id and fd name",
              _container(_name)),
        field("fd.containerdirectory", S, "container id and fd directory",
              _container(_directory)),
        field("fd.proto", S, "client or server protocol name (filter only)",
              _proto_of(_sport)),
        field("fd.cproto", S, "client protocol name", _proto_of(_cport)),
        field("fd.sproto", S, "server protocol name", _proto_of(_sport)),
        field("fd.lproto", S, "local protocol name", _proto_of(_lport)),
        field("fd.rproto", S, "remote protocol name", _proto_of(_rport)),
        *(field(f"fd.{side}ip.name", S, f"host name of the {what} IP: "
                "compared with a name, matches the addresses the name "
                "resolves to (kept fresh in the background); extracted, "
                "the compared names that resolve to the IP",
                _ip_name(hostnames, get),
                compare=_ip_name_compare(hostnames, get))
          for side, what, get in (("c", "client", _cip), ("s", "server", _sip),
                                  ("l", "local", _lip), ("r", "remote", _rip))),
        field("fd.dev", I, "device number of the file",
              _fd(lambda f: f.dev), kind=IntKind.INT32),
        field("fd.dev.major", I, "major device number",
              _fd(lambda f: f.dev >> 20), kind=IntKind.INT32),
        field("fd.dev.minor", I, "minor device number",
              _fd(lambda f: f.dev & 0xFFFFF), kind=IntKind.INT32),
        field("fd.ino", I, "inode number of the file", _fd(lambda f: f.ino)),
        field("fd.types", FieldType.CHARBUF_LIST, "types of every fd of the "
              "process; fd.types[N] the type of fd N", _types,
              ArgMode.OPTIONAL, multi=True),
        field("fd.is_upper_layer", B, "file is in an overlayfs upper layer",
              _fd(lambda f: bool(f.flags & FD_UPPER_LAYER))),
        field("fd.is_lower_layer", B, "file is in an overlayfs lower layer",
              _fd(lambda f: bool(f.flags & FD_LOWER_LAYER))),
    ]
