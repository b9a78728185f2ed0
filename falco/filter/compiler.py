# SPDX-License-Identifier: Apache-2.0
"""Compile a condition AST into a predicate over an event context.

The result is a tree of closures; every constant is converted once at
compile time (see :mod:`falco.filter.operators`). Fields are type checked
against the registry. Before compiling, the tree is folded: nested
``and``/``or`` are flattened, constants propagated and empty ``in ()``
lists become false; ``and``/``or`` children are evaluated cheapest first
(evaluation has no side effects, so order does not change results).

Macros are expanded by reference: a macro used twice is one shared
subtree, so a tree may stand for an exponentially larger one (macro i
using macro i-1 twice). Folding and compiling remember their result per
node, so both are linear in the shared tree; a shared subtree compiles to
one predicate whose result is kept for the event (``memo``), so
evaluating is linear too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from falco.errors import RuleLoadError, SourceLocation
from falco.fields.registry import ArgMode, FieldDef, FieldRegistry, \
    FieldType, IntKind, UnknownFieldError
from falco.filter import syntax
from falco.filter import operators as ops
from falco.filter.evttypes import EVT_DIR_FIELD, EVT_TYPE_FIELD, \
    assume_evttype, check_names, evttypes_of, has_evtdir_check, \
    is_evttype_check
from falco.filter.memo import memo as _memo
from falco.filter.transformers import transform

Predicate = Callable[[Any], bool]
Getter = Callable[[Any], Any]

CODE_COMPILE = "LOAD_ERR_COMPILE_CONDITION"
CODE_VALIDATE = "LOAD_ERR_VALIDATE"
# Fields Falco compares with logic of their own (any ancestor, either end
# of a connection, a name resolved to addresses, a dynamic type): they take
# no transformer and no right-hand side field (nor do multi-value fields
# and networks, see _own_logic).
_OWN_LOGIC = frozenset({"evt.rawarg", "evt.around", "fd.proto",
                        "fd.cip.name", "fd.sip.name", "fd.lip.name",
                        "fd.rip.name"})


@dataclass(frozen=True, slots=True)
class Compiled:
    predicate: Predicate
    evttypes: frozenset[str] | None
    ast: syntax.Expr
    # the registered fields the condition uses (for load-time warnings:
    # deprecated or unavailable fields)
    fields: frozenset[str] = frozenset()


def compile_error(message: str, span: syntax.Span,
                  location: SourceLocation | None = None, *,
                  code: str = CODE_COMPILE,
                  unknown: bool = False) -> RuleLoadError:
    """A RuleLoadError carrying the span's offset and origin macro."""
    loc = None
    if location is not None and span.origin is None:
        loc = SourceLocation(
            location.path, location.line + span.line - 1,
            location.column + span.column - 1 if span.line == 1
            else span.column)
    return RuleLoadError(message, loc, offset=span.offset,
                         origin=span.origin, code=code, unknown=unknown)


def fold(node: syntax.Expr, memo: dict[int, Any] | None = None
         ) -> syntax.Expr:
    """Flatten, propagate constants, drop double negations and repeated
    children (``a or a``: the same shared subtree)."""
    memo = {} if memo is None else memo
    hit = memo.get(id(node))
    if hit is not None:
        return hit[1]               # type: ignore[no-any-return]
    result = _fold(node, memo)
    memo[id(node)] = (node, result)     # the node keeps its id valid
    return result


def _fold(node: syntax.Expr, memo: dict[int, Any]) -> syntax.Expr:
    if isinstance(node, (syntax.And, syntax.Or)):
        is_and = isinstance(node, syntax.And)
        kept: list[syntax.Expr] = []
        seen: set[int] = set()
        for child in node.children:
            child = fold(child, memo)
            if isinstance(child, syntax.Const):
                if child.value != is_and:      # false in and / true in or
                    return syntax.Const(child.value, node.span)
                continue
            parts = child.children if type(child) is type(node) else \
                (child,)
            for part in parts:          # type: ignore[attr-defined]
                if id(part) not in seen:
                    seen.add(id(part))
                    kept.append(part)
        if not kept:
            return syntax.Const(is_and, node.span)
        if len(kept) == 1:
            return kept[0]
        return type(node)(tuple(kept), node.span)
    if isinstance(node, syntax.Not):
        child = fold(node.child, memo)
        if isinstance(child, syntax.Const):
            return syntax.Const(not child.value, node.span)
        if isinstance(child, syntax.Not):
            return child.child
        return syntax.Not(child, node.span)
    if isinstance(node, syntax.BinaryCheck) and \
            isinstance(node.rhs, syntax.ListValue) \
            and not node.rhs.items and node.op in ("in", "intersects",
                                                   "pmatch"):
        return syntax.Const(False, node.span)
    return node


