# SPDX-License-Identifier: Apache-2.0
"""Real alert sinks for tests: systemd-journald, rsyslogd and an HTTP
listener on 127.0.0.1, each started for the test and stopped after it.

No tests here; the test_outputs_* and test_hostile_* modules use them.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import signal
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from support.cli import wait_for

JOURNALD = Path("/lib/systemd/systemd-journald")
JOURNAL_SOCKET = "/run/systemd/journal/socket"


def journald_available() -> bool:
    if not JOURNALD.exists() or shutil.which("journalctl") is None:
        return False
    try:
        import systemd.journal  # noqa: F401
    except ImportError:
        return False
    return True


def _journal_alive() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.connect(JOURNAL_SOCKET)
            return True
        except OSError:
            return False


@contextlib.contextmanager
def journald_running() -> Iterator[None]:
    """A real systemd-journald, started by hand (PID 1 is not systemd);
    one at a time across test processes (a lock file)."""
    with open("/tmp/falco-tests-journald.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = None
        if not _journal_alive():
            Path("/run/systemd/journal").mkdir(parents=True, exist_ok=True)
            proc = subprocess.Popen([str(JOURNALD)],
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            assert wait_for(_journal_alive, 20), "journald did not start"
        try:
            yield
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(20)
            fcntl.flock(lock, fcntl.LOCK_UN)


def journal_entries(identifier: str) -> list[dict[str, object]]:
    """Every entry logged under SYSLOG_IDENTIFIER=identifier, as journalctl
    prints them in JSON (a field journald holds as a blob is a list)."""
    out = subprocess.run(["journalctl", "--no-pager", "-o", "json",
                          f"SYSLOG_IDENTIFIER={identifier}"],
                         capture_output=True, text=True, timeout=60)
    return [json.loads(ln) for ln in out.stdout.splitlines() if ln]


@contextlib.contextmanager
def rsyslogd_running(directory: Path) -> Iterator[tuple[Path, Path]]:
    """rsyslogd on a private socket, writing every message to a file as
    ``facility.severity program:msg``; yields (socket, messages file)."""
    sock, messages = directory / "log", directory / "messages"
    conf = directory / "rsyslog.conf"
    conf.write_text(f"""\
global(workDirectory="{directory}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on")
template(name="plain" type="string"
         string="%syslogfacility-text%.%syslogseverity-text% %programname%:%msg%\\n")
*.* action(type="omfile" file="{messages}" template="plain")
""")
    proc = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i",
                             str(directory / "rsyslogd.pid")],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for(sock.exists, 30), "rsyslogd did not start"
        yield sock, messages
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Collect(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextlib.contextmanager
def http_listener() -> Iterator[ThreadingHTTPServer]:
    """A real HTTP server on 127.0.0.1; ``.bodies`` collects the raw
    bodies POSTed to it."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Collect)
    srv.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()
