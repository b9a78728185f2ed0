# SPDX-License-Identifier: Apache-2.0
"""journald output: one structured journal entry per alert.

Fields: MESSAGE (the alert line), PRIORITY (syslog level), SYSLOG_IDENTIFIER,
FALCO_RULE, FALCO_PRIORITY, FALCO_SOURCE, FALCO_TAGS (comma separated),
FALCO_HOSTNAME, FALCO_OUTPUT (the rule output), FALCO_OUTPUT_FIELDS (JSON)
and one FALCO_FIELD_<NAME> per output field (``proc.cmdline`` ->
FALCO_FIELD_PROC_CMDLINE). The sender is injectable like python-systemd's
``JournalHandler(sender_function=...)``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from falco.engine.alert import Alert

Sender = Callable[..., Any]
_BAD = re.compile(r"[^A-Z0-9_]")


def field_name(name: str) -> str:
    """A valid journal field name for an output field name."""
    return ("FALCO_FIELD_" + _BAD.sub("_", name.upper()))[:64]


def journal_fields(alert: Alert, line: str, identifier: str
                   ) -> dict[str, str]:
    fields = {
        "MESSAGE": line,
        "PRIORITY": str(alert.severity),
        "SYSLOG_IDENTIFIER": identifier,
        "FALCO_RULE": alert.rule,
        "FALCO_PRIORITY": alert.priority.label,
        "FALCO_SOURCE": alert.source,
        "FALCO_TAGS": ",".join(sorted(alert.tags)),
        "FALCO_HOSTNAME": alert.hostname,
        "FALCO_OUTPUT": alert.output,
        "FALCO_OUTPUT_FIELDS": json.dumps(alert.output_fields, default=str,
                                          separators=(",", ":")),
    }
    for name, value in alert.output_fields.items():
        fields.setdefault(field_name(name),
                          "<NA>" if value is None else str(value))
    return fields


def _default_sender() -> Sender:
    from systemd import journal  # optional dependency
    send: Sender = journal.send
    return send


@dataclass(slots=True)
class JournaldOutput:
    identifier: str = "falco"
    sender: Sender = field(default_factory=_default_sender)
    name: str = "journald"

    def emit(self, alert: Alert, line: str) -> None:
        fields = journal_fields(alert, line, self.identifier)
        message = fields.pop("MESSAGE")
        self.sender(message, **fields)

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass
