# SPDX-License-Identifier: Apache-2.0
"""The embedded web server: health check, versions and Prometheus metrics.

``GET /healthz`` (``webserver.k8s_healthz_endpoint``) answers
``{"status": "ok"}``; ``GET /versions`` the version JSON; ``GET /metrics``
the counters in the Prometheus text exposition format (0.0.4).
"""
from __future__ import annotations

import json
import logging
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

log = logging.getLogger(__name__)

# A metric: (name, help, type, [(labels, value)]).
Metric = tuple[str, str, str, list[tuple[dict[str, str], float]]]


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
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def bound_port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> None:
        web = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "falco"

            def log_message(self, fmt: str, *args: object) -> None:
                log.debug("webserver: " + fmt, *args)

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                path = self.path.split("?", 1)[0]
                if path == web.healthz_path:
                    self._send(200, "application/json",
                               json.dumps({"status": "ok"}))
                elif path == "/versions":
                    self._send(200, "application/json",
                               json.dumps(web.versions()))
                elif path == "/metrics" and web.metrics_enabled:
                    self._send(200, "text/plain; version=0.0.4; "
                               "charset=utf-8", render_metrics(web.metrics()))
                else:
                    self._send(404, "text/plain", "not found\n")

            def _send(self, status: int, ctype: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((self.address, self.port), Handler)
        self._server.daemon_threads = True
        if self.ssl_certificate is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                ctx.load_cert_chain(self.ssl_certificate)
            except (OSError, ssl.SSLError):
                self._server.server_close()
                self._server = None
                raise
            self._server.socket = ctx.wrap_socket(self._server.socket,
                                                  server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        daemon=True, name="webserver")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
