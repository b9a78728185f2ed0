# SPDX-License-Identifier: Apache-2.0
"""How a field's value is computed from an event of one code, where that is
known exactly from the event alone.

A model is a list of alternatives ``(condition, source)``: on events for
which ``condition`` holds (a prefilter expression), the Python extractor
returns exactly what ``source`` describes. Conditions are mutually
exclusive; where none holds the value is unknown. ``model`` returns None
for fields it knows nothing about on that code: the check using it may
then be true or false.

Every model here mirrors one extractor (falco/fields) and parser
(falco/state); tests/unit/test_prefilter_props.py checks them against the
real extractors on random events.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from falco.driver import schema as S
from falco.driver.schema import EventInfo, ParamInfo
from falco.events.params import SIGNED_TYPES
from falco.prefilter.ir import (
    ARG_COMM, OP_EQ, OP_GT, OP_LT, OP_MASK, OP_PATH_CLEAN, OP_STR_EQ, SIGNED,
    TRUE, Const, Expr, Check, all_of, any_of, negate)
from falco.events.sockets import AF_INET, AF_INET6, AF_UNIX
from falco.state.entries import (O_CREAT, O_DIRECTORY, O_F_CREATED,
                                 O_RDONLY, O_TMPFILE, O_WRONLY, S_IXANY)

SUB_FAMILY = 1
SUB_TU_SADDR, SUB_TU_SPORT, SUB_TU_DADDR, SUB_TU_DPORT = 5, 6, 7, 8
EINPROGRESS = -115
# fd.name of a clean absolute path: concatenate_paths() keeps it as is
# when it fits the 1024-byte limit (with its terminating NUL).
MAX_CLEAN = 1023
_OPENS = ("open", "openat", "openat2", "creat")
_STRING_TYPES = frozenset((S.PT_CHARBUF, S.PT_FSPATH, S.PT_FSRELPATH))
_WIDTHS = {S.PT_INT8: 1, S.PT_INT16: 2, S.PT_INT32: 4, S.PT_INT64: 8,
           S.PT_UINT8: 1, S.PT_UINT16: 2, S.PT_UINT32: 4, S.PT_UINT64: 8,
           S.PT_ERRNO: 8, S.PT_FD: 8, S.PT_PID: 8, S.PT_FD32: 4,
           S.PT_PID32: 4, S.PT_SYSCALLID: 2, S.PT_SIGTYPE: 1,
           S.PT_RELTIME: 8, S.PT_ABSTIME: 8, S.PT_PORT: 2, S.PT_L4PROTO: 1,
           S.PT_SOCKFAMILY: 1, S.PT_FLAGS8: 1, S.PT_FLAGS16: 2,
           S.PT_FLAGS32: 4, S.PT_UID: 4, S.PT_GID: 4, S.PT_SIGSET: 4,
           S.PT_MODE: 4, S.PT_ENUMFLAGS8: 1, S.PT_ENUMFLAGS16: 2,
           S.PT_ENUMFLAGS32: 4}
_STATE_RENDERED = frozenset(("fd", "fd1", "fd2", "oldfd", "newfd", "pidfd",
                             "uid", "euid", "ruid", "suid", "loginuid",
                             "gid", "egid", "rgid", "sgid"))


@dataclass(frozen=True, slots=True)
class Src:
    """Where a value comes from.

    kinds: ``const`` (``value``); ``int`` (integer parameter ``arg``/
    ``sub`` of ``width``); ``str`` (string parameter, or the thread name
    for ``arg == ARG_COMM``); ``dirname``/``basename`` (of the clean path
    in string parameter ``arg``); ``flags``/``enum`` (an integer parameter
    rendered through ``table``); ``dec`` (an integer rendered in
    decimal); ``resname`` (``SUCCESS`` or the errno name of ``arg``);
    ``ip4`` (an IPv4 address part of a tuple, rendered as text).
    """

    kind: str
    value: Any = None
    arg: int = 0
    sub: int = 0
    width: int = 0
    table: tuple[tuple[str, int], ...] = ()
    label: str = ""


Alt = tuple[Expr, Src]


def const(value: Any) -> list[Alt]:
    return [(TRUE, Src("const", value))]


@dataclass(frozen=True, slots=True)
class Code:
    """One event code, with the parameter lookups the models need."""

    info: EventInfo

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def is_exit(self) -> bool:
        return bool(self.info.code & 1)

    def index(self, pname: str) -> int | None:
        return self.info.index.get(pname)

    def param(self, idx: int) -> ParamInfo:
        return self.info.params[idx]

    def width(self, idx: int) -> int:
        p = self.info.params[idx]
        w = _WIDTHS.get(p.type, 0)
        return w | SIGNED if w and p.type in SIGNED_TYPES else w

    def int_src(self, idx: int, label: str = "") -> Src | None:
        w = self.width(idx)
        if not w:
            return None
        return Src("int", arg=idx, width=w,
                   label=label or self.info.params[idx].name)

    def test(self, op: int, idx: int, imm: int, sub: int = 0,
             width: int | None = None, label: str = "") -> Check:
        w = self.width(idx) if width is None else width
        if w & SIGNED and imm < 0:
            imm &= (1 << 64) - 1
        return Check(op, idx, sub, w, imm,
                    label=label or self.info.params[idx].name)

    def mask(self, idx: int, bits: int, value: int) -> Check:
        w = self.width(idx) & 0x0F
        return Check(OP_MASK, idx, 0, min(w, 4), (bits << 32) | value,
                    label=self.info.params[idx].name)

    def res_index(self) -> int | None:
        """Event.res: the "res" parameter, else the first "fd"."""
        if not self.is_exit:
            return None
        i = self.index("res")
        return i if i is not None else self.index("fd")


def _ge0(code: Code, idx: int) -> Expr:
    return negate(code.test(OP_LT, idx, 0))


def _clean(code: Code, idx: int) -> Check:
    return Check(OP_PATH_CLEAN, idx, 0, 0, MAX_CLEAN,
                label=code.param(idx).name)


def _bit(code: Code, idx: int, bits: int) -> Expr:
    """(param & bits) != 0."""
    return negate(code.mask(idx, bits, 0))


def model(fname: str, arg: str | None, code: Code) -> list[Alt] | None:
    """Alternatives for field ``fname`` (argument ``arg``) on ``code``."""
    if fname == "proc.name":
        return [(TRUE, Src("str", arg=ARG_COMM, label="proc.name"))]
    if fname in ("evt.rawres", "evt.res", "evt.failed"):
        return _res_model(fname, code)
    if fname.startswith("evt.is_open_"):
        return _open_check(fname[len("evt.is_open_"):], code)
    if fname in ("evt.arg", "evt.rawarg") and arg is not None:
        return _arg_model(fname == "evt.rawarg", arg, code)
    if fname.startswith("fd.") and code.is_exit:
        if code.name in _OPENS:
            return _open_fd(fname, code)
        if code.name in ("connect", "accept", "accept4"):
            return _sock_fd(fname, code)
    return None


def _res_model(fname: str, code: Code) -> list[Alt] | None:
    idx = code.res_index()
    if idx is None:
        return const(False if fname == "evt.failed" else None)
    if not code.width(idx) & SIGNED:
        return None
    if fname == "evt.rawres":
        src = code.int_src(idx, "res")
        return None if src is None else [(TRUE, src)]
    if fname == "evt.res":
        return [(TRUE, Src("resname", arg=idx, width=code.width(idx),
                           label="res"))]
    neg = code.test(OP_LT, idx, 0, label="res")
    return [(neg, Src("const", True)), (negate(neg), Src("const", False))]


def _open_check(kind: str, code: Code) -> list[Alt] | None:
    if not code.is_exit:
        return const(False)
    name = code.name
    if name == "creat":
        if kind != "exec":
            return const(False)
        mode = code.index("mode")
        if mode is None:
            return None
        hit = _bit(code, mode, S_IXANY)
        return [(hit, Src("const", True)), (negate(hit), Src("const", False))]
    if name not in ("open", "openat", "openat2", "open_by_handle_at"):
        return const(False)
    flags = code.index("flags")
    if flags is None:
        return None
    if kind == "read":
        hit = _bit(code, flags, O_RDONLY)
    elif kind == "write":
        hit = _bit(code, flags, O_WRONLY)
    elif kind == "create":
        res = code.res_index()
        if res is None:
            return None
        hit = any_of(_bit(code, flags, O_F_CREATED),
                     all_of(_bit(code, flags, O_TMPFILE), _ge0(code, res)))
    elif kind == "exec":
        mode = code.index("mode")
        if name == "open_by_handle_at" or mode is None:
            return const(False) if name == "open_by_handle_at" else None
        hit = all_of(_bit(code, flags, O_TMPFILE | O_CREAT),
                     _bit(code, mode, S_IXANY))
    else:
        return None
    return [(hit, Src("const", True)), (negate(hit), Src("const", False))]


def _arg_model(raw: bool, key: str, code: Code) -> list[Alt] | None:
    if key.isdigit():
        return None
    idx = code.index(key)
    if idx is None:
        # Exit events may take a parameter from their enter event.
        return None if code.is_exit else const(None)
    p = code.param(idx)
    if p.type in _STRING_TYPES:
        return [(TRUE, Src("str", arg=idx, label=p.name))]
    w = code.width(idx)
    if not w:
        return None
    if raw:
        return [(TRUE, Src("int", arg=idx, width=w, label=p.name))]
    if p.name in _STATE_RENDERED or p.type in (S.PT_ERRNO, S.PT_FD, S.PT_FD32,
                                               S.PT_SIGTYPE, S.PT_SYSCALLID,
                                               S.PT_L4PROTO, S.PT_SOCKFAMILY):
        return None
    if p.type in S.FLAG_TYPES and p.flags:
        return [(TRUE, Src("flags", arg=idx, width=w, table=p.flags,
                           label=p.name))]
    if p.type in S.ENUMFLAG_TYPES and p.flags:
        return [(TRUE, Src("enum", arg=idx, width=w, table=p.flags,
                           label=p.name))]
    if p.fmt in (S.PF_DEC, S.PF_NA) and p.type not in S.FLAG_TYPES | \
            S.ENUMFLAG_TYPES:
        return [(TRUE, Src("dec", arg=idx, width=w, label=p.name))]
    return None


def _open_fd(fname: str, code: Code) -> list[Alt] | None:
    res, name, flags = code.res_index(), code.index("name"), \
        code.index("flags")
    if res is None or name is None or code.param(res).name != "fd":
        return None
    ok = _ge0(code, res)
    if fname == "fd.num":
        src = code.int_src(res, "fd")
        return None if src is None else [(TRUE, src)]
    if fname == "fd.nameraw":
        return [(TRUE, Src("str", arg=name, label="name"))]
    # creat has no flags: its fd is always a file
    isdir = _bit(code, flags, O_DIRECTORY) if flags is not None \
        else Const(False)
    made_dir = all_of(ok, isdir)
    if fname in ("fd.typechar", "fd.type"):
        d, f = ("d", "f") if fname == "fd.typechar" else \
            ("directory", "file")
        missing: Any = "f" if fname == "fd.typechar" else None
        return [(made_dir, Src("const", d)),
                (all_of(ok, negate(isdir)), Src("const", f)),
                (negate(ok), Src("const", missing))]
    clean = _clean(code, name)
    if fname == "fd.name":
        return [(clean, Src("str", arg=name, label="fd.name"))]
    if fname == "fd.directory":
        return [(all_of(clean, made_dir),
                 Src("str", arg=name, label="fd.name")),
                (all_of(clean, negate(made_dir)),
                 Src("dirname", arg=name, label="fd.name"))]
    if fname == "fd.filename":
        return [(negate(ok), Src("const", None)),
                (made_dir, Src("const", None)),
                (all_of(ok, negate(isdir), clean),
                 Src("basename", arg=name, label="fd.name"))]
    return None


def _sock_fd(fname: str, code: Code) -> list[Alt] | None:
    res, tup = code.res_index(), code.index("tuple")
    if res is None or tup is None:
        return None
    fam = code.test(OP_EQ, tup, AF_INET, SUB_FAMILY, 1, "family")
    fam6 = code.test(OP_EQ, tup, AF_INET6, SUB_FAMILY, 1, "family")
    famu = code.test(OP_EQ, tup, AF_UNIX, SUB_FAMILY, 1, "family")
    if code.name == "connect":
        fd = code.index("fd")
        if fd is None:
            return None
        ok = all_of(any_of(_ge0(code, res),
                           code.test(OP_EQ, res, EINPROGRESS)),
                    _ge0(code, fd))
        failed: Expr | None = None
    else:
        ok = _ge0(code, res)
        failed = negate(ok)
    if fname == "fd.num":
        idx = code.index("fd") if code.name == "connect" else res
        src = None if idx is None else code.int_src(idx, "fd")
        return None if src is None else [(TRUE, src)]
    alts: list[Alt] = []
    if fname == "fd.sockfamily":
        alts = [(all_of(ok, any_of(fam, fam6)), Src("const", "ip")),
                (all_of(ok, famu), Src("const", "unix"))]
        if failed is not None:
            alts.append((failed, Src("const", None)))
        return alts
    if fname in ("fd.typechar", "fd.type"):
        v4, ux = ("4", "u") if fname == "fd.typechar" else ("ipv4", "unix")
        alts = [(all_of(ok, fam), Src("const", v4)),
                (all_of(ok, famu), Src("const", ux))]
        if failed is not None:
            alts.append((failed, Src("const", "4" if fname == "fd.typechar"
                                     else None)))
        return alts
    parts = {"fd.sip": SUB_TU_DADDR, "fd.cip": SUB_TU_SADDR,
             "fd.sport": SUB_TU_DPORT, "fd.cport": SUB_TU_SPORT}
    sub = parts.get(fname)
    if sub is None:
        return None
    if sub in (SUB_TU_DPORT, SUB_TU_SPORT):
        src = Src("int", arg=tup, sub=sub, width=2, label=fname)
    else:
        src = Src("ip4", arg=tup, sub=sub, width=4, label=fname)
    alts = [(all_of(ok, fam), src)]
    if failed is not None:
        alts.append((failed, Src("const", None)))
    return alts


__all__ = ["Alt", "Code", "Src", "model", "OP_GT", "OP_STR_EQ"]
