# SPDX-License-Identifier: Apache-2.0
"""An alert: what a matching rule produces, and Falco's priorities.

Its two wire shapes (text line, JSON object) are rendered by
``falco.outputs.format``.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Falco priorities, most severe first; the index is the syslog level.
PRIORITY_LABELS = ("Emergency", "Alert", "Critical", "Error", "Warning",
                   "Notice", "Informational", "Debug")
_ALIASES = MappingProxyType({"info": 6})


def severity_of(priority: Any) -> int:
    """Syslog level (0 emergency .. 7 debug) of a priority in any form."""
    if isinstance(priority, int) and not isinstance(priority, bool):
        return min(max(priority, 0), 7)
    for attr in ("severity", "level"):
        value = getattr(priority, attr, None)
        if isinstance(value, int):
            return value
    name = getattr(priority, "label", None) or getattr(priority, "name", None)
    text = str(name if isinstance(name, str) else priority).lower()
    if text in _ALIASES:
        return _ALIASES[text]
    for level, label in enumerate(PRIORITY_LABELS):
        if label.lower() == text:
            return level
    value = getattr(priority, "value", None)
    if isinstance(value, int):
        return min(max(value, 0), 7)
    if isinstance(value, str):
        return severity_of(value)
    raise ValueError(f"unknown priority {priority!r}")


def label_of(priority: Any) -> str:
    return PRIORITY_LABELS[severity_of(priority)]


def default_hostname() -> str:
    return os.environ.get("FALCO_HOSTNAME") or socket.gethostname()


@dataclass(frozen=True, slots=True)
class Alert:
    time: int                     # ns since the epoch (event time)
    rule: str
    priority: str                 # Falco label, e.g. "Warning"
    output: str                   # the rule's formatted output text
    source: str = "syscall"
    output_fields: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    hostname: str = ""

    @property
    def severity(self) -> int:
        return severity_of(self.priority)
