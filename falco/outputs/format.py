# SPDX-License-Identifier: Apache-2.0
"""An alert's two wire shapes: Falco's text line and its JSON object.

Text: ``12:43:52.640375428: Warning File below /etc opened ...`` (local
time, or ``2016-08-04T16:17:57.881781397+0000`` with
``time_format_iso_8601``). JSON: the keys ``hostname``, ``output``,
``priority``, ``rule``, ``source``, ``tags``, ``time`` (ISO 8601, ns, ``Z``),
``output_fields`` and ``message`` (the output without time and priority),
the optional ones gated by ``json_include_*``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from falco.engine.alert import Alert


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
                f"{alert.priority.label} {alert.output}")

    def fields(self, alert: Alert) -> dict[str, Any]:
        key = "evt.time.iso8601" if self.iso_time else "evt.time"
        return {key: alert.time, **alert.output_fields}

    def json_obj(self, alert: Alert) -> dict[str, Any]:
        obj: dict[str, Any] = {"hostname": alert.hostname}
        if self.include_message:
            obj["message"] = alert.output
        if self.include_output:
            obj["output"] = self.text(alert)
        obj["priority"] = alert.priority.label
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
