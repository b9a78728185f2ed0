# SPDX-License-Identifier: Apache-2.0
"""The per-event context handed to field extractors and filters."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from falco.events.event import Event
from falco.state.entries import FdInfo, ThreadInfo

if TYPE_CHECKING:
    from falco.state.inspector import Inspector

_UNSET: Any = object()


class EventContext:
    """``evt`` plus the thread and fd it refers to, after state updates.

    ``fdinfo`` is resolved on first use from the event's ``fd`` argument
    (or the paired enter event's, for old enter/exit captures), unless a
    parser already set it (open, close, accept, ...).
    """

    __slots__ = ("evt", "thread", "inspector", "enter", "_fd", "cache")

    def __init__(self, evt: Event, thread: ThreadInfo | None,
                 inspector: Inspector, enter: Event | None = None) -> None:
        self.evt = evt
        self.thread = thread
        self.inspector = inspector
        self.enter = enter
        self._fd: Any = _UNSET
        # Per-event scratch space for the filter (memoised field values).
        self.cache: dict[Any, Any] | None = None

    def arg(self, name: str) -> Any:
        """A parameter of the event, or of its enter event when the exit
        event has no value for it (old captures split the arguments over
        the two). None: neither carries a value; an empty buffer is a
        value (see ``falco.events.params``). A corrupt parameter raises
        ``DecodeError``."""
        value = self.evt.param(name)
        if value is None and self.enter is not None:
            value = self.enter.param(name)
        return value

    def int_arg(self, name: str, default: int = 0) -> int:
        """An integer parameter, ``default`` when there is none."""
        value = self.arg(name)
        return value if isinstance(value, int) else default

    @property
    def fdnum(self) -> int | None:
        fd = self.arg("fd")
        return fd if isinstance(fd, int) else None

    @property
    def fdinfo(self) -> FdInfo | None:
        if self._fd is _UNSET:
            fdi = None
            t = self.thread
            if t is not None:
                fd = self.fdnum
                if fd is not None:
                    fdi = self.inspector.fd_of(t, fd)
            self._fd = fdi
        result: FdInfo | None = self._fd
        return result

    @fdinfo.setter
    def fdinfo(self, value: FdInfo | None) -> None:
        self._fd = value
