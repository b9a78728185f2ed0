# SPDX-License-Identifier: Apache-2.0
"""The runtime engines at work: listeners, lookups, health, metrics.

One listener thread per engine probes its socket (an engine is "up" only
while its socket answers), lists the containers the runtime already has,
then follows its event stream: create/start look the container up,
destroy forgets it. When the stream breaks the engine goes down and the
listener probes again every ``probe_interval`` seconds; when it comes back
every known container is listed again, so metadata returns.

Lookups of containers first seen in syscalls (``request``) run on a few
worker threads from a bounded queue: the event loop never waits for a
runtime. Results go to a ``MetadataSink`` (the state layer's container
table).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from falco.containers.engine import CREATE, DESTROY, START, Engine
from falco.containers.info import ContainerInfo, short_id

log = logging.getLogger(__name__)

MAX_QUEUE = 4096


class MetadataSink(Protocol):
    def put(self, info: ContainerInfo) -> None: ...

    def remove(self, full_id: str) -> None: ...

    def failed(self, full_id: str) -> None: ...

    def wants(self, full_id: str) -> bool: ...


@dataclass(slots=True)
class ManagerStats:
    lookups: int = 0            # lookups asked for (syscalls or events)
    lookups_ok: int = 0
    lookups_not_found: int = 0  # no engine up knows the container
    lookups_failed: int = 0     # every engine asked failed (down, timeout)
    lookups_dropped: int = 0    # the lookup queue was full
    runtime_events: int = 0
    engine_errors: int = 0      # calls that failed: socket down, timeout
    listen_restarts: int = 0


@dataclass(slots=True)
class EngineState:
    engine: Engine
    up: bool = False
    errors: int = 0
    stream: object | None = None


@dataclass
class MetadataManager:
    engines: list[Engine]
    sink: MetadataSink
    workers: int = 2
    probe_interval: float = 2.0
    stats: ManagerStats = field(default_factory=ManagerStats)
    states: list[EngineState] = field(init=False)
    _queue: "queue.Queue[tuple[str, str, str] | None]" = field(
        default_factory=lambda: queue.Queue(MAX_QUEUE))
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _inflight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.states = [EngineState(e) for e in self.engines]

    # -- life cycle ------------------------------------------------------
    def start(self) -> None:
        for st in self.states:
            self._spawn(f"falco-ctr-{st.engine.name}", self._listen, st)
        for i in range(self.workers):
            self._spawn(f"falco-ctr-lookup-{i}", self._work)

    def _spawn(self, name: str, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name,  # type: ignore[arg-type]
                             daemon=True)
        t.start()
        self._threads.append(t)

    def close(self, timeout: float = 3.0) -> None:
        self._stop.set()
        for st in self.states:
            stream = st.stream
            if stream is not None:
                stream.close()  # type: ignore[attr-defined]
        for _ in range(self.workers):
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))
        for st in self.states:
            try:
                st.engine.close()
            except Exception:  # noqa: BLE001 - closing never fails the caller
                pass

    # -- health ----------------------------------------------------------
    def available(self, ctype: str) -> bool:
        """Whether an engine that may know containers of ``ctype`` is up."""
        return any(st.up and ctype in st.engine.types for st in self.states)

    def engines_up(self) -> dict[str, bool]:
        return {f"{st.engine.name}:{st.engine.socket}": st.up
                for st in self.states}

    def _down(self, st: EngineState, err: Exception) -> None:
        self.stats.engine_errors += 1
        st.errors += 1
        if st.up:
            log.warning("container engine %s (%s) is down: %r",
                        st.engine.name, st.engine.socket, str(err))
        st.up = False

    # -- listeners -------------------------------------------------------
    def _listen(self, st: EngineState) -> None:
        eng = st.engine
        first = True
        while not self._stop.is_set():
            if not first:
                self.stats.listen_restarts += 1
                self._stop.wait(self.probe_interval)
                if self._stop.is_set():
                    return
            first = False
            try:
                eng.probe()
                stream = eng.events()
            except (OSError, LookupError, ValueError) as err:
                self._down(st, err)
                continue
            st.stream = stream
            if not st.up:
                log.info("container engine %s is up (%s)", eng.name,
                         eng.socket)
            st.up = True
            try:
                for info in eng.list():
                    if self.sink.wants(info.full_id):
                        self.sink.put(info)
            except (OSError, LookupError, ValueError) as err:
                self._down(st, err)
                stream.close()
                continue
            try:
                for ev in stream:
                    self.stats.runtime_events += 1
                    if ev.action == DESTROY:
                        self.sink.remove(ev.full_id)
                    elif ev.action in (CREATE, START):
                        self._enqueue(ev.full_id, "", eng.name)
                    if self._stop.is_set():
                        return
                if self._stop.is_set():
                    return
                self._down(st, OSError("event stream ended"))
            except (OSError, LookupError, ValueError) as err:
                if self._stop.is_set():
                    return
                self._down(st, err)
            finally:
                st.stream = None
                stream.close()

    # -- lookups ---------------------------------------------------------
    def request(self, full_id: str, ctype: str) -> None:
        """Look up a container first seen in a thread's cgroups."""
        self._enqueue(full_id, ctype, "")

    def _enqueue(self, full_id: str, ctype: str, engine: str) -> None:
        key = f"{full_id}/{engine}"
        with self._lock:
            if key in self._inflight:
                return
            self._inflight.add(key)
        self.stats.lookups += 1
        try:
            self._queue.put_nowait((full_id, ctype, engine))
        except queue.Full:
            with self._lock:
                self._inflight.discard(key)
            self.stats.lookups_dropped += 1
            self.sink.failed(full_id)

    def _candidates(self, ctype: str, engine: str) -> list[EngineState]:
        if engine:
            return [st for st in self.states if st.engine.name == engine]
        return [st for st in self.states if ctype in st.engine.types]

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stop.is_set():
                return
            full_id, ctype, engine = item
            try:
                self._lookup(full_id, ctype, engine)
            finally:
                with self._lock:
                    self._inflight.discard(f"{full_id}/{engine}")

    def _lookup(self, full_id: str, ctype: str, engine: str) -> None:
        tried = failed = 0
        for st in self._candidates(ctype, engine):
            if not st.up and not engine:
                continue
            tried += 1
            began = time.monotonic()
            try:
                info = st.engine.inspect(full_id)
            except (OSError, LookupError, ValueError) as err:
                failed += 1
                self.stats.engine_errors += 1
                st.errors += 1
                # A socket that refuses is down; a slow answer (timeout)
                # is not: the listener's stream says whether it lives.
                if isinstance(err, (ConnectionRefusedError, FileNotFoundError)):
                    self._down(st, err)
                log.debug("container %r: %s lookup failed after %.0f ms: %r",
                          short_id(full_id), st.engine.name,
                          (time.monotonic() - began) * 1000, str(err))
                continue
            log.debug("container %r: %s answered in %.0f ms (%s)",
                      short_id(full_id), st.engine.name,
                      (time.monotonic() - began) * 1000,
                      "found" if info is not None else "unknown")
            if info is not None:
                self.stats.lookups_ok += 1
                self.sink.put(info)
                return
        if engine:
            return          # an event for a container gone already
        if failed and failed == tried:
            self.stats.lookups_failed += 1
        else:
            self.stats.lookups_not_found += 1
        log.debug("container %r: no metadata (%d engines asked, %d failed)",
                  short_id(full_id), tried, failed)
        self.sink.failed(full_id)
