# SPDX-License-Identifier: Apache-2.0
"""Helpers of the run: the swappable output router, metrics, listings."""
from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falco import __version__
from falco.alert import Alert, label_of
from falco.drops import read_stats
from falco.config import Config
from falco.errors import ConfigError, RuleLoadError
from falco.outputs import OutputManager
from falco.webserver import Metric

log = logging.getLogger(__name__)


@dataclass(slots=True)
class OutputRouter:
    """The engine's sink; the outputs behind it can be replaced on reload."""

    manager: OutputManager
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, alert: Alert) -> None:
        with self._lock:
            self.manager.send(alert)

    def swap(self, manager: OutputManager) -> OutputManager:
        with self._lock:
            old, self.manager = self.manager, manager
        return old

    def reopen(self) -> None:
        self.manager.reopen()

    def stop(self) -> None:
        self.manager.stop()

    def report(self) -> list[str]:
        return self.manager.report()


@dataclass(slots=True)
class Metrics:
    engine: Any
    router: OutputRouter
    drops: Any
    source: Any

    def collect(self) -> list[Metric]:
        stats = self.engine.stats
        manager = self.router.manager
        src = read_stats(self.source)
        by_rule = [({"rule": name}, float(n))
                   for name, n in stats.by_rule.items()]
        by_prio = [({"priority": label_of(sev)}, float(n))
                   for sev, n in sorted(stats.by_severity.items())]
        out_metrics: list[Metric] = [
            ("falco_outputs_queued_total", "Alerts queued per output",
             "counter", [({"output": w.name}, float(w.stats.queued))
                         for w in manager.workers]),
            ("falco_outputs_delivered_total", "Alerts delivered per output",
             "counter", [({"output": w.name}, float(w.stats.delivered))
                         for w in manager.workers]),
            ("falco_outputs_dropped_total",
             "Alerts dropped per output because its queue was full",
             "counter", [({"output": w.name}, float(w.stats.dropped))
                         for w in manager.workers]),
            ("falco_outputs_failed_total", "Alerts an output failed to send",
             "counter", [({"output": w.name}, float(w.stats.failed))
                         for w in manager.workers]),
        ]
        return [
            ("falco_info", "Falco build information", "gauge",
             [({"version": __version__}, 1.0)]),
            ("falco_events_processed_total", "Events processed by the engine",
             "counter", [({}, float(stats.events))]),
            ("falco_alerts_total", "Alerts raised", "counter",
             [({}, float(stats.detections))]),
            ("falco_rules_matches_total", "Alerts raised per rule",
             "counter", by_rule),
            ("falco_alerts_by_priority_total", "Alerts raised per priority",
             "counter", by_prio),
            ("falco_outputs_suppressed_total",
             "Alerts suppressed by outputs throttling", "counter",
             [({}, float(manager.suppressed))]),
            *out_metrics,
            ("falco_kernel_events_total", "Events seen by the driver",
             "counter", [({}, float(src.get("n_evts", 0)))]),
            ("falco_kernel_drops_total", "Events the driver dropped",
             "counter", [({}, float(src.get("n_drops", 0)))]),
            ("falco_syscall_event_drops_detected_total",
             "Seconds in which drops were detected", "counter",
             [({}, float(self.drops.detected if self.drops else 0))]),
            ("falco_reloads_total", "Configuration and rules reloads",
             "counter", [({}, float(stats.reloads))]),
        ]


def list_fields(registry: Any, source: str) -> int:
    """--list [SOURCE]: every field with its description, by class."""
    if source not in ("", "syscall"):
        raise ConfigError(f"unknown event source '{source}' for --list "
                          "(known: syscall)")
    out = sys.stdout
    current = None
    for fdef in sorted(registry, key=lambda f: (f.field_class, f.name)):
        if fdef.field_class != current:
            current = fdef.field_class
            out.write(f"\n-------------------------------\n"
                      f"Field Class: {current}\n\n")
        arg = {"optional": "[ARG]", "required": "[ARG]"}.get(
            getattr(fdef.arg, "value", ""), "")
        name = f"{fdef.name}{arg}"
        out.write(f"{name:<24} {fdef.desc}\n")
    out.flush()
    return 0


def describe_rule(ruleset: Any, name: str | None) -> int:
    """-L (every rule) and -l RULE (one rule)."""
    rules = list(ruleset.rules)
    if name is not None:
        rules = [r for r in rules if r.name == name]
        if not rules:
            print(f"Error: rule '{name}' not found", file=sys.stderr)
            return 1
    out = sys.stdout
    out.write(f"{'Rule':<50} Description\n{'----':<50} -----------\n")
    for rule in rules:
        desc = " ".join(str(getattr(rule, "desc", "") or "").split())
        out.write(f"{rule.name:<50} {desc}\n")
        if name is not None:
            cond = getattr(rule, "condition", None)
            out.write(f"Priority: {label_of(rule.priority)}\n")
            out.write(f"Tags: {', '.join(getattr(rule, 'tags', ()) or ())}\n")
            if cond is not None:
                out.write(f"Condition: {cond}\n")
            output = getattr(rule, "output", None)
            if output is not None:
                out.write(f"Output: {output}\n")
    out.flush()
    return 0


def expand_rules_paths(paths: list[str], explicit: bool) -> list[str]:
    """Files to load, in order; directories give their *.yaml sorted."""
    files: list[str] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            files += sorted(str(f) for f in p.iterdir()
                            if f.suffix in (".yaml", ".yml") and f.is_file())
        elif p.is_file():
            files.append(path)
        elif explicit:
            raise RuleLoadError(f"rules file not found: {path}")
        else:
            log.warning("Skipping missing rules file/directory %s", path)
    return files


def outputs_changed(old: Config, new: Config) -> bool:
    keys = ("json_output", "json_include_output_property",
            "json_include_message_property",
            "json_include_output_fields_property",
            "json_include_tags_property", "time_format_iso_8601",
            "buffered_outputs", "outputs", "outputs_queue", "stdout_output",
            "file_output", "syslog_output", "program_output", "http_output",
            "journald_output")
    return any(getattr(old, k) != getattr(new, k) for k in keys)


def chain(*hooks: Any) -> Any:
    """One per-event callback out of several (None if there are none)."""
    live = [h for h in hooks if h is not None]
    if len(live) <= 1:
        return live[0] if live else None

    def call(evt: Any) -> None:
        for hook in live:
            hook(evt)
    return call
