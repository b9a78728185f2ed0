# SPDX-License-Identifier: Apache-2.0
"""The output contract and the queue + worker thread each output runs on.

An output only has to implement ``emit(alert)``, given the alert already
encoded (:class:`falco.outputs.format.EncodedAlert`: the line, its bytes,
the JSON body, the journal fields); ``QueuedOutput``
gives it a bounded queue and its own thread, so a stalled sink (an HTTP
server that does not answer, a full pipe) never delays the others. When
the queue is full the alert is dropped for that output and counted.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from falco.outputs.format import EncodedAlert

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 65536


class Output(Protocol):
    name: str

    def emit(self, alert: EncodedAlert) -> None:
        """Deliver one alert; raise OSError on failure."""

    def reopen(self) -> None:
        """Reopen files (SIGUSR1, log rotation)."""

    def close(self) -> None:
        """Flush and release everything."""


@dataclass(slots=True)
class OutputStats:
    queued: int = 0
    delivered: int = 0
    dropped: int = 0       # queue full
    failed: int = 0        # emit raised
    abandoned: int = 0     # still queued when the daemon had to exit
    slow: int = 0          # deliveries that took longer than output_timeout


@dataclass(frozen=True, slots=True)
class _Control:
    what: str               # "reopen", "flush" or "stop"
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class QueuedOutput:
    """Runs one output on its own bounded queue and worker thread."""

    output: Output
    capacity: int = DEFAULT_CAPACITY
    slow_after: float | None = None     # seconds (output_timeout)
    stats: OutputStats = field(default_factory=OutputStats)
    _queue: queue.Queue[EncodedAlert | _Control] = field(init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _failed_before: int = field(default=0, init=False)
    _stop: _Control | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._queue = queue.Queue(maxsize=self.capacity or DEFAULT_CAPACITY)

    @property
    def name(self) -> str:
        return self.output.name

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"output-{self.name}")
        self._thread.start()

    def submit(self, alert: EncodedAlert) -> bool:
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            with self._lock:
                self.stats.dropped += 1
            return False
        with self._lock:
            self.stats.queued += 1
        return True

    def _control(self, what: str, timeout: float | None) -> bool:
        ctl = _Control(what)
        try:
            self._queue.put(ctl, timeout=timeout)
        except queue.Full:
            return False
        return ctl.done.wait(timeout)

    def reopen(self) -> None:
        # Never wait: the caller may be a signal handler.
        try:
            self._queue.put_nowait(_Control("reopen"))
        except queue.Full:
            log.warning("output %s: queue full, reopen skipped", self.name)

    def flush(self, timeout: float | None = None) -> bool:
        return self._control("flush", timeout)

    def stop(self, timeout: float | None = 15.0,
             until: float | None = None) -> bool:
        """Drain the queue and close the output. Waits as long as the
        output keeps delivering; gives up after ``timeout`` seconds
        without progress, or at ``until`` (a time.monotonic() deadline).
        False if alerts were left undelivered."""
        return self.request_stop(until) and self.wait_stopped(timeout, until)

    def request_stop(self, until: float | None = None) -> bool:
        """Queue the stop after what is queued; False if the queue stays
        full until ``until``."""
        if self._thread is None:
            self.output.close()
            return True
        if self._stop is None:
            ctl = _Control("stop")
            wait = None if until is None else max(until - time.monotonic(),
                                                  0.0)
            try:
                self._queue.put(ctl, timeout=wait)
            except queue.Full:
                self._abandon()
                return False
            self._stop = ctl
        return True

    def wait_stopped(self, timeout: float | None = 15.0,
                     until: float | None = None) -> bool:
        ctl = self._stop
        if self._thread is None:
            return True
        if ctl is None:
            self._abandon()
            return False
        last, idle_since = -1, time.monotonic()
        while not ctl.done.wait(0.05):
            with self._lock:
                progress = self.stats.delivered + self.stats.failed
            now = time.monotonic()
            if progress != last:
                last, idle_since = progress, now
            elif (timeout is not None and now - idle_since > timeout) or \
                    (until is not None and now >= until):
                self._abandon()
                return False
        self._thread.join(timeout)
        return True

    def _abandon(self) -> None:
        with self._lock:
            st = self.stats
            st.abandoned = st.queued - st.delivered - st.failed

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, _Control):
                if item.what == "reopen":
                    self._safe(self.output.reopen)
                elif item.what == "stop":
                    self._safe(self.output.close)
                    item.done.set()
                    return
                item.done.set()
                continue
            start = time.monotonic()
            try:
                self.output.emit(item)
            except Exception as exc:  # a sink must never kill the worker
                with self._lock:
                    self.stats.failed += 1
                    streak = self.stats.failed - self._failed_before
                if streak == 1:     # once per failure streak, not per alert
                    log.error("output %s: cannot deliver alert: %s",
                              self.name, exc)
            else:
                self._check_slow(time.monotonic() - start)
                with self._lock:
                    self.stats.delivered += 1
                    if self.stats.failed != self._failed_before:
                        log.info("output %s: delivering again after %d "
                                 "failures", self.name,
                                 self.stats.failed - self._failed_before)
                    self._failed_before = self.stats.failed

    def _check_slow(self, took: float) -> None:
        if self.slow_after is None or took <= self.slow_after:
            return
        with self._lock:
            self.stats.slow += 1
            first = self.stats.slow == 1
        if first or self.stats.slow % 100 == 0:
            log.warning("output %s: delivering an alert took %.0f ms, more "
                        "than output_timeout (%.0f ms); %d slow deliveries "
                        "so far", self.name, took * 1000,
                        self.slow_after * 1000, self.stats.slow)

    def _safe(self, func: object) -> None:
        try:
            func()  # type: ignore[operator]
        except Exception as exc:
            log.error("output %s: %s", self.name, exc)
