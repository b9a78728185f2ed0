# SPDX-License-Identifier: Apache-2.0
"""Typed, read-only Python view of the event schema compiled into _falco_ffi.

Everything here is read once from ``driver/event_table.c`` /
``driver/flags_table.c`` (through cffi) and cached; nothing is duplicated in
Python.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from falco.driver._falco_ffi import ffi, lib

# Parameter types and formats (values read from the header).
PT_NONE = lib.PT_NONE
PT_INT8, PT_INT16, PT_INT32, PT_INT64 = (lib.PT_INT8, lib.PT_INT16,
                                         lib.PT_INT32, lib.PT_INT64)
PT_UINT8, PT_UINT16, PT_UINT32, PT_UINT64 = (lib.PT_UINT8, lib.PT_UINT16,
                                             lib.PT_UINT32, lib.PT_UINT64)
PT_CHARBUF, PT_BYTEBUF, PT_ERRNO = lib.PT_CHARBUF, lib.PT_BYTEBUF, lib.PT_ERRNO
PT_SOCKADDR, PT_SOCKTUPLE = lib.PT_SOCKADDR, lib.PT_SOCKTUPLE
PT_FD, PT_PID, PT_FDLIST, PT_FSPATH = (lib.PT_FD, lib.PT_PID, lib.PT_FDLIST,
                                       lib.PT_FSPATH)
PT_SYSCALLID, PT_SIGTYPE = lib.PT_SYSCALLID, lib.PT_SIGTYPE
PT_RELTIME, PT_ABSTIME, PT_PORT = lib.PT_RELTIME, lib.PT_ABSTIME, lib.PT_PORT
PT_L4PROTO, PT_SOCKFAMILY, PT_BOOL = (lib.PT_L4PROTO, lib.PT_SOCKFAMILY,
                                      lib.PT_BOOL)
PT_IPV4ADDR, PT_DYN = lib.PT_IPV4ADDR, lib.PT_DYN
PT_FLAGS8, PT_FLAGS16, PT_FLAGS32 = lib.PT_FLAGS8, lib.PT_FLAGS16, lib.PT_FLAGS32
PT_UID, PT_GID, PT_DOUBLE, PT_SIGSET = (lib.PT_UID, lib.PT_GID, lib.PT_DOUBLE,
                                        lib.PT_SIGSET)
PT_CHARBUFARRAY, PT_CHARBUF_PAIR_ARRAY = (lib.PT_CHARBUFARRAY,
                                          lib.PT_CHARBUF_PAIR_ARRAY)
PT_IPV4NET, PT_IPV6ADDR, PT_IPV6NET = (lib.PT_IPV4NET, lib.PT_IPV6ADDR,
                                       lib.PT_IPV6NET)
PT_IPADDR, PT_IPNET, PT_MODE, PT_FSRELPATH = (lib.PT_IPADDR, lib.PT_IPNET,
                                              lib.PT_MODE, lib.PT_FSRELPATH)
PT_ENUMFLAGS8, PT_ENUMFLAGS16, PT_ENUMFLAGS32 = (lib.PT_ENUMFLAGS8,
                                                 lib.PT_ENUMFLAGS16,
                                                 lib.PT_ENUMFLAGS32)
PT_FD32, PT_PID32 = lib.PT_FD32, lib.PT_PID32

PF_NA, PF_DEC, PF_HEX, PF_OCT = lib.PF_NA, lib.PF_DEC, lib.PF_HEX, lib.PF_OCT

EF_OLD_VERSION = lib.EF_OLD_VERSION
EF_UNUSED = lib.EF_UNUSED
EF_LARGE_PAYLOAD = lib.EF_LARGE_PAYLOAD
EC_UNKNOWN = lib.EC_UNKNOWN

FLAG_TYPES = frozenset((PT_FLAGS8, PT_FLAGS16, PT_FLAGS32, PT_MODE))
ENUMFLAG_TYPES = frozenset((PT_ENUMFLAGS8, PT_ENUMFLAGS16, PT_ENUMFLAGS32))


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter of an event (a row of ``fprobe_event_info.params``)."""

    name: str
    type: int
    fmt: int
    info: int
    ninfo: int
    flags: tuple[tuple[str, int], ...] = ()
    dyn: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class EventInfo:
    """One event code of the schema."""

    code: int
    name: str
    category: int
    flags: int
    params: tuple[ParamInfo, ...]
    index: dict[str, int] = field(hash=False, compare=False)

    @property
    def direction(self) -> str:
        return "<" if self.code & 1 else ">"

    @property
    def old(self) -> bool:
        return bool(self.flags & EF_OLD_VERSION)

    @property
    def large(self) -> bool:
        return bool(self.flags & EF_LARGE_PAYLOAD)

    @property
    def unused(self) -> bool:
        return self.name == "NA" or bool(self.flags & EF_UNUSED)


