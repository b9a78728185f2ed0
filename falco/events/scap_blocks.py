# SPDX-License-Identifier: Apache-2.0
"""Parsers of the non-event blocks of a .scap capture.

Each parser gets the block body (between the 8-byte block header and the
4-byte trailer) and the file offset of that body, for error messages.
"""
from __future__ import annotations

import ipaddress
import struct

from falco.errors import DecodeError
from falco.events.capture_state import (FdEntry, GroupEntry, InterfaceEntry,
                                        MachineInfo, ProcEntry, ScapFdType,
                                        ScapL4Proto, UserEntry)

SHB = 0x0A0D0D0A
SHB_MAGIC = 0x1A2B3C4D
MI = 0x201
MI_INT = 0x8002ABCD
PL_V1, PL_V2, PL_V3 = 0x202, 0x207, 0x209
PL_V1_INT, PL_V2_INT, PL_V3_INT = 0x8000ABCD, 0x8013ABCD, 0x8014ABCD
PL_V4, PL_V5, PL_V6, PL_V7, PL_V8, PL_V9 = (0x210, 0x211, 0x212, 0x213,
                                            0x214, 0x215)
FDL, FDL_INT, FDL_V2 = 0x203, 0x8001ABCD, 0x218
IL, IL_INT, IL_V2 = 0x205, 0x8011ABCD, 0x219
UL, UL_INT, UL_V2 = 0x206, 0x8012ABCD, 0x220
EV, EV_INT, EVF, EV_V2, EVF_V2 = 0x204, 0x8010ABCD, 0x208, 0x216, 0x217
EV_V2_LARGE, EVF_V2_LARGE = 0x221, 0x222

# PL version number of each process-list block type.
PL_VERSION = {PL_V1: 1, PL_V1_INT: 1, PL_V2: 2, PL_V2_INT: 2, PL_V3: 3,
              PL_V3_INT: 3, PL_V4: 4, PL_V5: 5, PL_V6: 6, PL_V7: 7, PL_V8: 8,
              PL_V9: 9}
EVENT_BLOCKS = frozenset((EV, EV_INT, EVF, EV_V2, EVF_V2, EV_V2_LARGE,
                          EVF_V2_LARGE))


class Cursor:
    """Bounds-checked little-endian reader over a block body."""

    __slots__ = ("buf", "pos", "end", "base")

    def __init__(self, buf: bytes, base: int, pos: int = 0,
                 end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.base = base

    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise DecodeError(f"truncated {what}: need {n} bytes, "
                              f"{self.end - self.pos} left",
                              self.base + self.pos)
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "little")

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "little")

    def u64(self, what: str) -> int:
        return int.from_bytes(self.take(8, what), "little")

    def i64(self, what: str) -> int:
        return int.from_bytes(self.take(8, what), "little", signed=True)

    def lstr(self, what: str) -> str:
        n = self.u16(what)
        return _text(self.take(n, what))

    def lbytes(self, what: str) -> bytes:
        return self.take(self.u16(what), what)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def split_nul(raw: bytes) -> list[str]:
    """NUL-separated strings (trailing NUL optional)."""
    if not raw:
        return []
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return [s.decode("utf-8", "surrogateescape") for s in raw.split(b"\0")]


def split_cgroups(raw: bytes) -> list[tuple[str, str]]:
    out = []
    for item in split_nul(raw):
        sub, _, path = item.partition("=")
        out.append((sub, path))
    return out


def parse_shb(body: bytes, base: int) -> tuple[int, int]:
    """(major, minor) of a section header; options are ignored."""
    c = Cursor(body, base)
    if c.u32("section header") != SHB_MAGIC:
        raise DecodeError("not a capture: bad byte-order magic", base)
    major = c.u16("section header")
    minor = c.u16("section header")
    c.u64("section header")
    return major, minor


def parse_machine_info(body: bytes, base: int) -> MachineInfo:
    c = Cursor(body, base)
    ncpus = c.u32("machine info")
    mem = c.u64("machine info")
    maxpid = c.u64("machine info")
    host = _text(c.take(128, "machine info"))
    return MachineInfo(ncpus, mem, maxpid, host)


