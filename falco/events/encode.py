# SPDX-License-Identifier: Apache-2.0
"""Encode Python values into driver events (the inverse of params.py).

Used by the capture writer, the fake ring and tests; the byte layout is the
driver's: 26-byte header, nparams lengths (u16, u32 for large-payload
events), then the parameter bytes.
"""
from __future__ import annotations

import errno
import ipaddress
import struct
from collections.abc import Mapping, Sequence

from falco.driver import schema as S
from falco.driver.schema import EventInfo, ParamInfo, get_schema
from falco.events.sockets import AF_INET, AF_INET6, AF_UNIX, SockAddr, SockTuple

_SIZES = {S.PT_INT8: 1, S.PT_INT16: 2, S.PT_INT32: 4, S.PT_INT64: 8,
          S.PT_UINT8: 1, S.PT_UINT16: 2, S.PT_UINT32: 4, S.PT_UINT64: 8,
          S.PT_ERRNO: 8, S.PT_FD: 8, S.PT_PID: 8, S.PT_FD32: 4,
          S.PT_PID32: 4, S.PT_SYSCALLID: 2, S.PT_SIGTYPE: 1,
          S.PT_RELTIME: 8, S.PT_ABSTIME: 8, S.PT_PORT: 2, S.PT_L4PROTO: 1,
          S.PT_SOCKFAMILY: 1, S.PT_BOOL: 4, S.PT_FLAGS8: 1, S.PT_FLAGS16: 2,
          S.PT_FLAGS32: 4, S.PT_UID: 4, S.PT_GID: 4, S.PT_SIGSET: 4,
          S.PT_MODE: 4, S.PT_ENUMFLAGS8: 1, S.PT_ENUMFLAGS16: 2,
          S.PT_ENUMFLAGS32: 4}
_SIGNED = frozenset((S.PT_INT8, S.PT_INT16, S.PT_INT32, S.PT_INT64,
                     S.PT_ERRNO, S.PT_FD, S.PT_PID, S.PT_FD32, S.PT_PID32))


_ERRNO_OK = frozenset((S.PT_ERRNO, S.PT_FD, S.PT_PID, S.PT_FD32, S.PT_PID32))


def _ip(text: str, fam: int) -> bytes:
    if fam == AF_INET:
        return ipaddress.IPv4Address(text).packed
    return ipaddress.IPv6Address(text).packed


def _flags_value(value: str, pinfo: ParamInfo) -> int:
    table = dict(pinfo.flags)
    total = 0
    for part in value.split("|"):
        part = part.strip()
        if not part:
            continue
        if part not in table:
            raise ValueError(f"{pinfo.name}: unknown flag {part!r}")
        total |= table[part]
    return total


def _int_value(value: object, pinfo: ParamInfo) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if pinfo.type in _ERRNO_OK and value.lstrip("-").isalpha() \
                and value.lstrip("-").startswith("E"):
            code = getattr(errno, value.lstrip("-"), None)
            if code is None:
                raise ValueError(f"{pinfo.name}: unknown errno {value!r}")
            return -code
        if pinfo.flags and not value.lstrip("-").isdigit():
            return _flags_value(value, pinfo)
        return int(value, 0)
    raise TypeError(f"{pinfo.name}: expected an integer, got "
                    f"{type(value).__name__}")


def encode_sockaddr(value: SockAddr) -> bytes:
    fam = value.family
    if fam in (AF_INET, AF_INET6):
        return (bytes([fam]) + _ip(value.addr or "0.0.0.0" if fam == AF_INET
                                   else value.addr or "::", fam)
                + struct.pack("<H", value.port or 0))
    if fam == AF_UNIX:
        return bytes([fam]) + (value.path or "").encode(
            "utf-8", "surrogateescape") + b"\0"
    return bytes([fam])


def encode_socktuple(value: SockTuple) -> bytes:
    fam = value.family
    if fam in (AF_INET, AF_INET6):
        zero = "0.0.0.0" if fam == AF_INET else "::"
        return (bytes([fam]) + _ip(value.sip or zero, fam)
                + struct.pack("<H", value.sport or 0)
                + _ip(value.dip or zero, fam)
                + struct.pack("<H", value.dport or 0))
    if fam == AF_UNIX:
        src = int(value.sip or "0", 16) if value.sip else 0
        dst = int(value.dip or "0", 16) if value.dip else 0
        return (bytes([fam]) + struct.pack("<QQ", src, dst)
                + (value.dpath or "").encode("utf-8", "surrogateescape")
                + b"\0")
    return bytes([fam])


