# SPDX-License-Identifier: Apache-2.0
"""The engine pipeline (source -> state -> rules -> sink) with small fakes."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest

from falco.app.drops import DROP_RULE, DropMonitor
from falco.engine.alert import Alert
from falco.engine.loop import Engine, RuleSelection, selection_from


@dataclass
class Evt:
    name: str
    ts: int
    num: int = 0
    res: int = 0


class Inspector:
    def __init__(self) -> None:
        self.seen = 0

    def process(self, evt: Evt) -> Evt:
        self.seen += 1
        return evt


@dataclass
class Rule:
    name: str
    priority: str = "Warning"
    tags: tuple[str, ...] = ()
    evttypes: frozenset[str] | None = frozenset({"open"})
    pred: Callable[[Any], bool] = lambda ctx: True
    source: str = "syscall"

    def matches(self, ctx: Any) -> bool:
        return self.pred(ctx)

    def format_output(self, ctx: Any) -> tuple[str, dict[str, Any]]:
        return f"{self.name} saw {ctx.name}", {"evt.num": ctx.num}


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)

    def rules_for(self, evt_name: str) -> list[Rule]:
        return [r for r in self.rules
                if r.evttypes is None or evt_name in r.evttypes]

    def __len__(self) -> int:           # like the real RuleSet
        return len(self.rules)


def events(*names: str, start: int = 10**18, step: int = 1000
           ) -> list[Evt]:
    return [Evt(n, start + i * step, i + 1) for i, n in enumerate(names)]


def make(rules: list[Rule], **kw: Any) -> tuple[Engine, list[Alert]]:
    got: list[Alert] = []
    return Engine(Inspector(), RuleSet(rules), got.append, **kw), got


def test_first_and_all_matching() -> None:
    rules = [Rule("a"), Rule("b"), Rule("c", evttypes=frozenset({"exec"}))]
    engine, got = make(rules)
    engine.run(events("open", "exec", "close"))
    assert [a.rule for a in got] == ["a", "c"]
    engine, got = make(rules, rule_matching="all")
    engine.run(events("open", "exec", "close"))
    assert [a.rule for a in got] == ["a", "b", "c"]
    assert engine.inspector.seen == 3 and engine.stats.events == 3


def test_alert_fields() -> None:
    engine, got = make([Rule("a", priority="ERROR", tags=("x", "y"))],
                       hostname="host1")
    engine.run(events("open"))
    a = got[0]
    assert (a.time, a.rule, a.priority, a.output, a.hostname) == (
        10**18, "a", "Error", "a saw open", "host1")
    assert a.output_fields == {"evt.num": 1} and set(a.tags) == {"x", "y"}


def test_selection_priority_and_names_and_tags() -> None:
    rules = [Rule("write_etc", "Warning", ("fs",)),
             Rule("noisy_info", "Informational", ("net",)),
             Rule("shell", "Error", ("process", "fs"))]
    engine, got = make(rules, rule_matching="all",
                       selection=selection_from("warning"))
    engine.run(events("open"))
    assert [a.rule for a in got] == ["write_etc", "shell"]
    engine, got = make(rules, rule_matching="all",
                       selection=RuleSelection(disabled_patterns=("^wr",)))
    engine.run(events("open"))
    assert [a.rule for a in got] == ["noisy_info", "shell"]
    engine, got = make(rules, rule_matching="all",
                       selection=RuleSelection(enabled_tags=frozenset({"fs"}),
                                               disabled_tags=frozenset()))
    engine.run(events("open"))
    assert [a.rule for a in got] == ["write_etc", "shell"]
    engine, got = make(rules, rule_matching="all",
                       selection=RuleSelection(
                           disabled_tags=frozenset({"process"})))
    engine.run(events("open"))
    assert [a.rule for a in got] == ["write_etc", "noisy_info"]


def test_summary_in_the_articles_shape() -> None:
    rules = [Rule("write_etc", "Warning"),
             Rule("shell_in_container", "Error", pred=lambda c: False),
             Rule("outbound", "Informational", pred=lambda c: False)]
    engine, got = make(rules)
    engine.run(events("open", "close", "open"))
    assert engine.stats.summary() == (
        "Events detected: 2\n"
        "Rule counts by severity:\n"
        "   Error: 0\n"
        "   Warning: 2\n"
        "   Informational: 0\n"
        "Triggered rules by rule name:\n"
        "   write_etc: 2\n")


def test_swap_between_events_loses_nothing() -> None:
    engine, got = make([Rule("old")])
    new = RuleSet([Rule("new")])

    def source() -> Iterator[Evt]:
        for i, evt in enumerate(events(*["open"] * 10)):
            if i == 4:
                engine.swap_rules(new)
            yield evt

    engine.run(source())
    assert [a.rule for a in got] == ["old"] * 4 + ["new"] * 6
    assert engine.stats.reloads == 1
    assert engine.inspector.seen == 10     # state kept across the swap


def test_broken_rule_does_not_stop_engine(caplog) -> None:
    def boom(ctx: Any) -> bool:
        raise RuntimeError("kaput")

    engine, got = make([Rule("bad", pred=boom), Rule("good")])
    logging.getLogger("falco").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.ERROR):
            engine.run(events("open", "open"))
    finally:
        logging.getLogger("falco").removeHandler(caplog.handler)
    assert [a.rule for a in got] == ["good", "good"]
    assert engine.stats.rule_errors["bad"] == 2
    assert len({id(r) for r in caplog.records if "kaput" in r.message}) == 1


def test_stop_ends_run_with_code() -> None:
    engine, got = make([Rule("a")])

    def source() -> Iterator[Evt]:
        for i, evt in enumerate(events(*["open"] * 5)):
            if i == 2:
                engine.stop(3)
            yield evt

    assert engine.run(source()) == 3
    assert len(got) == 2


def test_interesting_events() -> None:
    engine, _ = make([Rule("a"), Rule("b", evttypes=frozenset({"execve"}))])
    assert engine.interesting_events() == {"open", "execve"}
    engine, _ = make([Rule("a"), Rule("any", evttypes=None)])
    assert engine.interesting_events() is None


class CountingSource:
    def __init__(self, evts: list[Evt], drops_per_evt: int) -> None:
        self.evts, self.per = evts, drops_per_evt
        self.n_evts = self.n_drops = 0

    def stats(self) -> dict[str, int]:
        return {"n_evts": self.n_evts, "n_drops": self.n_drops}

    def __iter__(self) -> Iterator[Evt]:
        for evt in self.evts:
            self.n_evts += 1
            self.n_drops += self.per
            yield evt


@pytest.mark.parametrize("actions,per,exit_code,detected,taken", [
    # 6 events one second apart: 5 checks after the first event.
    (("log", "alert"), 1, 0, 5, 2),     # max_burst 2 limits actions
    (("ignore",), 1, 0, 5, 2),
    (("alert",), 0, 0, 0, 0),           # no drops, nothing happens
    (("exit",), 1, 1, 1, 1),
])
def test_drop_monitor(actions, per, exit_code, detected, taken,
                      caplog) -> None:
    rules = [Rule("r", evttypes=frozenset({"open"}))]
    evts = events(*["open"] * 6, step=10**9)       # one per second
    source = CountingSource(evts, per)
    got: list[Alert] = []
    engine = Engine(Inspector(), RuleSet(rules), got.append)
    monitor = DropMonitor(actions, 0.1, 0.0001, 2, False, source,
                          got.append, engine.stop)
    engine.on_event = monitor.on_event
    logging.getLogger("falco").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.ERROR):
            assert engine.run(source) == exit_code
    finally:
        logging.getLogger("falco").removeHandler(caplog.handler)
    drop_alerts = [a for a in got if a.rule == DROP_RULE]
    assert monitor.detected == detected
    assert monitor.actions_taken == taken
    assert len(drop_alerts) == (taken if "alert" in actions else 0)
    logged = {id(r) for r in caplog.records if DROP_RULE in r.getMessage()}
    assert bool(logged) == (("log" in actions or "exit" in actions)
                            and bool(taken))
    assert f"event drop detected: {detected} occurrences" in \
        monitor.summary()


def test_read_stats_from_ring_counters() -> None:
    from falco.driver.ring import RingStats, SourceStats
    from falco.app.drops import read_stats

    stats = SourceStats([RingStats(0, n_evts=100, n_drops_buffer=3,
                                   n_drops_pf=1),
                         RingStats(1, n_evts=50, n_preemptions=2)])

    class Src:
        def stats(self) -> SourceStats:
            return stats

    got = read_stats(Src())
    assert got["n_evts"] == 150 and got["n_drops"] == 6
    assert got["n_drops_buffer"] == 3
    assert read_stats(object()) == {}


def test_swap_to_an_empty_ruleset() -> None:
    engine, got = make([Rule("a")])
    assert engine.interesting_events(RuleSet([])) == set()
    engine.swap_rules(RuleSet([]))
    engine.run(events("open"))
    assert got == [] and engine.interesting_events() == set()
