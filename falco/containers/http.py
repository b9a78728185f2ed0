# SPDX-License-Identifier: Apache-2.0
"""HTTP/1.1 over a unix socket: the Docker and Podman APIs.

Answers are bounded (``MAX_BODY`` for a document, ``MAX_LINE`` for one
event of a stream); a timeout bounds every read, so a runtime that hangs
costs a worker thread at most ``timeout`` seconds.
"""
from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import quote

MAX_BODY = 4 << 20
MAX_LINE = 1 << 20


class ApiError(OSError):
    """The runtime answered with an error status (404: no such object)."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}")
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def query(params: dict[str, Any]) -> str:
    """``{"filters": {...}}`` -> ``?filters=%7B...`` (values JSON when not str)."""
    parts = []
    for key, value in params.items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f"{key}={quote(text, safe='')}")
    return "?" + "&".join(parts) if parts else ""


@dataclass(slots=True)
class UnixHttp:
    socket_path: str
    timeout: float = 2.0

    def get_json(self, path: str) -> Any:
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("GET", path, headers={"Accept": "application/json"})
            resp = conn.getresponse()
            body = resp.read(MAX_BODY + 1)
            if resp.status != 200:
                raise ApiError(resp.status, path.split("?", 1)[0])
            if len(body) > MAX_BODY:
                raise OSError(f"{path}: answer larger than {MAX_BODY} bytes")
            return json.loads(body)
        finally:
            conn.close()

    def ping(self, path: str = "/_ping") -> bool:
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read(MAX_LINE)
            return resp.status == 200
        finally:
            conn.close()

    def open_stream(self, path: str) -> "JsonStream":
        """A streamed answer (an event stream) of JSON documents, one per
        line. Raises OSError when the runtime does not answer."""
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError(resp.status, path.split("?", 1)[0])
        except BaseException:
            conn.close()
            raise
        if conn.sock is not None:
            conn.sock.settimeout(None)      # events may be minutes apart
        return JsonStream(conn, resp, path)


@dataclass(slots=True)
class JsonStream:
    conn: http.client.HTTPConnection
    resp: http.client.HTTPResponse
    path: str
    closed: bool = False

    def __iter__(self) -> Iterator[Any]:
        """Documents until the runtime ends the stream (returns) or it
        breaks (OSError); ``close()`` from another thread ends it too."""
        pending = b""
        try:
            while not self.closed:
                chunk = self.resp.read1(65536)
                if not chunk:
                    return
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
                if len(pending) > MAX_LINE:
                    raise OSError(f"{self.path}: event longer than "
                                  f"{MAX_LINE} bytes")
        except (ValueError, AttributeError, http.client.HTTPException) as exc:
            # (http.client trips on its own closed connection when
            # close() came from another thread)
            if self.closed:
                return
            raise OSError(f"{self.path}: {exc!r}") from None
        except OSError:
            if self.closed:
                return
            raise

    def close(self) -> None:
        """Wake the reader (any thread) and release the connection."""
        self.closed = True
        sock = self.conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conn.close()
