# SPDX-License-Identifier: Apache-2.0
"""What the inspector needs to know about events beyond their parameters,
and its counters."""
from __future__ import annotations

from dataclasses import dataclass, field

from falco.driver._falco_ffi import lib
from falco.events.event import Event

_FD_FLAGS = lib.EF_CREATES_FD | lib.EF_DESTROYS_FD | lib.EF_USES_FD


def detached(evt: Event) -> Event:
    """An enter event kept for pairing must not pin its source's whole
    batch buffer (a ring snapshot or a capture chunk): copy it out."""
    if len(evt.buf) <= 4096:
        return evt
    return evt.detached()


@dataclass(slots=True)
class EnterKeeper:
    """Each thread's last enter event, for pairing with its exit event.

    Events of an immutable (``bytes``) batch buffer are kept as they are
    while their batch is current; when an enter event from another buffer
    comes, the ones still kept are copied out (``detached``). So a copy is
    made per thread and batch rather than per enter event, and at most one
    batch buffer stays pinned. Other buffers (which a source may reuse) are
    copied at once.
    """

    kept: dict[int, Event] = field(default_factory=dict)
    _buf: bytes | memoryview | None = None
    _fresh: set[int] = field(default_factory=set)

    def keep(self, tid: int, evt: Event) -> None:
        buf = evt.buf
        if buf.__class__ is not bytes:
            self.kept[tid] = detached(evt)
            return
        if buf is not self._buf:
            self.release()
            self._buf = buf
        self._fresh.add(tid)
        self.kept[tid] = evt

    def release(self) -> None:
        """Copy out the kept events that still share the current buffer."""
        kept, buf = self.kept, self._buf
        for tid in self._fresh:
            evt = kept.get(tid)
            if evt is not None and evt.buf is buf:
                kept[tid] = detached(evt)
        self._fresh.clear()
        self._buf = None


@dataclass(slots=True)
class InspectorStats:
    threads_added: int = 0
    threads_removed: int = 0
    threads_dropped: int = 0
    fds_dropped: int = 0
    proc_lookups: int = 0
    proc_lookups_skipped: int = 0
    purged: int = 0
    bad_events: int = 0


def event_uses_fd(evt: Event) -> bool:
    """Whether the event creates, uses or destroys an fd (the EF_* flags
    of its table entry)."""
    return bool(evt.info.flags & _FD_FLAGS)
