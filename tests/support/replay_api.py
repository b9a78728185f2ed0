# SPDX-License-Identifier: Apache-2.0
"""Replay recorded runtime answers (tests/data/containers/, made in the VM
by tests/support/capture_runtimes.py) on a unix socket, so that falco's
real clients read real podman, containerd and CRI bytes on the host.

``HttpReplay``: GET path (query ignored) -> recorded body; stream paths
send their recorded lines chunked, then hold the connection open.
``GrpcReplay``: method path -> recorded serialized response (or a gRPC
status code); stream methods send their recorded messages.
"""
from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DATA = Path(__file__).resolve().parents[1] / "data" / "containers"


def read_framed(data: bytes) -> list[bytes]:
    """Messages stored as 4-byte big-endian length + message."""
    out, pos = [], 0
    while pos + 4 <= len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    replay: "HttpReplay"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        replay = self.server.replay
        path = urlparse(self.path).path
        replay.requests.append(self.path)
        if path in replay.streams:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for line in replay.streams[path]:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
            replay.closed.wait()
            return
        body = replay.routes.get(path)
        status = 200 if body is not None else 404
        if body is None:
            body = b'{"message":"no such container"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class HttpReplay:
    socket: str
    routes: dict[str, bytes]
    streams: dict[str, list[bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)
    _server: _Server | None = None

    def start(self) -> "HttpReplay":
        server = _Server(self.socket, _Handler)
        server.replay = self
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.closed.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class GrpcReplay:
    """``unary``/``streams`` values: recorded bytes (or a list of them), or
    the name of a grpc.StatusCode to fail with."""

    socket: str
    unary: dict[str, bytes | str]
    streams: dict[str, list[bytes] | str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _server: Any = None

    def start(self) -> "GrpcReplay":
        import grpc
        from concurrent import futures

        replay = self

        def fail(ctx: Any, code: str) -> None:
            ctx.abort(getattr(grpc.StatusCode, code), f"replayed {code}")

        def unary_handler(path: str) -> Any:
            def handle(_req: bytes, ctx: Any) -> bytes:
                replay.calls.append(path)
                answer = replay.unary[path]
                if isinstance(answer, str):
                    fail(ctx, answer)
                return answer  # type: ignore[return-value]
            return grpc.unary_unary_rpc_method_handler(handle)

        def stream_handler(path: str) -> Any:
            def handle(_req: bytes, ctx: Any) -> Any:
                replay.calls.append(path)
                answer = replay.streams[path]
                if isinstance(answer, str):
                    fail(ctx, answer)
                yield from answer
            return grpc.unary_stream_rpc_method_handler(handle)

        class Handler(grpc.GenericRpcHandler):
            def service(self, details: Any) -> Any:
                path = details.method
                if path in replay.unary:
                    return unary_handler(path)
                if path in replay.streams:
                    return stream_handler(path)
                return None

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                             handlers=[Handler()])
        server.add_insecure_port(f"unix:{self.socket}")
        server.start()
        self._server = server
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.stop(0)
