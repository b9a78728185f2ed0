# SPDX-License-Identifier: Apache-2.0
"""The loaded rules, indexed by event name, with Falco's selection
(``-D`` name substring, ``-T`` disabled tags, ``-t`` enabled tags, the
``rules: [{enable|disable: {rule|tag}}]`` config, minimum priority) and
``rule_matching: first|all``."""
from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Sequence

from falco.rules.model import CompiledRule, LoadMessage, Priority

MIXED_SELECTION = ("You can not specify both disabled (-D/-T) and enabled "
                   "(-t) rules")


class RuleSet:
    """Rules in load order; ``rules_for(evt_name)`` is the hot path."""

    def __init__(self, rules: list[CompiledRule],
                 warnings: list[LoadMessage] | None = None,
                 errors: list[LoadMessage] | None = None) -> None:
        self.rules = rules
        self.warnings = warnings or []
        self.errors = errors or []
        self._enabled = {r.name: r.enabled for r in rules}
        self._min_priority = Priority.DEBUG
        self._index: dict[str, tuple[CompiledRule, ...]] = {}
        self._active: tuple[CompiledRule, ...] = ()
        self._rebuild()

    # -- selection ---------------------------------------------------------
    def _rebuild(self) -> None:
        self._index = {}
        self._active = tuple(r for r in self.rules
                             if self._enabled[r.name]
                             and r.priority <= self._min_priority)

    @property
    def enabled_rules(self) -> tuple[CompiledRule, ...]:
        return self._active

    def set_enabled(self, enabled: bool, *, name: str | None = None,
                    substring: str | None = None,
                    tags: Iterable[str] | None = None) -> int:
        """Enable/disable by exact or wildcard name (``*``, ``?``),
        substring, or any of ``tags``. Returns how many rules matched."""
        wanted = frozenset(tags) if tags is not None else None
        count = 0
        for rule in self.rules:
            hit = False
            if name is not None:
                hit = rule.name == name or fnmatch.fnmatchcase(rule.name,
                                                               name)
            if substring is not None and substring in rule.name:
                hit = True
            if wanted is not None and rule.tags & wanted:
                hit = True
            if hit:
                self._enabled[rule.name] = enabled
                count += 1
        self._rebuild()
        return count

    def select(self, *, disabled: Sequence[str] = (),
               disabled_tags: Sequence[str] = (),
               enabled_tags: Sequence[str] = (),
               min_priority: Priority | str | None = None) -> None:
        """Apply Falco's ``-D``, ``-T``, ``-t`` and ``-o priority``."""
        if enabled_tags and (disabled or disabled_tags):
            raise ValueError(MIXED_SELECTION)
        if enabled_tags:
            wanted = frozenset(enabled_tags)
            for rule in self.rules:
                self._enabled[rule.name] = rule.enabled and \
                    bool(rule.tags & wanted)
        for text in disabled:
            self.set_enabled(False, substring=text)
        if disabled_tags:
            self.set_enabled(False, tags=disabled_tags)
        if min_priority is not None:
            self._min_priority = min_priority if isinstance(
                min_priority, Priority) else Priority.parse(min_priority)
        self._rebuild()

    # -- evaluation --------------------------------------------------------
    def rules_for(self, evt_name: str) -> tuple[CompiledRule, ...]:
        """Enabled rules that can match events named ``evt_name``, in load
        order, with predicates specialised for that event name."""
        hit = self._index.get(evt_name)
        if hit is None:
            hit = tuple(r.for_event(evt_name) for r in self._active
                        if r.evttypes is None or evt_name in r.evttypes)
            self._index[evt_name] = hit
        return hit

    def evttypes(self) -> frozenset[str] | None:
        """Union of the enabled rules' event names (None: all events)."""
        out: set[str] = set()
        for rule in self._active:
            if rule.evttypes is None:
                return None
            out |= rule.evttypes
        return frozenset(out)

    def match(self, ctx: Any, evt_name: str,
              rule_matching: str = "first") -> list[CompiledRule]:
        """Rules matching ``ctx``: the first one, or all (in load order)."""
        found = []
        for rule in self.rules_for(evt_name):
            if rule.predicate(ctx):
                found.append(rule)
                if rule_matching == "first":
                    break
        return found

    def get(self, name: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.name == name), None)

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Any:
        return iter(self.rules)
