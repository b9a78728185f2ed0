# SPDX-License-Identifier: Apache-2.0
"""Daemon pieces: sd_notify on a real NOTIFY_SOCKET, watchdog, pidfile,
file watcher, web server."""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
import urllib.request
from pathlib import Path

import pytest

from falco.app.lifecycle import (FileWatcher, PidFile, Watchdog, sd_notify,
                          watchdog_interval)
from falco.app.webserver import WebServer, render_metrics
from support.external import require_tool


@pytest.fixture
def notify_socket(tmp_path: Path):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield path, sock
    sock.close()


def test_sd_notify_real_socket(notify_socket) -> None:
    path, sock = notify_socket
    assert sd_notify("READY=1", {"NOTIFY_SOCKET": path})
    assert sock.recv(100) == b"READY=1"
    assert sd_notify("STOPPING=1", {"NOTIFY_SOCKET": path})
    assert sock.recv(100) == b"STOPPING=1"


def test_sd_notify_without_systemd() -> None:
    assert sd_notify("READY=1", {}) is False


def test_sd_notify_abstract_socket() -> None:
    name = f"falco-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()


def test_watchdog_pings(notify_socket) -> None:
    path, sock = notify_socket
    assert watchdog_interval({"WATCHDOG_USEC": "100000"}) == 0.05
    assert watchdog_interval({"WATCHDOG_USEC": "100000",
                              "WATCHDOG_PID": "1"}) is None
    dog = Watchdog(0.02, lambda s: sd_notify(s, {"NOTIFY_SOCKET": path}))
    dog.start()
    try:
        assert sock.recv(100) == b"WATCHDOG=1"
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        dog.stop()


def test_pidfile(tmp_path: Path) -> None:
    path = tmp_path / "falco.pid"
    pf = PidFile(str(path))
    pf.write()
    assert path.read_text() == f"{os.getpid()}\n"
    pf.remove()
    assert not path.exists()


def test_file_watcher_sees_changes(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("- list: a\n  items: []\n")
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    fired = threading.Event()
    count = []
    watcher = FileWatcher([str(rules), str(rules_dir)],
                          lambda: (count.append(1), fired.set()),
                          interval=0.02)
    watcher.start()
    try:
        assert not fired.wait(0.1)
        rules.write_text("- list: a\n  items: [changed]\n")
        assert fired.wait(10)
        fired.clear()
        (rules_dir / "new.yaml").write_text("[]\n")
        assert fired.wait(10)
    finally:
        watcher.stop()
    assert len(count) == 2


def test_webserver_healthz_and_metrics() -> None:
    metrics = [("falco_alerts_total", "Alerts", "counter", [({}, 3.0)]),
               ("falco_rules_matches_total", "Per rule", "counter",
                [({"rule": 'say "hi"'}, 2.0)])]
    web = WebServer("127.0.0.1", 0, lambda: metrics,
                    lambda: {"falco_version": "0.1.0"})
    web.start()
    try:
        base = f"http://127.0.0.1:{web.bound_port}"
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            assert json.loads(r.read()) == {"status": "ok"}
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain")
            text = r.read().decode()
        with urllib.request.urlopen(base + "/versions", timeout=10) as r:
            assert json.loads(r.read())["falco_version"] == "0.1.0"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/nope", timeout=10)
    finally:
        web.stop()
    assert "# TYPE falco_alerts_total counter\nfalco_alerts_total 3\n" in text
    assert 'falco_rules_matches_total{rule="say \\"hi\\""} 2' in text
    assert text == render_metrics(metrics)


def test_webserver_tls(tmp_path: Path) -> None:
    require_tool("openssl")
    pem = tmp_path / "falco.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out",
                    str(tmp_path / "cert.pem")], check=True,
                   capture_output=True, timeout=120)
    pem.write_bytes((tmp_path / "cert.pem").read_bytes()
                    + (tmp_path / "key.pem").read_bytes())
    web = WebServer("127.0.0.1", 0, lambda: [], lambda: {},
                    ssl_certificate=str(pem))
    web.start()
    try:
        ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        ctx.check_hostname = False
        url = f"https://127.0.0.1:{web.bound_port}/healthz"
        with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
            assert json.loads(r.read()) == {"status": "ok"}
        with pytest.raises(OSError):                 # plain HTTP refused
            urllib.request.urlopen(url.replace("https", "http"), timeout=10)
    finally:
        web.stop()
    bad = WebServer("127.0.0.1", 0, lambda: [], lambda: {},
                    ssl_certificate=str(tmp_path / "missing.pem"))
    with pytest.raises(OSError):
        bad.start()


def test_interesting_events_for_live_sources(tmp_path: Path) -> None:
    """The reader is told the rules' events and the ones the state they
    read needs; base_syscalls.custom_set replaces the state's events
    (with repair: true it is completed by them; "!name" removes); with
    the prefilter off, every event the state may use is read as before,
    and a replay then reads every event."""
    from falco.app.backend import OpenedSource, state_events
    from falco.app.run import App, Options
    from falco.events.live import LiveSource
    from falco.fields import default_registry
    from falco.rules import load_rules
    from falco.state import Inspector
    from support.fake_ring import FakeRing

    rules = load_rules([("r.yaml", "- rule: r\n  desc: d\n  condition: "
                         "evt.type in (open, openat)\n  output: o "
                         "%proc.name\n  priority: WARNING\n")],
                       default_registry())
    ring = FakeRing(0, size=4096, path=str(tmp_path / "ring0"))
    live = LiveSource(rings=[ring])
    try:
        app = App(Options())
        app.opened = OpenedSource(live, Inspector(), False, live.stats)
        app.set_interesting(rules)
        threads = app.analysis.state_names
        assert "clone" in threads and "close" not in threads
        assert live.reader.wanted_names == {"open", "openat"} | threads
        assert live.reader.prefilter is not None
        app.config.base_syscalls.custom_set = ["ptrace", "!openat"]
        app.set_interesting(rules)
        assert live.reader.wanted_names == {"open", "ptrace", "procexit"}
        app.config.base_syscalls.repair = True
        app.set_interesting(rules)
        assert live.reader.wanted_names == ({"open", "ptrace"} | threads)
        app.config.base_syscalls.custom_set = []
        app.config.prefilter.enabled = False
        app.set_interesting(rules)
        assert live.reader.wanted_names == \
            {"open", "openat"} | state_events()
        assert live.reader.prefilter is None
        app.config.base_syscalls.all = True
        app.set_interesting(rules)
        assert live.reader.wanted_names is None
        app.config.base_syscalls.all = False
        app.opened = OpenedSource(live, Inspector(), True, None)  # replay
        app.set_interesting(rules)
        assert live.reader.wanted_names is None
    finally:
        live.close()
        ring.close()