class ConditionCompiler:
    """Compiles folded ASTs against one registry and event-name universe."""

    def __init__(self, registry: FieldRegistry,
                 all_evttypes: frozenset[str] | None = None,
                 location: SourceLocation | None = None) -> None:
        self.registry = registry
        self.all_evttypes = all_evttypes or None
        self.location = location
        # One memoizing getter per (field, arg), shared by every condition
        # this compiler builds: a field used by many rules is extracted
        # once per event.
        self._getters: dict[tuple[str, str | None], Getter] = {}
        self._used: set[str] = set()
        self._shared: set[int] = set()
        self._done: dict[int, tuple[syntax.Expr, Predicate, int]] = {}

    def compile(self, tree: syntax.Expr) -> Compiled:
        self._used = set()
        folded = fold(tree)
        pred = self._predicate(folded)
        return Compiled(pred, evttypes_of(folded, self.all_evttypes), folded,
                        frozenset(self._used))

    def specialize(self, compiled: Compiled, evt_name: str) -> Predicate:
        """``compiled.predicate`` for events whose evt.type is ``evt_name``.

        Every ``evt.type`` check is decided in advance and the tree folded
        again, so macros such as ``open_write or rename`` shrink to the part
        that can match; so are ``evt.dir = <`` / ``!=`` checks, once for
        enter and once for exit events. The result checks its assumptions
        (memoized extractions) and falls back to the full predicate if they
        do not hold, so it is correct for any event.
        """
        exact = compiled.predicate
        etype = self._memo_of(EVT_TYPE_FIELD)
        if etype is None:
            return exact
        plain = assume_evttype(compiled.ast, evt_name)
        edir = self._memo_of(EVT_DIR_FIELD)
        if edir is None or not has_evtdir_check(compiled.ast):
            fast = self._folded(plain)
            return lambda ctx: fast(ctx) if etype(ctx) == evt_name \
                else exact(ctx)
        enter = self._folded(assume_evttype(compiled.ast, evt_name, ">"))
        exit_ = self._folded(assume_evttype(compiled.ast, evt_name, "<"))

        def pred(ctx: Any) -> bool:
            if etype(ctx) == evt_name:
                direction = edir(ctx)
                if direction == "<":
                    return exit_(ctx)
                if direction == ">":
                    return enter(ctx)
            return exact(ctx)
        return pred

    def _folded(self, tree: syntax.Expr) -> Predicate:
        tree = fold(tree)
        if isinstance(tree, syntax.Const) and not tree.value:
            return lambda ctx: False
        return self._predicate(tree)

    def _predicate(self, tree: syntax.Expr) -> Predicate:
        """Compile ``tree``: each shared subtree once (``_done``), its
        result kept per event when more than one parent uses it."""
        self._shared = _shared_nodes(tree)
        self._done: dict[int, tuple[syntax.Expr, Predicate, int]] = {}
        try:
            return self._expr(tree)[0]
        finally:
            self._shared, self._done = set(), {}

    def _memo_of(self, name: str) -> Getter | None:
        """The shared memoizing getter of an argument-less field."""
        try:
            fdef, _ = self.registry.resolve(name)
        except UnknownFieldError:
            return None
        key = (fdef.name, None)
        getter = self._getters.get(key)
        if getter is None:
            getter = self._getters[key] = _memo(fdef.extract, None,
                                                fdef.name)
        return getter

    def _err(self, message: str, span: syntax.Span, **kw: Any) -> RuleLoadError:
        return compile_error(message, span, self.location, **kw)

    # -- boolean structure ---------------------------------------------
    def _expr(self, node: syntax.Expr) -> tuple[Predicate, int]:
        done = self._done.get(id(node))
        if done is not None:
            return done[1], done[2]
        pred, cost = self._node(node)
        if id(node) in self._shared:
            pred = _memo(lambda ctx, _arg, p=pred: p(ctx), None, "<shared>")
        self._done[id(node)] = (node, pred, cost)
        return pred, cost

    def _node(self, node: syntax.Expr) -> tuple[Predicate, int]:
        if isinstance(node, (syntax.And, syntax.Or)):
            parts = [self._expr(c) for c in node.children]
            parts.sort(key=lambda p: p[1])
            preds = [p for p, _ in parts]
            cost = max(c for _, c in parts) + 1
            return (_and(preds) if isinstance(node, syntax.And)
                    else _or(preds)), cost
        if isinstance(node, syntax.Not):
            inner, cost = self._expr(node.child)
            return (lambda ctx: not inner(ctx)), cost
        if isinstance(node, syntax.Const):
            value = node.value
            return (lambda ctx: value), 0
        if isinstance(node, syntax.MacroRef):
            raise self._err(f"Undefined macro '{node.name}' used in filter.",
                            node.span, code=CODE_VALIDATE)
        if isinstance(node, syntax.UnaryCheck):
            getter, _, _, cost = self._lhs(node.lhs)
            return (lambda ctx: getter(ctx) is not None), cost
        if isinstance(node, syntax.BinaryCheck):
            return self._binary(node)
        raise TypeError(f"not an expression node: {node!r}")

    # -- left-hand sides -----------------------------------------------
    def _lhs(self, node: syntax.LhsExpr) -> tuple[Getter, FieldType, bool, int]:
        """(getter, type, multi, cost)."""
        if isinstance(node, syntax.FieldExpr):
            return self._field(node)
        operand = node.operand
        if isinstance(operand, syntax.FieldExpr):
            fdef, _ = self._field_def(operand)
            if _own_logic(fdef):
                raise self._err(f"field '{fdef.name}' does not support "
                                f"transformers", node.span)
        getter, ftype, multi, cost = self._lhs(operand)
        return transform(self._err, node, getter, ftype, multi, cost)

    def _field_def(self, node: syntax.FieldExpr
                   ) -> tuple[FieldDef, str | None]:
        """The field and its argument; errors for unknown fields and
        arguments the field does not take or needs."""
        try:
            fdef, dotted = self.registry.resolve(node.name)
        except UnknownFieldError as exc:
            hint = ""
            if exc.suggestions:
                hint = "; did you mean " + " or ".join(
                    f"'{s}'" for s in exc.suggestions) + "?"
            raise self._err("filter_check called with nonexistent field "
                            f"{node.name}{hint}", node.span,
                            unknown=True) from None
        arg = node.arg if node.arg is not None else dotted
        if arg is not None and fdef.arg is ArgMode.NONE:
            raise self._err(f"field '{fdef.name}' does not take an argument",
                            node.span)
        if arg is None and fdef.arg is ArgMode.REQUIRED:
            raise self._err(f"field '{fdef.name}' requires an argument",
                            node.span)
        return fdef, arg

    def _field(self, node: syntax.FieldExpr
               ) -> tuple[Getter, FieldType, bool, int]:
        fdef, arg = self._field_def(node)
        self._used.add(fdef.name)
        key = (fdef.name, arg)
        getter = self._getters.get(key)
        if getter is None:
            getter = self._getters[key] = _memo(fdef.extract, arg,
                                                fdef.name)
        # multi fields: the extractor decides; tuples are handled per event
        return getter, fdef.type, fdef.multi, _field_cost(fdef.name)

    # -- checks ----------------------------------------------------------
    def _binary(self, node: syntax.BinaryCheck) -> tuple[Predicate, int]:
        getter, ftype, multi, cost = self._lhs(node.lhs)
        op = node.op
        if op not in ops.ALLOWED_OPS.get(ftype, frozenset()):
            raise self._err(f"operator '{op}' not supported for "
                            f"{_lhs_name(node.lhs)} of type {ftype.value}",
                            node.op_span)
        rhs = node.rhs
        if isinstance(rhs, (syntax.ValExpr, syntax.TransformExpr)):
            return self._field_vs_field(node, getter, ftype, op, cost)
        own = self._own_compare(node)
        if own is not None:
            return own, cost
        if is_evttype_check(node) and self.all_evttypes is not None:
            for name in sorted(check_names(node)):
                if name not in self.all_evttypes:
                    raise self._err(f"unknown event type {name}",
                                    _value_span(rhs, name, node.span))
        try:
            test = self._test(ftype, op, rhs, node)
        except ops.OperandError as exc:
            raise self._err(f"{exc} (field {_lhs_name(node.lhs)})",
                            rhs.span) from None
        cost += 3 if op in ("regex", "glob", "iglob", "icontains") else 0
        if isinstance(node.lhs, syntax.FieldExpr) and \
                node.lhs.name == EVT_TYPE_FIELD:
            cost = 1
        if not multi:
            return (lambda ctx: (v := getter(ctx)) is not None and test(v)), \
                cost
        if op == "!=" or (op == "in" and ftype is FieldType.CHARBUF_LIST):
            # list fields: every value in the set; multi-value fields
            # (fd.ip = client or server): != means no value is equal
            def subset(ctx: Any) -> bool:
                v = getter(ctx)
                if v is None:
                    return False
                if v.__class__ is tuple:
                    return bool(v) and all(test(x) for x in v)
                return test(v)
            return subset, cost + 1

        def any_of(ctx: Any) -> bool:
            v = getter(ctx)
            if v is None:
                return False
            if v.__class__ is tuple:
                return any(test(x) for x in v)
            return test(v)
        return any_of, cost + 1

    def _own_compare(self, node: syntax.BinaryCheck) -> Predicate | None:
        """The check of a field that compares by itself (FieldDef.compare),
        or None."""
        lhs = node.lhs
        if not isinstance(lhs, syntax.FieldExpr):
            return None
        fdef, dotted = self.registry.resolve(lhs.name)
        if fdef.compare is None:
            return None
        rhs = node.rhs
        items = rhs.items if isinstance(rhs, syntax.ListValue) else (rhs,)
        values = tuple(v.text for v in items
                       if isinstance(v, syntax.StrValue))
        try:
            return fdef.compare(node.op, values,
                                lhs.arg if lhs.arg is not None else dotted)
        except ValueError as exc:
            raise self._err(f"{exc} (field {fdef.name})", rhs.span) from None

    def _test(self, ftype: FieldType, op: str, rhs: syntax.RhsExpr,
              node: syntax.BinaryCheck) -> ops.Test:
        kind = self._kind(node.lhs)
        if op in ("in", "intersects", "pmatch"):
            items = rhs.items if isinstance(rhs, syntax.ListValue) else (rhs,)
            consts = [ops.convert(ftype, op,
                                  v.text,  # type: ignore[union-attr]
                                  kind)
                      for v in items]
            return ops.list_test(ftype, op, consts)
        if isinstance(rhs, syntax.ListValue):
            raise self._err(f"operator '{op}' does not take a list",
                            rhs.span)
        assert isinstance(rhs, syntax.StrValue)
        return ops.scalar_test(ftype, op, ops.convert(ftype, op, rhs.text,
                                                      kind))

    def _kind(self, node: syntax.LhsExpr) -> IntKind | None:
        """Width and sign of a numeric left-hand side (``len()``: 64-bit
        unsigned, as Falco)."""
        if isinstance(node, syntax.FieldExpr):
            return self._field_def(node)[0].kind
        if node.name == "len":
            return IntKind.UINT64
        return self._kind(node.operand)

    def _field_vs_field(self, node: syntax.BinaryCheck, getter: Getter,
                        ftype: FieldType, op: str,
                        cost: int) -> tuple[Predicate, int]:
        """``field op val(field)`` or ``field op transformer(field)``:
        both sides of the same type (Falco's rule: a string is not a path),
        neither a field with logic of its own."""
        rhs = node.rhs
        operand = rhs.operand if isinstance(rhs, syntax.ValExpr) else rhs
        assert not isinstance(operand, (syntax.StrValue, syntax.ListValue))
        if isinstance(rhs, syntax.ValExpr) and \
                not isinstance(operand, syntax.FieldExpr):
            raise self._err("val() takes a field, not a transformer",
                            rhs.span)
        for side, where in ((node.lhs, node.span), (operand, rhs.span)):
            base = _base_field(side)
            fdef, _ = self._field_def(base)
            if _own_logic(fdef) or fdef.type is FieldType.CHARBUF_LIST:
                raise self._err(f"field '{fdef.name}' cannot be compared "
                                "with another field", where)
        other, rtype, _, cost2 = self._lhs(operand)
        if ftype is FieldType.IPNET:
            raise self._err("a network field cannot be compared with "
                            "another field", node.span)
        if ftype is not rtype:
            raise self._err(
                f"field '{_lhs_name(node.lhs)}' has type '{ftype.value}' "
                f"while the right-hand side field '{_lhs_name(operand)}' "
                f"has incompatible type '{rtype.value}'", rhs.span)
        try:
            cmp = ops.field_vs_field(op)
        except ops.OperandError as exc:
            raise self._err(str(exc), node.span) from None

        def pred(ctx: Any) -> bool:
            a = getter(ctx)
            if a is None:
                return False
            b = other(ctx)
            return b is not None and cmp(a, b)
        return pred, cost + cost2 + 1


