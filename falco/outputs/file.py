# SPDX-License-Identifier: Apache-2.0
"""File output: append alert lines to a file.

Without ``keep_alive`` the file is opened and closed for every alert (so
log rotation needs nothing); with it the file stays open and ``reopen``
(SIGUSR1) closes and opens it again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from falco.engine.alert import Alert


@dataclass(slots=True)
class FileOutput:
    filename: str
    keep_alive: bool = False
    buffered: bool = False
    name: str = "file"
    _fh: TextIO | None = field(default=None, init=False)

    def _open(self) -> TextIO:
        return open(self.filename, "a", encoding="utf-8",
                    errors="surrogateescape")

    def emit(self, alert: Alert, line: str) -> None:
        if not self.keep_alive:
            with self._open() as fh:
                fh.write(line + "\n")
            return
        if self._fh is None:
            self._fh = self._open()
        self._fh.write(line + "\n")
        if not self.buffered:
            self._fh.flush()

    def reopen(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        self.reopen()
