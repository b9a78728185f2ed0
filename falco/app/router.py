# SPDX-License-Identifier: Apache-2.0
"""The engine's alert sink: the outputs behind it are swapped on reload."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from falco.engine.alert import Alert
from falco.outputs import OutputManager


@dataclass(slots=True)
class OutputRouter:
    """The engine's sink; the outputs behind it can be replaced on reload."""

    manager: OutputManager
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, alert: Alert) -> None:
        with self._lock:
            self.manager.send(alert)

    def swap(self, manager: OutputManager) -> OutputManager:
        with self._lock:
            old, self.manager = self.manager, manager
        return old

    def reopen(self) -> None:
        self.manager.reopen()

    def stop(self, budget: float | None = None) -> None:
        """Stop the outputs; ``budget``: seconds they get in all."""
        self.manager.stop(budget=budget)

    def report(self) -> list[str]:
        return self.manager.report()
