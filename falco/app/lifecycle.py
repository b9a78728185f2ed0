# SPDX-License-Identifier: Apache-2.0
"""Daemon life cycle: signals, sd_notify, pidfile, -d, watched files.

The daemon normally stays in the foreground and lets systemd supervise it
(``Type=notify``); ``-d``/``--daemon`` forks into the background for init
systems that want that. Signal handlers only set flags or queue work: the
engine loop does the rest between two events.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from falco.app.drops import DropMonitor
from falco.app.recording import CaptureRecorder
from falco.app.webserver import WebServer
from falco.outputs.file import create_exclusive

log = logging.getLogger(__name__)

Notifier = Callable[[str], bool]


def sd_notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` to $NOTIFY_SOCKET; False when not run by systemd."""
    address = (os.environ if env is None else env).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(state.encode())
        except OSError as exc:
            log.warning("sd_notify: %s", exc)
            return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None
                      ) -> float | None:
    """Half of $WATCHDOG_USEC in seconds, if the watchdog is for us."""
    environ = os.environ if env is None else env
    usec = environ.get("WATCHDOG_USEC")
    pid = environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 2e6, 0.001)
    except ValueError:
        return None


@dataclass(slots=True)
class Watchdog:
    """Pings systemd's watchdog while ``alive()`` says the loop runs."""

    interval: float
    notify: Notifier = sd_notify
    alive: Callable[[], bool] = lambda: True
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="watchdog")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if self.alive():
                self.notify("WATCHDOG=1")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass(slots=True)
class FileWatcher:
    """Polls files' mtimes; calls ``changed`` when one differs."""

    paths: list[str]
    changed: Callable[[], None]
    interval: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _seen: dict[str, tuple[float, int] | None] = field(default_factory=dict)

    def _snapshot(self) -> dict[str, tuple[float, int] | None]:
        snap: dict[str, tuple[float, int] | None] = {}
        for path in self.paths:
            p = Path(path)
            files = sorted(p.glob("*.y*ml")) if p.is_dir() else [p]
            for f in [p, *files]:
                try:
                    st = f.stat()
                    snap[str(f)] = (st.st_mtime, st.st_size)
                except OSError:
                    snap[str(f)] = None
        return snap

    def start(self) -> None:
        self._seen = self._snapshot()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="config-watcher")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            snap = self._snapshot()
            if snap != self._seen:
                self._seen = snap
                log.info("configuration or rules files changed, reloading")
                self.changed()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass(slots=True)
class Signals:
    """Installs the handlers; each one only calls a short callback."""

    on_stop: Callable[[], None]
    on_reload: Callable[[], None]
    on_reopen: Callable[[], None]
    on_alarm: Callable[[], None] | None = None
    _previous: dict[int, object] = field(default_factory=dict)

    def install(self) -> None:
        handlers = {signal.SIGINT: self.on_stop, signal.SIGTERM: self.on_stop,
                    signal.SIGHUP: self.on_reload,
                    signal.SIGUSR1: self.on_reopen}
        if self.on_alarm is not None:
            handlers[signal.SIGALRM] = self.on_alarm
        for signum, func in handlers.items():
            self._previous[signum] = signal.signal(signum, _handler(func))

    def restore(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, old in self._previous.items():
            signal.signal(signum, old)  # type: ignore[arg-type]
        self._previous.clear()


def _handler(func: Callable[[], None]) -> Callable[[int, Any], None]:
    def handle(_signum: int, _frame: Any) -> None:
        func()
    return handle


def daemonize() -> None:
    """Detach: fork twice, new session, cwd /, stdio to /dev/null."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    os.umask(0o022)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


@dataclass(slots=True)
class PidFile:
    path: str

    def write(self) -> None:
        """Written to a new file (exclusive, no symbolic link followed,
        0600) renamed over the path: a link planted at the path is
        replaced, never written through."""
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with os.fdopen(create_exclusive(tmp), "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()}\n")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        try:
            if Path(self.path).read_text().strip() == str(os.getpid()):
                os.unlink(self.path)
        except OSError:
            pass


@dataclass(slots=True)
class Services:
    """What a run starts beside the engine, stopped in reverse order."""

    drops: DropMonitor | None = None
    recorder: CaptureRecorder | None = None
    web: WebServer | None = None
    signals: Signals | None = None
    watcher: FileWatcher | None = None
    watchdog: Watchdog | None = None

    def stop(self) -> None:
        if self.signals is not None:
            self.signals.restore()
        for thing in (self.watchdog, self.watcher, self.web):
            if thing is not None:
                thing.stop()
        if self.recorder is not None:
            self.recorder.close()
