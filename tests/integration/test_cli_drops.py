# SPDX-License-Identifier: Apache-2.0
"""syscall_event_drops driven by the real ring counters: a fake ring with
the kernel layout overflows, the reader's counters show the drops, the
monitor raises the internal alert."""
from __future__ import annotations

from typing import Iterator

import pytest

from falco.app.drops import DROP_RULE, DropMonitor
from falco.driver.schema import get_schema
from falco.engine.alert import Alert
from falco.engine.loop import Engine
from falco.events.encode import encode_event
from falco.events.event import Event
from falco.events.live import LiveSource
from falco.rules import RuleSet
from falco.state import Inspector
from support.fake_ring import FakeRing

NS = 1_000_000_000


def drain(source: LiveSource) -> Iterator[list[Event]]:
    """The batches the rings hold now (a live source never ends)."""
    while True:
        batch = source.next_batch(block=False)
        if not batch:
            return
        yield batch


def test_drop_log_names_the_cpus(caplog: pytest.LogCaptureFixture) -> None:
    """The drop report's log line says which CPUs' rings dropped."""
    code = get_schema().by_name["close"][0]
    rings = [FakeRing(0, size=4096), FakeRing(1, size=4096)]
    source = LiveSource(rings=rings)
    engine = Engine(Inspector(), RuleSet([]), lambda a: None)
    monitor = DropMonitor(("log",), 0.1, 1.0, 5, False, source.stats,
                          lambda a: None, lambda c: None)
    engine.on_event = monitor.on_event
    try:
        assert rings[0].write(encode_event(code, 10 * NS, 1, [3]))
        engine.run(drain(source))
        written = sum(rings[1].write(encode_event(code, 10 * NS + i, 1, [3]))
                      for i in range(1, 2000))
        assert 0 < written < 1999
        engine.run(drain(source))
        assert rings[0].write(encode_event(code, 12 * NS, 1, [3]))
        with caplog.at_level("ERROR"):
            engine.run(drain(source))
    finally:
        source.close()
        for ring in rings:
            ring.close()
    assert f"Dropped per CPU: 1:{1999 - written}." in caplog.text


def test_ring_overflow_raises_drop_alert() -> None:
    code = get_schema().by_name["close"][0]
    ring = FakeRing(0, size=4096)
    source = LiveSource(rings=[ring])
    got: list[Alert] = []
    stopped: list[int] = []
    engine = Engine(Inspector(), RuleSet([]), got.append)
    monitor = DropMonitor(("alert",), 0.1, 1.0, 5, False, source.stats,
                          got.append, stopped.append)
    engine.on_event = monitor.on_event
    try:
        assert ring.write(encode_event(code, 10 * NS, 1, [3]))
        engine.run(drain(source))                  # baseline counters
        written = sum(ring.write(encode_event(code, 10 * NS + i, 1, [3]))
                      for i in range(1, 2000))
        assert 0 < written < 1999                  # the ring overflowed
        engine.run(drain(source))
        assert ring.write(encode_event(code, 12 * NS, 1, [3]))
        engine.run(drain(source))                  # one second later
    finally:
        source.close()
        ring.close()
    drops = [a for a in got if a.rule == DROP_RULE]
    assert len(drops) == 1 and not stopped
    fields = drops[0].output_fields
    assert fields["n_drops"] == 1999 - written
    assert fields["n_drops_buffer"] == 1999 - written
    assert f"{1999 - written} system calls dropped" in drops[0].output
    assert monitor.detected == 1 and monitor.actions_taken == 1
