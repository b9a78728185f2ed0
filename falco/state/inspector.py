# SPDX-License-Identifier: Apache-2.0
"""The inspector: thread/fd/user/container tables kept current by events.

``Inspector.process(event)`` updates the tables from one event and returns
its ``EventContext``. Threads are bootstrapped from ``<host_root>/proc`` or
from a capture's process/fd/user lists; unknown threads are looked up in
/proc on demand (live only, within a budget). Tables are bounded (Falco's
defaults: 262144 threads, 4096 fds per process); exited threads are
removed once their procexit has been processed and idle ones are purged.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Iterator

from falco.errors import DecodeError
from falco.events.capture_state import (
    FdEntry, GroupEntry, InterfaceEntry, ProcEntry, UserEntry)
from falco.events.event import Event
from falco.state.bootstrap import fdinfo_from_entry, thread_from_entry
from falco.state.container_table import ContainerTable
from falco.state.containers import HOST, match_cgroups
from falco.state.context import EventContext
from falco.state.entries import (
    DEFAULT_MAX_FDS, DEFAULT_MAX_THREADS, DEFAULT_PURGE_INTERVAL_NS,
    DEFAULT_THREAD_TIMEOUT_NS, FdInfo, ThreadInfo)
from falco.state.eventinfo import EnterKeeper, InspectorStats, event_uses_fd
from falco.state.parse_fd import FD_EXIT_HANDLERS
from falco.state.parse_net import IO_EXIT_HANDLERS
from falco.state.parse_proc import (
    CLONE_EVENTS, PROC_ENTER_HANDLERS, PROC_EXIT_HANDLERS, Handler)
from falco.state.parse_sched import SCHED_HANDLERS
from falco.state.procfs import ProcReader
from falco.state.users import UserDb

log = logging.getLogger(__name__)
# procexit, and the scheduler's meta events of captures
_ENTER_HANDLERS = MappingProxyType({**PROC_ENTER_HANDLERS, **SCHED_HANDLERS})

@dataclass(slots=True)
class Inspector:
    host_root: str = ""
    max_threads: int = DEFAULT_MAX_THREADS
    max_fds: int = DEFAULT_MAX_FDS
    purge_interval_ns: int = DEFAULT_PURGE_INTERVAL_NS
    thread_timeout_ns: int = DEFAULT_THREAD_TIMEOUT_NS
    # On-demand /proc lookups of unknown threads (live sources only).
    proc_lookups: bool = False
    proc_lookup_budget: int = 256       # lookups per second of event time
    # Keep each thread's last enter event to complete old-schema exit
    # events (captures); a live source with self-contained exit events
    # can turn this off and save a copy per enter event.
    pair_enter_events: bool = True
    # Epoch ns of the boot of the machine the events come from: the driver
    # gives some start times (pidns_init_start_ts) in ns since boot, as
    # libscap's drivers do; 0 when unknown (those times stay as given).
    boot_ts_epoch: int = 0
    threads: dict[int, ThreadInfo] = field(default_factory=dict)
    users: UserDb = field(init=False)
    containers: ContainerTable = field(init=False)
    stats: InspectorStats = field(default_factory=InspectorStats)
    procfs: ProcReader = field(init=False)
    _enter: dict[int, Event] = field(default_factory=dict)
    _enters: EnterKeeper = field(init=False)
    _pending: list[int] = field(default_factory=list)
    _last_purge: int = 0
    # Event time of the next purge or container sweep (one comparison per
    # event decides both).
    _next_chores: int = 0
    _last_sweep: int = 0
    _last_forced_purge: int = -(1 << 62)
    _orphans: dict[int, set[int]] = field(default_factory=dict)
    _budget_window: int = 0
    _budget_used: int = 0
    _exit_handlers: dict[str, Handler] = field(default_factory=dict)
    _fd_events: dict[str, bool] = field(default_factory=dict)
    first_ts: int = 0
    prev_ts: int = 0
    last_ts: int = 0
    # Lazily computed values shared by extractors (hostname, ...).
    meta: dict[str, Any] = field(default_factory=dict)
    _container_users: dict[str, UserDb] = field(default_factory=dict)
    # This machine's IP addresses (interfaces), for fd.is_server.
    local_addrs: set[str] = field(default_factory=set)
    # Timestamp of the last switch event of each CPU (captures).
    last_switch: dict[int, int] = field(default_factory=dict)
    # State on demand: when set, fd tables are not kept from events; an
    # fd an event uses comes from this source (falco.state.ondemand) and
    # entries made by the event itself live until the next event.
    fd_source: Any = None
    # With fd_source: socket entries are kept from events (socket, bind,
    # connect, accept, dup of a socket), removed by close events seen at
    # sys_enter (the module passes only the closes of sockets).
    track_sockets: bool = False
    _overlay: dict[tuple[int, int], FdInfo] = field(default_factory=dict)
    _current: Any = None

    def __post_init__(self) -> None:
        self.users = UserDb(self.host_root)
        self.containers = ContainerTable()
        self.procfs = ProcReader(self.host_root)
        self._enters = EnterKeeper(self._enter)
        self._exit_handlers = {**PROC_EXIT_HANDLERS, **FD_EXIT_HANDLERS,
                               **IO_EXIT_HANDLERS}

    # -- bootstrap -------------------------------------------------------
    def bootstrap_proc(self, with_fds: bool = True) -> int:
        """Load every thread from ``<host_root>/proc``; returns the count."""
        n = 0
        self.local_addrs |= self.procfs.local_addresses()
        for t in self.procfs.scan(with_fds):
            t.container_id = self.container_of(t.cgroups)
            self.add_thread(t)
            n += 1
        self.procfs.forget_net()
        return n

    def bootstrap_capture(self, procs: Iterable[ProcEntry],
                          fds: Iterable[FdEntry] = (),
                          users: Iterable[UserEntry] = (),
                          groups: Iterable[GroupEntry] = (),
                          interfaces: Iterable[InterfaceEntry] = ()) -> None:
        """Load a capture's process, fd, user, group and interface lists."""
        for iface in interfaces:
            if iface.addr:
                self.local_addrs.add(iface.addr)
        for entry in procs:
            t = thread_from_entry(entry)
            t.container_id = self.container_of(t.cgroups)
            self.add_thread(t)
        for fd_entry in fds:
            owner = self.threads.get(fd_entry.tid)
            if owner is not None:
                self.add_fd(owner, fdinfo_from_entry(fd_entry))
        users, groups = list(users), list(groups)
        if users or groups:
            self.users.load_entries(users, groups)

    # -- table maintenance -------------------------------------------------
    def container_of(self, cgroups: list[tuple[str, str]]) -> str:
        if not cgroups:
            return HOST
        match = match_cgroups(cgroups)
        if match is None or match.type in self.containers.disabled_types:
            return HOST
        return self.containers.note(match)

    def add_thread(self, t: ThreadInfo) -> ThreadInfo:
        threads = self.threads
        old = threads.get(t.tid)
        if old is not None and old is not t:
            # tid reuse (or a placeholder being replaced)
            self.remove_thread(old, reparent=False)
            if old.is_main and old.nthreads > 1:
                # its threads wait for the entry that replaces it
                self._orphans.setdefault(old.tid, set()).update(
                    x.tid for x in threads.values() if x.pid == old.tid)
        if t.tid not in threads and len(threads) >= self.max_threads:
            now = t.lastevent_ts or t.clone_ts or self.last_ts
            # A full table is scanned at most once per second of event time
            # (a fork bomb must not turn every clone into a full scan).
            if now - self._last_forced_purge >= 1_000_000_000:
                self._last_forced_purge = now
                self.purge(now, force=True)
            if len(threads) >= self.max_threads:
                self.stats.threads_dropped += 1
                return t
        threads[t.tid] = t
        self.stats.threads_added += 1
        if t.tid != t.pid:
            leader = threads.get(t.pid)
            if leader is not None and leader.is_main:
                leader.nthreads += 1
                t.fds = leader.fds
            else:
                # Seen before its process: joins it when the leader comes.
                self._orphans.setdefault(t.pid, set()).add(t.tid)
        elif t.pid in self._orphans:
            for tid in self._orphans.pop(t.pid):
                member = threads.get(tid)
                if member is not None and member.pid == t.pid:
                    t.fds.update(member.fds)
                    member.fds = t.fds
                    t.nthreads += 1
        parent = threads.get(t.ptid) if t.ptid else None
        if parent is not None and parent is not t:
            if parent.children is None:
                parent.children = set()
            parent.children.add(t.tid)
        return t

    def fd_of(self, t: ThreadInfo, fd: Any) -> FdInfo | None:
        """The entry of fd ``fd`` in ``t``'s table (None: none)."""
        if self.fd_source is None:
            return t.fds.get(fd)
        if not isinstance(fd, int) or fd < 0:
            return None
        key = (id(t.fds), fd)
        fdi = self._overlay.get(key)
        if fdi is None and key not in self._overlay:
            fdi = t.fds.get(fd) if self.track_sockets else None
            if fdi is None:
                fdi = self.fd_source.lookup(t, fd, self._current)
            self._overlay[key] = fdi      # type: ignore[assignment]
        return fdi

    def add_fd(self, t: ThreadInfo, fdi: FdInfo) -> FdInfo:
        if self.fd_source is not None:
            self._overlay[(id(t.fds), fdi.fd)] = fdi
            if not (self.track_sockets and _is_socket_entry(fdi, self._current)):
                # a new file on this fd number: a kept socket there was
                # closed (a close the source did not pass)
                t.fds.pop(fdi.fd, None)
                return fdi
        fds = t.fds
        if fdi.fd not in fds and len(fds) >= self.max_fds:
            self.stats.fds_dropped += 1
            return fdi
        fds[fdi.fd] = fdi
        return fdi

    def mark_exited(self, t: ThreadInfo, reaper: int | None) -> None:
        """procexit: remember the reaper, remove after this event."""
        t.dead = True
        if reaper is not None and reaper > 0 and reaper != t.tid:
            self._reapers_set(t, reaper)
        self._pending.append(t.tid)

    def _reapers_set(self, t: ThreadInfo, reaper: int) -> None:
        if t.children:
            for ctid in list(t.children):
                child = self.threads.get(ctid)
                if child is not None and child.ptid == t.tid:
                    child.ptid = reaper
                    r = self.threads.get(reaper)
                    if r is not None:
                        if r.children is None:
                            r.children = set()
                        r.children.add(ctid)
            t.children = None

    def _default_reaper(self, t: ThreadInfo) -> int:
        # Another live thread of the group inherits the children first.
        if not t.is_main:
            leader = self.threads.get(t.pid)
            if leader is not None and not leader.dead:
                return leader.tid
        return 1 if 1 in self.threads and t.tid != 1 else 0

    def remove_thread(self, t: ThreadInfo, reparent: bool = True) -> None:
        threads = self.threads
        if threads.get(t.tid) is not t:
            return
        if t.is_main and t.nthreads > 1 and reparent:
            # Other threads still use the process data: keep it, dead.
            t.dead = True
            return
        if reparent and t.children:
            self._reapers_set(t, self._default_reaper(t))
        del threads[t.tid]
        self._enter.pop(t.tid, None)
        orphans = self._orphans.get(t.pid)
        if orphans is not None:
            orphans.discard(t.tid)
            if not orphans:
                del self._orphans[t.pid]
        self.stats.threads_removed += 1
        parent = threads.get(t.ptid)
        if parent is not None and parent.children:
            parent.children.discard(t.tid)
        if not t.is_main:
            leader = threads.get(t.pid)
            if leader is not None and leader.is_main:
                leader.nthreads -= 1
                if leader.dead and leader.nthreads <= 1:
                    self.remove_thread(leader)

    def _flush_pending(self) -> None:
        pending = self._pending
        self._pending = []
        for tid in pending:
            t = self.threads.get(tid)
            if t is not None and t.dead:
                self.remove_thread(t)

    def purge(self, now: int, force: bool = False) -> int:
        """Drop idle threads (gone from /proc when live); returns count."""
        self._last_purge = now
        limit = now - self.thread_timeout_ns
        victims = []
        for t in self.threads.values():
            if t.dead or (t.lastevent_ts < limit and t.tid != 1):
                victims.append(t)
        removed = 0
        for t in victims:
            if (not t.dead and self.proc_lookups
                    and os.path.exists(f"{self.procfs.proc}/{t.tid}")):
                continue
            if not t.dead and not force and not self.proc_lookups:
                continue
            self.remove_thread(t)
            removed += 1
        self.stats.purged += removed
        self._forget_containers(now)
        return removed

    def _chores(self, now: int) -> None:
        """The thread table's purge every ``purge_interval_ns``; between
        purges, containers without threads are swept every half of their
        exit grace (at least each second), so they leave about
        ``exit_grace_s`` after their last thread, not a purge later."""
        sweep_ns = max(int(self.containers.exit_grace_s * 5e8), 1_000_000_000)
        if self._last_purge == 0:
            self._last_purge = self._last_sweep = now
        elif now - self._last_purge >= self.purge_interval_ns:
            self.purge(now)
            self._last_sweep = now
        elif now - self._last_sweep >= sweep_ns:
            self._forget_containers(now)
            self._last_sweep = now
        self._next_chores = min(self._last_purge + self.purge_interval_ns,
                                self._last_sweep + sweep_ns)

    def _forget_containers(self, now: int) -> None:
        """Containers without threads go after a grace period (their user
        databases at once)."""
        alive = {t.container_id for t in self.threads.values()}
        self.containers.retain(alive, now)
        for cid in [c for c in self._container_users if c not in alive]:
            del self._container_users[cid]

    # -- lookups ---------------------------------------------------------
    def main_thread(self, t: ThreadInfo) -> ThreadInfo:
        if t.tid == t.pid:
            return t
        return self.threads.get(t.pid) or t

    def parent(self, t: ThreadInfo) -> ThreadInfo | None:
        """The thread that created ``t``'s process (libsinsp's ptid)."""
        main = self.main_thread(t)
        if main.ptid <= 0 or main.ptid == main.tid:
            return None
        return self.threads.get(main.ptid)

    def ancestors(self, t: ThreadInfo) -> Iterator[ThreadInfo]:
        """Parent, grandparent, ... (bounded against loops)."""
        seen = 0
        p = self.parent(t)
        while p is not None and seen < 256:
            yield p
            seen += 1
            p = self.parent(p)

    def is_local_ip(self, ip: str | None) -> bool:
        if not ip:
            return False
        return ip in self.local_addrs or ip.startswith("127.") or ip == "::1"

    def users_of(self, t: ThreadInfo) -> UserDb:
        """The user/group database a thread's ids refer to: the host's, or
        (live) its container's own /etc/passwd and /etc/group."""
        cid = t.container_id
        if cid == HOST or not self.proc_lookups:
            return self.users
        db = self._container_users.get(cid)
        if db is None:
            db = UserDb(f"{self.host_root}/proc/{t.pid}/root", use_nss=False)
            self._container_users[cid] = db
        return db

    def lookup_thread(self, tid: int, ts: int) -> ThreadInfo | None:
        """A thread from the table or, within the budget, from /proc."""
        t = self.threads.get(tid)
        if t is not None or not self.proc_lookups or tid <= 0:
            return t
        window = ts // 1_000_000_000
        if window != self._budget_window:
            self._budget_window, self._budget_used = window, 0
        if self._budget_used >= self.proc_lookup_budget:
            self.stats.proc_lookups_skipped += 1
            return None
        self._budget_used += 1
        self.stats.proc_lookups += 1
        t = self.procfs.read_thread(tid, tid, with_fds=False)
        if t is None:
            return None
        if t.pid != tid:
            leader = self.threads.get(t.pid)
            if leader is None:
                leader = self.procfs.read_thread(t.pid, t.pid,
                                                 with_fds=False)
                if leader is not None:
                    leader.fds = self._looked_up_fds(t.pid)
                    leader.container_id = self.container_of(leader.cgroups)
                    self.add_thread(leader)
        else:
            t.fds = self._looked_up_fds(t.pid)
        t.container_id = self.container_of(t.cgroups)
        t.lastevent_ts = ts
        return self.add_thread(t)

    def _looked_up_fds(self, pid: int) -> dict[int, FdInfo]:
        """The fd table of a process found in /proc: all of it, or with
        state on demand only what is kept from events (sockets)."""
        if self.fd_source is not None and not self.track_sockets:
            return {}
        fds = self.procfs.read_fds(pid)
        if self.fd_source is not None:
            return {fd: fdi for fd, fdi in fds.items()
                    if _is_socket_entry(fdi, None)}
        return fds

    def _unknown_thread(self, tid: int, ts: int) -> ThreadInfo:
        t = self.lookup_thread(tid, ts)
        if t is None:
            # Known by tid only: libsinsp's placeholder values.
            t = self.add_thread(ThreadInfo(tid=tid, pid=tid, ptid=-1, sid=-1,
                                           cwd="", incomplete=True,
                                           lastevent_ts=ts))
        return t

    # -- the event path -----------------------------------------------------
    def process(self, evt: Event) -> EventContext:
        if self._pending:
            self._flush_pending()
        if self.fd_source is not None:
            self._current = evt
            if self._overlay:
                self._overlay.clear()
        ts = evt.ts
        if not self.first_ts:
            self.first_ts = ts
        self.prev_ts = self.last_ts
        self.last_ts = ts
        if ts >= self._next_chores:
            self._chores(ts)
        tid = evt.tid
        name = evt.name
        t = self.threads.get(tid)
        if evt.direction == ">":
            if t is None:
                t = self._unknown_thread(tid, ts)
            t.lastevent_ts = ts
            ctx = EventContext(evt, t, self)
            if name == "close" and self.track_sockets:
                self._close_socket(ctx)
                return ctx
            handler = _ENTER_HANDLERS.get(name)
            if handler is not None:
                try:
                    handler(self, ctx)
                except DecodeError:
                    self.stats.bad_events += 1
            elif self.pair_enter_events:
                self._enters.keep(tid, evt)
            return ctx
        enter = self._enter.get(tid)
        if enter is not None and enter.name != name:
            enter = None
        handler = self._exit_handlers.get(name)
        try:
            if t is None and not (name in CLONE_EVENTS and evt.res == 0):
                t = self._unknown_thread(tid, ts)
            ctx = EventContext(evt, t, self, enter)
            if handler is not None:
                handler(self, ctx)
        except DecodeError as err:
            # A corrupt parameter (DecodeError) leaves the tables as they
            # were; the event is still handed on.
            self.stats.bad_events += 1
            log.debug("event %s (%s): %s", evt.num, name,
                      err)
            if t is None:
                t = self._unknown_thread(tid, ts)
            ctx = EventContext(evt, t, self, enter)
        if ctx.thread is not None:
            ctx.thread.lastevent_ts = ts
        return ctx

    def keep_sockets_only(self) -> None:
        """Entering socket state on demand: fd entries other than
        sockets' would go stale (their events are no longer read)."""
        for t in self.threads.values():
            if t.is_main or t.fds is not self.main_thread(t).fds:
                for fd in [fd for fd, fdi in t.fds.items()
                           if not _is_socket_entry(fdi, None)]:
                    del t.fds[fd]

    def _close_socket(self, ctx: EventContext) -> None:
        """close at sys_enter (state on demand, live): the module passes
        the closes of sockets only; their entries leave the table."""
        t, fd = ctx.thread, ctx.fdnum
        if t is not None and fd is not None:
            fdi = t.fds.pop(fd, None)
            if fdi is not None:
                ctx.fdinfo = fdi

    def uses_fd(self, evt: Event) -> bool:
        """Whether the event creates, uses or destroys an fd."""
        known = self._fd_events.get(evt.name)
        if known is None:
            known = self._fd_events[evt.name] = event_uses_fd(evt)
        return known

    def close(self) -> None:
        """Stop background work (container metadata, fd source)."""
        self.containers.close()
        if self.fd_source is not None:
            self.fd_source.close()


_SOCKET_MAKERS = frozenset(("socket", "socketpair", "accept", "accept4",
                            "bind", "connect", "listen"))


def _is_socket_entry(fdi: FdInfo, evt: Any) -> bool:
    """An entry socket state on demand keeps in the tables."""
    return fdi.type.is_socket or fdi.type.value == "netlink" or (
        evt is not None and evt.name in _SOCKET_MAKERS)
