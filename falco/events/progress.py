# SPDX-License-Identifier: Apache-2.0
"""Progress bar for long capture replays: drawn only on a terminal."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from falco.events.scap import ProgressFn


class ProgressBar:
    """Callable ``(bytes_read, total_bytes)`` drawing a one-line bar.

    Redraws at most every ``interval`` seconds; the line ends by itself at
    100% (or with ``finish()`` when a replay stops early).
    """

    def __init__(self, stream: TextIO, label: str = "reading",
                 width: int = 30, interval: float = 0.2) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.interval = interval
        self._last = 0.0
        self._drawn = False
        self._finished = False

    def __call__(self, done: int, total: int) -> None:
        if self._finished:
            return
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
        if total > 0 and done >= total:
            self.finish()
            self._finished = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _isatty(stream: TextIO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def tty_progress(stream: TextIO | None = None, label: str = "reading",
                 unless_tty: TextIO | None = None) -> ProgressBar | None:
    """A ProgressBar on ``stream`` (stderr) if it is a terminal, else None
    (silent when redirected).  Also None when ``unless_tty`` (e.g. stdout,
    where alerts go) is a terminal too: alerts then show the progress and a
    bar would garble them."""
    stream = stream if stream is not None else sys.stderr
    if not _isatty(stream) or _isatty(unless_tty):
        return None
    return ProgressBar(stream, label)


__all__ = ["ProgressBar", "ProgressFn", "tty_progress"]
