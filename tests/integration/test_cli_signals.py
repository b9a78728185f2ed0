# SPDX-License-Identifier: Apache-2.0
"""Life cycle of a running ``falco``: SIGTERM/SIGINT with the summary,
SIGHUP and watch_config_files reloads, SIGUSR1 reopen, sd_notify, -M,
-d/-P, the web server.

A run that does not end by itself reads a capture from a FIFO: the test
writes the header and the first events, acts, then writes the rest.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

import pytest

from support.cli import (CAT_WRITE, OPEN_SEEN, SINGLE_RULE, falco_argv,
                              env, run_falco, scap_blocks, wait_for,
                              write_config)

pytestmark = pytest.mark.usefixtures("shared")
HEADER, EVENTS = scap_blocks(CAT_WRITE) if CAT_WRITE.exists() else (b"", [])
SPLIT = len(EVENTS) // 2

NEW_RULES = SINGLE_RULE.read_text().replace(
    "rule: open_from_cat", "rule: open_after_reload").replace(
    "An open was seen", "Reloaded rule saw an open").replace(
    "priority: WARNING", "priority: ERROR") if SINGLE_RULE.exists() else ""


@dataclass
class Running:
    """A falco process whose stdout/stderr are collected by threads."""

    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def start_readers(self) -> None:
        for stream, sink in ((self.proc.stdout, self.out),
                             (self.proc.stderr, self.err)):
            t = threading.Thread(target=self._pump, args=(stream, sink),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    @staticmethod
    def _pump(stream: IO[str], sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def alerts(self, needle: str = ": ") -> list[str]:
        return [ln for ln in self.out if needle in ln and
                re.match(r"\d\d:\d\d:\d\d\.\d{9}: ", ln)]

    def stderr_has(self, text: str) -> bool:
        return any(text in ln for ln in self.err)

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        for t in self.threads:
            t.join(10)
        return code


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "live.scap"
    os.mkfifo(path)
    return path


@pytest.fixture
def launch(tmp_path: Path) -> Iterator:
    procs: list[Running] = []

    def start(*args: str, **extra_env: str) -> Running:
        proc = subprocess.Popen(falco_argv(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=env(**extra_env))
        run = Running(proc)
        run.start_readers()
        procs.append(run)
        return run

    yield start
    for run in procs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


def feed(path: Path, blocks: list[bytes]) -> IO[bytes]:
    """Open the FIFO for writing (waits for falco) and write blocks."""
    fh = open(path, "wb", buffering=0)
    for block in blocks:
        fh.write(block)
    return fh


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_prints_summary_and_notifies(
        tmp_path: Path, fifo: Path, launch, signum: int) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    cfg = write_config(tmp_path)
    run = launch("-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(fifo),
                 NOTIFY_SOCKET=str(tmp_path / "notify"),
                 WATCHDOG_USEC="200000")
    writer = feed(fifo, [HEADER, *EVENTS])     # the FIFO stays open
    try:
        assert notify.recv(64) == b"READY=1"
        assert wait_for(lambda: len(run.alerts()) == 8, 60), run.err
        assert notify.recv(64) == b"WATCHDOG=1"
        run.proc.send_signal(signum)
        assert run.finish() == 0, "".join(run.err)
        msgs = []
        notify.settimeout(2)
        try:
            while True:
                msgs.append(notify.recv(64))
        except TimeoutError:
            pass
        assert b"STOPPING=1" in msgs
    finally:
        writer.close()
        notify.close()
    assert "".join(run.out).endswith(
        "Events detected: 8\nRule counts by severity:\n   Warning: 8\n"
        "Triggered rules by rule name:\n   open_from_cat: 8\n")
    assert all(a.rstrip("\n").endswith(OPEN_SEEN) for a in run.alerts())


def alerts_in(blocks: list[bytes], tmp_path: Path) -> int:
    """How many alerts single_rule raises on the capture's first blocks."""
    part = tmp_path / "part.scap"
    part.write_bytes(HEADER + b"".join(blocks))
    cfg = write_config(tmp_path, name="count.yaml")
    res = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(part))
    return sum(OPEN_SEEN in ln for ln in res.stdout.splitlines())


