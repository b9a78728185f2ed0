# SPDX-License-Identifier: Apache-2.0
"""An alert: what a matching rule produces.

Its priority is a ``falco.rules.model.Priority`` (the value is the syslog
severity, the label what the text line prints). Its two wire shapes (text
line, JSON object) are rendered by ``falco.outputs.format``.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from falco.rules.model import Priority


def default_hostname() -> str:
    return os.environ.get("FALCO_HOSTNAME") or socket.gethostname()


@dataclass(frozen=True, slots=True)
class Alert:
    time: int                     # ns since the epoch (event time)
    rule: str
    priority: Priority
    output: str                   # the rule's formatted output text
    source: str = "syscall"
    output_fields: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    hostname: str = ""

    @property
    def severity(self) -> int:
        """Syslog level: 0 emergency .. 7 debug."""
        return int(self.priority)
