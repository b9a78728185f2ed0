# SPDX-License-Identifier: Apache-2.0
"""The pipeline: event source -> state -> rules -> alert sink.

``Engine.run(source.batches())`` reads events, lets the inspector update its tables,
asks the ruleset for the rules of ``evt.name`` and hands an ``Alert`` to
the injected sink for each rule that matches (the first, or all with
``rule_matching: all``). ``swap_rules`` installs a new ruleset atomically
between two events: the inspector and its process state stay, no event is
checked against a half-installed ruleset.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

from falco.engine.alert import Alert
from falco.engine.holds import AlertHolds
from falco.events.event import Event
from falco.rules.model import CompiledRule, Priority
from falco.rules.ruleset import RuleSet
from falco.state import EventContext, Inspector
from falco.state.container_table import MetadataPending

log = logging.getLogger(__name__)

AlertSink = Callable[[Alert], Any]
# (rule, ctx) -> (text to append, fields to add): append_output and -p.
ExtraFormat = Callable[[CompiledRule, EventContext],
                       "tuple[str, dict[str, Any]]"]


class StopRequested(BaseException):
    """Raised by ``Engine.interrupt`` to leave a blocking source read."""


class EventSource(Protocol):
    """A capture (``CaptureReader``) or the live rings (``LiveSource``)."""

    def batches(self) -> Iterator[Sequence[Event]]:
        """Events a batch at a time, in order; a live source also yields
        empty batches when it was idle, so a stop is seen promptly."""
        ...

    def set_interesting(self, names: Iterable[str] | None) -> None: ...

    def set_prefilter(self, program: bytes | None) -> None:
        """Drop what the prefilter program filters (None: nothing)."""
        ...

    def close(self) -> None: ...


@dataclass(slots=True)
class EngineStats:
    events: int = 0
    detections: int = 0
    by_severity: Counter[int] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    loaded_severities: set[int] = field(default_factory=set)
    rule_errors: Counter[str] = field(default_factory=Counter)
    reloads: int = 0

    def summary(self) -> str:
        """The exit summary, in the shape Falco users know."""
        lines = [f"Events detected: {self.detections}",
                 "Rule counts by severity:"]
        for sev in sorted(self.loaded_severities | set(self.by_severity)):
            lines.append(f"   {Priority(sev).label}: "
                         f"{self.by_severity[sev]}")
        lines.append("Triggered rules by rule name:")
        for name, count in self.by_rule.items():
            lines.append(f"   {name}: {count}")
        return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Engine:
    """Runs events through the inspector and the ruleset's enabled rules
    (the selection -D/-T/-t/priority is the ruleset's, see
    ``RuleSet.select``)."""

    inspector: Inspector
    ruleset: RuleSet
    sink: AlertSink
    rule_matching: str = "first"
    hostname: str = ""
    extra_output: ExtraFormat | None = None
    on_event: Callable[[Event], None] | None = None
    on_match: Callable[[CompiledRule, Event], None] | None = None
    stats: EngineStats = field(default_factory=EngineStats)
    # Alerts of containers whose metadata is being looked up wait here.
    holds: AlertHolds | None = None
    exit_code: int = 0
    _pending: RuleSet | None = None
    # a pending ruleset applies from the first event of this time on, and
    # then calls _applied (reload: the prefilter program is replaced)
    _pending_from: int = 0
    _applied: Callable[[], None] | None = None
    _in_source: bool = False
    # evt.name -> the enabled rules for it (predicates specialised for it)
    _index: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    # Set by stop()/interrupt() from any thread or a signal handler; a
    # plain flag (an attribute store is atomic) is cheap to test per event.
    _stopped: bool = False
    _swap_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._note_loaded(self.ruleset)

    # -- rules ---------------------------------------------------------
    def _note_loaded(self, ruleset: RuleSet) -> None:
        for rule in ruleset.enabled_rules:
            self.stats.loaded_severities.add(int(rule.priority))

    def swap_rules(self, ruleset: RuleSet, from_ts: int = 0,
                   applied: Callable[[], None] | None = None) -> None:
        """Install ``ruleset`` before the next event (thread-safe): the
        first event whose timestamp is at least ``from_ts``; then call
        ``applied`` (in the engine's thread)."""
        with self._swap_lock:
            self._pending = ruleset
            self._pending_from = from_ts
            self._applied = applied

    def _apply_pending(self, ts: int | None = None) -> None:
        with self._swap_lock:
            if ts is not None and ts < self._pending_from:
                return
            pending, self._pending = self._pending, None
            applied, self._applied = self._applied, None
        if pending is None:
            return
        self.ruleset = pending
        self._index.clear()
        self._note_loaded(pending)
        self.stats.reloads += 1
        log.info("rules reloaded: %d rules enabled",
                 len(pending.enabled_rules))
        if applied is not None:
            applied()

    # -- life cycle ----------------------------------------------------
    def stop(self, exit_code: int | None = None) -> None:
        if exit_code is not None:
            self.exit_code = exit_code
        self._stopped = True

    def interrupt(self) -> None:
        """Stop from a signal handler (main thread): a source blocked in
        a read (a pipe, an idle ring) is left at once."""
        self._stopped = True
        if self._in_source:
            raise StopRequested()

    @property
    def stopping(self) -> bool:
        return self._stopped

    def run(self, batches: Iterable[Sequence[Event]]) -> int:
        """Process batches of events (``EventSource.batches()``) until
        they end or ``stop`` is called; returns the exit code."""
        process = self.process
        try:
            # ``_in_source`` is set while the loop waits in the source.
            self._in_source = not self._stopped
            asked = time.time_ns()
            if self._in_source:
                for batch in batches:
                    self._in_source = False
                    if not batch and self._pending is not None:
                        # the source was drained after ``asked``
                        self._apply_pending(asked)
                    for evt in batch:
                        if self._pending is not None:
                            self._apply_pending(evt.ts)
                        if not self._stopped:
                            process(evt)
                        if self._stopped:
                            break
                    if self._stopped:
                        break
                    if self.holds is not None and self.holds.by_cid:
                        self.release_held()
                    self._in_source = True
                    asked = time.time_ns()
        except StopRequested:
            pass
        finally:
            self._in_source = False
        if self._pending is not None:
            self._apply_pending()
        if self.holds is not None:
            self.release_held(everything=True)
        return self.exit_code

    def release_held(self, everything: bool = False) -> None:
        """Test the held events whose container metadata came (or whose
        wait ran out)."""
        assert self.holds is not None
        for held in self.holds.due(everything=everything):
            self._test(held.ctx, held.ctx.evt, held.rules)

    def process(self, evt: Event) -> list[Alert]:
        ctx = self.inspector.process(evt)
        self.stats.events += 1
        if self.on_event is not None:
            self.on_event(evt)
        name = evt.name
        rules = self._index.get(name)
        if rules is None:
            rules = self._index[name] = self.ruleset.rules_for(name)
        if not rules:
            return []
        holds = self.holds
        if holds is not None and holds.by_cid:
            t = ctx.thread
            if t is not None and t.container_id in holds.by_cid:
                holds.hold(t.container_id, ctx, rules)
                return []
        return self._test(ctx, evt, rules)

    def _test(self, ctx: EventContext, evt: Event,
              rules: tuple[CompiledRule, ...]) -> list[Alert]:
        alerts: list[Alert] = []
        for i, rule in enumerate(rules):
            try:
                if not rule.predicate(ctx):
                    continue
                alert = self.make_alert(rule, ctx, evt)
            except MetadataPending as wait:
                if self.holds is None:
                    # Nobody to wait with: the fields print <NA>.
                    self.inspector.containers.give_up(wait.cid)
                    return alerts + self._test(ctx, evt, rules[i:])
                self.holds.hold(wait.cid, ctx, rules[i:])
                return alerts
            except Exception as exc:  # a bad rule never stops the engine
                self.stats.rule_errors[rule.name] += 1
                if self.stats.rule_errors[rule.name] == 1:
                    log.error("rule '%s' failed on event %d: %s",
                              rule.name, evt.num, exc)
                continue
            self.emit(alert)
            alerts.append(alert)
            if self.on_match is not None:
                self.on_match(rule, evt)
            if self.rule_matching == "first":
                break
        return alerts

    def make_alert(self, rule: CompiledRule, ctx: EventContext,
                   evt: Event) -> Alert:
        text, fields = rule.formatter(ctx)
        fields = dict(fields)
        if self.extra_output is not None:
            extra_text, extra_fields = self.extra_output(rule, ctx)
            if extra_text:
                text = f"{text} {extra_text}"
            fields.update(extra_fields)
        return Alert(time=evt.ts, rule=rule.name, priority=rule.priority,
                     output=text, source=rule.source, output_fields=fields,
                     tags=tuple(sorted(rule.tags)), hostname=self.hostname)

    def emit(self, alert: Alert) -> None:
        self.stats.detections += 1
        self.stats.by_severity[alert.severity] += 1
        self.stats.by_rule[alert.rule] += 1
        self.sink(alert)
