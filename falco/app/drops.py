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


def read_stats(stats: Callable[[], SourceStats] | None,
               snap: SourceStats | None = None) -> dict[str, int]:
    """The live rings' counters summed over CPUs ({} for a capture); from
    @snap, a reading already taken, when given."""
    if snap is None:
        if stats is None:
            return {}
        snap = stats()
    total = snap.total
    return {"n_evts": int(total.n_evts),
            "n_drops": int(total.dropped),
            "n_drops_buffer": int(total.n_drops_buffer),
            "n_drops_pf": int(total.n_drops_pf),
            "n_preemptions": int(total.n_preemptions),
            "n_filtered": int(total.n_filtered)}


def read_per_cpu(snap: SourceStats | None) -> dict[int, dict[str, int]]:
    """Per-CPU counters of a reading of the live source (module rings or
    BPF programs): events seen, filtered in the kernel (prefilter),
    dropped, and of those written, delivered to falco or skipped in C.
    Once the rings are read: seen = delivered + skipped + filtered +
    dropped."""
    if snap is None:
        return {}
    return {int(s.cpu): {"n_evts": int(s.n_evts), "delivered": int(s.delivered),
                         "skipped": int(s.skipped),
                         "n_filtered": int(s.n_filtered),
                         "n_drops": int(s.dropped)}
            for s in snap.per_cpu}


def cpu_report(snap: SourceStats) -> str:
    """The per-CPU lines of the exit statistics."""
    lines = ["Kernel events by CPU (seen = delivered + skipped in C + "
             "filtered in the kernel + dropped):"]
    for cpu, c in sorted(read_per_cpu(snap).items()):
        lines.append(f"   - cpu {cpu}: seen {c['n_evts']}, delivered "
                     f"{c['delivered']}, skipped {c['skipped']}, filtered "
                     f"{c['n_filtered']}, dropped {c['n_drops']}")
    return "\n".join(lines) + "\n"


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
    _last_cpu: dict[int, dict[str, int]] = field(default_factory=dict)
    _ebpf: bool = False
    _bucket: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        self._bucket = TokenBucket(self.rate, self.max_burst,
                                   clock=lambda: self._now_ns / NS)

    def on_event(self, evt: Event) -> None:
        ts = evt.ts
        if not self._last_check:
            self._last_check = ts
            snap = self.stats() if self.stats is not None else None
            self._last = read_stats(self.stats, snap)
            self._last_cpu = read_per_cpu(snap)
            return
        if ts - self._last_check < NS:
            return
        self._last_check = ts
        self._now_ns = ts
        self.check(ts)

    def check(self, ts: int) -> None:
        snap = self.stats() if self.stats is not None else None
        stats = read_stats(self.stats, snap)
        delta = {k: stats.get(k, 0) - self._last.get(k, 0) for k in stats}
        self._last = stats
        per_cpu = read_per_cpu(snap)
        cpu_drops = {cpu: c["n_drops"] - self._last_cpu.get(cpu, {}).get("n_drops", 0)
                     for cpu, c in per_cpu.items()}
        self._last_cpu = per_cpu
        self._ebpf = snap is not None and snap.engine == "modern_ebpf"
        n_evts, n_drops = delta.get("n_evts", 0), delta.get("n_drops", 0)
        if self.simulate:
            n_drops = max(n_drops, 1)
            n_evts = max(n_evts, n_drops)
            delta["n_drops"], delta["n_evts"] = n_drops, n_evts
        if n_drops <= 0:
            return
        self.detected += 1
        # events the prefilter kept in the kernel were never meant to
        # reach falco: the share is of the events that should have
        wanted = n_evts - delta.get("n_filtered", 0)
        ratio = n_drops / wanted if wanted > 0 else 1.0
        if ratio <= self.threshold and not self.simulate:
            return
        if not self._bucket.claim():
            return
        self.actions_taken += 1
        msg = (f"{DROP_RULE}. {n_drops} system calls dropped in last "
               "second.")
        by_cpu = " ".join(f"{cpu}:{n}" for cpu, n in sorted(cpu_drops.items()) if n)
        if "log" in self.actions:
            log.error("%s%s", msg, f" Dropped per CPU: {by_cpu}." if by_cpu else "")
        if "alert" in self.actions:
            fields = {"ebpf_enabled": int(self._ebpf), **delta}
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
