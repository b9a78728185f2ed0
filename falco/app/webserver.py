# SPDX-License-Identifier: Apache-2.0
"""The embedded web server: health check, versions and Prometheus metrics.

``GET /healthz`` (``webserver.k8s_healthz_endpoint``) answers
``{"status": "ok"}``; ``GET /versions`` the version JSON; ``GET /metrics``
the counters in the Prometheus text exposition format (0.0.4).

Anyone who can reach the port is a client, so no client can hold up
another: a listening thread only accepts (backlog 128) and hands each
connection to one of ``workers`` threads (``webserver.threadiness``).
Each worker drives all its connections without ever blocking on one:
non-blocking sockets in a selector, the TLS handshake, the request read
and the answer written a step at a time as the socket allows. A
connection has ``request_timeout`` seconds to complete its handshake and
send its request head (at most 8 KiB), then ``request_timeout`` to take
the answer; past that it is closed. A worker holds at most
``max_connections`` (the oldest is dropped for a new one). One request per
connection (``Connection: close``).
"""
from __future__ import annotations

import json
import logging
import os
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger(__name__)

# A metric: (name, help, type, [(labels, value)]).
Metric = tuple[str, str, str, list[tuple[dict[str, str], float]]]

BACKLOG = 128
MAX_HEAD = 8192
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 431: "Request Header Fields Too Large"}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_metrics(metrics: list[Metric]) -> str:
    out = []
    for name, help_text, kind, samples in metrics:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            lbl = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            num = int(value) if float(value).is_integer() else value
            out.append(f"{name}{{{lbl}}} {num}" if lbl else f"{name} {num}")
    return "\n".join(out) + "\n"


def default_workers() -> int:
    """``threadiness: 0``: one worker per online CPU, at least two."""
    return max(2, len(os.sched_getaffinity(0)))


Answer = Callable[[bytes], bytes]


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    deadline: float
    handshaking: bool
    inbuf: bytearray = field(default_factory=bytearray)
    out: memoryview | None = None


class _Worker:
    """One thread, one selector, any number of connections."""

    def __init__(self, name: str, answer: Answer, ctx: ssl.SSLContext | None,
                 timeout: float, max_connections: int) -> None:
        self.answer = answer
        self.ctx = ctx
        self.timeout = timeout
        self.max_connections = max_connections
        self.sel = selectors.DefaultSelector()
        self.inbox: deque[socket.socket] = deque()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        self.conns: dict[socket.socket, _Conn] = {}
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name=name,
                                       daemon=True)

    def give(self, sock: socket.socket) -> None:
        self.inbox.append(sock)
        self._wake()

    def stop(self) -> None:
        self.stopping = True
        self._wake()
        self.thread.join(5)

    def _wake(self) -> None:
        try:
            self.wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass                        # already woken, or stopped

    def _run(self) -> None:
        try:
            while not self.stopping:
                now = time.monotonic()
                soonest = min((c.deadline for c in self.conns.values()),
                              default=now + 1.0)
                for key, mask in self.sel.select(max(soonest - now, 0.01)):
                    if key.data is None:
                        self._take_new()
                    else:
                        self._step(key.data, mask)
                now = time.monotonic()
                for conn in [c for c in self.conns.values()
                             if c.deadline <= now]:
                    self._close(conn)
        finally:
            for conn in list(self.conns.values()):
                self._close(conn)
            self.sel.close()
            self.wake_r.close()
            self.wake_w.close()

    def _take_new(self) -> None:
        try:
            while self.wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while self.inbox:
            sock = self.inbox.popleft()
            if len(self.conns) >= self.max_connections:
                oldest = min(self.conns.values(), key=lambda c: c.deadline)
                self._close(oldest)
            try:
                sock.setblocking(False)
                if self.ctx is not None:
                    sock = self.ctx.wrap_socket(
                        sock, server_side=True,
                        do_handshake_on_connect=False)
            except OSError:
                sock.close()
                continue
            conn = _Conn(sock, time.monotonic() + self.timeout,
                         self.ctx is not None)
            self.conns[sock] = conn
            self.sel.register(sock, selectors.EVENT_READ, conn)
            self._step(conn, selectors.EVENT_READ)   # data may be there

    def _want(self, conn: _Conn, mask: int) -> None:
        self.sel.modify(conn.sock, mask, conn)

    def _step(self, conn: _Conn, mask: int) -> None:
        try:
            if conn.handshaking:
                conn.sock.do_handshake()      # type: ignore[attr-defined]
                conn.handshaking = False
            if conn.out is None:
                self._read(conn)
            if conn.out is not None:
                self._write(conn)
        except ssl.SSLWantReadError:
            self._want(conn, selectors.EVENT_READ)
        except ssl.SSLWantWriteError:
            self._want(conn, selectors.EVENT_WRITE)
        except (BlockingIOError, InterruptedError):
            pass
        except (OSError, ValueError):
            self._close(conn)

    def _read(self, conn: _Conn) -> None:
        while b"\r\n\r\n" not in conn.inbuf and len(conn.inbuf) <= MAX_HEAD:
            data = conn.sock.recv(4096)
            if not data:
                raise ConnectionResetError("closed before the request")
            conn.inbuf += data
        head = bytes(conn.inbuf.split(b"\r\n\r\n", 1)[0])
        conn.out = memoryview(self.answer(head))
        conn.deadline = time.monotonic() + self.timeout
        self._want(conn, selectors.EVENT_WRITE)

    def _write(self, conn: _Conn) -> None:
        assert conn.out is not None
        while conn.out:
            sent = conn.sock.send(conn.out)
            conn.out = conn.out[sent:]
        self._close(conn)

    def _close(self, conn: _Conn) -> None:
        self.conns.pop(conn.sock, None)
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()