def _proc_entry(c: Cursor, ver: int, sub_end: int | None) -> ProcEntry:
    w = "process list entry"
    tid, pid, ptid = c.u64(w), c.u64(w), c.u64(w)
    p = ProcEntry(tid=_s64(tid), pid=_s64(pid), ptid=_s64(ptid))
    if ver >= 6:
        p.sid = c.i64(w)
    if ver >= 8:
        p.vpgid = c.i64(w)
    p.comm = c.lstr(w)
    p.exe = c.lstr(w)
    if ver >= 7:
        p.exepath = c.lstr(w)
    p.args = split_nul(c.lbytes(w))
    p.cwd = c.lstr(w)
    p.fdlimit = c.u64(w)
    p.flags = c.u32(w)
    p.uid = c.u32(w)
    p.gid = c.u32(w)
    if ver >= 2:
        p.vmsize_kb, p.vmrss_kb, p.vmswap_kb = c.u32(w), c.u32(w), c.u32(w)
        p.pfmajor, p.pfminor = c.u64(w), c.u64(w)
    if ver >= 3:
        p.env = split_nul(c.lbytes(w))
    if ver >= 4:
        p.vtid, p.vpid = c.i64(w), c.i64(w)
        p.cgroups = split_cgroups(c.lbytes(w))
    if ver >= 5:
        p.root = c.lstr(w)
    if sub_end is None:
        return p
    end = sub_end

    def fits(n: int) -> bool:
        return c.pos + n <= end

    # Newer writers append pidns_init_start_ts and tty; 2022 writers
    # (sysdig 0.29) go straight to loginuid + exe_writable (<= 29 bytes).
    if end - c.pos > 29:
        if fits(8):
            p.pidns_init_start_ts = c.u64(w)
        if fits(4):
            p.tty = c.u32(w)
    if fits(4):
        p.loginuid = c.u32(w)
    if fits(1):
        p.exe_writable = c.u8(w) != 0
    for attr in ("cap_inheritable", "cap_permitted", "cap_effective"):
        if fits(8):
            setattr(p, attr, c.u64(w))
    if fits(1):
        p.exe_upper_layer = c.u8(w) != 0
    for attr in ("exe_ino", "exe_ino_ctime", "exe_ino_mtime"):
        if fits(8):
            setattr(p, attr, c.u64(w))
    if fits(1):
        p.exe_from_memfd = c.u8(w) != 0
    if fits(1):
        p.exe_lower_layer = c.u8(w) != 0
    if fits(8):
        p.pgid = c.i64(w)
    return p


def _s64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def parse_proclist(body: bytes, base: int, btype: int) -> list[ProcEntry]:
    ver = PL_VERSION[btype]
    c = Cursor(body, base)
    out = []
    while c.left() >= 4:
        start = c.pos
        if ver == 9:
            sub_len = c.u32("process list entry")
            if sub_len < 4 or start + sub_len > c.end:
                raise DecodeError(f"process list entry length {sub_len} "
                                  "does not fit in its block", base + start)
            out.append(_proc_entry(c, ver, start + sub_len))
            if c.pos > start + sub_len:
                raise DecodeError("process list entry longer than its "
                                  "length", base + start)
            c.pos = start + sub_len
        else:
            if c.left() < 24 + 2:
                break  # padding
            out.append(_proc_entry(c, ver, None))
    return out