@dataclass(frozen=True, slots=True)
class Schema:
    """The whole table plus name lookups."""

    events: tuple[EventInfo, ...]
    by_name: dict[str, tuple[int, ...]]
    sc_names: tuple[str, ...]
    flag_tables: dict[str, tuple[tuple[str, int], ...]]

    def codes(self, name: str) -> tuple[int, ...]:
        """Every code (enter and exit, all versions) named ``name``."""
        return self.by_name.get(name, ())

    def current(self, name: str, direction: str) -> EventInfo:
        """The code a live driver emits for (name, direction)."""
        want = 1 if direction == "<" else 0
        cands = [self.events[c] for c in self.codes(name) if c & 1 == want]
        if not cands:
            raise KeyError(f"unknown event {direction}{name}")
        cands.sort(key=lambda e: (not e.old, len(e.params), e.code))
        return cands[-1]


def _str(raw: bytes) -> str:
    return ffi.string(raw).decode("ascii", "replace")


def _flag_table(idx: int) -> tuple[tuple[str, int], ...]:
    ref = lib.fprobe_flag_tables[idx]
    return tuple((_str(lib.fprobe_flag_values[i].name),
                  int(lib.fprobe_flag_values[i].value))
                 for i in range(ref.first, ref.first + ref.count))


def _dyn_table(idx: int) -> tuple[tuple[int, int], ...]:
    ref = lib.fprobe_dyn_tables[idx]
    return tuple((int(lib.fprobe_dyn_params[i].type),
                  int(lib.fprobe_dyn_params[i].fmt))
                 for i in range(ref.first, ref.first + ref.count))


@lru_cache(maxsize=1)
def get_schema() -> Schema:
    """Build (once) the Python view of the compiled event table."""
    flags = {i: _flag_table(i) for i in range(1, lib.FPROBE_FT_MAX)}
    dyns = {i: _dyn_table(i) for i in range(1, lib.FPROBE_DT_MAX)}
    events = []
    by_name: dict[str, list[int]] = {}
    for code in range(lib.PPM_EVENT_MAX):
        ev = lib.fprobe_event_table[code]
        params = []
        for j in range(ev.nparams):
            p = ev.params[j]
            ptype, info = int(p.type), int(p.info)
            params.append(ParamInfo(
                name=_str(p.name), type=ptype, fmt=int(p.fmt), info=info,
                ninfo=int(p.ninfo),
                flags=flags.get(info, ()) if (ptype in FLAG_TYPES or
                                              ptype in ENUMFLAG_TYPES) else (),
                dyn=dyns.get(info, ()) if ptype == PT_DYN else ()))
        name = _str(ev.name)
        events.append(EventInfo(code=code, name=name,
                                category=int(ev.category),
                                flags=int(ev.flags), params=tuple(params),
                                index={p.name: i for i, p in
                                       enumerate(params)}))
        by_name.setdefault(name, []).append(code)
    return Schema(events=tuple(events),
                  by_name={k: tuple(v) for k, v in by_name.items()},
                  sc_names=tuple(_str(lib.fprobe_sc_names[i])
                                 for i in range(lib.PPM_SC_MAX)),
                  flag_tables={_str(lib.fprobe_flag_tables[i].name): t
                               for i, t in flags.items()})


def codes_for_names(schema: Schema, names: Iterable[str]) -> set[int]:
    """Event codes that can carry any of the evt.type ``names``.

    A syscall without a dedicated event arrives as a generic event whose
    name is the syscall's, so such names also select the generic codes.
    """
    sc = set(schema.sc_names)
    codes: set[int] = set()
    for name in names:
        codes.update(schema.codes(name))
        if name in sc:
            codes.update((lib.PPME_GENERIC_E, lib.PPME_GENERIC_X))
    return codes


def wanted_bitmap(schema: Schema, names: Iterable[str]) -> bytes:
    """The C-side bitmap (one bit per event code) selecting ``names``."""
    bits = bytearray(lib.FSRC_WANTED_BYTES)
    for code in codes_for_names(schema, names):
        bits[code >> 3] |= 1 << (code & 7)
    return bytes(bits)
