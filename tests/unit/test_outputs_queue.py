# SPDX-License-Identifier: Apache-2.0
"""Bounded queues, per-output drops, throttling and the HTTP output."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from falco.engine.alert import Alert
from falco.outputs import OutputManager, QueuedOutput, TokenBucket
from falco.outputs.file import FileOutput
from falco.outputs.format import AlertFormatter, EncodedAlert
from falco.outputs.http import HttpError, HttpOutput
from falco.rules import Priority


def raw_alert(n: int) -> Alert:
    return Alert(time=10**9 + n, rule="r", priority=Priority.ERROR, output=f"a{n}",
                 tags=("t",), hostname="h",
                 output_fields={"proc.name": "cat"})


def alert(n: int) -> EncodedAlert:
    return AlertFormatter(iso_time=True).encode(raw_alert(n))


@dataclass
class Blocked:
    """An output that blocks in emit until released."""

    name: str = "blocked"
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    got: list[str] = field(default_factory=list)

    def emit(self, alert: EncodedAlert) -> None:
        self.entered.set()
        self.release.wait(30)
        self.got.append(alert.alert.output)

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_full_queue_drops_and_counts() -> None:
    out = Blocked()
    worker = QueuedOutput(out, capacity=2)
    worker.start()
    assert worker.submit(alert(0))
    assert out.entered.wait(10)            # the worker holds alert 0
    results = [worker.submit(alert(i)) for i in range(1, 6)]
    assert results == [True, True, False, False, False]
    assert worker.stats.dropped == 3
    out.release.set()
    assert worker.stop(10)
    assert out.got == ["a0", "a1", "a2"]
    assert worker.stats.delivered == 3


def test_failing_output_is_counted_and_worker_survives() -> None:
    class Broken:
        name = "broken"
        calls = 0

        def emit(self, alert: EncodedAlert) -> None:
            Broken.calls += 1
            if Broken.calls == 1:
                raise OSError("disk full")

        def reopen(self) -> None: ...

        def close(self) -> None: ...

    worker = QueuedOutput(Broken())
    worker.start()
    worker.submit(alert(0))
    worker.submit(alert(1))
    assert worker.stop(10)
    assert (worker.stats.failed, worker.stats.delivered) == (1, 1)


def test_token_bucket_throttles_and_reports() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=1.0, max_burst=3, clock=lambda: now[0])
    manager = OutputManager(AlertFormatter(), bucket)
    sent = [manager.send(raw_alert(i)) for i in range(5)]
    assert sent == [True, True, True, False, False]
    now[0] += 1.0
    assert manager.send(raw_alert(5)) and not manager.send(raw_alert(6))
    assert (manager.sent, manager.suppressed) == (4, 3)
    assert "3 alerts suppressed" in manager.report()[0]


def test_stalled_output_does_not_delay_file(tmp_path: Path) -> None:
    """A stalled sink does not hold the file back: every line is in the
    file while the stalled output still sits on its first alert (the order
    holds however busy the machine; bench/outputs.py measures the delay)."""
    stalled = Blocked(name="http")
    path = tmp_path / "f.txt"
    manager = OutputManager(AlertFormatter())
    manager.add(stalled)
    manager.add(FileOutput(str(path)))
    for i in range(20):
        manager.send(raw_alert(i))
    assert stalled.entered.wait(30)
    end = time.monotonic() + 25             # stalled gives up after 30 s
    while time.monotonic() < end and not (
            path.exists() and len(path.read_text().splitlines()) == 20):
        time.sleep(0.01)
    assert len(path.read_text().splitlines()) == 20
    assert stalled.got == []                # still on the first alert
    stalled.release.set()
    manager.stop()
    assert len(stalled.got) == 20           # nothing lost


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        srv = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip
            body = gzip.decompress(body)
        srv.bodies.append((self.headers["Content-Type"],
                           self.headers["User-Agent"], body))
        srv.peers.add(self.client_address)
        if srv.hold:                # no answer until the test releases it
            srv.release.wait(60)
        status = srv.statuses.pop(0) if srv.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def http_server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.bodies, srv.statuses, srv.peers = [], [], set()
    srv.hold, srv.release = False, threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join()


def test_http_posts_falcosidekick_json(http_server) -> None:
    url = f"http://127.0.0.1:{http_server.server_port}/"
    HttpOutput(url).emit(alert(1))
    ctype, agent, body = http_server.bodies[0]
    assert ctype == "application/json"
    assert agent == "falcosecurity/falco"
    obj = json.loads(body)
    assert set(obj) >= {"output", "priority", "rule", "time", "output_fields",
                        "source", "tags", "hostname"}
    assert obj["priority"] == "Error" and obj["output_fields"]["proc.name"] \
        == "cat"


def test_http_retries_5xx_with_backoff(http_server) -> None:
    http_server.statuses[:] = [503, 500]
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{http_server.server_port}/alerts"
    HttpOutput(url, retry_backoff=0.5, sleep=sleeps.append).emit(alert(1))
    assert len(http_server.bodies) == 3
    assert sleeps == [0.5, 1.0]


def test_http_does_not_retry_4xx(http_server) -> None:
    http_server.statuses[:] = [400]
    url = f"http://127.0.0.1:{http_server.server_port}/"
    with pytest.raises(HttpError, match="HTTP 400"):
        HttpOutput(url, sleep=lambda s: None).emit(alert(1))
    assert len(http_server.bodies) == 1


def test_http_connection_refused_gives_up() -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    sleeps: list[float] = []
    with pytest.raises(HttpError, match="failed"):
        HttpOutput(f"http://127.0.0.1:{port}/", max_retries=2,
                   sleep=sleeps.append).emit(alert(1))
    assert len(sleeps) == 2


def test_stop_abandons_an_output_that_makes_no_progress() -> None:
    out = Blocked()
    worker = QueuedOutput(out, capacity=10)
    worker.start()
    for i in range(4):
        worker.submit(alert(i))
    assert out.entered.wait(10)
    assert worker.stop(timeout=0.3) is False
    assert worker.stats.abandoned == 4          # 1 in emit, 3 queued
    manager = OutputManager(AlertFormatter())
    manager.workers.append(worker)
    assert "4 not delivered at exit" in manager.report()[0]
    out.release.set()


def test_slow_output_is_reported(caplog) -> None:
    import logging

    class Slow:
        name = "slow"

        def emit(self, alert: EncodedAlert) -> None:
            time.sleep(0.05)

        def reopen(self) -> None: ...

        def close(self) -> None: ...

    logging.getLogger("falco").addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING):
            worker = QueuedOutput(Slow(), slow_after=0.01)
            worker.start()
            worker.submit(alert(0))
            worker.submit(alert(1))
            assert worker.stop(10)
    finally:
        logging.getLogger("falco").removeHandler(caplog.handler)
    assert worker.stats.slow == 2
    msgs = {r.getMessage() for r in caplog.records}
    assert sum("more than output_timeout (10 ms)" in m for m in msgs) == 1


def test_http_gzip_and_keep_alive(http_server) -> None:
    url = f"http://127.0.0.1:{http_server.server_port}/"
    out = HttpOutput(url, compress=True, keep_alive=True)
    for i in range(3):
        out.emit(alert(i))
    out.close()
    assert [json.loads(b[2])["output"].endswith(f"a{i}")
            for i, b in enumerate(http_server.bodies)] == [True] * 3
    assert len(http_server.peers) == 1          # one connection reused
    out = HttpOutput(url)
    out.emit(alert(9))
    out.emit(alert(10))
    assert len(http_server.peers) == 3          # one per alert


def test_http_fails_fast_after_consecutive_timeouts(http_server) -> None:
    http_server.hold = True         # every attempt times out, however slow
    sleeps: list[float] = []
    out = HttpOutput(f"http://127.0.0.1:{http_server.server_port}/",
                     timeout=0.05, max_retries=2, sleep=sleeps.append,
                     max_consecutive_timeouts=3)
    with pytest.raises(HttpError, match="timed out"):
        out.emit(alert(1))
    assert out.consecutive_timeouts == 3 and len(sleeps) == 2
    with pytest.raises(HttpError, match="timed out"):
        out.emit(alert(2))
    assert len(sleeps) == 2                     # no retries any more
    # the server answers again: one answer resets the count (a timeout
    # that a busy machine meets, the 0.05 s above would not be)
    http_server.hold = False
    http_server.release.set()
    out.timeout = 30.0
    out.emit(alert(3))
    assert out.consecutive_timeouts == 0
