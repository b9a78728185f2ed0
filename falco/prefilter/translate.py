# SPDX-License-Identifier: Apache-2.0
"""A condition, specialised for one event code, as the pair of prefilter
expressions (may be true, may be false).

``and`` intersects "may be true" and unites "may be false", ``or`` the
reverse, ``not`` swaps them; so negations and exceptions stay sound. A
check whose field has a model on the code (``models``) and whose operator
can be expressed with the program's tests is exact where the model's
conditions hold; everything else may be true and may be false.
"""
from __future__ import annotations

import errno
import ipaddress
import re
from typing import Any, Callable

from falco.fields.registry import FieldRegistry, FieldType, \
    IntKind, UnknownFieldError
from falco.filter import operators as ops
from falco.filter import syntax
from falco.prefilter.ir import (
    ARG_COMM, ARG_FDTYPE, ARG_SOURCE, FALSE, INT_OPS, MAX_NEEDLE, MAX_PATH, MAX_STR, OP_EQ, OP_GT,
    OP_LEN, OP_LT, OP_MASK, OP_PATH_DIR, OP_PRESENT, OP_STR_CONTAINS,
    OP_STR_EQ, OP_STR_PREFIX, OP_STR_SUFFIX, SIGNED, TRUE, Check, Const,
    Expr, all_of, any_of, atoms, negate, simplify)
from falco.prefilter.models import SUB_FAMILY, Alt, Code, Src, model

Pair = tuple[Expr, Expr]
UNKNOWN: Pair = (TRUE, TRUE)
_DEC = re.compile(r"-?(0|[1-9][0-9]*)\Z")
MAX_CONTAINS = 256
_GLOB_META = frozenset("*?[]")


class Translator:
    """Translates checks of one event code; one per (registry, code)."""

    def __init__(self, registry: FieldRegistry, code: Code,
                 cache: dict[tuple[object, ...], Pair] | None = None
                 ) -> None:
        self.registry = registry
        self.code = code
        # checks repeat across rules (macros) and codes (event versions,
        # open/openat/openat2): each is translated once per layout
        self._checks: dict[tuple[object, ...], Pair] = \
            {} if cache is None else cache
        info = code.info
        self._layout = (info.name, info.code & 1,
                        tuple((p.name, p.type) for p in info.params))

    # -- boolean structure ---------------------------------------------
    def pair(self, node: syntax.Expr) -> Pair:
        """(may be true, may be false) of ``node``."""
        if isinstance(node, syntax.Const):
            return (TRUE, FALSE) if node.value else (FALSE, TRUE)
        if isinstance(node, syntax.Not):
            mt, mf = self.pair(node.child)
            return mf, mt
        if isinstance(node, (syntax.And, syntax.Or)):
            pairs = [self.pair(c) for c in node.children]
            mts = [p[0] for p in pairs]
            mfs = [p[1] for p in pairs]
            if isinstance(node, syntax.And):
                return all_of(*mts), any_of(*mfs)
            return any_of(*mts), all_of(*mfs)
        if isinstance(node, (syntax.BinaryCheck, syntax.UnaryCheck)):
            key = (node, self._layout)
            hit = self._checks.get(key)
            if hit is None:
                try:
                    hit = self.check(node)
                except (ops.OperandError, UnknownFieldError, ValueError,
                        OverflowError):
                    hit = UNKNOWN
                self._checks[key] = hit
            return hit
        return UNKNOWN

    # -- one check ---------------------------------------------------------
    def check(self, node: syntax.BinaryCheck | syntax.UnaryCheck) -> Pair:
        if not isinstance(node.lhs, syntax.FieldExpr):
            return UNKNOWN          # transformers
        fdef, dotted = self.registry.resolve(node.lhs.name)
        if fdef.multi:
            return UNKNOWN
        arg = node.lhs.arg if node.lhs.arg is not None else dotted
        alts = model(fdef.name, arg, self.code)
        if alts is None:
            return UNKNOWN
        if isinstance(node, syntax.UnaryCheck):
            test: Callable[[Src], Expr | None] = _exists
        else:
            if isinstance(node.rhs, (syntax.ValExpr, syntax.TransformExpr)):
                return UNKNOWN
            test = _binary_test(fdef.type, node.op, node.rhs, fdef.kind)
        covered: list[Expr] = []
        mt: list[Expr] = []
        mf: list[Expr] = []
        for cond, src in alts:
            if src.kind != "const":
                # an empty or missing parameter is None for Python (or
                # the enter event's value): never a known value
                cond = all_of(cond, _present(src))
            t = test(src)
            # where a test cannot be evaluated, a guard of the same
            # conjunction is false: the expressions then do not depend on
            # tests that cannot be evaluated, whatever the order of
            # evaluation (see docs/ARCHITECTURE.md)
            cond = all_of(cond, guards(cond if t is None else
                                       all_of(cond, t)))
            covered.append(cond)
            if t is None:
                mt.append(cond)
                mf.append(cond)
            else:
                mt.append(all_of(cond, t))
                mf.append(all_of(cond, negate(t)))
        unknown = negate(any_of(*covered))
        return simplify(any_of(unknown, *mt)), simplify(any_of(unknown, *mf))


