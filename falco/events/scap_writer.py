# SPDX-License-Identifier: Apache-2.0
"""Writer of .scap captures readable by sysdig 0.29 and Falco.

Layout: section header (format 1.2), machine info, user list (UL_V2),
process list (PL_V9 with the 2022 entry layout: ... root, loginuid,
exe_writable), one fd list (FDL_V2) per thread, then one EV_V2 block per
event.  ``path`` ending in ``.gz`` is gzip-compressed.

Our driver emits self-contained exit events; sysdig 0.29 still takes the fd
of read/write/close/... from the matching *enter* event and ignores exits
without one.  With ``enter_events=True`` (default) the writer therefore
adds, before an exit event that was not preceded by its enter event on the
same thread, an enter event built from the exit's parameters of the same
name (the reverse of what libs' capture converter does), so the file reads
like a classic capture.  In that mode events newer than the 2022 schema
(codes >= 336, e.g. dup2/dup3/pipe2/accept4), which sysdig 0.29 would skip,
are written as their 2022 versions (evt.type "dup", "pipe", "accept").
"""
from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Iterable
from typing import BinaryIO

from falco.driver.schema import get_schema
from falco.errors import CaptureError
from falco.events import scap_blocks as B
from falco.events.capture_state import (FdEntry, GroupEntry, MachineInfo,
                                        ProcEntry, ScapFdType, UserEntry)
from falco.events.encode import encode_event
from falco.events.event import HDR_V1, Event

MAX_STR = 1024


def _enc(s: str, limit: int = MAX_STR) -> bytes:
    return s.encode("utf-8", "surrogateescape")[:limit]


def _lstr(s: str, limit: int = MAX_STR) -> bytes:
    b = _enc(s, limit)
    return struct.pack("<H", len(b)) + b


def _lbytes(b: bytes) -> bytes:
    b = b[:0xFFFF]
    return struct.pack("<H", len(b)) + b


def _nul_join(items: Iterable[str]) -> bytes:
    return b"".join(_enc(i) + b"\0" for i in items)


def proc_entry_bytes(p: ProcEntry) -> bytes:
    """One PL_V9 entry (length prefix included)."""
    body = b"".join((
        struct.pack("<qqqqq", p.tid, p.pid, p.ptid, p.sid, p.vpgid),
        _lstr(p.comm), _lstr(p.exe), _lstr(p.exepath),
        _lbytes(_nul_join(p.args)), _lstr(p.cwd),
        struct.pack("<QIIIIIIQQ", p.fdlimit, p.flags, p.uid & 0xFFFFFFFF,
                    p.gid & 0xFFFFFFFF, p.vmsize_kb, p.vmrss_kb,
                    p.vmswap_kb, p.pfmajor, p.pfminor),
        _lbytes(_nul_join(p.env)),
        struct.pack("<qq", p.vtid, p.vpid),
        _lbytes(_nul_join(f"{s}={path}" for s, path in p.cgroups)),
        _lstr(p.root),
        struct.pack("<IB", p.loginuid & 0xFFFFFFFF, int(p.exe_writable)),
    ))
    return struct.pack("<I", 4 + len(body)) + body


def _ip_bytes(text: str | None, n: int) -> bytes:
    import ipaddress
    if not text:
        return b"\0" * n
    return ipaddress.ip_address(text).packed


def fd_entry_bytes(f: FdEntry) -> bytes:
    """One FDL_V2 entry (length prefix included)."""
    t = f.type
    body = struct.pack("<qQB", f.fd, f.ino, int(t))
    if t in (ScapFdType.IPV4_SOCK, ScapFdType.IPV6_SOCK):
        n = 4 if t == ScapFdType.IPV4_SOCK else 16
        body += (_ip_bytes(f.sip, n) + _ip_bytes(f.dip, n)
                 + struct.pack("<HHB", f.sport or 0, f.dport or 0,
                               int(f.l4proto)))
    elif t in (ScapFdType.IPV4_SERVSOCK, ScapFdType.IPV6_SERVSOCK):
        n = 4 if t == ScapFdType.IPV4_SERVSOCK else 16
        body += _ip_bytes(f.dip, n) + struct.pack("<HB", f.dport or 0,
                                                  int(f.l4proto))
    elif t == ScapFdType.UNIX_SOCK:
        body += struct.pack("<QQ", f.source, f.dest) + _lstr(f.name)
    elif t == ScapFdType.FILE_V2:
        body += struct.pack("<I", f.flags) + _lstr(f.name) + \
            struct.pack("<I", f.dev)
    elif t != ScapFdType.UNKNOWN:
        body += _lstr(f.name)
    return struct.pack("<I", 4 + len(body)) + body


def user_entry_bytes(u: UserEntry) -> bytes:
    body = struct.pack("<BII", 0, u.uid, u.gid) + _lstr(u.name, 255) + \
        _lstr(u.homedir) + _lstr(u.shell)
    return struct.pack("<I", 4 + len(body)) + body


def group_entry_bytes(g: GroupEntry) -> bytes:
    body = struct.pack("<BI", 1, g.gid) + _lstr(g.name, 255)
    return struct.pack("<I", 4 + len(body)) + body


def event_v2_bytes(ev: Event) -> bytes:
    """The event with a v2 (26-byte) header, converting old ones."""
    raw = ev.raw
    if ev.hdrlen == HDR_V1:
        n = ev.nparams
        return (raw[:16] + struct.pack("<IHI", len(raw) + 4, ev.code, n)
                + raw[HDR_V1:])
    return raw


