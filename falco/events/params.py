# SPDX-License-Identifier: Apache-2.0
"""Table-driven decoding and rendering of event parameters.

``decode_param`` turns the raw bytes of one parameter into a Python value
(see docs/ARCHITECTURE.md, "Event"); ``render_value`` prints it the way
sysdig does (flags as names, errno names, addresses as text).

Empty is not absent. A parameter the event does not carry has no value
(None, decided by the caller). A parameter carried with zero bytes is:
- for a buffer (PT_BYTEBUF), the empty buffer: ``b""``, or ``""`` for the
  NUL-separated lists (args, env, cgroups): a program run without
  arguments has an empty ``args``, not a missing one;
- for every other type, no value (None): strings always carry their NUL
  (an empty string is one byte), numbers and addresses their width, so
  zero bytes is how the driver says it could not read the value.
"""
from __future__ import annotations

import errno
import ipaddress
import signal
import struct

from falco.driver import schema as S
from falco.driver.schema import ParamInfo, get_schema
from falco.errors import DecodeError
from falco.events.sockets import (AF_INET, AF_INET6, AF_UNIX, FAMILY_NAMES,
                                L4_NAMES, SockAddr, SockTuple)

_SIGNED = frozenset((S.PT_INT8, S.PT_INT16, S.PT_INT32, S.PT_INT64,
                     S.PT_ERRNO, S.PT_FD, S.PT_PID, S.PT_FD32, S.PT_PID32))
_UNSIGNED = frozenset((S.PT_UINT8, S.PT_UINT16, S.PT_UINT32, S.PT_UINT64,
                       S.PT_SYSCALLID, S.PT_SIGTYPE, S.PT_RELTIME,
                       S.PT_ABSTIME, S.PT_PORT, S.PT_L4PROTO,
                       S.PT_SOCKFAMILY, S.PT_FLAGS8, S.PT_FLAGS16,
                       S.PT_FLAGS32, S.PT_UID, S.PT_GID, S.PT_SIGSET,
                       S.PT_MODE, S.PT_ENUMFLAGS8, S.PT_ENUMFLAGS16,
                       S.PT_ENUMFLAGS32))
_STRINGS = frozenset((S.PT_CHARBUF, S.PT_FSPATH, S.PT_FSRELPATH))
# Byte buffers that hold NUL-separated strings: decoded as str.
_STRLIST_NAMES = frozenset(("args", "env", "cgroups"))

# For callers that decode integers inline (Event.param's fast path).
SIGNED_TYPES = _SIGNED
UNSIGNED_TYPES = _UNSIGNED
AT_FDCWD = -100


def _text(raw: bytes) -> str:
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return raw.decode("utf-8", "surrogateescape")


def _ip4(raw: bytes) -> str:
    return "%d.%d.%d.%d" % (raw[0], raw[1], raw[2], raw[3])


def _ip6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(bytes(raw)))


def _need(raw: bytes, n: int, what: str) -> None:
    if len(raw) < n:
        raise DecodeError(f"{what}: {len(raw)} bytes, need {n}")


def decode_sockaddr(raw: bytes) -> SockAddr:
    _need(raw, 1, "sockaddr")
    fam = raw[0]
    if fam == AF_INET:
        _need(raw, 7, "sockaddr ipv4")
        return SockAddr(fam, _ip4(raw[1:5]), int.from_bytes(raw[5:7],
                                                              "little"))
    if fam == AF_INET6:
        _need(raw, 19, "sockaddr ipv6")
        return SockAddr(fam, _ip6(raw[1:17]), int.from_bytes(raw[17:19],
                                                               "little"))
    if fam == AF_UNIX:
        return SockAddr(fam, path=_text(raw[1:].split(b"\0", 1)[0]))
    return SockAddr(fam)


def decode_socktuple(raw: bytes) -> SockTuple:
    _need(raw, 1, "socktuple")
    fam = raw[0]
    if fam == AF_INET:
        _need(raw, 13, "socktuple ipv4")
        return SockTuple(fam, _ip4(raw[1:5]),
                         int.from_bytes(raw[5:7], "little"),
                         _ip4(raw[7:11]), int.from_bytes(raw[11:13], "little"))
    if fam == AF_INET6:
        _need(raw, 37, "socktuple ipv6")
        return SockTuple(fam, _ip6(raw[1:17]),
                         int.from_bytes(raw[17:19], "little"),
                         _ip6(raw[19:35]),
                         int.from_bytes(raw[35:37], "little"))
    if fam == AF_UNIX:
        _need(raw, 17, "socktuple unix")
        src = int.from_bytes(raw[1:9], "little")
        dst = int.from_bytes(raw[9:17], "little")
        return SockTuple(fam, "0x%x" % src, None, "0x%x" % dst, None,
                         None, _text(raw[17:].split(b"\0", 1)[0]))
    return SockTuple(fam)


def decode_fdlist(raw: bytes) -> list[tuple[int, int]]:
    _need(raw, 2, "fdlist")
    count = int.from_bytes(raw[:2], "little")
    _need(raw, 2 + 10 * count, "fdlist")
    return [struct.unpack_from("<qH", raw, 2 + 10 * i) for i in range(count)]


