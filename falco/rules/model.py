# SPDX-License-Identifier: Apache-2.0
"""Rules as the engine sees them: priorities, compiled rules, messages."""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from falco.errors import RuleLoadError, SourceLocation

ENGINE_VERSION = (0, 57, 0)
# Plugins whose fields this engine provides natively, with the version
# their rules may require at most.
BUILTIN_PLUGINS: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {"container": (0, 4, 0)})
SYSCALL_SOURCE = "syscall"


class Priority(enum.IntEnum):
    """Falco priorities, most severe first; the value is the syslog
    severity (emergency 0 .. debug 7). The one definition: config choices,
    alert labels and log levels derive from it."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def label(self) -> str:
        """As alerts print it: ``Warning``, ``Informational``."""
        return self.name.capitalize()

    @property
    def severity(self) -> int:
        return int(self.value)

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, text: str) -> "Priority":
        """Case-insensitive; ``INFO`` means INFORMATIONAL."""
        key = text.strip().upper()
        if key == "INFO":
            return cls.INFORMATIONAL
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"Invalid priority '{text}'") from None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every spelling ``parse`` accepts, lower case."""
        return tuple(p.name.lower() for p in cls) + ("info",)


@dataclass(frozen=True, slots=True)
class LoadMessage:
    """An error or warning from loading rules, in Falco's terms."""

    code: str                     # e.g. LOAD_ERR_COMPILE_CONDITION
    message: str
    item_type: str                # rule, macro, list, exception, ...
    item_name: str
    location: SourceLocation | None = None
    snippet: str | None = None
    is_error: bool = True

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        kind = "error" if self.is_error else "warning"
        item = f"{self.item_type} '{self.item_name}'" if self.item_name \
            else self.item_type
        text = f"{where}{kind}: {self.message} ({item}) [{self.code}]"
        if self.snippet:
            text += "\n" + self.snippet
        return text


class RulesError(RuleLoadError):
    """Raised by load_rules: every error found, the first as the message."""

    def __init__(self, errors: list[LoadMessage],
                 warnings: list[LoadMessage]) -> None:
        first = errors[0]
        super().__init__(first.message, first.location,
                         item=f"{first.item_type} '{first.item_name}'"
                         if first.item_name else first.item_type,
                         snippet=first.snippet)
        self.errors = errors
        self.warnings = warnings
        self.code = first.code

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


Formatter = Callable[[Any], "tuple[str, dict[str, Any]]"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    desc: str
    priority: Priority
    tags: frozenset[str]
    source: str
    condition: str
    output: str
    enabled: bool
    evttypes: frozenset[str] | None
    predicate: Callable[[Any], bool] = field(repr=False, compare=False)
    formatter: Formatter = field(repr=False, compare=False)
    index: int = 0
    location: SourceLocation | None = field(default=None, compare=False)
    exception_fields: frozenset[str] = frozenset()
    # capture: true: an alert of this rule starts a recording
    # (capture.mode: rules) of capture_duration ms (0: the default).
    capture: bool = False
    capture_duration: int = 0
    # Builds the predicate specialised for one event name (see
    # ConditionCompiler.specialize); None when not available.
    specializer: Callable[[str], Callable[[Any], bool]] | None = field(
        default=None, repr=False, compare=False)
    # The folded condition (exceptions and macros included), for the
    # prefilter analysis; None for rules built without one.
    ast: Any = field(default=None, repr=False, compare=False)

    def for_event(self, evt_name: str) -> "CompiledRule":
        """This rule with a predicate tuned for events named ``evt_name``
        (still correct for any event)."""
        if self.specializer is None:
            return self
        return dataclasses.replace(self,
                                   predicate=self.specializer(evt_name))

    def matches(self, ctx: Any) -> bool:
        return self.predicate(ctx)

    def format_output(self, ctx: Any) -> tuple[str, dict[str, Any]]:
        return self.formatter(ctx)
