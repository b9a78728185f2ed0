# SPDX-License-Identifier: Apache-2.0
"""An alert and its two wire shapes: Falco's text line and JSON object.

Text: ``12:43:52.640375428: Warning File below /etc opened ...`` (local
time, or ``2016-08-04T16:17:57.881781397+0000`` with
``time_format_iso_8601``). JSON: the keys ``hostname``, ``output``,
``priority``, ``rule``, ``source``, ``tags``, ``time`` (ISO 8601, ns, ``Z``),
``output_fields`` and ``message`` (the output without time and priority),
the optional ones gated by ``json_include_*``.
"""
from __future__ import annotations

from types import MappingProxyType
import json
import os
import socket
import time
from dataclasses import dataclass, field
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


def format_time(ts: int, iso: bool) -> str:
    sec, nsec = divmod(ts, 1_000_000_000)
    if iso:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return f"{stamp}.{nsec:09d}+0000"
    return f"{time.strftime('%H:%M:%S', time.localtime(sec))}.{nsec:09d}"


def iso_time_z(ts: int) -> str:
    sec, nsec = divmod(ts, 1_000_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec))}.{nsec:09d}Z"


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
                f"{alert.priority} {alert.output}")

    def fields(self, alert: Alert) -> dict[str, Any]:
        key = "evt.time.iso8601" if self.iso_time else "evt.time"
        return {key: alert.time, **alert.output_fields}

    def json_obj(self, alert: Alert) -> dict[str, Any]:
        obj: dict[str, Any] = {"hostname": alert.hostname}
        if self.include_message:
            obj["message"] = alert.output
        if self.include_output:
            obj["output"] = self.text(alert)
        obj["priority"] = alert.priority
        obj["rule"] = alert.rule
        obj["source"] = alert.source
        if self.include_tags:
            obj["tags"] = sorted(alert.tags)
        obj["time"] = iso_time_z(alert.time)
        if self.include_output_fields:
            obj["output_fields"] = self.fields(alert)
        return obj

    def json(self, alert: Alert) -> str:
        obj = self.json_obj(alert)
        fields = obj.pop("output_fields", None)
        head = json.dumps(obj, separators=(",", ":"), default=str,
                          ensure_ascii=False)
        if fields is None:
            return head
        return (head[:-1] + ', "output_fields": '
                + json.dumps(fields, separators=(",", ":"), default=str,
                             ensure_ascii=False) + "}")

    def line(self, alert: Alert) -> str:
        """The message every line-oriented output writes."""
        return self.json(alert) if self.json_output else self.text(alert)