def _present(src: Src) -> Check:
    width = src.width & 0x0F if src.sub == 0 and src.kind in (
        "int", "dec", "enum", "flags", "resname") else 0
    return Check(OP_PRESENT, src.arg, 0, width, label=src.label)


# Shortest AF_INET socktuple holding its address and port parts.
_TUPLE_V4 = 13
_NOLIMIT = 0xFFFFFFFF


def guards(expr: Expr) -> Expr:
    """Tests that hold exactly when every test of ``expr`` can be
    evaluated on an event (PRESENT and LEN never fail)."""
    out: list[Expr] = []
    for c in atoms(expr):
        if c.op in (OP_PRESENT, OP_LEN) or c.arg == ARG_SOURCE or \
                ARG_FDTYPE <= c.arg < ARG_FDTYPE + 32:
            continue        # (the fd type test: only the module knows)
        if c.arg == ARG_COMM:
            out.append(Check(OP_PRESENT, ARG_COMM, label="proc.name"))
        elif c.op in INT_OPS and c.sub == 0:
            out.append(Check(OP_PRESENT, c.arg, 0, c.width & 0x0F,
                             label=c.label))
        elif c.sub == SUB_FAMILY:
            out.append(Check(OP_PRESENT, c.arg, label=c.label))
        elif c.sub:
            out.append(Check(OP_LEN, c.arg, 0, 0,
                             (_NOLIMIT << 32) | _TUPLE_V4, label=c.label))
        elif c.op == OP_STR_CONTAINS:
            out.append(Check(OP_LEN, c.arg, 0, 0,
                             (MAX_CONTAINS << 32) | 1, label=c.label))
        elif c.op == OP_PATH_DIR:
            out.append(Check(OP_LEN, c.arg, 0, 0,
                             (MAX_PATH << 32) | 1, label=c.label))
        else:
            out.append(Check(OP_PRESENT, c.arg, label=c.label))
    return all_of(*out)


def _exists(src: Src) -> Expr | None:
    if src.kind == "const":
        return TRUE if src.value is not None else FALSE
    return None


# -- operators against one source ------------------------------------------
def _binary_test(ftype: FieldType, op: str, rhs: syntax.RhsExpr,
                 kind: IntKind | None) -> Callable[[Src], Expr | None]:
    if isinstance(rhs, syntax.ListValue):
        texts = [v.text for v in rhs.items]
    else:
        assert isinstance(rhs, syntax.StrValue)
        texts = [rhs.text]
    if op in ("in", "intersects", "pmatch"):
        consts = [ops.convert(ftype, op, t, kind) for t in texts]
        py = ops.list_test(ftype, op, consts)
    else:
        if len(texts) != 1 or isinstance(rhs, syntax.ListValue):
            raise ops.OperandError("list for a scalar operator")
        consts = [ops.convert(ftype, op, texts[0], kind)]
        py = ops.scalar_test(ftype, op, consts[0])

    def test(src: Src) -> Expr | None:
        if src.kind == "const":
            return TRUE if src.value is not None and py(src.value) \
                else FALSE
        if op == "intersects":
            return None
        if src.kind == "int":
            if ftype in ops.NUMERIC:
                return _int_test(src, op, consts)
            if ftype in ops.STRINGY:
                return _rendered(src, op, consts, _dec_values)
            return None
        if src.kind == "str":
            return _str_test(src, op, consts) if ftype in ops.STRINGY \
                else None
        if src.kind == "dirname":
            return _dirname_test(src, op, consts)
        if src.kind == "basename":
            return _basename_test(src, op, consts)
        if ftype not in ops.STRINGY:
            return _ip_test(src, op, consts) if src.kind == "ip4" else None
        if src.kind == "dec":
            return _rendered(src, op, consts, _dec_values)
        if src.kind == "enum":
            return _rendered(src, op, consts, _enum_values)
        if src.kind == "resname":
            return _resname_test(src, op, consts)
        if src.kind == "flags":
            return _flags_test(src, op, consts)
        return None
    return test