@dataclass(slots=True)
class WebServer:
    address: str
    port: int
    metrics: Callable[[], list[Metric]]
    versions: Callable[[], dict[str, str]]
    healthz_path: str = "/healthz"
    metrics_enabled: bool = True
    # PEM file holding the certificate and its key (webserver.ssl_*).
    ssl_certificate: str | None = None
    workers: int = 0                    # webserver.threadiness; 0: auto
    request_timeout: float = 10.0
    max_connections: int = 256          # per worker
    _sock: socket.socket | None = None
    _pool: list[_Worker] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _stopping: bool = False
    _count: int = 0

    @property
    def bound_port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    @property
    def worker_count(self) -> int:
        """Worker threads started (threadiness, or the CPU count)."""
        return self._count

    def start(self) -> None:
        ctx = None
        if self.ssl_certificate is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.ssl_certificate)    # OSError/SSLError
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address, self.port))
            sock.listen(BACKLOG)
            sock.settimeout(0.2)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        count = self._count = self.workers or default_workers()
        self._pool = [_Worker(f"webserver-{i}", self._answer, ctx,
                              self.request_timeout, self.max_connections)
                      for i in range(count)]
        for worker in self._pool:
            worker.thread.start()
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name="webserver")
        self._thread.start()

    def _accept(self) -> None:
        assert self._sock is not None
        turn = 0
        while not self._stopping:
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                if self._stopping:
                    return
                log.warning("webserver: accept: %s", exc)
                time.sleep(0.05)            # e.g. out of file descriptors
                continue
            self._pool[turn % len(self._pool)].give(conn)
            turn += 1

    def _answer(self, head: bytes) -> bytes:
        """The whole response to a request head (never raises)."""
        if len(head) > MAX_HEAD:
            return _response(431, "text/plain", b"request too large\n")
        line = head.split(b"\r\n", 1)[0].split(b" ")
        if len(line) != 3 or not line[2].startswith(b"HTTP/1."):
            return _response(400, "text/plain", b"bad request\n")
        method, target = line[0], line[1].split(b"?", 1)[0]
        if method != b"GET":
            return _response(405, "text/plain", b"GET only\n",
                             extra="Allow: GET\r\n")
        path = target.decode("ascii", "replace")
        try:
            if path == self.healthz_path:
                return _response(200, "application/json",
                                 json.dumps({"status": "ok"}).encode())
            if path == "/versions":
                return _response(200, "application/json",
                                 json.dumps(self.versions()).encode())
            if path == "/metrics" and self.metrics_enabled:
                return _response(200, "text/plain; version=0.0.4; "
                                 "charset=utf-8",
                                 render_metrics(self.metrics()).encode())
        except Exception as exc:    # a counter that fails: answer anyway
            log.error("webserver: %s: %s", path, exc)
            return _response(500, "text/plain", b"internal error\n")
        return _response(404, "text/plain", b"not found\n")

    def stop(self) -> None:
        self._stopping = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for worker in self._pool:
            worker.stop()
        self._pool = []
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _response(status: int, ctype: str, body: bytes, extra: str = "") -> bytes:
    reason = _REASONS.get(status, "Internal Server Error")
    return (f"HTTP/1.1 {status} {reason}\r\nServer: falco\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\n\r\n").encode() + body