class ScapWriter:
    """Write a capture: state blocks first, then events."""

    def __init__(self, path: str | os.PathLike[str],
                 machine: MachineInfo | None = None,
                 procs: Iterable[ProcEntry] = (),
                 fds: Iterable[FdEntry] = (),
                 users: Iterable[UserEntry] = (),
                 groups: Iterable[GroupEntry] = (),
                 compress: bool | None = None,
                 enter_events: bool = True,
                 fileobj: BinaryIO | None = None) -> None:
        """``fileobj``: write there (already opened by the caller, e.g.
        created exclusively) instead of opening ``path``."""
        self.path = os.fspath(path)
        self.enter_events = enter_events
        self._last: dict[int, int] = {}
        self._raw = fileobj
        if compress is None:
            compress = self.path.endswith(".gz")
        try:
            if fileobj is not None:
                self._fh: BinaryIO = (
                    gzip.GzipFile(fileobj=fileobj, mode="wb",  # type: ignore
                                  compresslevel=3) if compress else fileobj)
            else:
                self._fh = (
                    gzip.open(self.path, "wb", compresslevel=3)  # type: ignore
                    if compress else open(self.path, "wb"))
        except OSError as exc:
            raise CaptureError(f"cannot write capture {self.path}: "
                               f"{exc.strerror}") from None
        self.events = 0
        self._write_header(machine or MachineInfo(num_cpus=os.cpu_count()
                                                  or 1,
                                                  hostname=os.uname()[1]),
                           list(procs), list(fds), list(users), list(groups))

    def _block(self, btype: int, body: bytes) -> None:
        self._fh.write(B.pack_block(btype, body))

    def _write_header(self, mi: MachineInfo, procs: list[ProcEntry],
                      fds: list[FdEntry], users: list[UserEntry],
                      groups: list[GroupEntry]) -> None:
        self._block(B.SHB, struct.pack("<IHHq", B.SHB_MAGIC, 1, 2, -1))
        self._block(B.MI, struct.pack("<IQQ", mi.num_cpus,
                                      mi.memory_size_bytes, mi.max_pid)
                    + _enc(mi.hostname, 127).ljust(128, b"\0")
                    + b"\0" * 32)
        if users or groups:
            self._block(B.UL_V2, b"".join(
                [user_entry_bytes(u) for u in users]
                + [group_entry_bytes(g) for g in groups]))
        if procs:
            self._block(B.PL_V9, b"".join(proc_entry_bytes(p)
                                          for p in procs))
        by_tid: dict[int, list[FdEntry]] = {}
        for f in fds:
            by_tid.setdefault(f.tid, []).append(f)
        for tid, entries in by_tid.items():
            self._block(B.FDL_V2, struct.pack("<q", tid) + b"".join(
                fd_entry_bytes(f) for f in entries))

    def write_raw(self, cpu: int, event_v2: bytes) -> None:
        """One event given as driver bytes with a v2 header."""
        self._block(B.EV_V2, struct.pack("<H", cpu) + event_v2)
        self.events += 1

    def write_event(self, ev: Event) -> None:
        code = ev.code
        exit_code = code
        body = None
        if self.enter_events and code >= LEGACY_EVENT_MAX:
            legacy = legacy_code(ev)
            if legacy is not None:
                exit_code = legacy
                body = _encode_like(ev, legacy)
        if self.enter_events and code & 1 and code > 1 and \
                self._last.get(ev.tid) != code - 1:
            enter = synth_enter(ev, exit_code - 1)
            if enter is not None:
                self.write_raw(ev.cpu, enter)
        if ev.info.name == "procexit":
            self._last.pop(ev.tid, None)   # keep the table bounded
        else:
            self._last[ev.tid] = code
        self.write_raw(ev.cpu, body if body is not None
                       else event_v2_bytes(ev))

    def close(self) -> None:
        self._fh.close()
        if self._raw is not None and self._raw is not self._fh:
            self._raw.close()

    def __enter__(self) -> "ScapWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Codes below this are the ones sysdig 0.29 (2022 schema) knows; it skips
# the others silently, so the writer maps newer event versions back.
LEGACY_EVENT_MAX = 336
# evt.type of a syscall in the 2022 schema, where it differs from today's.
_LEGACY_NAMES = {"dup2": "dup", "dup3": "dup", "accept4": "accept",
                 "pipe2": "pipe"}
# Parameter of an older event filled from a differently named newer one.
_ALIASES = {"fd": ("oldfd",)}


def legacy_code(ev: Event) -> int | None:
    """The newest code below LEGACY_EVENT_MAX for the same syscall and
    direction as ``ev``, or None."""
    schema = get_schema()
    name = _LEGACY_NAMES.get(ev.info.name, ev.info.name)
    cands = [schema.events[c] for c in schema.codes(name)
             if c < LEGACY_EVENT_MAX and c & 1 == ev.code & 1
             and not schema.events[c].unused]
    if not cands:
        return None
    return max(cands, key=lambda e: (len(e.params), e.code)).code


def _values_for(ev: Event, code: int) -> dict[str, object]:
    info = get_schema().events[code]
    out: dict[str, object] = {}
    for p in info.params:
        for name in (p.name, *_ALIASES.get(p.name, ())):
            if name in ev.info.index:
                out[p.name] = ev.param(name)
                break
    return out


def _encode_like(ev: Event, code: int) -> bytes | None:
    try:
        return encode_event(code, ev.ts, ev.tid, _values_for(ev, code))
    except (TypeError, ValueError):
        return None


def synth_enter(ev: Event, enter_code: int | None = None) -> bytes | None:
    """The enter event (``enter_code``, default the pair of ``ev``) of exit
    event ``ev``, parameters taken by name."""
    code = ev.code - 1 if enter_code is None else enter_code
    info = get_schema().events[code]
    if info.unused:
        return None
    return _encode_like(ev, code) or encode_event(code, ev.ts, ev.tid, {})
