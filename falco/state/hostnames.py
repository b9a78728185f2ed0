# SPDX-License-Identifier: Apache-2.0
"""Host names that rules compare addresses with (``fd.sip.name =
kubernetes.default.svc.cluster.local``), resolved and kept fresh in the
background.

A name is watched when a condition compares an ``fd.*ip.name`` field with
it. A daemon thread resolves every watched name (the system resolver:
/etc/hosts, DNS) at once, then again after a delay that doubles while the
answer stays the same, from 10 s up to 320 s (libsinsp's refresh), and
falls back to 10 s when it changes. The event loop only reads the last
answers, two dicts replaced whole by the thread: a lookup never waits for
a resolution, and a name not resolved yet matches nothing.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable

log = logging.getLogger(__name__)

BASE_REFRESH_S = 10.0
MAX_REFRESH_S = 320.0


def resolve(name: str) -> frozenset[str]:
    """Every address of ``name`` (text, canonical), empty if none."""
    try:
        infos = socket.getaddrinfo(name, None)
    except (socket.gaierror, UnicodeError, OSError) as err:
        log.debug("cannot resolve %s: %s", name, err)
        return frozenset()
    out = set()
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            out.add(str(ipaddress.ip_address(sockaddr[0])))
    return frozenset(out)


@dataclass(slots=True)
class _Watched:
    addrs: frozenset[str] = frozenset()
    resolved: bool = False
    delay: float = BASE_REFRESH_S
    due: float = 0.0


@dataclass(slots=True)
class HostNames:
    base_refresh_s: float = BASE_REFRESH_S
    max_refresh_s: float = MAX_REFRESH_S
    # name -> addresses, address -> names (sorted): read by the event loop
    _addrs: dict[str, frozenset[str]] = field(default_factory=dict)
    _names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _watched: dict[str, _Watched] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    # -- the event loop's side: never blocks --------------------------------
    def matches(self, name: str, addr: str) -> bool:
        """Whether ``addr`` is one of the addresses ``name`` resolved to."""
        return addr in self._addrs.get(name, ())

    def names_of(self, addr: str) -> tuple[str, ...]:
        """The watched names that resolved to ``addr``, sorted."""
        return self._names.get(addr, ())

    def resolved(self, name: str) -> bool:
        """Whether ``name`` has been resolved at least once."""
        w = self._watched.get(name)
        return w is not None and w.resolved

    # -- rules loading ------------------------------------------------------
    def watch(self, names: Iterable[str]) -> None:
        """Resolve these names from now on (in the background)."""
        new = False
        with self._lock:
            for name in names:
                if name and name not in self._watched:
                    self._watched[name] = _Watched(delay=self.base_refresh_s)
                    new = True
            if new and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="falco-hostnames", daemon=True)
                self._thread.start()
        if new:
            self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    # -- the resolver thread -------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                due = [n for n, w in self._watched.items() if w.due <= now]
            for name in due:
                if self._stop.is_set():
                    return
                self._refresh(name, resolve(name))
            with self._lock:
                nxt = min((w.due for w in self._watched.values()),
                          default=now + self.max_refresh_s)
            self._wake.wait(max(nxt - time.monotonic(), 0.0))
            self._wake.clear()

    def _refresh(self, name: str, addrs: frozenset[str]) -> None:
        with self._lock:
            w = self._watched[name]
            changed = addrs != w.addrs or not w.resolved
            w.delay = self.base_refresh_s if changed else min(
                w.delay * 2, self.max_refresh_s)
            w.due = time.monotonic() + w.delay
            w.resolved = True
            if changed:
                w.addrs = addrs
                self._publish()

    def _publish(self) -> None:
        """New lookup tables, swapped in whole (readers hold no lock)."""
        by_name = {n: w.addrs for n, w in self._watched.items()}
        by_addr: dict[str, list[str]] = {}
        for name, addrs in by_name.items():
            for addr in addrs:
                by_addr.setdefault(addr, []).append(name)
        self._addrs = by_name
        self._names = {a: tuple(sorted(ns)) for a, ns in by_addr.items()}
