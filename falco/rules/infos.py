# SPDX-License-Identifier: Apache-2.0
"""What the reader collects from rules files before compiling: lists,
macros and rules as written (after append/override), with positions."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from falco.errors import SourceLocation
from falco.rules.model import Priority
from falco.rules.yamlsrc import Source


@dataclass(slots=True)
class TextPart:
    start: int                 # offset of this part in the joined text
    node: yaml.Node | None     # the scalar it came from
    source: Source


@dataclass(slots=True)
class Text:
    """A condition/output string that may be joined from several items."""

    value: str = ""
    parts: list[TextPart] = field(default_factory=list)

    @classmethod
    def of(cls, value: str, node: yaml.Node | None, source: Source) -> "Text":
        return cls(value, [TextPart(0, node, source)])

    def appended(self, other: "Text") -> "Text":
        if not self.value:
            return Text(other.value, list(other.parts))
        shift = len(self.value) + 1
        parts = list(self.parts) + [TextPart(p.start + shift, p.node, p.source)
                                    for p in other.parts]
        return Text(self.value + " " + other.value, parts)

    def locate(self, offset: int) -> tuple[SourceLocation | None, str | None]:
        """File location and caret snippet of character ``offset``."""
        part = None
        for p in self.parts:
            if p.start <= offset:
                part = p
        if part is None:
            return None, None
        local = offset - part.start
        if part.node is None or not isinstance(part.node, yaml.ScalarNode):
            return part.source.location_of(part.node), None
        loc = part.source.offset_location(part.node, local)
        return loc, part.source.snippet(loc.line, loc.column)


@dataclass(slots=True)
class ItemInfo:
    name: str
    index: int
    visibility: int
    location: SourceLocation
    source: Source
    node: yaml.Node | None


@dataclass(slots=True)
class ListInfo(ItemInfo):
    items: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MacroInfo(ItemInfo):
    cond: Text = field(default_factory=Text)


@dataclass(slots=True)
class ExceptionInfo:
    name: str
    fields: Any                 # str, list[str] or None
    comps: Any                  # str, list[str] or None
    values: list[Any]
    location: SourceLocation
    source: Source
    node: yaml.Node | None


@dataclass(slots=True)
class RuleInfo(ItemInfo):
    cond: Text = field(default_factory=Text)
    output: Text = field(default_factory=Text)
    desc: str = ""
    priority: Priority = Priority.DEBUG
    rule_source: str = "syscall"
    tags: list[str] = field(default_factory=list)
    enabled: bool = True
    exceptions: list[ExceptionInfo] = field(default_factory=list)
    warn_evttypes: bool = True
    skip_unknown: bool = False
    capture: bool = False
    capture_duration: int = 0
