# SPDX-License-Identifier: Apache-2.0
"""Progress bar for long capture replays: drawn only on a terminal."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from falco.events.scap import ProgressFn


class ProgressBar:
    """Callable ``(bytes_read, total_bytes)`` drawing a one-line bar.

    Redraws at most every ``interval`` seconds; ``finish()`` ends the line.
    """

    def __init__(self, stream: TextIO, label: str = "reading",
                 width: int = 30, interval: float = 0.2) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.interval = interval
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < self.interval and done < total:
            return
        self._last = now
        frac = min(1.0, done / total) if total > 0 else 0.0
        fill = int(frac * self.width)
        self.stream.write(f"\r{self.label} [{'#' * fill}"
                          f"{'.' * (self.width - fill)}] {frac * 100:5.1f}%")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def tty_progress(stream: TextIO | None = None,
                 label: str = "reading") -> ProgressBar | None:
    """A ProgressBar on ``stream`` (stderr) if it is a terminal, else None
    (silent when output is redirected)."""
    stream = stream if stream is not None else sys.stderr
    try:
        is_tty = stream.isatty()
    except (AttributeError, ValueError):
        is_tty = False
    return ProgressBar(stream, label) if is_tty else None


__all__ = ["ProgressBar", "ProgressFn", "tty_progress"]
