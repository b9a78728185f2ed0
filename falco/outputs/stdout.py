# SPDX-License-Identifier: Apache-2.0
"""stdout output: one alert line per line."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from falco.engine.alert import Alert


@dataclass(slots=True)
class StdoutOutput:
    buffered: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    name: str = "stdout"

    def emit(self, alert: Alert, line: str) -> None:
        self.stream.write(line + "\n")
        if not self.buffered:
            self.stream.flush()

    def reopen(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()
