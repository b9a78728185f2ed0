# SPDX-License-Identifier: Apache-2.0
"""Fan alerts out to the configured outputs, with throttling.

``OutputManager.send(alert)`` encodes the alert once (the one escaping
step, :mod:`falco.outputs.encode`), claims a token from
the ``outputs`` token bucket (rate per second, max_burst) and hands the
line to every output's queue. Suppressed alerts and per-output drops are
counted and reported at exit and on /metrics.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from falco.engine.alert import Alert
from falco.outputs.base import Output, QueuedOutput
from falco.outputs.format import AlertFormatter

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second, at most ``max_burst`` saved up.

    A rate of 0 disables throttling.
    """

    rate: float
    max_burst: int
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    last: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.max_burst)
        self.last = self.clock()

    def claim(self) -> bool:
        if self.rate <= 0:
            return True
        now = self.clock()
        self.tokens = min(float(self.max_burst),
                          self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class OutputManager:
    formatter: AlertFormatter
    throttle: TokenBucket | None = None
    capacity: int = 0
    slow_after: float | None = None
    workers: list[QueuedOutput] = field(default_factory=list)
    sent: int = 0
    suppressed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, output: Output) -> None:
        worker = QueuedOutput(output, self.capacity, self.slow_after)
        worker.start()
        self.workers.append(worker)

    def send(self, alert: Alert) -> bool:
        with self._lock:
            if self.throttle is not None and not self.throttle.claim():
                self.suppressed += 1
                log.debug("Skipping rate-limited notification for rule %s",
                          alert.rule)
                return False
            self.sent += 1
        encoded = self.formatter.encode(alert)
        for worker in self.workers:
            worker.submit(encoded)
        return True

    __call__ = send

    def reopen(self) -> None:
        for worker in self.workers:
            worker.reopen()

    def flush(self, timeout: float | None = 10.0) -> None:
        for worker in self.workers:
            worker.flush(timeout)

    def stop(self, timeout: float = 15.0, budget: float | None = None
             ) -> None:
        """Deliver what is queued, close. An output that makes no progress
        for ``timeout`` seconds is abandoned (and reported); with a
        ``budget`` every output gets at most that many seconds in all
        (they drain at the same time)."""
        until = None if budget is None else time.monotonic() + budget
        for worker in self.workers:
            worker.request_stop(until)
        for worker in self.workers:
            if not worker.wait_stopped(timeout, until):
                log.warning("output %s stalled: %d alerts not delivered",
                            worker.name, worker.stats.abandoned)

    def report(self) -> list[str]:
        lines = []
        if self.suppressed:
            lines.append(f"Outputs throttling: {self.suppressed} alerts "
                         "suppressed (outputs.rate/max_burst)")
        for worker in self.workers:
            stats = worker.stats
            if stats.dropped or stats.failed or stats.abandoned:
                lines.append(f"Output {worker.name}: {stats.dropped} alerts "
                             f"dropped (queue full), {stats.failed} failed, "
                             f"{stats.abandoned} not delivered at exit")
        return lines