@pytest.mark.parametrize("how", ["sighup", "watch"])
def test_reload_swaps_rules_without_losing_alerts(
        tmp_path: Path, fifo: Path, launch, how: str) -> None:
    first = alerts_in(EVENTS[:SPLIT], tmp_path)
    assert 0 < first < 8
    rules = tmp_path / "rules.yaml"
    rules.write_text(SINGLE_RULE.read_text())
    cfg = write_config(tmp_path, watch_config_files=(how == "watch"))
    run = launch("-c", str(cfg), "-r", str(rules), "-e", str(fifo))
    writer = feed(fifo, [HEADER, *EVENTS[:SPLIT]])
    try:
        assert wait_for(lambda: len(run.alerts()) == first, 60), run.err
        rules.write_text(NEW_RULES)
        if how == "sighup":
            run.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: run.stderr_has("Configuration and rules "
                                               "reloaded"), 60), run.err
        for block in EVENTS[SPLIT:]:
            writer.write(block)
    finally:
        writer.close()
    assert run.finish() == 0, "".join(run.err)
    old = run.alerts(OPEN_SEEN)
    new = run.alerts("Error Reloaded rule saw an open (command=cat "
                     "/dev/null)")
    assert (len(old), len(new)) == (first, 8 - first)
    out = "".join(run.out)
    assert "Events detected: 8\n" in out
    assert f"   open_from_cat: {first}\n" in out
    assert f"   open_after_reload: {8 - first}\n" in out


def test_broken_reload_keeps_old_rules(tmp_path: Path, fifo: Path,
                                       launch) -> None:
    first = alerts_in(EVENTS[:SPLIT], tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text(SINGLE_RULE.read_text())
    cfg = write_config(tmp_path)
    run = launch("-c", str(cfg), "-r", str(rules), "-e", str(fifo))
    writer = feed(fifo, [HEADER, *EVENTS[:SPLIT]])
    try:
        assert wait_for(lambda: len(run.alerts()) == first, 60), run.err
        rules.write_text("- rule: broken\n  desc: x\n  condition: "
                         "evt.type = = open\n  output: x\n  priority: "
                         "WARNING\n")
        run.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: run.stderr_has("Reload failed"), 60)
        for block in EVENTS[SPLIT:]:
            writer.write(block)
    finally:
        writer.close()
    assert run.finish() == 0
    assert len(run.alerts(OPEN_SEEN)) == 8
    err = "".join(run.err)
    assert f"{rules}:3:25" in err        # the error names file:line:col


def test_sigusr1_reopens_file_output(tmp_path: Path, fifo: Path,
                                     launch) -> None:
    first = alerts_in(EVENTS[:SPLIT], tmp_path)
    out = tmp_path / "events.txt"
    cfg = write_config(tmp_path, file_output={
        "enabled": True, "keep_alive": True, "filename": str(out)})
    run = launch("-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(fifo))
    writer = feed(fifo, [HEADER, *EVENTS[:SPLIT]])
    try:
        assert wait_for(lambda: out.exists() and len(
            out.read_text().splitlines()) == first, 60), run.err
        out.rename(tmp_path / "events.txt.1")          # logrotate
        run.proc.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: run.stderr_has("reopening outputs"), 60)
        for block in EVENTS[SPLIT:]:
            writer.write(block)
    finally:
        writer.close()
    assert run.finish() == 0
    assert len((tmp_path / "events.txt.1").read_text().splitlines()) == first
    assert len(out.read_text().splitlines()) == 8 - first


def test_duration_limit(tmp_path: Path, fifo: Path, launch) -> None:
    cfg = write_config(tmp_path)
    run = launch("-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(fifo),
                 "-M", "1")
    writer = feed(fifo, [HEADER, *EVENTS])
    try:
        assert run.finish(60) == 0          # ends with the FIFO still open
    finally:
        writer.close()
    assert "Events detected: 8\n" in "".join(run.out)


