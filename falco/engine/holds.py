# SPDX-License-Identifier: Apache-2.0
"""Alerts of a container whose metadata is being looked up wait; the
engine does not.

When a rule of an event reads a container field of a pending container
(``MetadataPending``), the event's remaining rules are held with a frozen
copy of its context, in that container's queue; later events of the same
container queue behind it (their alerts keep their order). The queue is
tested and emitted when the lookup answers, or when the container's wait
(``container_engines.lookup_wait_ms`` from its first sighting) runs out:
its fields then print <NA> and ``falco_container_wait_timeouts_total``
counts it. Other containers' events and alerts flow meanwhile.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from falco.state.container_table import ContainerTable
from falco.state.frozen import freeze

# At most this many events wait in all (beyond: the oldest container's
# wait is cut short).
MAX_HELD = 20_000

# The rules still to test (falco.rules.model.CompiledRule).
Tested = Any


@dataclass(slots=True)
class Held:
    ctx: Any
    rules: tuple[Tested, ...]


@dataclass(slots=True)
class HoldStats:
    held: int = 0            # events whose rules waited
    released: int = 0        # ... tested once the metadata came
    expired: int = 0         # ... tested after the wait ran out
    cut_short: int = 0       # waits ended because MAX_HELD was reached
    max_waiting: int = 0


@dataclass(slots=True)
class AlertHolds:
    table: ContainerTable
    wait_s: float
    by_cid: dict[str, deque[Held]] = field(default_factory=dict)
    waiting: int = 0
    stats: HoldStats = field(default_factory=HoldStats)

    def hold(self, cid: str, ctx: Any, rules: tuple[Tested, ...]) -> None:
        q = self.by_cid.get(cid)
        if q is None:
            q = self.by_cid[cid] = deque()
        q.append(Held(freeze(ctx), rules))
        self.waiting += 1
        self.stats.held += 1
        if self.waiting > self.stats.max_waiting:
            self.stats.max_waiting = self.waiting
        if self.waiting > MAX_HELD:
            oldest = next(iter(self.by_cid))
            self.stats.cut_short += 1
            self.table.give_up(oldest)

    def due(self, now: float | None = None, everything: bool = False
            ) -> list[Held]:
        """Held events ready to be tested, in order per container."""
        now = time.monotonic() if now is None else now
        out: list[Held] = []
        for cid in list(self.by_cid):
            info = self.table.get(cid)
            if info is not None and info.pending:
                if not everything and now < info.requested + self.wait_s:
                    continue
                self.table.give_up(cid)
                expired = True
            else:
                expired = False
            q = self.by_cid.pop(cid)
            self.waiting -= len(q)
            if expired:
                self.stats.expired += len(q)
            else:
                self.stats.released += len(q)
            out.extend(q)
        return out
