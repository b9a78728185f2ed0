# SPDX-License-Identifier: Apache-2.0
"""Prefilter programs: emitting, encoding, validating and evaluating.

``emit({code: expr})`` turns one expression per event code into the
program format of driver/uapi/fprobe_prefilter.h: short-circuit code with
``jt``/``jf`` targets, emitted backwards so every jump goes forward;
identical sub-programs are shared between codes and string constants
between instructions. ``validate`` and ``evaluate`` call the C validator
and evaluator (driver/prefilter.c), the ones the module runs.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Mapping

from falco.driver._falco_ffi import ffi, lib
from falco.errors import FalcoError
from falco.prefilter.ir import (STR_OPS, And, Const, Expr, Ite, Not, Or,
                                Check, size)

PASS = lib.FPROBE_PF_PASS
DROP = lib.FPROBE_PF_DROP
NCODES = lib.FPROBE_PF_NCODES
MAX_INSNS = lib.FPROBE_PF_MAX_INSNS
MAX_STRTAB = lib.FPROBE_PF_MAX_STRTAB
HEADER = struct.Struct("<IHHII4I%dH" % NCODES)
INSN = struct.Struct("<BBBBHHQ")


class ProgramError(FalcoError):
    """A program that does not fit the format's limits or is refused."""


@dataclass(slots=True)
class Program:
    """An encoded program and the expressions it was emitted from."""

    blob: bytes
    exprs: dict[int, Expr] = field(default_factory=dict)
    n_insns: int = 0
    # Codes whose expression did not fit and were made PASS.
    widened: tuple[int, ...] = ()

    def verdict(self, event: bytes, hdrlen: int = 26,
                nparams: int | None = None, comm: str | None = None) -> int:
        return evaluate(self.blob, event, hdrlen, nparams, comm)


@dataclass(slots=True)
class _Emitter:
    insns: list[tuple[int, int, int, int, int, int, int]] = \
        field(default_factory=list)       # (op, arg, sub, width, jt, jf, imm)
    memo: dict[tuple[Expr, int, int], int] = field(default_factory=dict)
    strings: dict[bytes, int] = field(default_factory=dict)
    strtab: bytearray = field(default_factory=bytearray)

    def string(self, text: bytes) -> int:
        off = self.strings.get(text)
        if off is None:
            off = self.strtab.find(text) if text else 0
            if off < 0:
                off = len(self.strtab)
                self.strtab += text
            self.strings[text] = off
        return (len(text) << 32) | off

    def gen(self, expr: Expr, t: int, f: int) -> int:
        """Instructions for ``expr`` whose exits are ``t``/``f``; returns
        its entry (an id, or a terminal). Ids are creation order: the
        final layout reverses it."""
        if isinstance(expr, Const):
            return t if expr.value else f
        key = (expr, t, f)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        if isinstance(expr, Not):
            out = self.gen(expr.item, f, t)
        elif isinstance(expr, Ite):
            out = self.gen(expr.cond, self.gen(expr.then, t, f),
                           self.gen(expr.other, t, f))
        elif isinstance(expr, And):
            out = t
            for item in reversed(expr.items):
                out = self.gen(item, out, f)
        elif isinstance(expr, Or):
            out = f
            for item in reversed(expr.items):
                out = self.gen(item, t, out)
        else:
            assert isinstance(expr, Check)
            imm = self.string(expr.text or b"") if expr.op in STR_OPS \
                else expr.imm
            self.insns.append((expr.op, expr.arg, expr.sub, expr.width, t,
                               f, imm))
            out = len(self.insns) - 1
        self.memo[key] = out
        return out


def _layout(em: _Emitter, entries: dict[int, int]) -> tuple[list[bytes],
                                                             dict[int, int]]:
    n = len(em.insns)

    def pos(target: int) -> int:
        return target if target in (PASS, DROP) else n - 1 - target
    code = []
    for op, arg, sub, width, t, f, imm in reversed(em.insns):
        code.append(INSN.pack(op, arg, sub, width, pos(t), pos(f), imm))
    return code, {c: pos(e) for c, e in entries.items()}


def emit(exprs: Mapping[int, Expr], default: int = PASS) -> Program:
    """Encode one expression per event code (codes absent get
    ``default``). Codes whose programs do not fit the limits are made
    PASS, biggest first: never DROP."""
    exprs = dict(exprs)
    widened: list[int] = []
    while True:
        em = _Emitter()
        entries = {code: em.gen(expr, PASS, DROP)
                   for code, expr in sorted(exprs.items())}
        if len(em.insns) <= MAX_INSNS and len(em.strtab) <= MAX_STRTAB:
            break
        victim = max((c for c, e in exprs.items() if size(e)),
                     key=lambda c: size(exprs[c]))
        exprs[victim] = Const(True)
        widened.append(victim)
    code, entries = _layout(em, entries)
    table = [default] * NCODES
    for c in range(lib.PPM_EVENT_MAX, NCODES):
        table[c] = PASS
    for c, e in entries.items():
        table[c] = e
    hdr = HEADER.pack(lib.FPROBE_PF_MAGIC, lib.FPROBE_PF_VERSION, 0,
                      len(code), len(em.strtab), 0, 0, 0, 0, *table)
    blob = hdr + b"".join(code) + bytes(em.strtab)
    rc = validate(blob)
    if rc:
        raise ProgramError(f"emitted prefilter program refused by the "
                           f"validator ({rc})")
    return Program(blob, exprs, len(code), tuple(widened))


def validate(blob: bytes) -> int:
    """0, or the validator's negative errno."""
    return int(lib.fprobe_pf_validate(ffi.from_buffer(blob), len(blob)))


def evaluate(blob: bytes, event: bytes, hdrlen: int = 26,
             nparams: int | None = None, comm: str | None = None,
             live: bool = False) -> int:
    """PASS or DROP for one event (header included) under ``blob``, as
    the capture scanner judges it (``live``: as a live source does)."""
    view = ffi.new("struct fprobe_pf_event *")
    buf = ffi.from_buffer(event)
    if nparams is None:
        nparams = int.from_bytes(event[22:26], "little") \
            if hdrlen == 26 else 0
    if lib.fsrc_event_view(buf, len(event), hdrlen, nparams, ffi.NULL,
                           view) < 0:
        return PASS
    if live:
        view.source = lib.FPROBE_PF_SOURCE_MODULE
    keep = None
    raw = None if comm is None else comm.encode("utf-8", "surrogateescape")
    # a task name is at most 15 bytes: a longer one is unknown, as the
    # capture scanner has it
    if raw is not None and 0 < len(raw) < 16 and b"\0" not in raw:
        keep = ffi.new("char[]", raw)
        view.comm = keep
    return int(lib.fprobe_pf_eval(ffi.from_buffer(blob), view))


def decode(blob: bytes) -> tuple[list[int], list[tuple[int, ...]], bytes]:
    """(entries, instructions, strtab) of a blob (for printing, tests)."""
    head = HEADER.unpack_from(blob, 0)
    n_insns, strtab_len = head[3], head[4]
    entries = list(head[9:])
    insns = [INSN.unpack_from(blob, HEADER.size + i * INSN.size)
             for i in range(n_insns)]
    start = HEADER.size + n_insns * INSN.size
    return entries, insns, blob[start:start + strtab_len]
