# SPDX-License-Identifier: Apache-2.0
"""Typed errors shared by every layer.

Errors that point at user input carry a location so they print as
``path:line:col: message`` (rules, config) or ``path@offset: message``
(captures, rings).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A position in a text file; line and column are 1-based."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class FalcoError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class LocatedError(FalcoError):
    """An error tied to a place in a text file."""

    def __init__(self, message: str, location: SourceLocation | None = None,
                 item: str | None = None, snippet: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.item = item
        self.snippet = snippet

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        what = f" (in {self.item})" if self.item else ""
        text = f"{where}{self.message}{what}"
        if self.snippet:
            text += "\n" + self.snippet
        return text


class ConfigError(LocatedError):
    """Invalid configuration file, key or -o override."""


class RuleLoadError(LocatedError):
    """A rules file cannot be loaded (YAML, schema, unknown macro/list/field).

    An error in a condition also carries where in the condition's text it
    is (``offset``; ``origin``: the macro or exception the text came from,
    None for the rule's own condition), the load result's code (``code``;
    None: the compiler's default) and whether it names an unknown field
    (``unknown``: a rule with skip-if-unknown-filter then only warns).
    """

    def __init__(self, message: str, location: SourceLocation | None = None,
                 item: str | None = None, snippet: str | None = None, *,
                 offset: int = 0, origin: str | None = None,
                 code: str | None = None, unknown: bool = False) -> None:
        super().__init__(message, location, item, snippet)
        self.offset = offset
        self.origin = origin
        self.code = code
        self.unknown = unknown


class RuleSyntaxError(RuleLoadError):
    """A condition or output string does not parse."""


class DriverError(FalcoError):
    """The kernel module cannot be used (not loaded, busy, no permission)."""

    exit_code = 2


class VersionMismatchError(DriverError):
    """The module's API or schema version is incompatible with this build."""


class BpfError(DriverError):
    """The modern_ebpf source cannot be used (no BTF, no ring buffers, not
    enough privileges, a program rejected by the verifier)."""


class DecodeError(FalcoError, ValueError):
    """A record in a capture or ring is truncated or corrupt."""

    def __init__(self, message: str, offset: int | None = None,
                 path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.path = path

    def __str__(self) -> str:
        where = self.path or "<ring>"
        if self.offset is not None:
            where += f"@{self.offset}"
        return f"{where}: {self.message}"


class CaptureError(FalcoError):
    """A capture file is missing, unreadable or not a capture."""

    exit_code = 2