def _fd_entry(c: Cursor, tid: int, v2: bool) -> FdEntry:
    w = "fd list entry"
    start = c.pos
    sub_len = c.u32(w) if v2 else 0
    fd = c.i64(w)
    ino = c.u64(w)
    raw_type = c.u8(w)
    try:
        ftype = ScapFdType(raw_type)
    except ValueError:
        ftype = ScapFdType.UNSUPPORTED
    e = FdEntry(tid=tid, fd=fd, type=ftype, ino=ino)
    if ftype in (ScapFdType.IPV4_SOCK, ScapFdType.IPV6_SOCK):
        n = 4 if ftype == ScapFdType.IPV4_SOCK else 16
        sip, dip = c.take(n, w), c.take(n, w)
        e.sport, e.dport = c.u16(w), c.u16(w)
        e.l4proto = _l4(c.u8(w))
        e.sip, e.dip = _ip(sip), _ip(dip)
        e.name = _tuple_name(e.sip, e.sport, e.dip, e.dport)
    elif ftype in (ScapFdType.IPV4_SERVSOCK, ScapFdType.IPV6_SERVSOCK):
        n = 4 if ftype == ScapFdType.IPV4_SERVSOCK else 16
        e.dip = _ip(c.take(n, w))
        e.dport = c.u16(w)
        e.l4proto = _l4(c.u8(w))
        e.is_server = True
        e.name = f"{e.dip}:{e.dport}"
    elif ftype == ScapFdType.UNIX_SOCK:
        e.source, e.dest = c.u64(w), c.u64(w)
        e.name = c.lstr(w)
    elif ftype == ScapFdType.FILE_V2:
        e.flags = c.u32(w)
        e.name = c.lstr(w)
        if v2 and c.pos + 4 <= start + sub_len:
            e.dev = c.u32(w)
    elif ftype != ScapFdType.UNKNOWN:
        e.name = c.lstr(w)
    if v2:
        if c.pos > start + sub_len:
            raise DecodeError("fd list entry longer than its length",
                              c.base + start)
        c.pos = start + sub_len
    return e


def _l4(v: int) -> ScapL4Proto:
    try:
        return ScapL4Proto(v)
    except ValueError:
        return ScapL4Proto.UNKNOWN


def _ip(raw: bytes) -> str:
    return str(ipaddress.ip_address(bytes(raw)))


def _tuple_name(sip: str, sport: int, dip: str, dport: int) -> str:
    return f"{sip}:{sport}->{dip}:{dport}"


def parse_fdlist(body: bytes, base: int, btype: int) -> list[FdEntry]:
    c = Cursor(body, base)
    tid = _s64(c.u64("fd list"))
    out = []
    while c.left() >= 4:
        if btype != FDL_V2 and c.left() < 17:
            break  # padding
        out.append(_fd_entry(c, tid, btype == FDL_V2))
    return out


def parse_userlist(body: bytes, base: int,
                   btype: int) -> tuple[list[UserEntry], list[GroupEntry]]:
    c = Cursor(body, base)
    users: list[UserEntry] = []
    groups: list[GroupEntry] = []
    w = "user list entry"
    while c.left() >= 4:
        start = c.pos
        sub_len = c.u32(w) if btype == UL_V2 else 0
        kind = c.u8(w)
        if kind == 0:
            uid, gid = c.u32(w), c.u32(w)
            users.append(UserEntry(uid, gid, c.lstr(w), c.lstr(w), c.lstr(w)))
        else:
            gid = c.u32(w)
            groups.append(GroupEntry(gid, c.lstr(w)))
        if sub_len:
            if c.pos > start + sub_len:
                raise DecodeError("user list entry longer than its length",
                                  base + start)
            c.pos = start + sub_len
    return users, groups


def parse_iflist(body: bytes, base: int, btype: int) -> list[InterfaceEntry]:
    c = Cursor(body, base)
    out = []
    w = "interface list entry"
    while c.left() >= 4:
        start = c.pos
        entry_len = c.u32(w) + 4 if btype == IL_V2 else 0
        itype, namelen = c.u16(w), c.u16(w)
        if itype in (1, 3):
            addr, mask, bcast = c.take(4, w), c.take(4, w), c.take(4, w)
        elif itype in (2, 4):
            addr, mask, bcast = c.take(16, w), c.take(16, w), c.take(16, w)
        else:
            raise DecodeError(f"unknown interface type {itype}",
                              base + start)
        speed = c.u64(w) if itype in (1, 2) else 0
        name = _text(c.take(namelen, w))
        out.append(InterfaceEntry(name, 4 if itype in (1, 3) else 6,
                                  _ip(addr), _ip(mask), _ip(bcast), speed))
        if entry_len:
            c.pos = start + entry_len
    return out


def pack_block(btype: int, body: bytes) -> bytes:
    """A complete block: header, body padded to 4 bytes, trailer."""
    pad = (-len(body)) % 4
    total = 12 + len(body) + pad
    return (struct.pack("<II", btype, total) + body + b"\0" * pad
            + struct.pack("<I", total))
