# SPDX-License-Identifier: Apache-2.0
"""Every output through the ``falco`` command, replaying cat_write.scap into
real sinks: file, program, a syslog datagram socket, systemd-journald
(read back with journalctl) and an HTTP listener on 127.0.0.1."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from support.cli import (CAT_WRITE, OPEN_SEEN, SINGLE_RULE,
                              alert_lines, run_falco, start_falco, wait_for,
                              write_config)
from support.external import require
from support.sinks import journal_entries, journald_available, \
    journald_running

pytestmark = pytest.mark.usefixtures("shared")


def falco_with(tmp_path: Path, *extra: str, rules: Path = SINGLE_RULE,
               **cfg: object) -> subprocess.CompletedProcess[str]:
    path = write_config(tmp_path, **cfg)
    res = run_falco("-c", str(path), "-r", str(rules), "-e", str(CAT_WRITE),
                    *extra)
    assert res.returncode == 0, res.stderr
    return res


@pytest.mark.parametrize("keep_alive", [False, True])
def test_file_output(tmp_path: Path, keep_alive: bool) -> None:
    out = tmp_path / "events.txt"
    res = falco_with(tmp_path, file_output={
        "enabled": True, "filename": str(out), "keep_alive": keep_alive})
    lines = out.read_text().splitlines()
    assert lines == alert_lines(res.stdout)
    assert len(lines) == 8 and all(ln.endswith(OPEN_SEEN) for ln in lines)


def test_file_output_json(tmp_path: Path) -> None:
    out = tmp_path / "events.json"
    falco_with(tmp_path, json_output=True,
               file_output={"enabled": True, "filename": str(out)},
               stdout_output={"enabled": False})
    objs = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert [o["rule"] for o in objs] == ["open_from_cat"] * 8
    assert all(o["output_fields"]["proc.cmdline"] == "cat /dev/null"
               for o in objs)


def evil_rules(tmp_path: Path) -> tuple[Path, str]:
    text = (f"pwn $(touch {tmp_path}/pwned1) `touch {tmp_path}/pwned2`; "
            f"touch {tmp_path}/pwned3 | & > 'q' \"dq\" \\ %% !x")
    rules = yaml.safe_load(SINGLE_RULE.read_text())
    for item in rules:
        if "rule" in item:
            item["output"] = text + " (command=%proc.cmdline)"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path, text


@pytest.mark.parametrize("keep_alive", [True, False])
def test_program_output_gets_alert_verbatim_on_stdin(
        tmp_path: Path, keep_alive: bool) -> None:
    rules, text = evil_rules(tmp_path)
    sink = tmp_path / "program.txt"
    res = falco_with(tmp_path, rules=rules, program_output={
        "enabled": True, "keep_alive": keep_alive,
        "program": f"cat >> {sink}"})
    got = sink.read_text().splitlines()
    assert got == alert_lines(res.stdout)
    assert len(got) == 8
    # Verbatim but for the backslash, doubled as every one in an alert.
    assert all(ln.endswith(": Warning " + text.replace("\\", "\\\\")
                           + " (command=cat /dev/null)") for ln in got), got[0]
    assert not list(tmp_path.glob("pwned*"))


def test_syslog_output_to_datagram_socket(tmp_path: Path) -> None:
    path = tmp_path / "dev-log"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(10)
    try:
        res = falco_with(tmp_path, syslog_output={
            "enabled": True, "path": str(path), "facility": "local1"})
        msgs = [listener.recv(8192).decode() for _ in range(8)]
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.recv(8192)
    finally:
        listener.close()
    lines = alert_lines(res.stdout)
    for msg, line in zip(msgs, lines):
        # local1 (17) * 8 + warning (4) = 140
        assert re.fullmatch(r"<140>\w{3} [ \d]\d \d\d:\d\d:\d\d "
                            r"falco\[\d+\]: " + re.escape(line), msg), msg


@pytest.fixture(scope="module")
def journald() -> Iterator[None]:
    """A real systemd-journald, started by hand (PID 1 is not systemd)."""
    require(journald_available(), "systemd-journald, journalctl or "
            "systemd-python is not installed (.ci/apt-packages.txt, "
            "requirements-dev.txt)")
    with journald_running():
        yield


def test_journald_output(tmp_path: Path, journald: None) -> None:
    ident = f"falco-test-{uuid.uuid4().hex[:12]}"
    tagged = SINGLE_RULE.with_name("single_rule_with_tags.yaml")
    res = falco_with(tmp_path, rules=tagged, journald_output={
        "enabled": True, "identifier": ident})

    def entries() -> list[dict[str, object]]:
        got = journal_entries(ident)
        return got if len(got) >= 8 else []

    got = wait_for(entries, 30)
    assert len(got) == 8
    assert [e["MESSAGE"] for e in got] == alert_lines(res.stdout)
    for e in got:
        assert e["PRIORITY"] == "4"
        assert e["FALCO_RULE"] == "open_from_cat"
        assert e["FALCO_PRIORITY"] == "Warning"
        assert e["FALCO_FIELD_PROC_CMDLINE"] == "cat /dev/null"
        assert json.loads(e["FALCO_OUTPUT_FIELDS"]) == {
            "proc.cmdline": "cat /dev/null"}
        assert e["FALCO_SOURCE"] == "syscall"
        assert e["FALCO_TAGS"] == "filesystem,process,testing"
        assert e["SYSLOG_IDENTIFIER"] == ident


class Sink(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        srv = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv.times.append(time.time())
        if srv.stall and len(srv.bodies) == 0:
            srv.stall_event.wait(srv.stall)
        srv.bodies.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def http_sink() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    srv.bodies, srv.times, srv.stall = [], [], 0.0
    srv.stall_event = threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.stall_event.set()
    srv.shutdown()
    srv.server_close()
    thread.join()


def test_http_output(tmp_path: Path, http_sink: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{http_sink.server_port}/"
    falco_with(tmp_path, http_output={"enabled": True, "url": url})
    assert len(http_sink.bodies) == 8
    for body in http_sink.bodies:
        assert body["rule"] == "open_from_cat"
        assert body["priority"] == "Warning"
        assert body["source"] == "syscall"
        assert body["output"].endswith(OPEN_SEEN)
        assert re.fullmatch(r"2016-08-04T16:17:57\.\d{9}Z", body["time"])
        assert body["output_fields"]["proc.cmdline"] == "cat /dev/null"
        assert isinstance(body["tags"], list) and body["hostname"]


def test_stalled_http_does_not_delay_file(tmp_path: Path,
                                          http_sink: ThreadingHTTPServer
                                          ) -> None:
    """The HTTP listener stalls on its first request; the file output is
    complete while it still stalls (an order that holds under load;
    bench/outputs.py measures the delay)."""
    http_sink.stall = 30.0
    out = tmp_path / "events.txt"
    cfg = write_config(tmp_path, file_output={"enabled": True,
                                              "filename": str(out)},
                       http_output={"enabled": True, "timeout": 30.0,
                                    "url": f"http://127.0.0.1:"
                                           f"{http_sink.server_port}/"})
    proc = start_falco("-c", str(cfg), "-r", str(SINGLE_RULE), "-e",
                       str(CAT_WRITE))
    try:
        assert wait_for(lambda: http_sink.times, 60)
        assert wait_for(lambda: http_sink.bodies or (out.exists() and len(
            out.read_text().splitlines()) == 8), 60)
        assert len(out.read_text().splitlines()) == 8
        assert len(http_sink.bodies) == 0, "file output waited for http"
        http_sink.stall_event.set()             # end the stall
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert len(http_sink.bodies) == 8           # nothing lost
    assert "Events detected: 8" in stdout


@pytest.mark.parametrize("keep_alive,processes", [(True, 1), (False, 8)])
def test_program_output_process_count(tmp_path: Path, keep_alive: bool,
                                      processes: int) -> None:
    sink = tmp_path / "pids.txt"
    # Each line is prefixed with the pid of the shell that read it.
    program = f'while read -r l; do echo "$$ $l"; done >> {sink}'
    falco_with(tmp_path, program_output={
        "enabled": True, "keep_alive": keep_alive, "program": program})
    lines = sink.read_text().splitlines()
    assert len(lines) == 8
    assert all(ln.split(" ", 1)[1].endswith(OPEN_SEEN) for ln in lines)
    assert len({ln.split(" ", 1)[0] for ln in lines}) == processes


def test_full_queue_drops_are_counted_per_output(
        tmp_path: Path, http_sink: ThreadingHTTPServer) -> None:
    """outputs_queue.capacity 1 and an HTTP listener that stalls: the http
    output drops what does not fit and says so at exit; each output keeps
    its own count."""
    http_sink.stall = 3.0
    res = falco_with(tmp_path, outputs_queue={"capacity": 1}, http_output={
        "enabled": True, "timeout": 30.0,
        "url": f"http://127.0.0.1:{http_sink.server_port}/"})
    m = re.search(r"Output http: (\d+) alerts dropped \(queue full\), "
                  r"0 failed, 0 not delivered at exit", res.stderr)
    assert m, res.stderr
    dropped = int(m.group(1))
    assert dropped >= 5
    assert len(http_sink.bodies) == 8 - dropped
    out = re.search(r"Output stdout: (\d+) alerts dropped", res.stderr)
    assert len(alert_lines(res.stdout)) == 8 - (int(out.group(1)) if out
                                                else 0)
