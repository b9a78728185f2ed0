# SPDX-License-Identifier: Apache-2.0
"""Definitions in load order, with Falco's index/visibility bookkeeping.

Every list, macro and rule definition, append or override takes the next
number of one counter. A redefinition keeps the item's first position
(``index``) and records the counter as its ``visibility``: a list may only
expand lists, and a macro only use macros, whose index is lower.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from falco.errors import SourceLocation
from falco.rules.infos import ExceptionInfo, ItemInfo, ListInfo, MacroInfo, \
    RuleInfo
from falco.rules.model import LoadMessage

VALIDATE = "LOAD_ERR_VALIDATE"
_Item = TypeVar("_Item", bound=ItemInfo)


class ItemError(Exception):
    """One load error; becomes a LoadMessage."""

    def __init__(self, code: str, message: str, item_type: str, name: str,
                 location: SourceLocation | None = None,
                 snippet: str | None = None) -> None:
        super().__init__(message)
        self.msg = LoadMessage(code, message, item_type, name, location,
                               snippet)


@dataclass(slots=True)
class Collector:
    lists: dict[str, ListInfo] = field(default_factory=dict)
    macros: dict[str, MacroInfo] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    errors: list[LoadMessage] = field(default_factory=list)
    warnings: list[LoadMessage] = field(default_factory=list)
    counter: int = 0

    def warn(self, code: str, message: str, item_type: str, name: str,
             location: SourceLocation | None = None,
             snippet: str | None = None) -> None:
        self.warnings.append(LoadMessage(code, message, item_type, name,
                                         location, snippet, is_error=False))

    def _next(self) -> int:
        self.counter += 1
        return self.counter - 1

    def _define(self, table: dict[str, _Item], info: _Item) -> None:
        cur = self._next()
        prev = table.get(info.name)
        info.visibility = cur
        info.index = prev.index if prev is not None else cur
        # a redefinition keeps the first position: dicts keep key order
        table[info.name] = info

    def _err(self, message: str, item_type: str,
             info: ItemInfo | ExceptionInfo) -> ItemError:
        return ItemError(VALIDATE, message, item_type, info.name,
                         info.location)

    # -- lists and macros --------------------------------------------------
    def define_list(self, info: ListInfo) -> None:
        self._define(self.lists, info)

    def append_list(self, info: ListInfo) -> None:
        prev = self.lists.get(info.name)
        if prev is None:
            raise self._err("List has 'append' key but no list by that name "
                            "already exists", "list", info)
        prev.items.extend(info.items)
        prev.visibility = self._next()

    def define_macro(self, info: MacroInfo) -> None:
        self._define(self.macros, info)

    def append_macro(self, info: MacroInfo) -> None:
        prev = self.macros.get(info.name)
        if prev is None:
            raise self._err("Macro has 'append' key but no macro by that "
                            "name already exists", "macro", info)
        prev.cond = prev.cond.appended(info.cond)
        prev.visibility = self._next()

    # -- rules -------------------------------------------------------------
    def find_rule(self, info: RuleInfo, source: str | None) -> RuleInfo | None:
        prev = self.rules.get(info.name)
        if prev is not None and source and prev.rule_source != source:
            raise self._err("Rule has been re-defined with a different "
                            "source", "rule", info)
        return prev

    def define_rule(self, info: RuleInfo) -> None:
        self.find_rule(info, info.rule_source)
        self._define(self.rules, info)

    def enable_rule(self, info: RuleInfo) -> None:
        prev = self.rules.get(info.name)
        if prev is None:
            raise self._err("Rule has 'enabled' key but no rule by that name "
                            "already exists", "rule", info)
        prev.enabled = info.enabled

    def rule_for_update(self, info: RuleInfo, source: str | None,
                        append: bool) -> RuleInfo:
        prev = self.find_rule(info, source)
        if prev is None:
            if append:
                raise self._err("Rule has 'append' key but no rule by that "
                                "name already exists", "rule", info)
            raise self._err("An 'override.<key>: replace' to a rule was "
                            "requested but no rule by that name already "
                            "exists", "rule", info)
        prev.visibility = self._next()
        return prev

    def append_exceptions(self, prev: RuleInfo,
                          exceptions: list[ExceptionInfo]) -> None:
        for ex in exceptions:
            old = next((e for e in prev.exceptions if e.name == ex.name),
                       None)
            if old is None:
                if ex.fields is None:
                    raise self._err("Rule exception must have fields "
                                    "property with a list of fields",
                                    "exception", ex)
                if not ex.values:
                    raise self._err("Rule exception must have values "
                                    "property with a list of values",
                                    "exception", ex)
                prev.exceptions.append(ex)
                continue
            if ex.fields is not None:
                raise self._err("Can not append exception fields to existing "
                                "exception, only values", "exception", ex)
            if ex.comps is not None:
                raise self._err("Can not append exception comps to existing "
                                "exception, only values", "exception", ex)
            old.values = old.values + ex.values
