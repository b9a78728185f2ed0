# SPDX-License-Identifier: Apache-2.0
"""AST of Falco's condition language.

Every node carries a :class:`Span` (offset, line, column of its first
character in the condition text). Spans do not take part in equality, so
two trees parsed from differently spaced texts compare equal; this is what
the print/parse round-trip tests rely on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Union

# Comparison operators, as spelled in conditions.
SCALAR_OPS = frozenset({
    "=", "==", "!=", "<", "<=", ">", ">=", "contains", "icontains",
    "bcontains", "startswith", "bstartswith", "endswith", "glob", "iglob",
    "regex"})
LIST_OPS = frozenset({"in", "intersects", "pmatch"})
UNARY_OPS = frozenset({"exists"})
ALL_OPS = SCALAR_OPS | LIST_OPS | UNARY_OPS
TRANSFORMERS = frozenset({"tolower", "toupper", "b64", "basename", "len"})


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node starts: 0-based offset, 1-based line and column.

    ``origin`` names the macro whose text the node was parsed from (None
    for the rule's own condition).
    """

    offset: int
    line: int
    column: int
    origin: str | None = None


NOWHERE = Span(0, 1, 1)


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FieldExpr:
    """``proc.name``, ``proc.aname[2]``, ``evt.arg.name``."""

    name: str
    arg: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TransformExpr:
    """``tolower(proc.name)``; transformers nest."""

    name: str
    operand: "LhsExpr"
    span: Span = _span()


LhsExpr = Union[FieldExpr, TransformExpr]


@dataclass(frozen=True, slots=True)
class StrValue:
    """A literal: bare words keep ``quoted=False`` (they may name a list)."""

    text: str
    quoted: bool = False
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ListValue:
    items: tuple[StrValue, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ValExpr:
    """``val(proc.name)`` (or a transformer over one) on the right side."""

    operand: LhsExpr
    span: Span = _span()


RhsExpr = Union[StrValue, ListValue, ValExpr, TransformExpr]


@dataclass(frozen=True, slots=True)
class BinaryCheck:
    lhs: LhsExpr
    op: str
    rhs: RhsExpr
    span: Span = _span()
    op_span: Span = _span()     # where the operator is written


@dataclass(frozen=True, slots=True)
class UnaryCheck:
    lhs: LhsExpr
    op: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MacroRef:
    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Const:
    """A folded constant; never produced by the parser."""

    value: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class And:
    children: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Not:
    child: "Expr"
    span: Span = _span()


Expr = Union[And, Or, Not, BinaryCheck, UnaryCheck, MacroRef, Const]

# Characters a bare word may not contain (besides whitespace).
BARE_FORBIDDEN = frozenset(' \t\r\n\f\v(),="\'')
_ESCAPES: Mapping[str, str] = MappingProxyType({
    "\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r",
    "\b": "\\b", "\f": "\\f"})


def quote(text: str) -> str:
    """Render ``text`` as a double-quoted condition string."""
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def value_text(value: StrValue) -> str:
    if value.quoted or not value.text or any(c in BARE_FORBIDDEN
                                              for c in value.text):
        return quote(value.text)
    return value.text


def lhs_text(node: LhsExpr) -> str:
    if isinstance(node, FieldExpr):
        return node.name if node.arg is None else f"{node.name}[{node.arg}]"
    return f"{node.name}({lhs_text(node.operand)})"


def rhs_text(node: RhsExpr) -> str:
    if isinstance(node, StrValue):
        return value_text(node)
    if isinstance(node, ListValue):
        return "(" + ", ".join(value_text(v) for v in node.items) + ")"
    if isinstance(node, ValExpr):
        return f"val({lhs_text(node.operand)})"
    return lhs_text(node)


def to_text(node: Expr) -> str:
    """Print ``node`` as condition text that parses back to an equal tree.

    Compound children are parenthesised, so the text does not depend on
    operator precedence. Iterative over deep ``not`` chains is not needed:
    the parser bounds nesting depth.
    """
    if isinstance(node, And):
        return " and ".join(_child_text(c) for c in node.children)
    if isinstance(node, Or):
        return " or ".join(_child_text(c) for c in node.children)
    if isinstance(node, Not):
        return "not " + _child_text(node.child)
    if isinstance(node, BinaryCheck):
        return f"{lhs_text(node.lhs)} {node.op} {rhs_text(node.rhs)}"
    if isinstance(node, UnaryCheck):
        return f"{lhs_text(node.lhs)} {node.op}"
    if isinstance(node, MacroRef):
        return node.name
    if isinstance(node, Const):
        # No literal exists in the language; print a tautology/contradiction
        # that keeps the meaning for display purposes.
        return "(evt.num >= 0)" if node.value else "(evt.num < 0)"
    raise TypeError(f"not an expression node: {node!r}")


def _child_text(node: Expr) -> str:
    if isinstance(node, (And, Or, Not)):
        return "(" + to_text(node) + ")"
    return to_text(node)


def children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    return ()


def depth(node: Expr) -> int:
    """Nesting depth of ``node``, computed without recursion.

    A tree whose macros were expanded by reference shares subtrees (a DAG
    that may stand for an exponentially larger tree): each node is visited
    once, so the cost is linear in the DAG.
    """
    memo: dict[int, int] = {}
    keep: list[Expr] = []           # keeps ids valid while memo uses them
    stack: list[tuple[Expr, bool]] = [(node, False)]
    while stack:
        cur, ready = stack.pop()
        if id(cur) in memo:
            continue
        kids = children(cur)
        if ready or not kids:
            memo[id(cur)] = 1 + max((memo[id(k)] for k in kids), default=0)
            keep.append(cur)
            continue
        stack.append((cur, True))
        stack.extend((k, False) for k in kids if id(k) not in memo)
    return memo[id(node)]