def _bounds(width: int) -> tuple[int, int]:
    bits = 8 * (width & 0x0F)
    if width & SIGNED:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _itest(src: Src, op: int, value: int) -> Expr:
    return Check(op, src.arg, src.sub, src.width, value & ((1 << 64) - 1),
                label=src.label)


def _int_eq(src: Src, value: Any) -> Expr:
    lo, hi = _bounds(src.width)
    if isinstance(value, float):
        if not value.is_integer():
            return FALSE
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        return FALSE
    return _itest(src, OP_EQ, value)


def _int_lt(src: Src, value: int, inclusive: bool) -> Expr:
    """v < value (v <= value when inclusive)."""
    lo, hi = _bounds(src.width)
    limit = value + 1 if inclusive else value
    if limit <= lo:
        return FALSE
    if limit > hi:
        return TRUE
    return _itest(src, OP_LT, limit)


def _int_test(src: Src, op: str, consts: list[Any]) -> Expr | None:
    if any(isinstance(c, float) and not c.is_integer() for c in consts):
        return None
    consts = [int(c) for c in consts]
    if op in ("=", "=="):
        return _int_eq(src, consts[0])
    if op == "!=":
        return negate(_int_eq(src, consts[0]))
    if op == "in":
        return any_of(*(_int_eq(src, c) for c in consts))
    if op in ("<", "<="):
        return _int_lt(src, consts[0], op == "<=")
    if op in (">", ">="):
        return negate(_int_lt(src, consts[0], op == ">"))
    return None


def _encode(text: Any) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _stest(src: Src, op: int, text: bytes) -> Expr | None:
    if len(text) > MAX_STR:
        return None
    return Check(op, src.arg, src.sub, 0, 0, text, src.label)


def _str_one(src: Src, op: str, const: Any) -> Expr | None:
    text = _encode(const)
    if text is None:
        return None
    if op in ("=", "=="):
        return _stest(src, OP_STR_EQ, text)
    if op == "!=":
        t = _stest(src, OP_STR_EQ, text)
        return None if t is None else negate(t)
    if op == "startswith":
        return _stest(src, OP_STR_PREFIX, text) if text else TRUE
    if op == "endswith":
        return _stest(src, OP_STR_SUFFIX, text) if text else TRUE
    if op == "contains":
        if not text:
            return TRUE
        return _stest(src, OP_STR_CONTAINS, text) \
            if len(text) <= MAX_NEEDLE else None
    if op == "glob":
        return _glob(src, const)
    return None


def _glob(src: Src, pattern: str) -> Expr | None:
    """Patterns with '*' only at their ends; the rest stay unknown."""
    inner = pattern.strip("*")
    if any(c in _GLOB_META for c in inner):
        return None
    if pattern == inner:
        return _str_one(src, "=", inner)
    if pattern.startswith("*") and pattern.endswith("*") and len(pattern) > 1:
        return _str_one(src, "contains", inner)
    if pattern.endswith("*"):
        return _str_one(src, "startswith", inner)
    return _str_one(src, "endswith", inner)


def _str_test(src: Src, op: str, consts: list[Any]) -> Expr | None:
    if op == "in":
        parts = [_str_one(src, "=", c) for c in consts]
        return None if any(p is None for p in parts) else any_of(*parts)
    if op == "pmatch":
        return _pmatch(src, consts)
    if len(consts) != 1:
        return None
    return _str_one(src, op, consts[0])


def _pmatch(src: Src, consts: list[Any]) -> Expr | None:
    parts: list[Expr | None] = []
    for c in consts:
        d = str(c).rstrip("/") or "/"
        if d == "/":
            parts.append(_str_one(src, "startswith", "/"))
            continue
        parts.append(_str_one(src, "=", d))
        parts.append(_str_one(src, "startswith", d + "/"))
    return None if any(p is None for p in parts) else any_of(*parts)


def _dirname_test(src: Src, op: str, consts: list[Any]) -> Expr | None:
    def eq(c: Any) -> Expr | None:
        text = _encode(c)
        if text is None or len(text) + 1 > MAX_STR:
            return None
        if text == b"/":
            return any_of(Check(OP_PATH_DIR, src.arg, 0, 0, 0, b"/",
                               src.label),
                          Check(OP_STR_EQ, src.arg, 0, 0, 0, b"/", src.label))
        return Check(OP_PATH_DIR, src.arg, 0, 0, 0, text + b"/", src.label)
    if op in ("=", "==", "!=", "in"):
        parts = [eq(c) for c in consts]
        if any(p is None for p in parts):
            return None
        hit = any_of(*parts)   # type: ignore[arg-type]
        return negate(hit) if op == "!=" else hit
    return None


