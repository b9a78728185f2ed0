# SPDX-License-Identifier: Apache-2.0
"""The prefilter's boolean expressions over kernel-evaluable tests.

A :class:`Check` is one instruction of the program format
(driver/uapi/fprobe_prefilter.h); ``And``/``Or``/``Not`` combine them and
``TRUE``/``FALSE`` are constants. The constructors ``all_of``, ``any_of``
and ``negate`` fold constants, flatten and drop duplicates, so "may be
true" expressions with unknown parts shrink to ``TRUE`` on their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Union

from falco.driver._falco_ffi import lib

OP_PRESENT = lib.FPROBE_PF_OP_PRESENT
OP_EQ = lib.FPROBE_PF_OP_EQ
OP_LT = lib.FPROBE_PF_OP_LT
OP_GT = lib.FPROBE_PF_OP_GT
OP_MASK = lib.FPROBE_PF_OP_MASK
OP_STR_EQ = lib.FPROBE_PF_OP_STR_EQ
OP_STR_PREFIX = lib.FPROBE_PF_OP_STR_PREFIX
OP_STR_SUFFIX = lib.FPROBE_PF_OP_STR_SUFFIX
OP_STR_CONTAINS = lib.FPROBE_PF_OP_STR_CONTAINS
OP_PATH_CLEAN = lib.FPROBE_PF_OP_PATH_CLEAN
OP_PATH_DIR = lib.FPROBE_PF_OP_PATH_DIR
OP_LEN = lib.FPROBE_PF_OP_LEN
INT_OPS = frozenset((OP_EQ, OP_LT, OP_GT, OP_MASK))
STR_OPS = frozenset((OP_STR_EQ, OP_STR_PREFIX, OP_STR_SUFFIX,
                     OP_STR_CONTAINS, OP_PATH_DIR))
ARG_COMM = lib.FPROBE_PF_ARG_COMM
ARG_FDTYPE = lib.FPROBE_PF_ARG_FDTYPE
ARG_SOURCE = lib.FPROBE_PF_ARG_SOURCE
SOURCE_MODULE = lib.FPROBE_PF_SOURCE_MODULE
SOURCE_CAPTURE = lib.FPROBE_PF_SOURCE_CAPTURE
FDTYPE_SOCK = lib.FPROBE_PF_FDTYPE_SOCK
SIGNED = lib.FPROBE_PF_W_SIGNED
MAX_STR = lib.FPROBE_PF_MAX_STR
MAX_NEEDLE = 32
MAX_PATH = lib.FPROBE_PF_MAX_PATH

OP_NAMES = {OP_PRESENT: "present", OP_EQ: "==", OP_LT: "<", OP_GT: ">",
            OP_MASK: "mask", OP_STR_EQ: "==", OP_STR_PREFIX: "startswith",
            OP_STR_SUFFIX: "endswith", OP_STR_CONTAINS: "contains",
            OP_PATH_CLEAN: "is clean path", OP_PATH_DIR: "dirname ==",
            OP_LEN: "length in"}


@dataclass(frozen=True, slots=True)
class Check:
    """One instruction's test; ``label`` names the operand for humans."""

    op: int
    arg: int
    sub: int = 0
    width: int = 0
    imm: int = 0
    text: bytes | None = None
    label: str = field(default="", compare=False)
    _h: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_h", hash((self.op, self.arg, self.sub,
                                             self.width, self.imm,
                                             self.text)))

    def __hash__(self) -> int:
        return self._h

    def describe(self) -> str:
        name = self.label or ("comm" if self.arg == ARG_COMM
                              else f"param[{self.arg}]")
        if ARG_FDTYPE <= self.arg < ARG_FDTYPE + 32:
            name = f"type of the file {name} names"
        if self.arg == ARG_SOURCE:
            return "live source" if self.imm == SOURCE_MODULE and \
                self.op == OP_EQ else f"source {OP_NAMES[self.op]} {self.imm}"
        if self.op == OP_PRESENT:
            return f"{name} present" + (f" ({self.width & 0x0F} bytes)"
                                        if self.width else "")
        if self.op == OP_LEN:
            return (f"{name} length in {self.imm & 0xFFFFFFFF}.."
                    f"{self.imm >> 32}")
        if self.op == OP_PATH_CLEAN:
            return f"{name} is a clean absolute path (<= {self.imm} bytes)"
        if self.op == OP_MASK:
            mask, value = self.imm >> 32, self.imm & 0xFFFFFFFF
            return f"({name} & {mask:#x}) == {value:#x}"
        if self.op in INT_OPS:
            value = self.imm
            if self.width & SIGNED and value >= 1 << 63:
                value -= 1 << 64
            return f"{name} {OP_NAMES[self.op]} {value}"
        text = (self.text or b"").decode("utf-8", "backslashreplace")
        if self.op == OP_PATH_DIR:
            return f"dirname({name}) == {text[:-1] or '/'!r}"
        return f"{name} {OP_NAMES[self.op]} {text!r}"


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Expr", ...]
    _h: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_h", hash(("And", self.items)))

    def __hash__(self) -> int:
        return self._h


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Expr", ...]
    _h: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_h", hash(("Or", self.items)))

    def __hash__(self) -> int:
        return self._h