def encode_typed(ptype: int, value: object, pinfo: ParamInfo) -> bytes:
    """Bytes of one parameter value of type ``ptype``."""
    if ptype in _SIZES:
        n = _int_value(value, pinfo)
        size = _SIZES[ptype]
        if not ptype in _SIGNED and n < 0:
            n &= (1 << (8 * size)) - 1
        return n.to_bytes(size, "little", signed=ptype in _SIGNED)
    if ptype in (S.PT_CHARBUF, S.PT_FSPATH, S.PT_FSRELPATH):
        if isinstance(value, (bytes, bytearray)):
            data = bytes(value)
        else:
            data = str(value).encode("utf-8", "surrogateescape")
        return data if data.endswith(b"\0") else data + b"\0"
    if ptype == S.PT_BYTEBUF:
        if isinstance(value, str):
            data = value.encode("utf-8", "surrogateescape")
            if pinfo.name in ("args", "env", "cgroups") and data \
                    and not data.endswith(b"\0"):
                data += b"\0"
            return data
        if isinstance(value, (list, tuple)):
            return b"".join(str(v).encode("utf-8", "surrogateescape") + b"\0"
                            for v in value)
        return _as_bytes(value, pinfo)
    if ptype == S.PT_SOCKADDR:
        if not isinstance(value, SockAddr):
            raise TypeError(f"{pinfo.name}: expected SockAddr")
        return encode_sockaddr(value)
    if ptype == S.PT_SOCKTUPLE:
        if not isinstance(value, SockTuple):
            raise TypeError(f"{pinfo.name}: expected SockTuple")
        return encode_socktuple(value)
    if ptype == S.PT_FDLIST:
        items = list(value)  # type: ignore[call-overload]
        return struct.pack("<H", len(items)) + b"".join(
            struct.pack("<qH", fd, fl) for fd, fl in items)
    if ptype == S.PT_DOUBLE:
        return struct.pack("<d", float(value))  # type: ignore[arg-type]
    if ptype in (S.PT_IPV4ADDR, S.PT_IPV6ADDR, S.PT_IPADDR):
        return ipaddress.ip_address(str(value)).packed
    if ptype == S.PT_DYN:
        if not (isinstance(value, tuple) and len(value) == 2
                and isinstance(value[0], int)):
            raise TypeError(f"{pinfo.name}: expected (type index, value)")
        idx, inner = value
        if not 0 <= idx < len(pinfo.dyn):
            raise ValueError(f"{pinfo.name}: dyn index {idx} out of range")
        return bytes([idx]) + encode_typed(pinfo.dyn[idx][0], inner, pinfo)
    return _as_bytes(value, pinfo)


def _as_bytes(value: object, pinfo: ParamInfo) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{pinfo.name}: expected bytes, got "
                    f"{type(value).__name__}")


def encode_param(pinfo: ParamInfo, value: object) -> bytes:
    """Bytes of one parameter; None encodes as an empty parameter."""
    if value is None:
        return b""
    return encode_typed(pinfo.type, value, pinfo)


def _ordered(info: EventInfo,
             params: Mapping[str, object] | Sequence[object]) -> list[object]:
    if isinstance(params, Mapping):
        unknown = set(params) - set(info.index)
        if unknown:
            raise ValueError(f"{info.name}: unknown parameters "
                             f"{sorted(unknown)}")
        return [params.get(p.name) for p in info.params]
    values = list(params)
    if len(values) > len(info.params):
        raise ValueError(f"{info.name}: {len(values)} values for "
                         f"{len(info.params)} parameters")
    return values + [None] * (len(info.params) - len(values))


def encode_event(code: int, ts: int, tid: int,
                 params: Mapping[str, object] | Sequence[object]) -> bytes:
    """A complete event (v2 header) of ``code`` with ``params``.

    ``params`` is a list in table order (shorter lists leave the tail
    empty) or a dict by parameter name (missing names are empty).
    """
    info = get_schema().events[code]
    values = _ordered(info, params)
    blobs = [encode_param(p, v) for p, v in zip(info.params, values)]
    lfmt = "<I" if info.large else "<H"
    limit = 0xFFFFFFFF if info.large else 0xFFFF
    lens = []
    for p, b in zip(info.params, blobs):
        if len(b) > limit:
            raise ValueError(f"{info.name}: param {p.name} is {len(b)} "
                             f"bytes, more than {limit}")
        lens.append(struct.pack(lfmt, len(b)))
    body = b"".join(lens) + b"".join(blobs)
    total = 26 + len(body)
    return struct.pack("<QQIHI", ts, tid, total, code, len(blobs)) + body