def decode_typed(ptype: int, raw: bytes, name: str = "",
                 dyn: tuple[tuple[int, int], ...] = ()) -> object:
    """Decode ``raw`` as a value of parameter type ``ptype``."""
    if ptype in _SIGNED:
        return int.from_bytes(raw, "little", signed=True)
    if ptype in _UNSIGNED:
        return int.from_bytes(raw, "little")
    if ptype in _STRINGS:
        return _text(raw)
    if ptype == S.PT_BYTEBUF:
        if name in _STRLIST_NAMES:
            # every item keeps its NUL: "\0" is one empty argument
            return bytes(raw).decode("utf-8", "surrogateescape")
        return bytes(raw)
    if ptype == S.PT_BOOL:
        return int.from_bytes(raw, "little") != 0
    if ptype == S.PT_SOCKADDR:
        return decode_sockaddr(raw)
    if ptype == S.PT_SOCKTUPLE:
        return decode_socktuple(raw)
    if ptype == S.PT_FDLIST:
        return decode_fdlist(raw)
    if ptype == S.PT_DOUBLE:
        _need(raw, 8, "double")
        return struct.unpack_from("<d", raw)[0]
    if ptype == S.PT_IPV4ADDR:
        _need(raw, 4, "ipv4addr")
        return _ip4(raw)
    if ptype == S.PT_IPV6ADDR:
        _need(raw, 16, "ipv6addr")
        return _ip6(raw)
    if ptype == S.PT_IPADDR:
        return _ip4(raw) if len(raw) == 4 else _ip6(raw[:16])
    if ptype == S.PT_DYN:
        _need(raw, 1, "dyn")
        idx = raw[0]
        if idx >= len(dyn):
            raise DecodeError(f"dyn index {idx} out of range ({len(dyn)})")
        return decode_typed(dyn[idx][0], raw[1:], name)
    return bytes(raw)


def empty_value(pinfo: ParamInfo) -> object:
    """The value of a parameter carried with zero bytes (module doc)."""
    if pinfo.type == S.PT_BYTEBUF:
        return "" if pinfo.name in _STRLIST_NAMES else b""
    return None


def decode_param(pinfo: ParamInfo, raw: bytes) -> object:
    """Decode one carried parameter described by ``pinfo``."""
    if not raw:
        return empty_value(pinfo)
    return decode_typed(pinfo.type, raw, pinfo.name, pinfo.dyn)


def errno_name(value: int) -> str:
    return errno.errorcode.get(-value, "") if value < 0 else ""


def render_flags(value: int, table: tuple[tuple[str, int], ...],
                 enum: bool) -> str:
    """Names of ``value`` in a flag table, '|'-joined (sysdig style)."""
    if enum:
        for fname, fval in table:
            if fval == value:
                return fname
        return str(value)
    names = []
    left = value
    for fname, fval in table:
        if fval == 0:
            if value == 0:
                names.append(fname)
            continue
        if value & fval == fval and left & fval:
            names.append(fname)
            left &= ~fval
    return "|".join(names)


def _sig_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return str(n)


def render_value(pinfo: ParamInfo, value: object) -> str:
    """Render a decoded value of ``pinfo``."""
    if value is None:
        return ""
    ptype = pinfo.type
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if ptype in (S.PT_FD, S.PT_FD32) and value == AT_FDCWD:
            return f"{value}(AT_FDCWD)"
        if value < 0 and ptype in (S.PT_ERRNO, S.PT_FD):
            return errno_name(value) or str(value)
        if ptype in S.FLAG_TYPES and pinfo.flags:
            return render_flags(value, pinfo.flags, False)
        if ptype in S.ENUMFLAG_TYPES and pinfo.flags:
            return render_flags(value, pinfo.flags, True)
        if ptype == S.PT_SIGTYPE:
            return _sig_name(value)
        if ptype == S.PT_SYSCALLID:
            names = get_schema().sc_names
            return names[value] if 0 <= value < len(names) else str(value)
        if ptype == S.PT_L4PROTO:
            return L4_NAMES.get(value, str(value))
        if ptype == S.PT_SOCKFAMILY:
            return FAMILY_NAMES.get(value, str(value))
        if pinfo.fmt == S.PF_OCT:
            return "0%o" % value if value else "0"
        if pinfo.fmt == S.PF_HEX and ptype not in (S.PT_FD, S.PT_PID) \
                and value >= 0:
            return "%X" % value
        return str(value)
    if isinstance(value, str):
        if pinfo.name in _STRLIST_NAMES:
            if value.endswith("\0"):
                value = value[:-1]
            return value.replace("\0", " ")
        return value
    if isinstance(value, (bytes, bytearray)):
        return value.decode("ascii", "replace").translate(_PRINTABLE)
    if isinstance(value, list):
        return " ".join(f"{fd}:{fl}" for fd, fl in value)
    return str(value)


_PRINTABLE = {c: "." for c in range(0, 32)}
_PRINTABLE[0xFFFD] = "."
