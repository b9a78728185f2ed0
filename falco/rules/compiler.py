# SPDX-License-Identifier: Apache-2.0
"""Compile collected lists, macros and rules into :class:`CompiledRule`s.

Lists are expanded on the AST, reproducing Falco's textual substitution
order without its quoting problems: a bare value naming a list becomes the
list's items, and an item produced by list *i* may name a list defined
after *i*. Macros are substituted on the AST; a macro sees only macros
defined before its latest (re)definition, rules see all. Unused lists and
macros get Falco's warnings.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Iterable

from falco.errors import RuleLoadError, SourceLocation
from falco.fields.registry import FieldRegistry
from falco.filter import syntax
from falco.filter.compiler import ConditionCompiler
from falco.filter.lexer import EscapeError, unescape
from falco.filter.parser import FilterParser
from falco.rules import exceptions as exc_mod
from falco.rules.collector import Collector, ItemError
from falco.rules.lists import ListTable, in_cycles
from falco.rules.infos import RuleInfo, Text
from falco.rules.model import CompiledRule, LoadMessage
from falco.rules.output import OutputFormatError, compile_output

COMPILE = "LOAD_ERR_COMPILE_CONDITION"
VALIDATE = "LOAD_ERR_VALIDATE"
UNAVAILABLE = "LOAD_UNAVAILABLE_FIELD"
TOO_MANY_EVTTYPES = 100
_EXC = "\x00exception:"
_CONTAINER_INFO = "%container.info"


class _Failed(Exception):
    """A macro this rule needs failed already (its error is reported)."""


class RulesCompiler:
    def __init__(self, col: Collector, registry: FieldRegistry,
                 all_evttypes: frozenset[str] | None,
                 parser: FilterParser | None = None) -> None:
        self.col = col
        self.registry = registry
        self.cond = ConditionCompiler(registry, all_evttypes)
        self.parser = parser or FilterParser()
        self.lists = ListTable()
        self.macro_ast: dict[str, syntax.Expr] = {}
        self.failed: set[str] = set()
        self.used_macros: set[str] = set()
        self.resolved: dict[str, syntax.Expr] = {}

    # -- messages ----------------------------------------------------------
    def error(self, code: str, message: str, item_type: str, name: str,
              where: tuple[SourceLocation | None, str | None]) -> None:
        self.col.errors.append(LoadMessage(code, message, item_type, name,
                                           where[0], where[1]))

    def _where(self, err: RuleLoadError, text: Text,
               rule: RuleInfo | None) -> tuple[SourceLocation | None,
                                               str | None]:
        origin = err.origin
        offset = err.offset
        if origin is None:
            return text.locate(offset)
        if origin.startswith(_EXC) and rule is not None:
            name = origin[len(_EXC):]
            for ex in rule.exceptions:
                if ex.name == name:
                    return ex.location, None
            return rule.location, None
        macro = self.col.macros.get(origin)
        if macro is None:
            return None, None
        return macro.cond.locate(offset)

    # -- lists -------------------------------------------------------------
    def compile_lists(self) -> None:
        self.lists = ListTable.compile(self.col.lists)

    def _expand_name(self, text: str, after: int) -> list[str] | None:
        return self.lists.expand(text) if after < 0 else None

    def expand_lists(self, node: syntax.Expr) -> syntax.Expr:
        if isinstance(node, (syntax.And, syntax.Or)):
            return type(node)(tuple(self.expand_lists(c)
                                    for c in node.children), node.span)
        if isinstance(node, syntax.Not):
            return syntax.Not(self.expand_lists(node.child), node.span)
        if not isinstance(node, syntax.BinaryCheck):
            return node
        rhs = node.rhs
        if isinstance(rhs, syntax.ListValue):
            items: list[syntax.StrValue] = []
            changed = False
            for item in rhs.items:
                names = None if item.quoted else \
                    self._expand_name(item.text, -1)
                if names is None:
                    items.append(item)
                else:
                    changed = True
                    items.extend(_item_value(n, item.span) for n in names)
            if not changed:
                return node
            return dataclasses.replace(
                node, rhs=syntax.ListValue(tuple(items), rhs.span))
        if isinstance(rhs, syntax.StrValue) and not rhs.quoted:
            names = self._expand_name(rhs.text, -1)
            if names is None:
                return node
            values = tuple(_item_value(n, rhs.span) for n in names)
            if node.op in syntax.LIST_OPS:
                new_rhs: syntax.RhsExpr = syntax.ListValue(values, rhs.span)
            elif len(values) == 1:
                new_rhs = values[0]
            else:
                raise _list_misuse(rhs, node.op, len(values))
            return dataclasses.replace(node, rhs=new_rhs)
        return node

    # -- macros ------------------------------------------------------------
    def parse(self, text: Text, origin: str | None) -> syntax.Expr:
        tree = self.parser.parse(text.value, origin=origin)
        return self.expand_lists(tree)

    def compile_macros(self) -> None:
        for info in self.col.macros.values():
            try:
                self.macro_ast[info.name] = self.parse(info.cond, info.name)
            except RuleLoadError as err:
                self.failed.add(info.name)
                self.error(err.code or COMPILE, err.message,
                           "macro", info.name, self._where(err, info.cond,
                                                           None))
        # Each macro's own references, against its own visibility; then
        # loops over the whole graph. Linear: no macro is expanded here.
        refs: dict[str, list[syntax.MacroRef]] = {}
        for info in self.col.macros.values():
            if info.name in self.failed:
                continue
            try:
                refs[info.name] = self._check_refs(info.name,
                                                   info.visibility)
            except _Failed:
                continue
            except RuleLoadError as err:
                self.failed.add(info.name)
                self.error(VALIDATE, err.message, "macro", info.name,
                           self._where(err, info.cond, None))
        graph = {name: [r.name for r in rs] for name, rs in refs.items()}
        looping = in_cycles(graph)
        for info in self.col.macros.values():
            if info.name not in looping:
                continue
            self.failed.add(info.name)
            ref = next(r for r in refs[info.name] if r.name in looping)
            err = _located(f"reference loop in macro '{info.name}'",
                           ref.span)
            self.error(VALIDATE, err.message, "macro", info.name,
                       self._where(err, info.cond, None))

    def _check_refs(self, name: str, visibility: int
                    ) -> list[syntax.MacroRef]:
        """The macros ``name`` uses directly; each must be defined before
        (index below ``visibility``)."""
        out: list[syntax.MacroRef] = []
        stack = [self.macro_ast[name]]
        while stack:
            node = stack.pop()
            if isinstance(node, syntax.MacroRef):
                used = node.name
                if used not in self.macro_ast and used in self.failed:
                    raise _Failed(used)
                if used not in self.macro_ast or \
                        self.col.macros[used].index >= visibility:
                    raise _located(f"Undefined macro '{used}' used in "
                                   "filter.", node.span)
                self.used_macros.add(used)
                out.append(node)
            stack.extend(reversed(syntax.children(node)))
        return out

    def resolve(self, node: syntax.Expr, stack: tuple[str, ...] = ()
                ) -> syntax.Expr:
        """``node`` with every macro replaced by its body, by reference:
        each macro is resolved once and shared by all its uses (rules see
        every macro; compile_macros checked visibility and loops)."""
        if isinstance(node, (syntax.And, syntax.Or)):
            return type(node)(tuple(self.resolve(c, stack)
                                    for c in node.children), node.span)
        if isinstance(node, syntax.Not):
            return syntax.Not(self.resolve(node.child, stack), node.span)
        if not isinstance(node, syntax.MacroRef):
            return node
        name = node.name
        if name in self.failed:         # reported where it failed
            raise _Failed(name)
        if name not in self.macro_ast:
            raise _located(f"Undefined macro '{name}' used in filter.",
                           node.span)
        if name in stack:
            raise _located(f"reference loop in macro '{name}'", node.span)
        self.used_macros.add(name)
        body = self.resolved.get(name)
        if body is None:
            body = self.resolve(self.macro_ast[name], stack + (name,))
            self.resolved[name] = body
        return body

    # -- rules -------------------------------------------------------------
    def compile_rule(self, info: RuleInfo, index: int) -> CompiledRule | None:
        name = info.name
        output = info.output.value
        if _CONTAINER_INFO in output and _CONTAINER_INFO[1:] not in \
                self.registry:
            self.col.warn("LOAD_DEPRECATED_ITEM", "%container.info is "
                          "deprecated and no more useful; it is dropped from "
                          "the output", "rule", name, info.location)
            output = output.replace(_CONTAINER_INFO, "")
        try:
            fmt = compile_output(output, self.registry)
        except OutputFormatError as err:
            where = info.output.locate(err.offset)
            if info.skip_unknown:
                self._warn_unknown(str(err), info, where)
                return None
            self.error("LOAD_ERR_COMPILE_OUTPUT", str(err), "rule", name,
                       where)
            return None
        text = info.cond
        try:
            tree = self.parse(text, None)
            negs: list[syntax.Expr] = []
            for ex in info.exceptions:
                exc_mod.validate(ex, self.registry)
                ex_text = exc_mod.exception_text(ex)
                if ex_text:
                    negs.append(syntax.Not(self.parse(
                        Text(ex_text), _EXC + ex.name), tree.span))
            if negs:
                tree = syntax.And((tree, *negs), tree.span)
            tree = self.resolve(tree)
            if syntax.depth(tree) > self.parser.max_depth:
                raise _located("condition nesting exceeds the maximum depth "
                               f"({self.parser.max_depth}) after macro "
                               "expansion", tree.span)
            compiled = self.cond.compile(tree)
        except _Failed:
            return None
        except RecursionError:
            self.error(COMPILE, "condition nesting too deep", "rule", name,
                       (info.location, None))
            return None
        except ItemError as err:
            self.col.errors.append(err.msg)
            return None
        except RuleLoadError as err:
            where = self._where(err, text, info)
            if err.unknown and info.skip_unknown:
                self._warn_unknown(err.message, info, where)
                return None
            self.error(err.code or COMPILE, err.message, "rule",
                       name, where)
            return None
        self._field_warnings(info, compiled.fields, fmt.keys)
        evttypes = compiled.evttypes
        if info.warn_evttypes and (evttypes is None or
                                   len(evttypes) > TOO_MANY_EVTTYPES):
            self.col.warn("LOAD_NO_EVTTYPE", "Rule matches too many evt.type "
                          "values. This has a significant performance "
                          "penalty.", "rule", name, info.location)
        return CompiledRule(
            name=name, desc=info.desc, priority=info.priority,
            tags=frozenset(info.tags), source=info.rule_source,
            condition=info.cond.value, output=output,
            enabled=info.enabled, evttypes=evttypes,
            predicate=compiled.predicate, formatter=fmt.format, index=index,
            specializer=functools.lru_cache(maxsize=None)(
                functools.partial(self.cond.specialize, compiled)),
            location=info.location, capture=info.capture,
            capture_duration=info.capture_duration, ast=compiled.ast,
            exception_fields=frozenset(
                f for ex in info.exceptions
                for f in (ex.fields if isinstance(ex.fields, list)
                          else [ex.fields]) if isinstance(f, str)))

    def _field_warnings(self, info: RuleInfo, used: frozenset[str],
                        output_keys: Iterable[str]) -> None:
        """Deprecated and unavailable fields of a rule's condition and
        output: one warning per field, naming the rule and the reason."""
        fdefs = {}
        for name in used:
            fdefs[name] = self.registry.lookup(name)
        for key in output_keys:
            field_name = key.split("(")[-1].rstrip(")").split("[")[0]
            if field_name in self.registry:
                fdef = self.registry.lookup(field_name)
                fdefs[fdef.name] = fdef
        for field_name, fdef in sorted(fdefs.items()):
            if fdef.deprecated:
                self.col.warn("LOAD_DEPRECATED_ITEM", "usage of deprecated "
                              f"field '{field_name}' has been detected",
                              "rule", info.name, info.location)
            if fdef.unavailable is not None:
                self.col.warn(UNAVAILABLE, f"field '{field_name}' has no "
                              f"value here: {fdef.unavailable}", "rule",
                              info.name, info.location)

    def _warn_unknown(self, message: str, info: RuleInfo,
                      where: tuple[SourceLocation | None, str | None]) -> None:
        self.col.warn("LOAD_UNKNOWN_FIELD", message, "rule", info.name,
                      where[0], where[1])

    def compile(self) -> list[CompiledRule]:
        self.compile_lists()
        self.compile_macros()
        rules = []
        for index, info in enumerate(self.col.rules.values()):
            rule = self.compile_rule(info, index)
            if rule is not None:
                rules.append(rule)
        if self.col.errors:
            # a rule that failed to compile may be the user of any of them
            return rules
        for minfo in self.col.macros.values():
            if minfo.name not in self.used_macros:
                self.col.warn("LOAD_UNUSED_MACRO", "Macro not referred to by "
                              "any other rule/macro", "macro", minfo.name,
                              minfo.location)
        for linfo in self.col.lists.values():
            if linfo.name not in self.lists.used:
                self.col.warn("LOAD_UNUSED_LIST", "List not referred to by "
                              "any other rule/macro", "list", linfo.name,
                              linfo.location)
        return rules


def _item_value(text: str, span: syntax.Span) -> syntax.StrValue:
    """A list item as the parser would read it after Falco's quoting."""
    try:
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            return syntax.StrValue(unescape(text[1:-1], text[0]), True, span)
        if " " in text:
            return syntax.StrValue(unescape(text), True, span)
    except EscapeError:
        return syntax.StrValue(text, True, span)   # no escapes, then
    return syntax.StrValue(text, any(c in syntax.BARE_FORBIDDEN for c in text),
                        span)


def _located(message: str, span: syntax.Span,
             code: str = VALIDATE) -> RuleLoadError:
    return RuleLoadError(message, offset=span.offset, origin=span.origin,
                         code=code)


def _list_misuse(rhs: syntax.StrValue, op: str, count: int) -> RuleLoadError:
    return _located(f"list '{rhs.text}' has {count} items and cannot be "
                    f"used with operator '{op}'", rhs.span, COMPILE)
