# SPDX-License-Identifier: Apache-2.0
"""State on demand: fd table entries the event stream no longer carries.

When the prefilter keeps fd events in the kernel, the inspector does not
keep fd tables; an event that uses an fd (``connect``, ``fchmod``, an
``openat`` relative to a directory fd) asks an :class:`FdSource` for the
entry as full processing would have it:
- live, ``ProcFdSource`` reads ``/proc/<pid>/fd/<fd>`` (and the socket
  tables), within a budget of lookups per second of event time;
- on a capture, ``CaptureFdSource`` replays the capture in a second
  inspector that sees every event (the state without the prefilter) up to
  the event asking, and copies its entry.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

from falco.state.entries import FdInfo, ThreadInfo
from falco.state.procfs import ProcReader

log = logging.getLogger(__name__)
NS = 1_000_000_000


class FdSource(Protocol):
    """Where fd entries come from when the inspector keeps no fd tables."""

    def lookup(self, thread: ThreadInfo, fd: int, evt: Any
               ) -> FdInfo | None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class ProcFdSource:
    """Live: read the fd from /proc (the process's table right now)."""

    procfs: ProcReader
    budget: int = 1024          # lookups per second of event time
    lookups: int = 0
    skipped: int = 0
    _window: int = 0
    _used: int = 0

    def lookup(self, thread: ThreadInfo, fd: int, evt: Any
               ) -> FdInfo | None:
        window = int(getattr(evt, "ts", 0)) // NS
        if window != self._window:
            self._window, self._used = window, 0
            self.procfs.forget_net()
        if self._used >= self.budget:
            self.skipped += 1
            return None
        self._used += 1
        self.lookups += 1
        return self.procfs.read_fd(thread.pid, fd)

    def close(self) -> None:
        pass


Events = Callable[[], Iterator[Any]]


@dataclass(slots=True)
class CaptureFdSource:
    """A capture: a second inspector fed every event of the capture, up
    to the one asking, holds the fd tables full processing would have.

    ``events`` opens the capture again (every event, in order);
    ``inspector`` is the second inspector, bootstrapped from the
    capture's lists. Both are made on the first lookup only.
    """

    make: Callable[[], tuple[Any, Iterator[Any]]]
    lookups: int = 0
    _inspector: Any = None
    _events: Iterator[Any] | None = None
    _next: Any = None
    _done: bool = False
    _reader: Any = field(default=None)

    def _advance(self, num: int) -> None:
        if self._inspector is None:
            self._reader, self._inspector, self._events = self._open()
        insp = self._inspector
        while not self._done:
            if self._next is None:
                try:
                    self._next = next(self._events)  # type: ignore[arg-type]
                except StopIteration:
                    self._done = True
                    return
            if self._next.num >= num:
                return
            insp.process(self._next)
            self._next = None

    def _open(self) -> tuple[Any, Any, Iterator[Any]]:
        reader, inspector = self.make()
        return reader, inspector, iter(reader)

    def lookup(self, thread: ThreadInfo, fd: int, evt: Any
               ) -> FdInfo | None:
        self.lookups += 1
        self._advance(int(getattr(evt, "num", 0)))
        shadow = self._inspector.threads.get(thread.tid)
        if shadow is None:
            return None
        fdi = shadow.fds.get(fd)
        if fdi is None:
            return None
        copy = fdi.clone(fd)
        copy.cloexec = fdi.cloexec
        copy.name_changed = fdi.name_changed
        return copy

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
