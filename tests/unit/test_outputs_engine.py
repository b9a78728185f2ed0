# SPDX-License-Identifier: Apache-2.0
"""The engine pipeline (events -> inspector -> ruleset -> sink) on real
parts: rules compiled by the loader, events built in the driver's format,
the state inspector, the ruleset's own selection."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Iterator, Sequence

import pytest

from falco.app.drops import DROP_RULE, DropMonitor, read_stats
from falco.driver.ring import RingStats, SourceStats
from falco.engine.alert import Alert
from falco.engine.loop import Engine
from falco.events.build import make_event
from falco.events.capture_state import ProcEntry
from falco.events.event import Event
from falco.fields import default_registry
from falco.rules import Priority, RuleSet, load_rules
from falco.state import Inspector

REGISTRY = default_registry()
TS = 10**18
RULES = """
- rule: write_etc
  desc: a file below /etc opened
  condition: evt.type = openat and fd.name startswith /etc
  output: "write_etc %fd.name by %proc.name"
  priority: WARNING
  tags: [fs]
- rule: noisy_info
  desc: any openat
  condition: evt.type = openat
  output: "noisy_info %fd.name"
  priority: INFO
  tags: [net]
- rule: shell
  desc: a shell started
  condition: evt.type = execve and proc.name = sh
  output: "shell %proc.cmdline"
  priority: ERROR
  tags: [process, fs]
"""


def ruleset(text: str = RULES) -> RuleSet:
    return load_rules([("rules.yaml", text)], REGISTRY)


def inspector() -> Inspector:
    insp = Inspector()
    insp.bootstrap_capture([ProcEntry(tid=7, pid=7, ptid=1, comm="cat",
                                      exe="/bin/cat", exepath="/bin/cat",
                                      args=["/etc/passwd"], cwd="/")])
    return insp


def openat(path: str, num: int, ts: int) -> Event:
    return make_event("openat", "<", {"fd": 3 + num, "dirfd": -100,
                                      "name": path, "flags": "O_RDONLY",
                                      "mode": 0}, ts=ts, tid=7, num=num)


def execve(num: int, ts: int) -> Event:
    return make_event("execve", "<", {"res": 0, "exe": "sh",
                                      "args": "-c\0id\0", "tid": 7, "pid": 7,
                                      "ptid": 1, "comm": "sh"},
                      ts=ts, tid=7, num=num)


def events(*paths: str, step: int = 1000) -> list[Event]:
    """An openat per path ("exec": an execve of sh), ``step`` ns apart."""
    return [execve(i + 1, TS + i * step) if p == "exec"
            else openat(p, i + 1, TS + i * step)
            for i, p in enumerate(paths)]


def make(rules: RuleSet | None = None, **kw: Any
         ) -> tuple[Engine, list[Alert]]:
    got: list[Alert] = []
    return Engine(inspector(), rules or ruleset(), got.append, **kw), got


def test_first_and_all_matching() -> None:
    engine, got = make()
    engine.run([events("/etc/passwd", "/tmp/x", "exec")])
    assert [a.rule for a in got] == ["write_etc", "noisy_info", "shell"]
    engine, got = make(rule_matching="all")
    engine.run([events("/etc/passwd", "/tmp/x", "exec")])
    assert [a.rule for a in got] == ["write_etc", "noisy_info",
                                     "noisy_info", "shell"]
    assert engine.stats.events == 3


def test_alert_fields() -> None:
    engine, got = make(hostname="host1")
    engine.run([events("/etc/shadow")])
    a = got[0]
    assert (a.time, a.rule, a.priority, a.output, a.hostname, a.source) == (
        TS, "write_etc", Priority.WARNING, "write_etc /etc/shadow by cat",
        "host1", "syscall")
    assert a.output_fields == {"fd.name": "/etc/shadow", "proc.name": "cat"}
    assert a.tags == ("fs",) and a.severity == 4


def selected(**kw: Any) -> list[str]:
    rules = ruleset()
    rules.select(**kw)
    engine, got = make(rules, rule_matching="all")
    engine.run([events("/etc/passwd", "exec")])
    return [a.rule for a in got]


def test_selection_is_the_rulesets() -> None:
    assert selected(min_priority="warning") == ["write_etc", "shell"]
    # -D is a plain substring of the name, as in Falco
    assert selected(disabled=["_etc"]) == ["noisy_info", "shell"]
    assert selected(disabled=["^wr"]) == ["write_etc", "noisy_info", "shell"]
    assert selected(disabled=["i"]) == ["shell"]
    assert selected(enabled_tags=["fs"]) == ["write_etc", "shell"]
    assert selected(disabled_tags=["process"]) == ["write_etc",
                                                   "noisy_info"]
    with pytest.raises(ValueError, match="both disabled"):
        ruleset().select(disabled=["x"], enabled_tags=["fs"])


def test_summary_in_the_articles_shape() -> None:
    engine, got = make()
    engine.run([events("/etc/passwd", "/etc/hosts")])
    assert engine.stats.summary() == (
        "Events detected: 2\n"
        "Rule counts by severity:\n"
        "   Error: 0\n"
        "   Warning: 2\n"
        "   Informational: 0\n"
        "Triggered rules by rule name:\n"
        "   write_etc: 2\n")


def test_swap_between_events_loses_nothing() -> None:
    engine, got = make()
    new = ruleset(RULES.replace("write_etc", "new_etc"))

    def batches() -> Iterator[Sequence[Event]]:
        for i, evt in enumerate(events(*["/etc/passwd"] * 10)):
            if i == 4:
                engine.swap_rules(new)
            yield [evt]

    engine.run(batches())
    assert [a.rule for a in got] == ["write_etc"] * 4 + ["new_etc"] * 6
    assert engine.stats.reloads == 1
    assert engine.stats.events == 10
    assert 7 in engine.inspector.threads     # state kept across the swap


def test_broken_rule_does_not_stop_engine(caplog) -> None:
    def boom(ctx: Any) -> bool:
        raise RuntimeError("kaput")

    good = ruleset()
    bad = dataclasses.replace(good.get("write_etc"), predicate=boom,
                              specializer=None)
    engine, got = make(RuleSet([bad, good.get("noisy_info")]))
    logging.getLogger("falco").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.ERROR):
            engine.run([events("/etc/passwd", "/etc/passwd")])
    finally:
        logging.getLogger("falco").removeHandler(caplog.handler)
    assert [a.rule for a in got] == ["noisy_info", "noisy_info"]
    assert engine.stats.rule_errors["write_etc"] == 2
    assert len({id(r) for r in caplog.records if "kaput" in r.message}) == 1


def test_stop_ends_run_with_code() -> None:
    engine, got = make()

    def batches() -> Iterator[Sequence[Event]]:
        for i, evt in enumerate(events(*["/etc/passwd"] * 5)):
            if i == 2:
                engine.stop(3)
            yield [evt]

    assert engine.run(batches()) == 3
    assert len(got) == 2


class Counters:
    """Ring counters that grow by ``per`` drops with every read: what the
    driver's info pages show when it loses events."""

    def __init__(self, per: int) -> None:
        self.per, self.reads = per, 0

    def __call__(self) -> SourceStats:
        self.reads += 1
        return SourceStats([RingStats(0, n_evts=10 * self.reads,
                                      n_drops_buffer=self.per * self.reads)])


