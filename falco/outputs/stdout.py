# SPDX-License-Identifier: Apache-2.0
"""stdout output: one alert line per line, written as bytes.

The line is already encoded (valid UTF-8, printable), and it goes to the
binary layer under ``sys.stdout``: no locale (``LANG=C.UTF-8`` and its
strict encoder, ``C`` and its ASCII) can refuse it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import BinaryIO

from falco.outputs.format import EncodedAlert


def _stdout_bytes() -> BinaryIO:
    sys.stdout.flush()          # text printed before goes out first
    return sys.stdout.buffer


@dataclass(slots=True)
class StdoutOutput:
    buffered: bool = False
    stream: BinaryIO = field(default_factory=_stdout_bytes)
    name: str = "stdout"

    def emit(self, alert: EncodedAlert) -> None:
        self.stream.write(alert.data)
        if not self.buffered:
            self.stream.flush()

    def reopen(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()
