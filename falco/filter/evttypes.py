# SPDX-License-Identifier: Apache-2.0
"""Event-type inference: which event names can make a condition true.

Each sub-expression gets two sets: the event types for which it may be
true and those for which its negation may be true. ``and`` intersects the
first and unites the second, ``or`` does the opposite, ``not`` swaps them
(De Morgan pushed to the leaves). Only ``evt.type`` comparisons
(``=``, ``==``, ``!=``, ``in``) restrict the sets; every other check may be
true or false for any event. Sets are kept as "these names" or "all but
these names" so no universe is needed until the end.

Trees whose macros were expanded by reference share subtrees; every walk
here remembers what it computed per node, so it is linear in the shared
tree (a DAG), not in the tree it stands for.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from falco.filter import syntax

EVT_TYPE_FIELD = "evt.type"
EVT_TYPE_OPS = frozenset({"=", "==", "!=", "in"})
EVT_DIR_FIELD = "evt.dir"


@dataclass(frozen=True, slots=True)
class EvtSet:
    """``names`` when ``inverted`` is False, else everything but ``names``."""

    names: frozenset[str]
    inverted: bool = False

    def union(self, other: "EvtSet") -> "EvtSet":
        a, b = self, other
        if not a.inverted and not b.inverted:
            return EvtSet(a.names | b.names)
        if a.inverted and b.inverted:
            return EvtSet(a.names & b.names, True)
        pos, neg = (a, b) if not a.inverted else (b, a)
        return EvtSet(neg.names - pos.names, True)

    def intersection(self, other: "EvtSet") -> "EvtSet":
        a, b = self, other
        if not a.inverted and not b.inverted:
            return EvtSet(a.names & b.names)
        if a.inverted and b.inverted:
            return EvtSet(a.names | b.names, True)
        pos, neg = (a, b) if not a.inverted else (b, a)
        return EvtSet(pos.names - neg.names)

    def complement(self) -> "EvtSet":
        return EvtSet(self.names, not self.inverted)

    def resolve(self, universe: frozenset[str] | None
                ) -> frozenset[str] | None:
        """Concrete names, or None for "every event type"."""
        if not self.inverted:
            return self.names
        if universe is None or not universe:
            return None
        rest = universe - self.names
        return None if rest == universe else rest


ALL = EvtSet(frozenset(), True)
NONE = EvtSet(frozenset())


def is_evttype_check(node: syntax.Expr) -> bool:
    return (isinstance(node, syntax.BinaryCheck)
            and isinstance(node.lhs, syntax.FieldExpr)
            and node.lhs.name == EVT_TYPE_FIELD and node.lhs.arg is None
            and node.op in EVT_TYPE_OPS
            and isinstance(node.rhs, (syntax.StrValue, syntax.ListValue)))


def check_names(node: syntax.BinaryCheck) -> frozenset[str]:
    if isinstance(node.rhs, syntax.ListValue):
        return frozenset(v.text for v in node.rhs.items)
    assert isinstance(node.rhs, syntax.StrValue)
    return frozenset({node.rhs.text})


def infer(node: syntax.Expr, memo: dict[int, Any] | None = None
          ) -> tuple[EvtSet, EvtSet]:
    """(may be true for, negation may be true for)."""
    memo = {} if memo is None else memo
    hit = memo.get(id(node))
    if hit is not None:
        return hit[1]               # type: ignore[no-any-return]
    result = _infer(node, memo)
    memo[id(node)] = (node, result)
    return result


def _infer(node: syntax.Expr, memo: dict[int, Any]
           ) -> tuple[EvtSet, EvtSet]:
    if isinstance(node, syntax.And):
        pos, neg = ALL, NONE
        for child in node.children:
            cpos, cneg = infer(child, memo)
            pos, neg = pos.intersection(cpos), neg.union(cneg)
        return pos, neg
    if isinstance(node, syntax.Or):
        pos, neg = NONE, ALL
        for child in node.children:
            cpos, cneg = infer(child, memo)
            pos, neg = pos.union(cpos), neg.intersection(cneg)
        return pos, neg
    if isinstance(node, syntax.Not):
        pos, neg = infer(node.child, memo)
        return neg, pos
    if isinstance(node, syntax.Const):
        return (ALL, NONE) if node.value else (NONE, ALL)
    if is_evttype_check(node):
        assert isinstance(node, syntax.BinaryCheck)
        names = EvtSet(check_names(node))
        if node.op == "!=":
            return names.complement(), names
        return names, names.complement()
    return ALL, ALL


def evttypes_of(node: syntax.Expr,
                universe: frozenset[str] | None) -> frozenset[str] | None:
    return infer(node)[0].resolve(universe)


def assume_evttype(node: syntax.Expr, evt_name: str,
                   direction: str | None = None,
                   memo: dict[int, Any] | None = None) -> syntax.Expr:
    """``node`` with its evt.type checks (and, given a direction, its
    ``evt.dir =``/``!=`` checks) replaced by their value."""
    memo = {} if memo is None else memo
    hit = memo.get(id(node))
    if hit is not None:
        return hit[1]               # type: ignore[no-any-return]
    result = _assume(node, evt_name, direction, memo)
    memo[id(node)] = (node, result)
    return result


def _assume(node: syntax.Expr, evt_name: str, direction: str | None,
            memo: dict[int, Any]) -> syntax.Expr:
    if isinstance(node, (syntax.And, syntax.Or)):
        return type(node)(tuple(assume_evttype(c, evt_name, direction, memo)
                                for c in node.children), node.span)
    if isinstance(node, syntax.Not):
        return syntax.Not(assume_evttype(node.child, evt_name, direction,
                                         memo), node.span)
    if is_evttype_check(node):
        assert isinstance(node, syntax.BinaryCheck)
        hit = evt_name in check_names(node)
        return syntax.Const(hit != (node.op == "!="), node.span)
    if direction is not None and _is_evtdir_check(node):
        assert isinstance(node, syntax.BinaryCheck)
        assert isinstance(node.rhs, syntax.StrValue)
        hit = node.rhs.text == direction
        return syntax.Const(hit != (node.op == "!="), node.span)
    return node


def has_evtdir_check(node: syntax.Expr) -> bool:
    """Whether ``node`` compares ``evt.dir`` anywhere (each shared subtree
    looked at once)."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if _is_evtdir_check(cur):
            return True
        stack.extend(syntax.children(cur))
    return False


def _is_evtdir_check(node: syntax.Expr) -> bool:
    return (isinstance(node, syntax.BinaryCheck)
            and isinstance(node.lhs, syntax.FieldExpr)
            and node.lhs.name == EVT_DIR_FIELD and node.lhs.arg is None
            and node.op in ("=", "==", "!=")
            and isinstance(node.rhs, syntax.StrValue))
