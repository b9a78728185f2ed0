# SPDX-License-Identifier: Apache-2.0
"""Capture recording: save the events that follow an alert to a .scap.

With ``capture.enabled``, an alert of a rule with ``capture: true`` (mode
``rules``) or of any rule (mode ``all_rules``) starts a recording to
``<path_prefix>_<event time ns>.scap``: the triggering event and every
event of the next ``capture_duration`` (rule) or ``default_duration`` ms
of event time. An alert during a recording extends it.

A recording is created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` and mode 0600
whatever the umask (the default directory, /var/lib/falco/captures, is
0700 and made by the package): a file or a symbolic link already at that
name is refused and logged, and the alert is delivered all the same.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

from falco.events.event import Event
from falco.outputs.file import create_exclusive
from falco.rules.model import CompiledRule
from falco.state import Inspector

log = logging.getLogger(__name__)

WriterFactory = Callable[[str, list[Any], list[Any]], Any]
_PROC_FIELDS = ("tid", "pid", "ptid", "comm", "exe", "exepath", "args", "env",
                "cwd", "tty", "uid", "gid", "loginuid", "cgroups", "clone_ts",
                "vtid", "vpid", "sid", "pgid", "vpgid", "fdlimit", "flags")


def _scap_writer(path: str, procs: list[Any], fds: list[Any]) -> Any:
    """A new recording: created exclusively, never through a symbolic
    link, mode 0600 (it holds command lines, environments and data)."""
    from falco.events.scap_writer import ScapWriter
    fh = os.fdopen(create_exclusive(path), "wb")
    try:
        return ScapWriter(path, procs=procs, fds=fds, fileobj=fh)
    except BaseException:
        fh.close()
        raise


def proc_entries(inspector: Inspector) -> list[Any]:
    """The inspector's threads as capture process-list entries, so that a
    recording replays with the process names and command lines."""
    from falco.events.capture_state import ProcEntry
    out = []
    for t in list(inspector.threads.values()):
        values = {name: getattr(t, name) for name in _PROC_FIELDS}
        for key in ("args", "env", "cgroups"):
            values[key] = list(values.get(key) or [])
        for key in ("uid", "gid"):
            if values.get(key, 0) < 0:
                values[key] = 0xFFFFFFFF
        out.append(ProcEntry(**values))
    return out


def fd_entries(inspector: Inspector) -> list[Any]:
    """The open fds of every process as capture fd-list entries, so that
    a recording replays with the names of fds opened before it started."""
    from falco.events.capture_state import FdEntry, ScapFdType, ScapL4Proto
    from falco.state.entries import FdType
    plain = {FdType.DIRECTORY: ScapFdType.DIRECTORY,
             FdType.PIPE: ScapFdType.FIFO, FdType.EVENT: ScapFdType.EVENT,
             FdType.SIGNALFD: ScapFdType.SIGNALFD,
             FdType.EVENTPOLL: ScapFdType.EVENTPOLL,
             FdType.INOTIFY: ScapFdType.INOTIFY,
             FdType.TIMERFD: ScapFdType.TIMERFD,
             FdType.NETLINK: ScapFdType.NETLINK, FdType.BPF: ScapFdType.BPF,
             FdType.USERFAULTFD: ScapFdType.USERFAULTFD,
             FdType.IO_URING: ScapFdType.IOURING,
             FdType.MEMFD: ScapFdType.MEMFD, FdType.PIDFD: ScapFdType.PIDFD,
             FdType.UNIX: ScapFdType.UNIX_SOCK}
    l4 = {"tcp": ScapL4Proto.TCP, "udp": ScapL4Proto.UDP,
          "icmp": ScapL4Proto.ICMP, "raw": ScapL4Proto.RAW}
    out = []
    for t in list(inspector.threads.values()):
        if t.tid != t.pid:       # threads share their main thread's table
            continue
        for f in list(t.fds.values()):
            base: dict[str, Any] = {"tid": t.tid, "fd": f.fd,
                                    "ino": f.ino, "name": f.name}
            if f.type is FdType.FILE:
                out.append(FdEntry(type=ScapFdType.FILE_V2, flags=f.flags,
                                   dev=f.dev, **base))
            elif f.type.is_ip:
                v4 = f.type is FdType.IPV4
                proto = l4.get(f.l4proto or "", ScapL4Proto.NA)
                if f.is_server and f.sip is None:
                    kind = (ScapFdType.IPV4_SERVSOCK if v4
                            else ScapFdType.IPV6_SERVSOCK)
                    out.append(FdEntry(type=kind, dip=f.dip, dport=f.dport,
                                       l4proto=proto, is_server=True,
                                       **base))
                else:
                    kind = (ScapFdType.IPV4_SOCK if v4
                            else ScapFdType.IPV6_SOCK)
                    out.append(FdEntry(type=kind, sip=f.sip, sport=f.sport,
                                       dip=f.dip, dport=f.dport,
                                       l4proto=proto, **base))
            elif f.type in plain:
                out.append(FdEntry(type=plain[f.type], **base))
    return out


@dataclass(slots=True)
class CaptureRecorder:
    path_prefix: str
    mode: str = "rules"
    default_duration_ms: int = 5000
    open_writer: WriterFactory = _scap_writer
    inspector: Inspector | None = None
    files: int = 0
    _writer: Any = None
    _until: int = 0
    _path: str = ""

    def on_match(self, rule: CompiledRule, evt: Event) -> None:
        if self.mode != "all_rules" and not rule.capture:
            return
        duration = rule.capture_duration or self.default_duration_ms
        until = evt.ts + int(duration) * 1_000_000
        if self._writer is None:
            self._path = f"{self.path_prefix}_{evt.ts}.scap"
            try:
                insp = self.inspector
                procs = proc_entries(insp) if insp is not None else []
                fds = fd_entries(insp) if insp is not None else []
                self._writer = self.open_writer(self._path, procs, fds)
            except Exception as exc:
                log.error("capture: cannot record to %s: %s", self._path,
                          exc)
                return
            self.files += 1
            log.info("capture: rule '%s' triggered, recording to %s",
                     rule.name, self._path)
            self._writer.write_event(evt)
        self._until = max(self._until, until)

    def on_event(self, evt: Event) -> None:
        """Called for every event before the rules see it."""
        if self._writer is None:
            return
        if evt.ts > self._until:
            self.close()
            return
        try:
            self._writer.write_event(evt)
        except Exception as exc:
            log.error("capture: writing %s failed: %s", self._path, exc)
            self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            log.info("capture: %s closed", self._path)
