# SPDX-License-Identifier: Apache-2.0
"""The lazy ``Event``: header fields up front, parameters decoded on demand."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

from falco.driver.schema import EF_LARGE_PAYLOAD, EventInfo, get_schema
from falco.errors import DecodeError
from falco.events.params import (SIGNED_TYPES, UNSIGNED_TYPES, decode_typed,
                                 empty_value, render_value)

HDR_V2 = 26
HDR_V1 = 22
_GENERIC = (0, 1)  # PPME_GENERIC_E / PPME_GENERIC_X


@lru_cache(maxsize=128)
def _lens_struct(n: int, large: bool) -> struct.Struct:
    return struct.Struct("<%d%s" % (n, "I" if large else "H"))


def v1_nparams(buf: bytes | memoryview, off: int, length: int,
               table_n: int) -> int:
    """Parameter count of an old (22-byte header) event: the largest n
    <= table_n whose lengths add up to the event length, else -1."""
    for n in range(table_n, -1, -1):
        total = HDR_V1 + 2 * n
        if total > length:
            continue
        for i in range(n):
            p = off + HDR_V1 + 2 * i
            total += buf[p] | (buf[p + 1] << 8)
        if total == length:
            return n
    return -1


@dataclass(slots=True, eq=False)
class Event:
    """One driver event (from a ring or a capture).

    ``buf[off:off + length]`` holds the event, header included; ``hdrlen`` is
    26 (v2 header with nparams) or 22 (v1, old captures).
    """

    num: int
    ts: int
    tid: int
    cpu: int
    code: int
    info: EventInfo
    buf: bytes | memoryview = field(repr=False)
    off: int = field(default=0, repr=False)
    length: int = field(default=0, repr=False)
    hdrlen: int = field(default=HDR_V2, repr=False)
    hdr_nparams: int = field(default=-1, repr=False)
    _spans: tuple[list[int], tuple[int, ...]] | None = field(default=None,
                                                              repr=False)
    _values: dict[int, object] | None = field(default=None, repr=False)

    @classmethod
    def from_bytes(cls, raw: bytes, num: int = 0, cpu: int = 0,
                   hdrlen: int = HDR_V2) -> "Event":
        """Wrap one event (header included) held in ``raw``."""
        if len(raw) < hdrlen:
            raise DecodeError(f"event of {len(raw)} bytes is shorter than "
                              f"its {hdrlen}-byte header", 0)
        ts = int.from_bytes(raw[0:8], "little")
        tid = int.from_bytes(raw[8:16], "little")
        length = int.from_bytes(raw[16:20], "little")
        code = int.from_bytes(raw[20:22], "little")
        nparams = (int.from_bytes(raw[22:26], "little")
                   if hdrlen == HDR_V2 else -1)
        if length > len(raw) or length < hdrlen:
            raise DecodeError(f"event length {length} does not fit in "
                              f"{len(raw)} bytes", 16)
        schema = get_schema()
        if code >= len(schema.events):
            raise DecodeError(f"unknown event code {code}", 20)
        return cls(num, ts, tid, cpu, code, schema.events[code], raw, 0,
                   length, hdrlen, nparams)

    # -- header-derived properties --------------------------------------
    @property
    def name(self) -> str:
        """evt.type: the table name, or the syscall name of generic events."""
        if self.code in _GENERIC:
            try:
                sc = self.param(0)
            except DecodeError:
                return self.info.name
            if isinstance(sc, int):
                names = get_schema().sc_names
                if sc == 0:
                    return "<unknown>"
                if 0 < sc < len(names) and names[sc]:
                    return names[sc]
        return self.info.name

    @property
    def direction(self) -> str:
        return "<" if self.code & 1 else ">"

    @property
    def nparams(self) -> int:
        return len(self._param_spans()[1])

    @property
    def raw(self) -> bytes:
        """The event bytes, header included."""
        return bytes(self.buf[self.off:self.off + self.length])

    @property
    def res(self) -> int | None:
        """Return value of an exit event (its "res" or first fd param)."""
        if not self.code & 1:
            return None
        index = self.info.index
        i = index.get("res")
        if i is None:
            i = index.get("fd")
            if i is None:
                return None
        val = self.param(i)
        return val if isinstance(val, int) else None

    def detached(self) -> "Event":
        """A copy owning just its own bytes (not the batch buffer), with
        the parameters decoded so far."""
        ev = Event(self.num, self.ts, self.tid, self.cpu, self.code,
                   self.info, self.raw, 0, self.length, self.hdrlen,
                   self.hdr_nparams)
        if self._values:
            ev._values = dict(self._values)
        return ev

    # -- parameters -----------------------------------------------------
    def _param_spans(self) -> tuple[list[int], tuple[int, ...]]:
        """(start offsets, lengths) of the parameters, computed once."""
        spans = self._spans
        if spans is not None:
            return spans
        info = self.info
        buf, off, length, hdrlen = self.buf, self.off, self.length, \
            self.hdrlen
        n = self.hdr_nparams
        if n < 0:
            n = v1_nparams(buf, off, length, len(info.params))
            if n < 0:
                raise DecodeError(f"event {self.code} ({info.name}): "
                                  "parameter lengths do not add up to the "
                                  f"event length {length}", off)
        large = bool(info.flags & EF_LARGE_PAYLOAD)
        pos = hdrlen + (4 if large else 2) * n
        if pos > length:
            raise DecodeError(f"event {self.code} ({info.name}): "
                              f"{n} parameters do not fit in {length} bytes",
                              off + 22)
        lens = _lens_struct(n, large).unpack_from(buf, off + hdrlen)
        starts = list(accumulate(lens, initial=off + pos))
        if starts[-1] > off + length:
            start = pos
            for i, plen in enumerate(lens):
                if start + plen > length:
                    raise DecodeError(
                        f"event {self.code} ({info.name}): param {i} "
                        f"length {plen} runs past the event end",
                        off + hdrlen + (4 if large else 2) * i)
                start += plen
        spans = self._spans = (starts, lens)
        return spans

    def param_raw(self, key: int | str) -> bytes | None:
        """Raw bytes of a parameter (None if the event has no such param)."""
        i = key if isinstance(key, int) else self.info.index.get(key)
        starts, lens = self._param_spans()
        if i is None or not 0 <= i < len(lens):
            return None
        start = starts[i]
        return bytes(self.buf[start:start + lens[i]])

    def param(self, key: int | str) -> object:
        """Decoded value of a parameter by index or name: None when the
        event does not carry it or carries no value for it; a carried empty
        buffer is ``b""`` (``""`` for args, env, cgroups). See
        ``falco.events.params``: empty is not absent."""
        info = self.info
        i = key if isinstance(key, int) else info.index.get(key)
        if i is None:
            return None
        values = self._values
        if values is None:
            values = self._values = {}
        elif i in values:
            return values[i]
        starts, lens = self._spans or self._param_spans()
        val: object = None
        if 0 <= i < len(lens):
            start = starts[i]
            size = lens[i]
            raw = self.buf[start:start + size]
            if raw.__class__ is not bytes:
                raw = bytes(raw)
            if i >= len(info.params):
                val = raw
            elif size:
                ptype = info.params[i].type
                if ptype in SIGNED_TYPES:
                    val = int.from_bytes(raw, "little", signed=True)
                elif ptype in UNSIGNED_TYPES:
                    val = int.from_bytes(raw, "little")
                else:
                    val = self._decode(i, raw, start)
            else:
                val = empty_value(info.params[i])
        values[i] = val
        return val

    def _decode(self, i: int, raw: bytes, start: int) -> object:
        """A non-integer parameter; errors name the event and offset."""
        pinfo = self.info.params[i]
        try:
            return decode_typed(pinfo.type, raw, pinfo.name, pinfo.dyn)
        except DecodeError as exc:
            raise DecodeError(f"event {self.code} ({self.info.name}) "
                              f"param {pinfo.name}: {exc.message}",
                              start) from None

    def param_str(self, key: int | str) -> str | None:
        """Parameter rendered like sysdig (flag names, errno names...)."""
        i = key if isinstance(key, int) else self.info.index.get(key)
        if i is None or i >= len(self.info.params):
            return None
        if self.param_raw(i) is None:
            return None
        return render_value(self.info.params[i], self.param(i))

    def param_names(self) -> list[str]:
        n = self.nparams
        return [p.name for p in self.info.params[:n]]

    def params(self) -> dict[str, object]:
        """Every parameter decoded, by name."""
        return {name: self.param(i) for i, name in
                enumerate(self.param_names())}

    def __str__(self) -> str:
        args = " ".join(f"{n}={self.param_str(i)}" for i, n in
                        enumerate(self.param_names()))
        return (f"{self.num} {self.ts} {self.cpu} {self.tid} "
                f"{self.direction} {self.name} {args}").rstrip()
