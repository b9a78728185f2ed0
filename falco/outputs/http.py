# SPDX-License-Identifier: Apache-2.0
"""HTTP output: each alert POSTed as a JSON object (falcosidekick shape).

The body always carries every key falcosidekick reads (``output``,
``priority``, ``rule``, ``time``, ``output_fields``, ``source``, ``tags``,
``hostname``), whatever ``json_output`` says. Connection errors, timeouts
and 5xx answers are retried with exponential backoff; 4xx are not.
"""
from __future__ import annotations

import gzip
import http.client
import logging
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable

from falco.outputs.encode import escape_bytes
from falco.outputs.format import EncodedAlert

log = logging.getLogger(__name__)


class HttpError(OSError):
    """The server refused the alert or never answered."""


@dataclass(slots=True)
class HttpOutput:
    url: str
    user_agent: str = "falcosecurity/falco"
    timeout: float = 5.0
    connect_timeout: float = 2.0
    max_retries: int = 3
    retry_backoff: float = 0.25
    insecure: bool = False
    echo: bool = False
    sleep: Callable[[float], None] = time.sleep
    compress: bool = False
    keep_alive: bool = False
    max_consecutive_timeouts: int = 5
    name: str = "http"
    consecutive_timeouts: int = field(default=0, init=False)
    _conn: http.client.HTTPConnection | None = field(default=None,
                                                     init=False)

    def _body(self, alert: EncodedAlert) -> bytes:
        body = alert.http_body()
        return gzip.compress(body) if self.compress else body

    def _connect(self) -> http.client.HTTPConnection:
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or "localhost"
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            ctx = ssl.create_default_context()
            if self.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(
                host, parts.port, timeout=self.connect_timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, parts.port,
                                              timeout=self.connect_timeout)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(self.timeout)
        return conn

    def _post_once(self, body: bytes) -> int:
        parts = urllib.parse.urlsplit(self.url)
        path = (parts.path or "/") + ("?" + parts.query if parts.query
                                      else "")
        headers = {"Content-Type": "application/json",
                   "User-Agent": self.user_agent}
        if self.compress:
            headers["Content-Encoding"] = "gzip"
        conn = self._conn or self._connect()
        self._conn = None
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            answer = resp.read()
        except BaseException:
            conn.close()
            raise
        if self.echo:
            log.info("http output: %s", escape_bytes(answer))
        if self.keep_alive and not resp.will_close:
            self._conn = conn
        else:
            conn.close()
        return resp.status

    def emit(self, alert: EncodedAlert) -> None:
        body = self._body(alert)
        last = "no attempt"
        retries = self.max_retries
        if 0 < self.max_consecutive_timeouts <= self.consecutive_timeouts:
            retries = 0         # the server keeps timing out: fail fast
        for attempt in range(retries + 1):
            if attempt:
                self.sleep(self.retry_backoff * (2 ** (attempt - 1)))
            try:
                status = self._post_once(body)
            except TimeoutError:
                self.consecutive_timeouts += 1
                last = "timed out"
                continue
            except (OSError, http.client.HTTPException) as exc:
                last = str(exc) or type(exc).__name__
                continue
            self.consecutive_timeouts = 0
            if status < 300:
                return
            last = f"HTTP {status}"
            if status < 500:
                break
        raise HttpError(f"POST {self.url} failed: {last}")

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
