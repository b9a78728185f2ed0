# SPDX-License-Identifier: Apache-2.0
"""``append_output`` (falco.yaml) and ``-p``: extra text and fields added
to the alerts of the rules they match.

An entry ``{match: {source, tag, rule}, extra_output, extra_fields}``
applies to the rules matching every given criterion (none: every rule).
``extra_output`` is an output format appended after a space;
``extra_fields`` lists field names (``evt.cpu``) or ``{name: value}``
pairs whose value is a format or a constant (``${VAR}`` is expanded from
the environment).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from falco.engine.loop import ExtraFormat
from falco.errors import ConfigError
from falco.fields.registry import FieldRegistry
from falco.rules.model import CompiledRule
from falco.rules.output import OutputFormatError, compile_output
from falco.state import EventContext

Formatter = Callable[[EventContext], "tuple[str, dict[str, Any]]"]


@dataclass(frozen=True, slots=True)
class AppendOutput:
    source: str | None = None
    tag: str | None = None
    rule: str | None = None
    text: Formatter | None = None
    fields: tuple[tuple[str, Formatter | str], ...] = ()
    # the output formats it renders (for the analysis of what rules read)
    formats: tuple[str, ...] = ()

    def matches(self, rule: CompiledRule) -> bool:
        if self.source is not None and rule.source != self.source:
            return False
        if self.tag is not None and self.tag not in rule.tags:
            return False
        return self.rule is None or rule.name == self.rule

    def apply(self, ctx: EventContext) -> tuple[str, dict[str, Any]]:
        text, fields = self.text(ctx) if self.text is not None else ("", {})
        fields = dict(fields)
        for name, value in self.fields:
            if isinstance(value, str):
                fields[name] = value
            else:
                rendered, _ = value(ctx)
                fields[name] = rendered
        return text, fields


def build(entries: Sequence[dict[str, Any]], print_format: str | None,
          registry: FieldRegistry) -> list[AppendOutput]:
    """AppendOutput list from the config entries and -p (last)."""
    def fmt(text: str, key: str) -> Formatter:
        try:
            return compile_output(text, registry).format
        except OutputFormatError as exc:
            raise ConfigError(f"invalid {key} format '{text}' at offset "
                              f"{exc.offset}: {exc}") from None

    out = []
    for i, entry in enumerate(entries):
        key = f"append_output[{i}]"
        match = entry.get("match") or {}
        fields: list[tuple[str, Formatter | str]] = []
        formats: list[str] = []
        for item in entry.get("extra_fields") or ():
            if isinstance(item, str):
                fields.append((item, fmt(f"%{item}", key)))
                formats.append(f"%{item}")
                continue
            for name, value in item.items():
                value = os.path.expandvars(str(value))
                fields.append((str(name), fmt(value, key) if "%" in value
                               else value))
                if "%" in value:
                    formats.append(value)
        extra = entry.get("extra_output")
        if extra:
            formats.append(str(extra))
        out.append(AppendOutput(
            match.get("source"), match.get("tag"), match.get("rule"),
            fmt(str(extra), key) if extra else None, tuple(fields),
            tuple(formats)))
    if print_format:
        out.append(AppendOutput(text=fmt(print_format, "-p"),
                                formats=(print_format,)))
    return out


def formats_for(entries: Sequence[AppendOutput],
                rule: CompiledRule) -> list[str]:
    """The output formats ``entries`` add to the alerts of ``rule``."""
    return [f for entry in entries if entry.matches(rule)
            for f in entry.formats]


def combine(entries: Sequence[AppendOutput]) -> ExtraFormat | None:
    """One (rule, ctx) -> (extra text, extra fields) callable, or None."""
    if not entries:
        return None

    def extra(rule: CompiledRule, ctx: EventContext
              ) -> tuple[str, dict[str, Any]]:
        texts: list[str] = []
        fields: dict[str, Any] = {}
        for entry in entries:
            if entry.matches(rule):
                text, more = entry.apply(ctx)
                if text:
                    texts.append(text)
                fields.update(more)
        return " ".join(texts), fields
    return extra
