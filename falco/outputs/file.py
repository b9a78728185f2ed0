# SPDX-License-Identifier: Apache-2.0
"""File output: append alert lines to a file; and how falco creates the
files it writes as root.

Without ``keep_alive`` the file is opened and closed for every alert (so
log rotation needs nothing); with it the file stays open and ``reopen``
(SIGUSR1) closes and opens it again. Each alert is one ``write(2)`` on an
``O_APPEND`` file, unless ``buffered_outputs`` (with ``keep_alive``) keeps
lines in memory, up to 64 KiB, until then or until reopen and exit.

Every file falco writes (this output, capture recordings, the pidfile) is
opened without following a symbolic link planted at its name
(``O_NOFOLLOW``) and created with mode 0600 whatever the umask; a name
that is not a regular file (a FIFO that would block, a device) is refused.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from falco.outputs.format import EncodedAlert

PRIVATE = 0o600
BUFFER_BYTES = 65536
_BASE = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def _checked(fd: int, path: str, created: bool) -> int:
    """``fd`` once it is known to be a regular file, blocking, and (when
    we created it) mode 0600."""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"refusing to write {path}: not a regular file")
        if created:
            os.fchmod(fd, PRIVATE)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_exclusive(path: str) -> int:
    """A new file (``O_CREAT|O_EXCL|O_NOFOLLOW``, mode 0600): fails if
    anything, a symbolic link included, already has that name."""
    fd = os.open(path, _BASE | os.O_CREAT | os.O_EXCL, PRIVATE)
    return _checked(fd, path, True)


def open_append(path: str) -> int:
    """The file for appending: created 0600 if missing; an existing one
    must be a regular file and not a symbolic link (``O_NOFOLLOW``)."""
    try:
        fd = os.open(path, _BASE | os.O_APPEND | os.O_CREAT | os.O_EXCL,
                     PRIVATE)
        return _checked(fd, path, True)
    except FileExistsError:
        pass
    return _checked(os.open(path, _BASE | os.O_APPEND), path, False)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@dataclass(slots=True)
class FileOutput:
    filename: str
    keep_alive: bool = False
    buffered: bool = False
    name: str = "file"
    _fd: int | None = field(default=None, init=False)
    _pending: bytearray = field(default_factory=bytearray, init=False)

    def emit(self, alert: EncodedAlert) -> None:
        if not self.keep_alive:
            fd = open_append(self.filename)
            try:
                _write_all(fd, alert.data)
            finally:
                os.close(fd)
            return
        if self._fd is None:
            self._fd = open_append(self.filename)
        if not self.buffered:
            _write_all(self._fd, alert.data)
            return
        self._pending += alert.data
        if len(self._pending) >= BUFFER_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending and self._fd is not None:
            data, self._pending = bytes(self._pending), bytearray()
            _write_all(self._fd, data)

    def reopen(self) -> None:
        if self._fd is not None:
            try:
                self._flush()
            finally:
                os.close(self._fd)
                self._fd = None

    def close(self) -> None:
        self.reopen()