@dataclass(frozen=True, slots=True)
class Not:
    item: "Expr"
    _h: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_h", hash(("Not", self.item)))

    def __hash__(self) -> int:
        return self._h


@dataclass(frozen=True, slots=True)
class Ite:
    """``then`` where ``cond`` holds, else ``other`` (``cond`` tested once)."""

    cond: Check
    then: "Expr"
    other: "Expr"
    _h: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_h", hash(("Ite", self.cond, self.then,
                                             self.other)))

    def __hash__(self) -> int:
        return self._h


Expr = Union[Const, Check, And, Or, Not, Ite]
TRUE = Const(True)
FALSE = Const(False)


def _gather(kind: type, items: Iterable[Expr], absorb: Const,
            neutral: Const) -> Expr:
    out: list[Expr] = []
    seen: set[Expr] = set()
    for item in items:
        if item == absorb:
            return absorb
        if item == neutral:
            continue
        parts = item.items if isinstance(item, kind) else (item,)
        for part in parts:     # type: ignore[attr-defined]
            if part not in seen:
                seen.add(part)
                out.append(part)
    for part in out:            # x and not x / x or not x
        if Not(part) in seen:
            return absorb
    if not out:
        return neutral
    if len(out) == 1:
        return out[0]
    return kind(tuple(out))


def all_of(*items: Expr) -> Expr:
    return _gather(And, items, FALSE, TRUE)


def any_of(*items: Expr) -> Expr:
    return _gather(Or, items, TRUE, FALSE)


def negate(item: Expr) -> Expr:
    if isinstance(item, Const):
        return FALSE if item.value else TRUE
    if isinstance(item, Not):
        return item.item
    return Not(item)


def when(guard: Expr, then: Expr, otherwise: Expr) -> Expr:
    """``then`` where ``guard`` holds, ``otherwise`` elsewhere."""
    return any_of(all_of(guard, then), all_of(negate(guard), otherwise))


def ite(cond: Check, then: Expr, other: Expr) -> Expr:
    if then == other:
        return then
    if then == TRUE and other == FALSE:
        return cond
    if then == FALSE and other == TRUE:
        return Not(cond)
    if other == FALSE:
        return all_of(cond, then)
    if then == TRUE:
        return any_of(cond, other)
    return Ite(cond, then, other)


def atoms(expr: Expr, out: dict[Check, None] | None = None
          ) -> dict[Check, None]:
    """The distinct tests of ``expr``, in order of first appearance."""
    out = {} if out is None else out
    if isinstance(expr, Check):
        out.setdefault(expr, None)
    elif isinstance(expr, Not):
        atoms(expr.item, out)
    elif isinstance(expr, (And, Or)):
        for item in expr.items:
            atoms(item, out)
    elif isinstance(expr, Ite):
        out.setdefault(expr.cond, None)
        atoms(expr.then, out)
        atoms(expr.other, out)
    return out


def restrict(expr: Expr, atom: Check, value: bool,
             memo: dict[tuple[Expr, Check, bool], Expr] | None = None
             ) -> Expr:
    """``expr`` with ``atom`` replaced by ``value``, folded."""
    if memo is None:
        memo = {}
    key = (expr, atom, value)
    hit = memo.get(key)
    if hit is not None:
        return hit
    out = _restrict(expr, atom, value, memo)
    memo[key] = out
    return out


