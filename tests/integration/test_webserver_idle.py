# SPDX-License-Identifier: Apache-2.0
"""The web server holds under idle and slow clients: /healthz answers
within 2 s while 5 idle TLS connections (no ClientHello) and 50 idle plain
ones (nothing, or half a request) are held; the thread count does not grow
with the connections; idle clients are dropped after the request timeout;
a burst of connects is taken by the backlog."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from falco.app.webserver import WebServer
from support.cli import CAT_WRITE, SINGLE_RULE, falco_argv, env, \
    scap_blocks, wait_for, write_config
from support.hostile import idle_connections, make_certificate, time_healthz

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="openssl makes the certificate")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("cert"))


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


@pytest.fixture
def falco_web(tmp_path: Path, cert: tuple[Path, Path]) -> Iterator[Any]:
    """A real falco reading a FIFO that never ends, web server on."""
    started: list[subprocess.Popen[bytes]] = []
    writers: list[Any] = []

    def start(tls: bool) -> tuple[subprocess.Popen[bytes], int]:
        fifo = tmp_path / f"live-{len(started)}.scap"
        os.mkfifo(fifo)
        cfg = write_config(tmp_path, name=f"web{len(started)}.yaml",
                           webserver={"enabled": True, "listen_port": 0,
                                      "ssl_enabled": tls,
                                      "ssl_certificate": str(cert[0])})
        proc = subprocess.Popen(
            falco_argv("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                       str(fifo)), stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=env())
        started.append(proc)
        writer = open(fifo, "wb", buffering=0)
        writers.append(writer)
        header, events = scap_blocks(CAT_WRITE)
        writer.write(header + events[0])    # then nothing: the run waits
        lines: list[bytes] = []
        threading.Thread(target=lambda: lines.extend(proc.stderr),
                         daemon=True).start()
        line = wait_for(lambda: next((ln for ln in lines
                                      if b"Webserver listening" in ln),
                                     None), 60)
        assert line, lines
        return proc, int(line.rsplit(b":", 1)[1])

    yield start
    for writer in writers:
        writer.close()
    for proc in started:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not CAT_WRITE.exists(), reason="shared captures")
@pytest.mark.parametrize("tls", [True, False])
def test_healthz_answers_while_idle_clients_are_held(
        falco_web: Any, cert: tuple[Path, Path], tls: bool) -> None:
    proc, port = falco_web(tls)
    before = threads_of(proc.pid)
    idle = idle_connections(port, 5)                        # no hello
    idle += idle_connections(port, 25)                      # nothing
    idle += idle_connections(port, 25, b"GET /healthz HTTP/1.1\r\n")
    try:
        assert len(idle) == 55          # the backlog took them all
        took, answer = time_healthz(port, cert[1] if tls else None)
        print(f"{'TLS' if tls else 'plain'}: /healthz in {took:.3f} s "
              f"with {len(idle)} idle clients")
        assert answer == 200
        assert took < 2.0
        assert threads_of(proc.pid) == before     # no thread per client
    finally:
        for sock in idle:
            sock.close()      # type: ignore[attr-defined]


def test_idle_clients_are_dropped_after_the_timeout() -> None:
    web = WebServer("127.0.0.1", 0, lambda: [], lambda: {}, workers=1,
                    request_timeout=0.5)
    web.start()
    try:
        (sock,) = idle_connections(web.bound_port, 1, b"GET / HTTP/1.1\r\n")
        sock.settimeout(10)     # type: ignore[attr-defined]
        start = time.monotonic()
        assert sock.recv(100) == b""      # type: ignore[attr-defined]
        assert time.monotonic() - start < 5
    finally:
        web.stop()


def test_a_worker_drops_its_oldest_connection_when_full() -> None:
    web = WebServer("127.0.0.1", 0, lambda: [], lambda: {}, workers=1,
                    max_connections=10)
    web.start()
    try:
        idle = idle_connections(web.bound_port, 30)
        took, answer = time_healthz(web.bound_port, None)
        assert answer == 200
        closed = 0
        for sock in idle:
            sock.settimeout(0.5)          # type: ignore[attr-defined]
            try:
                closed += sock.recv(1) == b""    # type: ignore[attr-defined]
            except TimeoutError:
                pass
            sock.close()                  # type: ignore[attr-defined]
        assert closed >= 20
    finally:
        web.stop()


def test_burst_of_connects_and_requests() -> None:
    """100 clients at once, each with a request: every one answered."""
    web = WebServer("127.0.0.1", 0, lambda: [], lambda: {"v": "1"},
                    workers=2)
    web.start()
    try:
        socks = []
        for _ in range(100):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", web.bound_port))
            socks.append(sock)
        answers = []
        for sock in socks:
            sock.setblocking(True)
            sock.settimeout(10)
            sock.sendall(b"GET /versions HTTP/1.0\r\n\r\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
            sock.close()
            answers.append(data)
        assert all(a.startswith(b"HTTP/1.1 200 OK") for a in answers)
        assert json.loads(answers[0].split(b"\r\n\r\n", 1)[1]) == {"v": "1"}
    finally:
        web.stop()


@pytest.mark.parametrize("request_bytes,status", [
    (b"POST /healthz HTTP/1.1\r\n\r\n", b"405"),
    (b"garbage\r\n\r\n", b"400"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", b"431"),
])
def test_bad_requests(request_bytes: bytes, status: bytes) -> None:
    web = WebServer("127.0.0.1", 0, lambda: [], lambda: {}, workers=1)
    web.start()
    try:
        with socket.create_connection(("127.0.0.1", web.bound_port),
                                      timeout=10) as sock:
            sock.sendall(request_bytes)
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
        assert data.split(b" ")[1] == status, data[:100]
    finally:
        web.stop()