# Rough relative extraction costs, used to evaluate cheap checks first.
_COSTLY_PREFIXES = (("proc.a", 5), ("proc.env", 5), ("evt.arg", 4),
                    ("evt.rawarg", 4), ("evt.info", 4), ("evt.buf", 4),
                    ("evt.res", 3), ("fd.", 3), ("fs.path", 3),
                    ("container.", 3), ("k8s.", 3), ("user.", 3),
                    ("group.", 3), ("proc.cmdline", 3))


def _own_logic(fdef: FieldDef) -> bool:
    return fdef.name in _OWN_LOGIC or fdef.type is FieldType.IPNET or (
        fdef.multi and fdef.type is not FieldType.CHARBUF_LIST)


def _base_field(node: syntax.LhsExpr) -> syntax.FieldExpr:
    while isinstance(node, syntax.TransformExpr):
        node = node.operand
    return node


def _field_cost(name: str) -> int:
    for prefix, cost in _COSTLY_PREFIXES:
        if name.startswith(prefix):
            return cost
    return 2


def _shared_nodes(tree: syntax.Expr) -> set[int]:
    """Ids of the compound nodes of ``tree`` reached from more than one
    parent (a macro used twice), each node looked at once."""
    parents: dict[int, int] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in syntax.children(node):
            if not syntax.children(child):
                continue            # a check: its field is memoized already
            seen = parents.get(id(child), 0)
            parents[id(child)] = seen + 1
            if not seen:
                stack.append(child)
    return {key for key, count in parents.items() if count > 1}