def _restrict(expr: Expr, atom: Check, value: bool,
              memo: dict[tuple[Expr, Check, bool], Expr]) -> Expr:
    if isinstance(expr, Check):
        return (TRUE if value else FALSE) if expr == atom else expr
    if isinstance(expr, Const):
        return expr
    if isinstance(expr, Not):
        return negate(restrict(expr.item, atom, value, memo))
    if isinstance(expr, And):
        return all_of(*(restrict(i, atom, value, memo)
                        for i in expr.items))
    if isinstance(expr, Or):
        return any_of(*(restrict(i, atom, value, memo)
                        for i in expr.items))
    if isinstance(expr, Ite):
        if expr.cond == atom:
            return restrict(expr.then if value else expr.other, atom, value,
                            memo)
        return ite(expr.cond, restrict(expr.then, atom, value, memo),
                   restrict(expr.other, atom, value, memo))
    return expr


def simplify(expr: Expr, limit: int = 7) -> Expr:
    """A decision-diagram form of ``expr`` (each test at most once on any
    path; tautologies and contradictions become constants) when it has
    at most ``limit`` distinct tests; else ``expr`` unchanged. Built from
    the truth table."""
    order = list(atoms(expr))
    k = len(order)
    if k > limit:
        return expr
    table = []
    for idx in range(1 << k):
        env = {a: bool(idx >> (k - 1 - i) & 1) for i, a in enumerate(order)}
        table.append(_value(expr, env))
    memo: dict[tuple[int, tuple[bool, ...]], Expr] = {}

    def build(i: int, sub: tuple[bool, ...]) -> Expr:
        if all(sub):
            return TRUE
        if not any(sub):
            return FALSE
        key = (i, sub)
        hit = memo.get(key)
        if hit is None:
            half = len(sub) // 2
            lo, hi = sub[:half], sub[half:]
            hit = memo[key] = ite(order[i], build(i + 1, hi),
                                  build(i + 1, lo))
        return hit
    return build(0, tuple(table))


def _value(expr: Expr, env: dict[Check, bool]) -> bool:
    if isinstance(expr, Check):
        return env[expr]
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Not):
        return not _value(expr.item, env)
    if isinstance(expr, And):
        return all(_value(i, env) for i in expr.items)
    if isinstance(expr, Or):
        return any(_value(i, env) for i in expr.items)
    assert isinstance(expr, Ite)
    return _value(expr.then if env[expr.cond] else expr.other, env)


def size(expr: Expr) -> int:
    """Number of tests (an upper bound of the instructions emitted)."""
    if isinstance(expr, Check):
        return 1
    if isinstance(expr, Ite):
        return 1 + size(expr.then) + size(expr.other)
    if isinstance(expr, Not):
        return size(expr.item)
    if isinstance(expr, (And, Or)):
        return sum(size(i) for i in expr.items)
    return 0


def render(expr: Expr) -> str:
    """The expression as readable text."""
    if isinstance(expr, Const):
        return "true" if expr.value else "false"
    if isinstance(expr, Check):
        return expr.describe()
    if isinstance(expr, Not):
        return f"not ({render(expr.item)})"
    if isinstance(expr, Ite):
        return (f"(if {expr.cond.describe()} then {render(expr.then)} "
                f"else {render(expr.other)})")
    sep = " and " if isinstance(expr, And) else " or "
    return sep.join(f"({render(i)})" if isinstance(i, (And, Or)) else
                    render(i) for i in expr.items)


def factor(expr: Expr, depth: int = 12, growth: float = 1.25) -> Expr:
    """Test first what most alternatives of a disjunction test, so an
    event that fails it skips them all: ``a and x or a and y or z``
    becomes ``if a then (x or y or z) else z``. Only while the
    expression does not grow by more than ``growth`` (``z`` is emitted
    once: equal sub-expressions share their code)."""
    if depth <= 0 or not isinstance(expr, Or):
        return expr
    counts: dict[Check, int] = {}
    for item in expr.items:
        for a in atoms(item):
            counts[a] = counts.get(a, 0) + 1
    if not counts:
        return expr
    best = max(counts, key=lambda a: counts[a])
    if counts[best] < 2:
        return expr
    rmemo: dict[tuple[Expr, Check, bool], Expr] = {}
    hi = restrict(expr, best, True, rmemo)
    lo = restrict(expr, best, False, rmemo)
    shared = _shared_size(hi, lo)
    if shared > size(expr) * growth:
        return expr
    return ite(best, factor(hi, depth - 1, growth),
               factor(lo, depth - 1, growth))


def _shared_size(a: Expr, b: Expr) -> int:
    """Tests of ``a`` and ``b`` once their common disjuncts are shared."""
    items_a = set(a.items) if isinstance(a, Or) else {a}
    items_b = set(b.items) if isinstance(b, Or) else {b}
    return sum(size(i) for i in items_a | items_b)