def test_daemon_mode_with_pidfile(tmp_path: Path, fifo: Path) -> None:
    pidfile = tmp_path / "falco.pid"
    out = tmp_path / "events.txt"
    cfg = write_config(tmp_path, stdout_output={"enabled": False},
                       file_output={"enabled": True, "filename": str(out)})
    res = subprocess.run(falco_argv("-c", str(cfg), "-r", str(SINGLE_RULE),
                                    "-e", str(fifo), "-d", "-P",
                                    str(pidfile)),
                         capture_output=True, text=True, env=env(),
                         timeout=60)
    assert res.returncode == 0                  # the parent returns at once
    writer = None
    pid = 0
    try:
        assert wait_for(pidfile.exists, 30)
        pid = int(pidfile.read_text())
        assert pid != os.getpid()
        writer = feed(fifo, [HEADER, *EVENTS])
        assert wait_for(lambda: out.exists() and len(
            out.read_text().splitlines()) == 8, 60)
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not pidfile.exists(), 30)
    finally:
        if writer is not None:
            writer.close()
        if pid and wait_for(lambda: not _alive(pid), 30) is False:
            os.kill(pid, signal.SIGKILL)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_webserver_healthz_and_metrics(tmp_path: Path, fifo: Path,
                                       launch) -> None:
    cfg = write_config(tmp_path, webserver={
        "enabled": True, "listen_address": "127.0.0.1", "listen_port": 0})
    run = launch("-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(fifo))
    writer = feed(fifo, [HEADER, *EVENTS])
    try:
        assert wait_for(lambda: len(run.alerts()) == 8, 60), run.err
        line = wait_for(lambda: next((ln for ln in run.err if
                                      "Webserver listening" in ln), None))
        port = int(line.rsplit(":", 1)[1])
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            assert json.loads(r.read()) == {"status": "ok"}
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            metrics = r.read().decode()
        run.proc.send_signal(signal.SIGTERM)
        assert run.finish() == 0
    finally:
        writer.close()
    assert re.search(r"^falco_alerts_total 8$", metrics, re.M)
    assert re.search(r'^falco_rules_matches_total\{rule="open_from_cat"\} 8$',
                     metrics, re.M)
    assert re.search(r'^falco_outputs_delivered_total\{output="stdout"\} 8$',
                     metrics, re.M)
    events = int(re.search(r"^falco_events_processed_total (\d+)$", metrics,
                           re.M).group(1))
    assert events > 8


def test_sighup_reloads_configuration_outputs(tmp_path: Path, fifo: Path,
                                              launch) -> None:
    """A file output enabled in the configuration by a reload receives the
    alerts of the events that follow; stdout keeps every alert."""
    first = alerts_in(EVENTS[:SPLIT], tmp_path)
    out = tmp_path / "after-reload.txt"
    cfg = write_config(tmp_path)
    run = launch("-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(fifo))
    writer = feed(fifo, [HEADER, *EVENTS[:SPLIT]])
    try:
        assert wait_for(lambda: len(run.alerts()) == first, 60), run.err
        write_config(tmp_path, file_output={"enabled": True,
                                            "filename": str(out)})
        run.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: run.stderr_has("Configuration and rules "
                                               "reloaded"), 60), run.err
        for block in EVENTS[SPLIT:]:
            writer.write(block)
    finally:
        writer.close()
    assert run.finish() == 0, "".join(run.err)
    assert len(run.alerts(OPEN_SEEN)) == 8
    assert len(out.read_text().splitlines()) == 8 - first


@pytest.mark.parametrize("unbuffered", [False, True])
def test_buffered_outputs_and_unbuffered_flag(tmp_path: Path, fifo: Path,
                                              launch, unbuffered: bool
                                              ) -> None:
    """buffered_outputs: true keeps file lines in memory until exit; -U
    flushes each alert. A syslog socket (datagrams are never buffered)
    tells when the alerts have been emitted."""
    first = alerts_in(EVENTS[:SPLIT], tmp_path)
    out = tmp_path / "events.txt"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "log"))
    listener.settimeout(30)
    cfg = write_config(tmp_path, buffered_outputs=True,
                       stdout_output={"enabled": False},
                       syslog_output={"enabled": True,
                                      "path": str(tmp_path / "log")},
                       file_output={"enabled": True, "keep_alive": True,
                                    "filename": str(out)})
    args = ["-c", str(cfg), "-r", str(SINGLE_RULE), "-e", str(fifo)]
    run = launch(*args, *(["-U"] if unbuffered else []))
    writer = feed(fifo, [HEADER, *EVENTS[:SPLIT]])
    try:
        for _ in range(first):
            listener.recv(4096)
        # The file worker runs next to the syslog one; give it time.
        wait_for(lambda: out.exists() and len(
            out.read_text().splitlines()) >= first, 3)
        during = out.read_text().splitlines() if out.exists() else []
        for block in EVENTS[SPLIT:]:
            writer.write(block)
    finally:
        writer.close()
        listener.close()
    assert run.finish() == 0
    assert len(during) == (first if unbuffered else 0)
    assert len(out.read_text().splitlines()) == 8      # flushed at exit


def test_log_level(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    quiet = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                      str(CAT_WRITE), "-o", "log_level=error")
    assert "Loading rules from file" not in quiet.stderr
    loud = run_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                     str(CAT_WRITE), "-o", "log_level=info")
    assert "Loading rules from file" in loud.stderr
    assert quiet.stdout == loud.stdout
