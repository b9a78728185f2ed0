# SPDX-License-Identifier: Apache-2.0
"""The pipeline: event source -> state -> rules -> alert sink.

``Engine.run(source)`` reads events, lets the inspector update its tables,
asks the ruleset for the rules of ``evt.name`` and hands an ``Alert`` to
the injected sink for each rule that matches (the first, or all with
``rule_matching: all``). ``swap_rules`` installs a new ruleset atomically
between two events: the inspector and its process state stay, no event is
checked against a half-installed ruleset.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol, Sequence

from falco.engine.alert import PRIORITY_LABELS, Alert, label_of, severity_of

log = logging.getLogger(__name__)

AlertSink = Callable[[Alert], Any]
# (rule, ctx) -> (text to append, fields to add): append_output and -p.
ExtraFormat = Callable[[Any, Any], "tuple[str, dict[str, Any]]"]


class StopRequested(BaseException):
    """Raised by ``Engine.interrupt`` to leave a blocking source read."""


class Rule(Protocol):
    """A loaded rule. One that also has a ``predicate`` attribute (a
    callable that ``matches`` just forwards to) is tested through it."""

    name: str
    priority: Any
    tags: Any
    source: str

    def matches(self, ctx: Any) -> bool: ...

    def format_output(self, ctx: Any) -> tuple[str, dict[str, Any]]: ...


class RuleSetLike(Protocol):
    rules: Any

    def rules_for(self, evt_name: str) -> Iterable[Rule]: ...


@dataclass(frozen=True, slots=True)
class RuleSelection:
    """Which loaded rules run: minimum priority, -D / -T / -t."""

    min_severity: int = 7
    disabled_patterns: tuple[str, ...] = ()
    disabled_tags: frozenset[str] = frozenset()
    enabled_tags: frozenset[str] = frozenset()

    def allows(self, rule: Rule) -> bool:
        if severity_of(rule.priority) > self.min_severity:
            return False
        tags = set(rule.tags or ())
        if self.enabled_tags and not tags & self.enabled_tags:
            return False
        if tags & self.disabled_tags:
            return False
        return not any(re.search(p, rule.name)
                       for p in self.disabled_patterns)


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
            lines.append(f"   {PRIORITY_LABELS[sev]}: "
                         f"{self.by_severity[sev]}")
        lines.append("Triggered rules by rule name:")
        for name, count in self.by_rule.items():
            lines.append(f"   {name}: {count}")
        return "\n".join(lines) + "\n"


@dataclass(slots=True)
class Engine:
    inspector: Any
    ruleset: RuleSetLike
    sink: AlertSink
    selection: RuleSelection = field(default_factory=RuleSelection)
    rule_matching: str = "first"
    hostname: str = ""
    extra_output: ExtraFormat | None = None
    on_event: Callable[[Any], None] | None = None
    on_match: Callable[[Rule, Any], None] | None = None
    stats: EngineStats = field(default_factory=EngineStats)
    exit_code: int = 0
    _pending: Any = None
    _in_source: bool = False
    # evt.name -> the selected rules for it, each with its test
    _index: dict[str, tuple[tuple[Rule, Callable[[Any], bool]], ...]] = \
        field(default_factory=dict)
    # Set by stop()/interrupt() from any thread or a signal handler; a
    # plain flag (an attribute store is atomic) is cheap to test per event.
    _stopped: bool = False
    _swap_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._note_loaded(self.ruleset)

    # -- rules ---------------------------------------------------------
    def enabled_rules(self, ruleset: RuleSetLike | None = None
                      ) -> list[Rule]:
        ruleset = self.ruleset if ruleset is None else ruleset
        base = getattr(ruleset, "enabled_rules", None)
        rules = base if base is not None else ruleset.rules
        return [r for r in rules if self.selection.allows(r)]

    def interesting_events(self, ruleset: RuleSetLike | None = None
                           ) -> set[str] | None:
        """Event names the enabled rules need; None means every event."""
        names: set[str] = set()
        for rule in self.enabled_rules(ruleset):
            evttypes = getattr(rule, "evttypes", None)
            if evttypes is None:
                return None
            names |= set(evttypes)
        return names

    def _note_loaded(self, ruleset: RuleSetLike) -> None:
        for rule in self.enabled_rules(ruleset):
            self.stats.loaded_severities.add(severity_of(rule.priority))

    def swap_rules(self, ruleset: RuleSetLike,
                   selection: RuleSelection | None = None) -> None:
        """Install ``ruleset`` before the next event (thread-safe)."""
        with self._swap_lock:
            self._pending = (ruleset, selection or self.selection)

    def _apply_pending(self) -> None:
        with self._swap_lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        self.ruleset, self.selection = pending
        ruleset = self.ruleset
        self._index.clear()
        self._note_loaded(ruleset)
        self.stats.reloads += 1
        log.info("rules reloaded: %d rules enabled",
                 len(self.enabled_rules()))

    def _rules_for(self, evt_name: str
                   ) -> tuple[tuple[Rule, Callable[[Any], bool]], ...]:
        rules = self._index.get(evt_name)
        if rules is None:
            rules = tuple((r, _test_of(r))
                          for r in self.ruleset.rules_for(evt_name)
                          if self.selection.allows(r))
            self._index[evt_name] = rules
        return rules

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

    def run(self, source: Iterable[Any]) -> int:
        """Process events until the source ends or ``stop`` is called.

        A source with ``batches()`` (a capture) is read a list at a time;
        any other iterable an event (or None, an idle tick) at a time.
        """
        batches = getattr(source, "batches", None)
        chunks: Iterable[Sequence[Any]] = batches() if callable(batches) \
            else ((evt,) for evt in source)
        process = self.process
        try:
            # ``_in_source`` is set while the loop waits in the source.
            self._in_source = not self._stopped
            if self._in_source:
                for chunk in chunks:
                    self._in_source = False
                    for evt in chunk:
                        if self._pending is not None:
                            self._apply_pending()
                        if evt is not None and not self._stopped:
                            process(evt)
                        if self._stopped:
                            break
                    if self._stopped:
                        break
                    self._in_source = True
        except StopRequested:
            pass
        finally:
            self._in_source = False
        if self._pending is not None:
            self._apply_pending()
        return self.exit_code

    def process(self, evt: Any) -> list[Alert]:
        ctx = self.inspector.process(evt)
        self.stats.events += 1
        if self.on_event is not None:
            self.on_event(evt)
        name = evt.name
        rules = self._index.get(name)
        if rules is None:
            rules = self._rules_for(name)
        if not rules:
            return []
        alerts = []
        for rule, test in rules:
            try:
                if not test(ctx):
                    continue
                alert = self.make_alert(rule, ctx, evt)
            except Exception as exc:  # a bad rule never stops the engine
                self.stats.rule_errors[rule.name] += 1
                if self.stats.rule_errors[rule.name] == 1:
                    log.error("rule '%s' failed on event %s: %s",
                              rule.name, getattr(evt, "num", "?"), exc)
                continue
            self.emit(alert)
            alerts.append(alert)
            if self.on_match is not None:
                self.on_match(rule, evt)
            if self.rule_matching == "first":
                break
        return alerts

    def make_alert(self, rule: Rule, ctx: Any, evt: Any) -> Alert:
        text, fields = rule.format_output(ctx)
        fields = dict(fields)
        if self.extra_output is not None:
            extra_text, extra_fields = self.extra_output(rule, ctx)
            if extra_text:
                text = f"{text} {extra_text}"
            fields.update(extra_fields)
        return Alert(time=evt.ts, rule=rule.name,
                     priority=label_of(rule.priority), output=text,
                     source=getattr(rule, "source", None) or "syscall",
                     output_fields=fields,
                     tags=tuple(getattr(rule, "tags", None) or ()),
                     hostname=self.hostname)

    def emit(self, alert: Alert) -> None:
        sev = alert.severity
        self.stats.detections += 1
        self.stats.by_severity[sev] += 1
        self.stats.by_rule[alert.rule] += 1
        self.sink(alert)


def _test_of(rule: Rule) -> Callable[[Any], bool]:
    """``rule.matches`` without the extra call when the rule has one."""
    pred = getattr(rule, "predicate", None)
    return pred if callable(pred) else rule.matches


def selection_from(priority: str, disabled: Sequence[str] = (),
                   disabled_tags: Sequence[str] = (),
                   enabled_tags: Sequence[str] = ()) -> RuleSelection:
    return RuleSelection(severity_of(priority), tuple(disabled),
                         frozenset(disabled_tags), frozenset(enabled_tags))
