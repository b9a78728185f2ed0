# SPDX-License-Identifier: Apache-2.0
"""journald output: one structured journal entry per alert.

Fields: MESSAGE (the alert line), PRIORITY (syslog level), SYSLOG_IDENTIFIER,
FALCO_RULE, FALCO_PRIORITY, FALCO_SOURCE, FALCO_TAGS (comma separated),
FALCO_HOSTNAME, FALCO_OUTPUT (the rule output), FALCO_OUTPUT_FIELDS (JSON)
and one FALCO_FIELD_<NAME> per output field (``proc.cmdline`` ->
FALCO_FIELD_PROC_CMDLINE), every value encoded like the text line (so
``journalctl`` shows it, never as ``[N blob data]``). The sender is
injectable like python-systemd's ``JournalHandler(sender_function=...)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from falco.outputs.format import EncodedAlert, journal_field_name

Sender = Callable[..., Any]
field_name = journal_field_name


def _default_sender() -> Sender:
    from systemd import journal  # optional dependency
    send: Sender = journal.send
    return send


@dataclass(slots=True)
class JournaldOutput:
    identifier: str = "falco"
    sender: Sender = field(default_factory=_default_sender)
    name: str = "journald"

    def emit(self, alert: EncodedAlert) -> None:
        fields = alert.journal_fields()
        fields["SYSLOG_IDENTIFIER"] = self.identifier
        message = fields.pop("MESSAGE")
        self.sender(message, **fields)

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass
