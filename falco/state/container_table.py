# SPDX-License-Identifier: Apache-2.0
"""The containers falco knows, with their runtime metadata.

An entry is made when a container is first seen: in a thread's cgroups
(``note``, on the event loop) or in a runtime's event stream (``put``, on
a lookup thread). A container first seen in cgroups whose runtime is up
is *pending* until its lookup answers or its wait
(``container_engines.lookup_wait_ms``) runs out: meanwhile the engine
holds that container's alerts (falco.engine.holds), never the event loop.

Entries leave on the runtime's destroy event, or ``exit_grace_s`` after the
last thread of the container left the thread table; the table never holds
more than ``max_entries`` (the oldest go first, counted).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from falco.containers.info import ContainerInfo, short_id
from falco.state.containers import ContainerMatch

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 4096
DEFAULT_EXIT_GRACE_S = 30.0
DEFAULT_LOOKUP_WAIT_S = 0.3
# Container types no runtime API describes: complete when first seen.
LOCAL_TYPES = frozenset({"lxc", "libvirt-lxc", "bpm"})


class MetadataPending(Exception):
    """Raised by a container field while its container's lookup runs: the
    engine holds the event's remaining rules (falco.engine.holds)."""

    def __init__(self, cid: str) -> None:
        super().__init__(cid)
        self.cid = cid


class Lookups(Protocol):
    """The runtime side (falco.containers.manager.MetadataManager)."""

    def available(self, ctype: str) -> bool: ...

    def request(self, full_id: str, ctype: str) -> None: ...

    def close(self) -> None: ...


Metric = tuple[str, str, str, list[tuple[dict[str, str], float]]]


