# SPDX-License-Identifier: Apache-2.0
"""syscall_event_drops: act when the source reports dropped events.

Once per second of event time the monitor diffs the source's counters
(``n_evts``, ``n_drops``). When drops are seen and their share exceeds
``threshold``, it claims a token (``rate`` per second, ``max_burst``) and
performs the configured actions: ``log`` (an error log line), ``alert``
(the "Falco internal: syscall event drop" alert through the outputs),
``exit`` (stop with status 1) or ``ignore``. ``simulate_drops`` reports a
drop every second, for tests.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from falco.driver.ring import SourceStats
from falco.engine.alert import Alert
from falco.events.event import Event
from falco.rules.model import Priority
from falco.outputs.manager import TokenBucket

log = logging.getLogger(__name__)

NS = 1_000_000_000
DROP_RULE = "Falco internal: syscall event drop"


def read_stats(stats: Callable[[], SourceStats] | None) -> dict[str, int]:
    """The live rings' counters summed over CPUs ({} for a capture)."""
    if stats is None:
        return {}
    total = stats().total
    return {"n_evts": int(total.n_evts),
            "n_drops": int(total.dropped),
            "n_drops_buffer": int(total.n_drops_buffer),
            "n_drops_pf": int(total.n_drops_pf),
            "n_preemptions": int(total.n_preemptions)}


@dataclass(slots=True)
class DropMonitor:
    actions: tuple[str, ...]
    threshold: float
    rate: float
    max_burst: int
    simulate: bool
    stats: Callable[[], SourceStats] | None
    emit: Callable[[Alert], Any]
    stop: Callable[[int], None]
    hostname: str = ""
    detected: int = 0
    actions_taken: int = 0
    _now_ns: int = 0
    _last_check: int = 0
    _last: dict[str, int] = field(default_factory=dict)
    _bucket: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.rate, self.max_burst,
                                   clock=lambda: self._now_ns / NS)

    def on_event(self, evt: Event) -> None:
        ts = evt.ts
        if not self._last_check:
            self._last_check = ts
            self._last = read_stats(self.stats)
            return
        if ts - self._last_check < NS:
            return
        self._last_check = ts
        self._now_ns = ts
        self.check(ts)

    def check(self, ts: int) -> None:
        stats = read_stats(self.stats)
        delta = {k: stats.get(k, 0) - self._last.get(k, 0) for k in stats}
        self._last = stats
        n_evts, n_drops = delta.get("n_evts", 0), delta.get("n_drops", 0)
        if self.simulate:
            n_drops = max(n_drops, 1)
            n_evts = max(n_evts, n_drops)
            delta["n_drops"], delta["n_evts"] = n_drops, n_evts
        if n_drops <= 0:
            return
        self.detected += 1
        ratio = n_drops / n_evts if n_evts else 1.0
        if ratio <= self.threshold and not self.simulate:
            return
        if not self._bucket.claim():
            return
        self.actions_taken += 1
        msg = (f"{DROP_RULE}. {n_drops} system calls dropped in last "
               "second.")
        if "log" in self.actions:
            log.error("%s", msg)
        if "alert" in self.actions:
            ebpf = getattr(self.source, "engine", "") == "modern_ebpf"
            fields = {"ebpf_enabled": int(ebpf), **delta}
            text = msg + " (" + " ".join(
                f"{k}={v}" for k, v in fields.items()) + ")"
            self.emit(Alert(time=ts, rule=DROP_RULE, priority=Priority.DEBUG,
                            output=text, source="internal",
                            output_fields=fields, hostname=self.hostname))
        if "exit" in self.actions:
            log.critical("%s", msg)
            log.critical("Exiting.")
            self.stop(1)

    def summary(self) -> str:
        return ("Syscall event drop monitoring:\n"
                f"   - event drop detected: {self.detected} occurrences\n"
                f"   - num times actions taken: {self.actions_taken}\n")