def _basename_test(src: Src, op: str, consts: list[Any]) -> Expr | None:
    def eq(c: Any) -> Expr | None:
        text = _encode(c)
        if text is None:
            return None
        if b"/" in text:
            return FALSE
        if not text:
            return _stest(src, OP_STR_EQ, b"/")
        return _stest(src, OP_STR_SUFFIX, b"/" + text)
    if op in ("=", "==", "!=", "in"):
        parts = [eq(c) for c in consts]
        if any(p is None for p in parts):
            return None
        hit = any_of(*parts)   # type: ignore[arg-type]
        return negate(hit) if op == "!=" else hit
    if op == "endswith" and len(consts) == 1:
        text = _encode(consts[0])
        if text is None or b"/" in text:
            return None
        return _stest(src, OP_STR_SUFFIX, text) if text else TRUE
    return None


def _ip_test(src: Src, op: str, consts: list[Any]) -> Expr | None:
    def hit(net: Any) -> Expr:
        if not isinstance(net, ipaddress.IPv4Network):
            return FALSE
        addr = net.network_address.packed
        mask = net.netmask.packed
        return Check(OP_MASK, src.arg, src.sub, 4,
                    (int.from_bytes(mask, "little") << 32) |
                    int.from_bytes(addr, "little"), label=src.label)
    if op in ("=", "=="):
        return hit(consts[0])
    if op == "!=":
        return negate(hit(consts[0]))
    if op == "in":
        return any_of(*(hit(c) for c in consts))
    return None


# -- values rendered as text ------------------------------------------------
def _rendered(src: Src, op: str, consts: list[Any],
              values: Callable[[Src, str], list[int] | None]
              ) -> Expr | None:
    """=, != and in against an integer shown as text: the integers whose
    text is the constant."""
    if op not in ("=", "==", "!=", "in"):
        return None
    parts: list[Expr] = []
    for c in consts:
        found = values(src, str(c))
        if found is None:
            return None
        parts.extend(_int_eq(src, v) for v in found)
    hit = any_of(*parts)
    return negate(hit) if op == "!=" else hit


def _dec_values(src: Src, text: str) -> list[int] | None:
    return [int(text)] if _DEC.match(text) and text != "-0" else []


def _enum_values(src: Src, text: str) -> list[int] | None:
    first: dict[int, str] = {}
    for name, value in src.table:
        first.setdefault(value, name)
    named = [v for v, n in first.items() if n == text]
    if named:
        return named
    if _DEC.match(text) and text != "-0" and int(text) not in first:
        return [int(text)]
    return []


def _resname_test(src: Src, op: str, consts: list[Any]) -> Expr | None:
    if op not in ("=", "==", "!=", "in"):
        return None
    ok = negate(Check(OP_LT, src.arg, 0, src.width, 0, label=src.label))
    parts: list[Expr] = []
    for c in consts:
        text = str(c)
        if text == "SUCCESS":
            parts.append(ok)
            continue
        num = getattr(errno, text, None)
        if isinstance(num, int) and errno.errorcode.get(num) == text:
            parts.append(_int_eq(src, -num))
        elif _DEC.match(text) and int(text) < 0 and \
                -int(text) not in errno.errorcode:
            parts.append(_int_eq(src, int(text)))
    hit = any_of(*parts)
    return negate(hit) if op == "!=" else hit


def _flags_test(src: Src, op: str, consts: list[Any]) -> Expr | None:
    """``contains NAME-PART``: some shown flag name holds the text."""
    if op != "contains" or len(consts) != 1:
        return None
    needle = str(consts[0])
    if not needle:
        return TRUE
    if "|" in needle:
        return None
    table = src.table
    parts: list[Expr] = []
    for i, (name, value) in enumerate(table):
        if needle not in name:
            continue
        if value == 0:
            parts.append(_int_eq(src, 0))
            continue
        # shown exactly when its bits are all set, if no earlier flag
        # shares a bit (the renderer takes flags in table order)
        if any(v & value for _, v in table[:i] if v):
            return None
        if value >> 32 or (src.width & 0x0F) > 4:
            return None
        parts.append(Check(OP_MASK, src.arg, 0, src.width & 0x0F,
                          (value << 32) | value, label=src.label))
    return any_of(*parts)


__all__ = ["Alt", "Pair", "Translator", "UNKNOWN", "Const", "OP_PRESENT",
           "OP_GT"]