@dataclass(slots=True)
class TableStats:
    seen: int = 0              # containers first seen in cgroups
    ready_at_first_sight: int = 0   # metadata already there (event stream)
    waited: int = 0            # first seen pending
    resolved: int = 0          # pending entries a lookup answered
    timed_out: int = 0         # pending entries whose wait ran out
    lookup_failed: int = 0     # no engine answered: fields print <NA>
    no_engine: int = 0         # seen while no engine for its type was up
    removed_destroy: int = 0
    removed_exit: int = 0
    evicted: int = 0
    by_type: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class ContainerTable:
    max_entries: int = DEFAULT_MAX_ENTRIES
    exit_grace_s: float = DEFAULT_EXIT_GRACE_S
    lookup_wait_s: float = DEFAULT_LOOKUP_WAIT_S
    lookups: Lookups | None = None
    # Types whose cgroups are not taken for containers (the engines
    # lxc, libvirt_lxc and bpm of container_engines turned off).
    disabled_types: frozenset[str] = frozenset()
    stats: TableStats = field(default_factory=TableStats)
    _containers: dict[str, ContainerInfo] = field(default_factory=dict)
    # id -> time (event ns) its last thread was seen gone, or when a
    # runtime event brought it (0: at the next retain)
    _orphaned: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the event loop's side -------------------------------------------
    def get(self, cid: str) -> ContainerInfo | None:
        return self._containers.get(cid)

    def __len__(self) -> int:
        return len(self._containers)

    def note(self, match: ContainerMatch) -> str:
        """Record a container seen in a thread's cgroups; returns its id."""
        cid = match.id
        info = self._containers.get(cid)
        if info is not None:
            if not info.threads_seen:
                info.threads_seen = True
                self.stats.ready_at_first_sight += 1
            return cid
        lookups = self.lookups
        want = lookups is not None and match.type not in LOCAL_TYPES
        pending = want and lookups is not None and \
            lookups.available(match.type) and self.lookup_wait_s > 0
        with self._lock:
            known = self._containers.get(cid)
            if known is not None:       # a lookup thread was first
                known.threads_seen = True
                self.stats.ready_at_first_sight += 1
                return cid
            self._make_room()
            self._containers[cid] = ContainerInfo(
                cid, match.full_id, match.type, match.name, pending=pending,
                threads_seen=True, requested=time.monotonic())
        self.stats.seen += 1
        self.stats.by_type[match.type] += 1
        if pending:
            self.stats.waited += 1
        elif want:
            self.stats.no_engine += 1
        if want and lookups is not None:
            lookups.request(match.full_id, match.type)
        return cid

    def give_up(self, cid: str) -> None:
        """The wait for ``cid`` ran out: its fields print <NA> from now on
        (a late answer still fills them in)."""
        with self._lock:
            info = self._containers.get(cid)
            if info is None or not info.pending:
                return
            info.pending = False
        self.stats.timed_out += 1
        log.debug("container %r: metadata wait ran out", cid)

    def retain(self, alive: set[str], now: int) -> None:
        """Forget containers without threads for longer than the grace
        (``now``: event time in ns, as the thread table's purge)."""
        grace = int(self.exit_grace_s * 1e9)
        with self._lock:
            for cid in list(self._containers):
                if cid in alive:
                    self._orphaned.pop(cid, None)
                    continue
                since = self._orphaned.get(cid) or now
                self._orphaned[cid] = since
                if now - since >= grace:
                    del self._containers[cid]
                    del self._orphaned[cid]
                    self.stats.removed_exit += 1

    # -- the lookup threads' side (falco.containers.manager.MetadataSink) --
    def wants(self, full_id: str) -> bool:
        return short_id(full_id) in self._containers or \
            len(self._containers) < self.max_entries

    def put(self, info: ContainerInfo) -> None:
        info.pending = False
        with self._lock:
            old = self._containers.get(info.id)
            if old is None:
                self._make_room()
                self._orphaned[info.id] = 0
            else:
                info.threads_seen = old.threads_seen
                if old.pending:
                    self.stats.resolved += 1
            self._containers[info.id] = info

    def remove(self, full_id: str) -> None:
        cid = short_id(full_id)
        with self._lock:
            if self._containers.pop(cid, None) is not None:
                self.stats.removed_destroy += 1
            self._orphaned.pop(cid, None)

    def failed(self, full_id: str) -> None:
        cid = short_id(full_id)
        with self._lock:
            info = self._containers.get(cid)
            if info is None or not info.pending:
                return
            info.pending = False
        self.stats.lookup_failed += 1

    def _make_room(self) -> None:
        """Evict the oldest entries (lock held) down to max_entries - 1,
        those without threads first."""
        while len(self._containers) >= self.max_entries:
            victim = next(iter(self._orphaned), None) or \
                next(iter(self._containers))
            self._containers.pop(victim, None)
            self._orphaned.pop(victim, None)
            self.stats.evicted += 1

    # -- metrics, life cycle ---------------------------------------------
    def metrics(self) -> list[Metric]:
        s = self.stats
        out: list[Metric] = [
            ("falco_container_entries", "Containers in the metadata table",
             "gauge", [({}, float(len(self._containers)))]),
            ("falco_container_entries_max", "Capacity of the metadata table",
             "gauge", [({}, float(self.max_entries))]),
        ]
        for name, value, text in (
                ("seen", s.seen, "Containers first seen in threads' cgroups"),
                ("ready_at_first_sight", s.ready_at_first_sight,
                 "Containers whose metadata was there before their first thread"),
                ("waited", s.waited, "Containers whose alerts waited for a lookup"),
                ("resolved", s.resolved, "Pending lookups answered"),
                ("wait_timeouts", s.timed_out,
                 "Pending lookups that ran out of time (fields printed <NA>)"),
                ("lookup_failures", s.lookup_failed,
                 "Lookups no runtime answered (fields printed <NA>)"),
                ("no_engine", s.no_engine,
                 "Containers seen while no engine for their type was up"),
                ("removed_destroy", s.removed_destroy,
                 "Entries removed on the runtime's destroy event"),
                ("removed_exit", s.removed_exit,
                 "Entries removed after their last thread left"),
                ("evicted", s.evicted, "Entries evicted from a full table")):
            out.append((f"falco_container_{name}_total", text, "counter",
                        [({}, float(value))]))
        mstats = getattr(self.lookups, "stats", None)
        if mstats is not None:
            for key in ("lookups", "lookups_ok", "lookups_not_found",
                        "lookups_failed", "lookups_dropped", "runtime_events",
                        "engine_errors", "listen_restarts"):
                out.append((f"falco_container_engine_{key}_total",
                            f"Container engines: {key.replace('_', ' ')}",
                            "counter", [({}, float(getattr(mstats, key)))]))
        up = getattr(self.lookups, "engines_up", None)
        if callable(up):
            out.append(("falco_container_engine_up",
                        "Whether a container engine's socket answers", "gauge",
                        [({"engine": k}, 1.0 if v else 0.0)
                         for k, v in up().items()]))
        return out

    def summary(self) -> dict[str, Any]:
        return {name: float(samples[0][1]) for name, _h, _t, samples in
                self.metrics() if len(samples) == 1 and not samples[0][0]}

    def close(self) -> None:
        if self.lookups is not None:
            self.lookups.close()
