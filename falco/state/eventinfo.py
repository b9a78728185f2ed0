# SPDX-License-Identifier: Apache-2.0
"""What the inspector needs to know about events beyond their parameters,
and its counters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from falco.state.parse_fd import FD_EXIT_HANDLERS

# Events that use an fd even when an old exit event lacks the parameter.
FD_USERS = frozenset((
    "read", "write", "readv", "writev", "pread", "pwrite", "preadv",
    "pwritev", "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom",
    "recvmsg", "recvmmsg", "fstat", "fstat64", "lseek", "llseek", "ioctl",
    "getdents", "getdents64", "fchdir", "fchmod", "fchown", "fsync",
    "fdatasync", "flock", "mmap", "mmap2", "splice", "sendfile", "shutdown",
    "getsockopt", "setsockopt", "getsockname", "getpeername", "epoll_ctl",
    "ftruncate", "fallocate", "fstatfs", "fstatfs64", "sync_file_range",
))


def detached(evt: Any) -> Any:
    """An enter event kept for pairing must not pin its source's whole
    batch buffer (a ring snapshot or a capture chunk): copy it out."""
    buf = getattr(evt, "buf", None)
    if buf is None or len(buf) <= 4096:
        return evt
    try:
        return evt.detached()
    except (AttributeError, TypeError, ValueError):
        return evt


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

    kept: dict[int, Any] = field(default_factory=dict)
    _buf: Any = None
    _fresh: set[int] = field(default_factory=set)

    def keep(self, tid: int, evt: Any) -> None:
        buf = getattr(evt, "buf", None)
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


def event_uses_fd(evt: Any) -> bool:
    """Whether the event creates, uses or destroys an fd: the EF_* flags of
    its table entry, or failing those an ``fd`` parameter or a known name."""
    flags = getattr(getattr(evt, "info", None), "flags", None)
    if isinstance(flags, int):
        return bool(flags & 0x7)    # EF_CREATES_FD | EF_DESTROYS_FD | USES
    try:
        names = evt.param_names()
    except (AttributeError, TypeError):
        names = ()
    return ("fd" in names or evt.name in FD_EXIT_HANDLERS
            or evt.name in FD_USERS)