@pytest.mark.parametrize("actions,per,exit_code,detected,taken", [
    # 6 events one second apart: 5 checks after the first event.
    (("log", "alert"), 1, 0, 5, 2),     # max_burst 2 limits actions
    (("ignore",), 1, 0, 5, 2),
    (("alert",), 0, 0, 0, 0),           # no drops, nothing happens
    (("exit",), 1, 1, 1, 1),
])
def test_drop_monitor(actions, per, exit_code, detected, taken,
                      caplog) -> None:
    got: list[Alert] = []
    engine = Engine(inspector(), ruleset(), got.append)
    monitor = DropMonitor(actions, 0.01, 0.0001, 2, False, Counters(per),
                          got.append, engine.stop)
    engine.on_event = monitor.on_event
    logging.getLogger("falco").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.ERROR):
            assert engine.run([events(*["/tmp/x"] * 6, step=10**9)]) == \
                exit_code
    finally:
        logging.getLogger("falco").removeHandler(caplog.handler)
    drop_alerts = [a for a in got if a.rule == DROP_RULE]
    assert monitor.detected == detected
    assert monitor.actions_taken == taken
    assert len(drop_alerts) == (taken if "alert" in actions else 0)
    assert all(a.priority is Priority.DEBUG for a in drop_alerts)
    logged = {id(r) for r in caplog.records if DROP_RULE in r.getMessage()}
    assert bool(logged) == (("log" in actions or "exit" in actions)
                            and bool(taken))
    assert f"event drop detected: {detected} occurrences" in \
        monitor.summary()


def test_read_stats_from_ring_counters() -> None:
    stats = SourceStats([RingStats(0, n_evts=100, n_drops_buffer=3,
                                   n_drops_pf=1),
                         RingStats(1, n_evts=50, n_preemptions=2)])
    got = read_stats(lambda: stats)
    assert got["n_evts"] == 150 and got["n_drops"] == 6
    assert got["n_drops_buffer"] == 3 and got["n_preemptions"] == 2
    assert read_stats(None) == {}


def test_per_cpu_counters_add_up() -> None:
    """seen = delivered + skipped + filtered + dropped, per CPU, in the
    stats, the exit report and the drop monitor's share (filtered events
    are not part of it)."""
    from falco.app.drops import cpu_report, read_per_cpu
    stats = SourceStats([RingStats(0, n_evts=100, n_drops_buffer=3,
                                   n_filtered=90, delivered=5, skipped=2),
                         RingStats(1, n_evts=50, n_filtered=10,
                                   delivered=40)])
    got = read_stats(lambda: stats)
    assert got["n_filtered"] == 100
    cpus = read_per_cpu(stats)
    assert cpus[0] == {"n_evts": 100, "delivered": 5, "skipped": 2,
                       "n_filtered": 90, "n_drops": 3}
    for c in cpus.values():
        assert c["n_evts"] == (c["delivered"] + c["skipped"]
                               + c["n_filtered"] + c["n_drops"])
    assert ("cpu 0: seen 100, delivered 5, skipped 2, filtered 90, "
            "dropped 3") in cpu_report(stats)
    now = [SourceStats([RingStats(0)])]
    alerts: list = []
    monitor = DropMonitor(("alert",), 0.05, 1000.0, 10, False,
                          lambda: now[0], lambda a: alerts.append(a),
                          lambda code: None)
    monitor.check(0)
    now[0] = stats
    monitor.check(1_000_000_000)
    # 3 dropped of the 50 that should have come (6%, over 5%); of the
    # 150 seen it would be 2%
    assert len(alerts) == 1
    assert alerts[0].output_fields["n_filtered"] == 100


def test_swap_to_an_empty_ruleset() -> None:
    engine, got = make()
    engine.swap_rules(ruleset("[]"))
    engine.run([events("/etc/passwd")])
    assert got == [] and engine.ruleset.evttypes() == frozenset()
