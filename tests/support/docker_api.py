# SPDX-License-Identifier: Apache-2.0
"""A stand-in for the Docker Engine API on a unix socket, for the host
tests and the churn bench (no runtime runs on the host kernel; the real
ones are tested in the VM). It answers the calls falco makes:
``/_ping``, ``/containers/json``, ``/containers/<id>/json``,
``/images/<ref>/json`` and a chunked ``/events`` stream, from documents
shaped like Docker's (see tests/data/containers for captured ones).
"""
from __future__ import annotations

import json
import os
import queue
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlparse


def inspect_doc(cid: str, name: str, image: str, labels: dict[str, str] | None = None,
                privileged: bool = False,
                mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "Id": cid, "Name": "/" + name, "Image": "sha256:" + "ab" * 32,
        "Created": "2026-01-02T03:04:05.123456789Z",
        "State": {"StartedAt": "2026-01-02T03:04:06.5Z"},
        "Config": {"Image": image, "Labels": labels or {}},
        "HostConfig": {"Privileged": privileged, "NetworkMode": "bridge"},
        "NetworkSettings": {"IPAddress": "172.17.0.2"},
        "Mounts": mounts if mounts is not None else [
            {"Source": "/srv/data", "Destination": "/data", "Mode": "",
             "RW": True, "Propagation": "rprivate"}],
    }


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    api: "DockerApi"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_args: Any) -> None:
        pass

    def _send(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        api = self.server.api
        api.calls += 1
        if api.delay:
            time.sleep(api.delay)
        path = urlparse(self.path).path
        parts = [unquote(p) for p in path.split("/") if p]
        if parts and parts[0].startswith("v1."):
            parts = parts[1:]
        if parts == ["_ping"]:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")
        elif parts == ["events"]:
            self._events()
        elif parts == ["containers", "json"]:
            self._send(200, [{"Id": c} for c in list(api.containers)])
        elif len(parts) == 3 and parts[0] == "containers" and parts[2] == "json":
            doc = api.containers.get(parts[1]) or next(
                (d for c, d in list(api.containers.items()) if c.startswith(parts[1])), None)
            self._send(200, doc) if doc else self._send(404, {"message": "no such container"})
        elif len(parts) >= 3 and parts[0] == "images":
            self._send(200, {"RepoDigests": ["example/app@sha256:" + "cd" * 32],
                             "RepoTags": ["example/app:1.2"]})
        else:
            self._send(404, {"message": "not found"})

    def _events(self) -> None:
        api = self.server.api
        q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        with api.lock:
            api.subscribers.append(q)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            while True:
                doc = q.get()
                if doc is None:
                    break
                line = json.dumps(doc).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            with api.lock:
                if q in api.subscribers:
                    api.subscribers.remove(q)


@dataclass
class DockerApi:
    path: str
    delay: float = 0.0
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscribers: list["queue.Queue[dict[str, Any] | None]"] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def start(self) -> "DockerApi":
        if os.path.exists(self.path):
            os.unlink(self.path)
        server = _Server(self.path, _Handler)
        server.api = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The runtime goes away: streams end, the socket disappears."""
        with self.lock:
            subs, self.subscribers = self.subscribers, []
        for q in subs:
            q.put(None)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _publish(self, action: str, cid: str) -> None:
        doc = {"Type": "container", "Action": action, "status": action,
               "id": cid, "Actor": {"ID": cid, "Attributes": {}},
               "timeNano": time.time_ns()}
        with self.lock:
            subs = list(self.subscribers)
        for q in subs:
            q.put(doc)

    def create(self, cid: str, name: str, image: str, **kw: Any) -> None:
        self.containers[cid] = inspect_doc(cid, name, image, **kw)
        self._publish("create", cid)

    def destroy(self, cid: str) -> None:
        self.containers.pop(cid, None)
        self._publish("destroy", cid)

    def wait_subscribed(self, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if self.subscribers:
                    return True
            time.sleep(0.01)
        return False
