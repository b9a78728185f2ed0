# SPDX-License-Identifier: Apache-2.0
"""An alert's wire shapes, rendered once per alert: Falco's text line, its
JSON object, the journal's fields.

Text: ``12:43:52.640375428: Warning File below /etc opened ...`` (local
time, or ``2016-08-04T16:17:57.881781397+0000`` with
``time_format_iso_8601``). JSON: the keys ``hostname``, ``output``,
``priority``, ``rule``, ``source``, ``tags``, ``time`` (ISO 8601, ns, ``Z``),
``output_fields`` and ``message`` (the output without time and priority),
the optional ones gated by ``json_include_*``.

Every value is the attacker's, so every shape goes through
:mod:`falco.outputs.encode`: the text line is printable and one line, the
JSON valid UTF-8. :meth:`AlertFormatter.encode` does it once per alert and
hands the outputs an :class:`EncodedAlert`.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from falco.engine.alert import Alert
from falco.outputs.encode import admin_text, escape_text, json_dumps, \
    json_value

_JOURNAL_BAD = re.compile(r"[^A-Z0-9_]")


def format_time(ts: int, iso: bool = False) -> str:
    """The alert line's time: local ``HH:MM:SS.nnnnnnnnn``, or ISO 8601
    ``2016-08-04T16:17:57.881781397+0000``."""
    sec, nsec = divmod(ts, 1_000_000_000)
    if iso:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return f"{stamp}.{nsec:09d}+0000"
    return f"{time.strftime('%H:%M:%S', time.localtime(sec))}.{nsec:09d}"


def iso_time_z(ts: int) -> str:
    sec, nsec = divmod(ts, 1_000_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec))}.{nsec:09d}Z"


def journal_field_name(name: str) -> str:
    """A valid journal field name for an output field name."""
    return ("FALCO_FIELD_" + _JOURNAL_BAD.sub("_", name.upper()))[:64]


@dataclass(frozen=True, slots=True)
class AlertFormatter:
    """Renders alerts as text lines or JSON lines, as configured."""

    json_output: bool = False
    iso_time: bool = False
    include_output: bool = True
    include_output_fields: bool = True
    include_tags: bool = True
    include_message: bool = False

    def text(self, alert: Alert) -> str:
        return (f"{format_time(alert.time, self.iso_time)}: "
                f"{alert.priority.label} {escape_text(alert.output)}")

    def fields(self, alert: Alert) -> dict[str, Any]:
        key = "evt.time.iso8601" if self.iso_time else "evt.time"
        return {key: alert.time, **alert.output_fields}

    def json_obj(self, alert: Alert, text: str | None = None
                 ) -> dict[str, Any]:
        """The JSON object, every string already encoded; ``text`` is the
        text line when the caller has it."""
        obj: dict[str, Any] = {"hostname": admin_text(alert.hostname)}
        if self.include_message:
            obj["message"] = escape_text(alert.output)
        if self.include_output:
            obj["output"] = self.text(alert) if text is None else text
        obj["priority"] = alert.priority.label
        obj["rule"] = admin_text(alert.rule)
        obj["source"] = admin_text(alert.source)
        if self.include_tags:
            obj["tags"] = [admin_text(t) for t in sorted(alert.tags)]
        obj["time"] = iso_time_z(alert.time)
        if self.include_output_fields:
            obj["output_fields"] = json_value(self.fields(alert))
        return obj

    def json(self, alert: Alert, text: str | None = None) -> str:
        obj = self.json_obj(alert, text)
        fields = obj.pop("output_fields", None)
        head = json_dumps(obj)
        if fields is None:
            return head
        # Falco's own spacing before output_fields, byte for byte.
        return head[:-1] + ', "output_fields": ' + json_dumps(fields) + "}"

    def line(self, alert: Alert) -> str:
        """The message every line-oriented output writes."""
        return self.json(alert) if self.json_output else self.text(alert)

    def encode(self, alert: Alert) -> "EncodedAlert":
        return EncodedAlert(alert, self)


class EncodedAlert:
    """One alert in every shape an output may ask for, each computed at
    most once (outputs run on their own threads, hence the lock)."""

    __slots__ = ("alert", "formatter", "text", "line", "data", "_lock",
                 "_http", "_journal")

    def __init__(self, alert: Alert, formatter: AlertFormatter) -> None:
        self.alert = alert
        self.formatter = formatter
        self.text = formatter.text(alert)
        self.line = (formatter.json(alert, self.text)
                     if formatter.json_output else self.text)
        # What stdout, file and program write: bytes, whatever the locale.
        self.data = (self.line + "\n").encode("utf-8")
        self._lock = threading.Lock()
        self._http: bytes | None = None
        self._journal: dict[str, str] | None = None

    @property
    def severity(self) -> int:
        return self.alert.severity

    def http_body(self) -> bytes:
        """The full JSON object (every key falcosidekick reads)."""
        with self._lock:
            if self._http is None:
                full = AlertFormatter(json_output=True,
                                      iso_time=self.formatter.iso_time)
                self._http = json_dumps(
                    full.json_obj(self.alert, self.text)).encode("utf-8")
            return self._http

    def journal_fields(self) -> dict[str, str]:
        """The journal entry without SYSLOG_IDENTIFIER: MESSAGE (the
        line), PRIORITY, FALCO_RULE, FALCO_PRIORITY, FALCO_SOURCE,
        FALCO_TAGS, FALCO_HOSTNAME, FALCO_OUTPUT, FALCO_OUTPUT_FIELDS
        (JSON) and FALCO_FIELD_<NAME> per output field."""
        with self._lock:
            if self._journal is None:
                self._journal = self._make_journal()
            return dict(self._journal)

    def _make_journal(self) -> dict[str, str]:
        alert = self.alert
        fields = {
            "MESSAGE": self.line,
            "PRIORITY": str(alert.severity),
            "FALCO_RULE": admin_text(alert.rule),
            "FALCO_PRIORITY": alert.priority.label,
            "FALCO_SOURCE": admin_text(alert.source),
            "FALCO_TAGS": admin_text(",".join(sorted(alert.tags))),
            "FALCO_HOSTNAME": admin_text(alert.hostname),
            "FALCO_OUTPUT": escape_text(alert.output),
            "FALCO_OUTPUT_FIELDS": json_dumps(
                json_value(alert.output_fields)),
        }
        for name, value in alert.output_fields.items():
            fields.setdefault(journal_field_name(name),
                              "<NA>" if value is None
                              else escape_text(_plain(value)))
        return fields


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(_plain(v) for v in value)
    return str(value)