def _and(preds: list[Predicate]) -> Predicate:
    if len(preds) == 2:
        a, b = preds
        return lambda ctx: a(ctx) and b(ctx)
    if len(preds) == 3:
        a, b, c = preds
        return lambda ctx: a(ctx) and b(ctx) and c(ctx)
    tup = tuple(preds)

    def every(ctx: Any) -> bool:
        for p in tup:
            if not p(ctx):
                return False
        return True
    return every


def _or(preds: list[Predicate]) -> Predicate:
    if len(preds) == 2:
        a, b = preds
        return lambda ctx: a(ctx) or b(ctx)
    if len(preds) == 3:
        a, b, c = preds
        return lambda ctx: a(ctx) or b(ctx) or c(ctx)
    tup = tuple(preds)

    def some(ctx: Any) -> bool:
        for p in tup:
            if p(ctx):
                return True
        return False
    return some


def _lhs_name(node: syntax.LhsExpr) -> str:
    return syntax.lhs_text(node)


def _value_span(rhs: syntax.RhsExpr, text: str, default: syntax.Span) -> syntax.Span:
    if isinstance(rhs, syntax.ListValue):
        for item in rhs.items:
            if item.text == text:
                return item.span
    return rhs.span


def compile_condition(tree: syntax.Expr, registry: FieldRegistry, *,
                      all_evttypes: frozenset[str] | None = None,
                      location: SourceLocation | None = None) -> Compiled:
    """Compile a macro-free AST; raises RuleLoadError on type errors."""
    return ConditionCompiler(registry, all_evttypes, location).compile(tree)
